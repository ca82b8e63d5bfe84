//! The process's limit on open files: every client connection, upstream connection and file
//! is one, and a soft limit of 1,024 (a common default) lets a thousand slow clients stop all
//! new connections. The soft limit is raised to the hard one at start, which needs no privilege.

/// Raises the soft limit on open files to the hard limit, and answers the limit now in force.
pub fn raise_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => Some(limit),
        Err(e) => {
            tracing::warn!(error = %e, "cannot raise the open-file limit");
            None
        }
    }
}

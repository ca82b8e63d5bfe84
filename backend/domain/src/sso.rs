//! Single sign-on records: the pending state of a sign-in between leaving for the identity
//! provider and coming back, and email domains whose people must sign in through one.

use time::OffsetDateTime;

use crate::{KeyHash, TenantId};

/// A sign-in in flight. The state parameter is stored only as a hash and used once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoState {
    pub state_hash: KeyHash,
    pub provider: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// The portal path to return to (always a local path).
    pub return_to: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A tenant's rule that addresses of `domain` sign in only through `provider`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoDomain {
    pub domain: String,
    pub tenant_id: TenantId,
    pub provider: String,
    pub created_at: OffsetDateTime,
}

/// Whether `path` is safe to redirect to after sign-in: a local absolute path, never another
/// origin (`//evil.example`, `/\evil.example`, `https://…`).
pub fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && path.len() <= 2000
        && !path.chars().any(|c| c.is_control() || c == '\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_return_targets() {
        for ok in ["/", "/keys?tenant=1", "/a/b#c"] {
            assert!(is_local_path(ok), "{ok}");
        }
        for bad in [
            "",
            "keys",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "/a\nb",
            "/a\\b",
        ] {
            assert!(!is_local_path(bad), "{bad}");
        }
    }
}

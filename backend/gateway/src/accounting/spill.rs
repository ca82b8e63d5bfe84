//! The spill file: usage records the store could not take, appended and fsync'd in the data
//! directory, and inserted later (idempotently: record ids come from the gateway).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use domain::UsageRecord;
use store::Store;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::sync::Mutex;

/// How many records one replay insert carries.
const REPLAY_BATCH: usize = 500;

/// The append-only spill file, and the lock that keeps appends and replays apart.
///
/// A replay holds the lock only to learn the file's length and, at the end, to drop what it
/// inserted: appends go on meanwhile, however long the store takes with a long outage's records.
#[derive(Debug)]
pub(super) struct Spill {
    path: PathBuf,
    lock: Mutex<()>,
    /// One replay at a time.
    replay_lock: Mutex<()>,
    report: std::sync::Mutex<SpillReport>,
}

/// Spills summarised in the log at most every [`SpillReport::EVERY`]: an outage at thousands of
/// calls a second would otherwise write a warning per record.
#[derive(Debug, Default)]
struct SpillReport {
    since_last: u64,
    last_logged: Option<Instant>,
}

impl SpillReport {
    const EVERY: Duration = Duration::from_secs(10);

    /// Counts `n` spilled records and answers how many to report now, if it is time to.
    fn add(&mut self, n: u64) -> Option<u64> {
        self.since_last += n;
        let due = self
            .last_logged
            .is_none_or(|at| at.elapsed() >= Self::EVERY);
        if !due {
            return None;
        }
        self.last_logged = Some(Instant::now());
        Some(std::mem::take(&mut self.since_last))
    }
}

impl Spill {
    pub(super) fn new(path: PathBuf) -> Self {
        Spill {
            path,
            lock: Mutex::new(()),
            replay_lock: Mutex::new(()),
            report: std::sync::Mutex::new(SpillReport::default()),
        }
    }

    /// Appends `records` and waits until they are on disk (`fdatasync`).
    ///
    /// # Errors
    /// When the file cannot be written; the caller still holds the records.
    pub(super) async fn append(&self, records: &[UsageRecord], why: &str) -> std::io::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut lines = Vec::new();
        for record in records {
            serde_json::to_writer(&mut lines, record).map_err(std::io::Error::other)?;
            lines.push(b'\n');
        }
        let _guard = self.lock.lock().await;
        if let Some(dir) = self.path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .await?;
        file.write_all(&lines).await?;
        file.sync_data().await?;
        let n = records.len() as u64;
        metrics::counter!("gateway_usage_spilled_records_total").increment(n);
        let due = self
            .report
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .add(n);
        if let Some(n) = due {
            tracing::warn!(
                records = n,
                reason = why,
                path = %self.path.display(),
                "usage records spilled to disk since the last report; they are replayed when the store answers again"
            );
        }
        Ok(())
    }

    /// Inserts spilled records, a batch at a time, then removes them from the file (records
    /// appended meanwhile stay, for the next replay). Keeps the file when the store is still
    /// failing (what went in already is skipped next time: inserts are idempotent).
    ///
    /// # Errors
    /// The store's error, when it is still failing.
    pub(super) async fn replay(&self, store: &dyn Store) -> Result<(), store::Error> {
        let _replaying = self.replay_lock.lock().await;
        let length = {
            let _guard = self.lock.lock().await;
            match tokio::fs::metadata(&self.path).await {
                Ok(it) => it.len(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the usage spill file");
                    return Ok(());
                }
            }
        };
        let file = match tokio::fs::File::open(&self.path).await {
            Ok(file) => file,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the usage spill file");
                return Ok(());
            }
        };
        // Only the whole lines there were when the replay began.
        let mut lines = tokio::io::BufReader::new(file.take(length)).lines();
        let (mut batch, mut replayed) = (Vec::with_capacity(REPLAY_BATCH), 0usize);
        loop {
            let line = match lines.next_line().await {
                Ok(line) => line,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the usage spill file");
                    return Ok(());
                }
            };
            let end = line.is_none();
            if let Some(line) = line.filter(|it| !it.trim().is_empty()) {
                match serde_json::from_str::<UsageRecord>(&line) {
                    Ok(record) => batch.push(record),
                    // A torn last line (crash mid-append) is skipped, not fatal.
                    Err(e) => {
                        tracing::error!(error = %e, "skipping an unreadable spilled usage record");
                    }
                }
            }
            if batch.len() >= REPLAY_BATCH || (end && !batch.is_empty()) {
                store.insert_usage(&batch).await?;
                replayed += batch.len();
                batch.clear();
            }
            if end {
                break;
            }
        }
        if let Err(e) = self.drop_replayed(length).await {
            tracing::error!(error = %e, "cannot remove the replayed usage records from the spill file");
        } else if replayed > 0 {
            tracing::info!(records = replayed, "replayed spilled usage records");
        }
        Ok(())
    }

    /// Removes the file's first `length` bytes (replayed): the file goes when nothing was
    /// appended since; otherwise what was is copied to a new file that replaces it.
    async fn drop_replayed(&self, length: u64) -> std::io::Result<()> {
        let _guard = self.lock.lock().await;
        let mut file = tokio::fs::File::open(&self.path).await?;
        if file.metadata().await?.len() == length {
            return tokio::fs::remove_file(&self.path).await;
        }
        file.seek(std::io::SeekFrom::Start(length)).await?;
        let mut rest = Vec::new();
        file.read_to_end(&mut rest).await?;
        let mut next = self.path.clone().into_os_string();
        next.push(".next");
        let next = PathBuf::from(next);
        let mut written = tokio::fs::File::create(&next).await?;
        written.write_all(&rest).await?;
        written.sync_data().await?;
        tokio::fs::rename(&next, &self.path).await
    }
}

#[cfg(test)]
mod tests {
    use domain::{TenantId, UsageAttempt};
    use store::UsageStore;

    use super::*;
    use crate::accounting::tests::{draft, scratch, setup};

    /// A line as the build before failed tries were kept spilled it.
    const OLD_LINE: &str = r#"{"id":"0194c3a0-0000-7000-8000-000000000001","request_id":"0194c3a0-0000-7000-8000-000000000002","tenant_id":"TENANT","key_id":"0194c3a0-0000-7000-8000-000000000003","endpoint":"chat.completions","model_alias":"m","provider":"p","upstream_model":"u","stream":false,"prompt_tokens":3,"completion_tokens":4,"cached_tokens":0,"cache_write_tokens":0,"reasoning_tokens":0,"estimated":false,"raw_usage":null,"status":"ok","http_status":200,"error_code":null,"latency_ms":5,"ttft_ms":null,"created_at":"2026-12-01T10:00:00Z"}"#;

    #[tokio::test]
    async fn old_lines_and_lines_with_failed_tries_replay_whole() {
        let dir = scratch();
        let store = setup(&dir).await;
        let tenant = TenantId::new();
        let path = dir.join("usage-spill.jsonl");
        std::fs::write(
            &path,
            format!("{}\n", OLD_LINE.replace("TENANT", &tenant.to_string())),
        )
        .unwrap();
        let spill = Spill::new(path.clone());
        // At the store's precision (microseconds), so that what comes back compares equal.
        let record = || {
            let mut record = draft(tenant).into_record();
            record.created_at = record.created_at.replace_millisecond(0).unwrap();
            record
        };
        let first_try = record();
        let mut failed_over = record();
        failed_over.attempts = vec![UsageAttempt {
            deployment: "east".into(),
            http_status: 504,
            error_code: "upstream_timeout".into(),
            latency_ms: 30_000,
        }];
        spill
            .append(&[first_try.clone(), failed_over.clone()], "test")
            .await
            .unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = written.lines().collect();
        assert!(
            !lines[1].contains("attempts"),
            "a record without failed tries is spilled as before: {}",
            lines[1]
        );
        assert!(lines[2].contains(r#""attempts":[{"deployment":"east","#));

        spill.replay(store.as_ref()).await.unwrap();
        assert!(!path.exists(), "replayed whole");
        let stored = store.list_usage(tenant, 10).await.unwrap();
        assert_eq!(stored.len(), 3);
        let by_id = |id| stored.iter().find(|it| it.id == id).unwrap();
        assert_eq!(by_id(failed_over.id), &failed_over);
        assert_eq!(by_id(first_try.id), &first_try);
        let old = stored
            .iter()
            .find(|it| it.id.to_string() == "0194c3a0-0000-7000-8000-000000000001")
            .unwrap();
        assert!(old.attempts.is_empty());
        assert_eq!((old.prompt_tokens, old.completion_tokens), (3, 4));
    }

    #[tokio::test]
    async fn records_spilled_during_a_replay_stay_for_the_next_one() {
        let dir = scratch();
        let store = setup(&dir).await;
        let tenant = TenantId::new();
        let path = dir.join("usage-spill.jsonl");
        let spill = Spill::new(path.clone());
        let (first, later) = (draft(tenant).into_record(), draft(tenant).into_record());
        spill
            .append(std::slice::from_ref(&first), "test")
            .await
            .unwrap();
        let replayed = std::fs::metadata(&path).unwrap().len();
        // Appended after the replay measured the file: not inserted by it, and kept.
        spill
            .append(std::slice::from_ref(&later), "test")
            .await
            .unwrap();
        spill.drop_replayed(replayed).await.unwrap();
        let kept = std::fs::read_to_string(&path).unwrap();
        assert_eq!(kept.lines().count(), 1, "{kept}");
        assert!(kept.contains(&later.id.to_string()), "{kept}");
        spill.replay(store.as_ref()).await.unwrap();
        assert!(!path.exists(), "replayed whole");
        let stored = store.list_usage(tenant, 10).await.unwrap();
        assert_eq!(stored.len(), 1, "only what was left in the file");
        assert_eq!(stored[0].id, later.id);
    }

    #[test]
    fn spills_are_reported_at_most_every_ten_seconds() {
        let mut report = SpillReport::default();
        assert_eq!(report.add(3), Some(3), "the first spill is said at once");
        assert_eq!(report.add(5), None);
        assert_eq!(report.add(7), None);
        report.last_logged = Some(Instant::now() - SpillReport::EVERY);
        assert_eq!(report.add(1), Some(13), "then the sum since");
    }
}

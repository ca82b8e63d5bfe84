//! Usage accounting off the request path: requests hand a draft to a bounded queue, and one
//! writer task turns drafts into records (counting tokens where the upstream did not) and
//! inserts them in batches.
//!
//! Nothing is dropped silently: when the queue is full or the database fails, records are
//! appended to a spill file in the data directory and replayed later. Record ids are generated
//! here (UUIDv7), so a replay inserts each record at most once.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::{ApiKeyId, RequestId, TenantId, UsageId, UsageRecord, UsageStatus};
use providers::UsageReport;
use store::Store;
use time::OffsetDateTime;
use tokio::io::AsyncWriteExt;
use tokio::sync::{Mutex, Notify, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::tokens;

/// Queue and batching settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub queue_capacity: usize,
    pub batch_size: usize,
    pub flush_interval: Duration,
    /// Where `usage-spill.jsonl` lives.
    pub spill_dir: PathBuf,
    /// How often spilled records are retried.
    pub replay_interval: Duration,
}

/// Token counts as known when the request ended.
#[derive(Debug, Clone)]
pub enum Tokens {
    /// Nothing reached the upstream model (the call failed before it ran).
    None,
    /// The upstream's own report.
    Reported(UsageReport),
    /// To be counted with the tokenizer; `prompt_tokens` is exact when the upstream told it
    /// before the stream broke.
    Estimate {
        prompt_tokens: Option<u64>,
        prompt_text: String,
        completion_text: String,
        raw: Option<String>,
    },
}

/// Everything known about a finished request, before token estimation.
#[derive(Debug, Clone)]
pub struct UsageDraft {
    pub request_id: RequestId,
    pub tenant_id: TenantId,
    pub key_id: ApiKeyId,
    pub endpoint: &'static str,
    pub model_alias: Arc<str>,
    pub provider: Arc<str>,
    pub upstream_model: Arc<str>,
    pub stream: bool,
    pub tokens: Tokens,
    pub status: UsageStatus,
    pub http_status: u16,
    pub error_code: Option<String>,
    pub latency: Duration,
    pub ttft: Option<Duration>,
    pub created_at: OffsetDateTime,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl UsageDraft {
    /// Counts estimated tokens (CPU work: done on the writer, never on the request path).
    pub fn into_record(self) -> UsageRecord {
        let mut res = UsageRecord {
            id: UsageId::new(),
            request_id: self.request_id,
            tenant_id: self.tenant_id,
            key_id: self.key_id,
            endpoint: self.endpoint.to_owned(),
            model_alias: self.model_alias.to_string(),
            provider: self.provider.to_string(),
            upstream_model: self.upstream_model.to_string(),
            stream: self.stream,
            prompt_tokens: 0,
            completion_tokens: 0,
            cached_tokens: 0,
            cache_write_tokens: 0,
            reasoning_tokens: 0,
            estimated: false,
            raw_usage: None,
            status: self.status,
            http_status: self.http_status,
            error_code: self.error_code,
            latency_ms: millis(self.latency),
            ttft_ms: self.ttft.map(millis),
            created_at: self.created_at,
        };
        match self.tokens {
            Tokens::None => {}
            Tokens::Reported(report) => {
                let counts = report.counts;
                res.prompt_tokens = counts.prompt;
                res.completion_tokens = counts.completion;
                res.cached_tokens = counts.cached;
                res.cache_write_tokens = counts.cache_write;
                res.reasoning_tokens = counts.reasoning;
                res.raw_usage = report.raw;
            }
            Tokens::Estimate {
                prompt_tokens,
                prompt_text,
                completion_text,
                raw,
            } => {
                res.prompt_tokens = prompt_tokens.unwrap_or_else(|| tokens::count(&prompt_text));
                res.completion_tokens = tokens::count(&completion_text);
                res.estimated = true;
                res.raw_usage = raw;
            }
        }
        res
    }
}

/// The request side of the queue.
#[derive(Debug, Clone)]
pub(crate) struct UsageSink {
    sender: mpsc::Sender<UsageDraft>,
    /// Wakes the writer early when the queue is more than half full.
    pressure: Arc<Notify>,
    half_capacity: usize,
    spill: Arc<Spill>,
    tracker: TaskTracker,
}

impl UsageSink {
    /// Hands a draft to the writer without waiting. When the queue is full the draft goes to
    /// the spill file on a blocking thread, never lost and never on the request path.
    pub(crate) fn record(&self, draft: UsageDraft) {
        match self.sender.try_send(draft) {
            Ok(()) => {
                if self.sender.capacity() < self.half_capacity {
                    self.pressure.notify_one();
                }
            }
            Err(
                mpsc::error::TrySendError::Full(draft) | mpsc::error::TrySendError::Closed(draft),
            ) => {
                metrics::counter!("gateway_usage_spilled_total", "reason" => "queue_full")
                    .increment(1);
                tracing::warn!("usage queue full; spilling a record to disk");
                let spill = self.spill.clone();
                self.tracker.spawn(async move {
                    let record = draft.into_record();
                    spill.append(&[record]).await;
                });
            }
        }
    }
}

/// The append-only spill file, and the lock that keeps appends and replays apart.
#[derive(Debug)]
struct Spill {
    path: PathBuf,
    lock: Mutex<()>,
}

impl Spill {
    async fn append(&self, records: &[UsageRecord]) {
        let _guard = self.lock.lock().await;
        let mut lines = Vec::new();
        for record in records {
            if let Ok(line) = serde_json::to_vec(record) {
                lines.extend_from_slice(&line);
                lines.push(b'\n');
            }
        }
        let result = async {
            if let Some(dir) = self.path.parent() {
                tokio::fs::create_dir_all(dir).await?;
            }
            let mut file = tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .await?;
            file.write_all(&lines).await?;
            file.sync_data().await
        }
        .await;
        match result {
            Ok(()) => {
                metrics::counter!("gateway_usage_spilled_records_total")
                    .increment(records.len() as u64);
            }
            Err(e) => {
                // The last resort failed too: say so loudly, with the records, so they can be
                // recovered from the logs.
                metrics::counter!("gateway_usage_lost_total").increment(records.len() as u64);
                tracing::error!(error = %e, path = %self.path.display(), records = %String::from_utf8_lossy(&lines), "usage spill failed");
            }
        }
    }

    /// Inserts spilled records; keeps the file when the store is still failing.
    async fn replay(&self, store: &dyn Store) {
        let _guard = self.lock.lock().await;
        let text = match tokio::fs::read_to_string(&self.path).await {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the usage spill file");
                return;
            }
        };
        let mut records = Vec::new();
        for line in text.lines().filter(|it| !it.trim().is_empty()) {
            match serde_json::from_str::<UsageRecord>(line) {
                Ok(record) => records.push(record),
                // A torn last line (crash mid-append) is skipped, not fatal.
                Err(e) => {
                    tracing::error!(error = %e, "skipping an unreadable spilled usage record")
                }
            }
        }
        for batch in records.chunks(500) {
            if let Err(e) = store.insert_usage(batch).await {
                tracing::warn!(error = %providers::error_chain(&e), "usage replay failed; will retry");
                return;
            }
        }
        if let Err(e) = tokio::fs::remove_file(&self.path).await {
            tracing::error!(error = %e, "cannot remove the replayed usage spill file");
        } else {
            tracing::info!(records = records.len(), "replayed spilled usage records");
        }
    }
}

/// Starts the writer and the replayer on `tracker`; both stop (after draining) on `cancel`.
pub(crate) fn start(
    config: &Config,
    store: Arc<dyn Store>,
    tracker: &TaskTracker,
    cancel: CancellationToken,
) -> UsageSink {
    let capacity = config.queue_capacity.max(1);
    let (sender, receiver) = mpsc::channel(capacity);
    let pressure = Arc::new(Notify::new());
    let spill = Arc::new(Spill {
        path: config.spill_dir.join("usage-spill.jsonl"),
        lock: Mutex::new(()),
    });
    tracker.spawn(write_loop(
        receiver,
        store.clone(),
        spill.clone(),
        config.batch_size.max(1),
        config.flush_interval,
        pressure.clone(),
        tracker.clone(),
        cancel.clone(),
    ));
    tracker.spawn(replay_loop(
        store,
        spill.clone(),
        config.replay_interval,
        cancel,
    ));
    UsageSink {
        sender,
        pressure,
        half_capacity: capacity / 2,
        spill,
        tracker: tracker.clone(),
    }
}

/// Drains the queue every `flush_interval` (sooner when `pressure` says it is filling up).
///
/// The writer never waits on the queue itself: a waiting receiver would be woken by every
/// request, a cross-thread wake-up and context switch per request on a busy node. Polling on a
/// timer costs a few wake-ups per second instead.
#[expect(
    clippy::too_many_arguments,
    reason = "the loop's collaborators, wired once in `start`"
)]
async fn write_loop(
    mut receiver: mpsc::Receiver<UsageDraft>,
    store: Arc<dyn Store>,
    spill: Arc<Spill>,
    batch_size: usize,
    flush_interval: Duration,
    pressure: Arc<Notify>,
    tracker: TaskTracker,
    cancel: CancellationToken,
) {
    let mut batch: Vec<UsageDraft> = Vec::with_capacity(batch_size);
    let mut stopping = false;
    while !stopping {
        tokio::select! {
            () = cancel.cancelled() => stopping = true,
            () = tokio::time::sleep(flush_interval) => {}
            () = pressure.notified() => {}
        }
        if stopping {
            // Nothing new will be accepted; what is queued is still written below.
            receiver.close();
        }
        while let Ok(draft) = receiver.try_recv() {
            batch.push(draft);
            if batch.len() >= batch_size {
                flush(&mut batch, store.as_ref(), &spill, &tracker).await;
            }
        }
        flush(&mut batch, store.as_ref(), &spill, &tracker).await;
    }
}

async fn flush(
    batch: &mut Vec<UsageDraft>,
    store: &dyn Store,
    spill: &Spill,
    tracker: &TaskTracker,
) {
    if batch.is_empty() {
        return;
    }
    let drafts = std::mem::take(batch);
    let needs_tokenizer = drafts
        .iter()
        .any(|it| matches!(it.tokens, Tokens::Estimate { .. }));
    let records: Vec<UsageRecord> = if needs_tokenizer {
        // Tokenizing is CPU work: keep it off the async threads.
        match tracker
            .spawn_blocking(move || drafts.into_iter().map(UsageDraft::into_record).collect())
            .await
        {
            Ok(records) => records,
            Err(e) => {
                tracing::error!(error = %e, "usage estimation panicked; records lost");
                return;
            }
        }
    } else {
        drafts.into_iter().map(UsageDraft::into_record).collect()
    };
    let started = Instant::now();
    match store.insert_usage(&records).await {
        Ok(_) => {
            metrics::counter!("gateway_usage_records_written_total")
                .increment(records.len() as u64);
            metrics::histogram!("gateway_usage_flush_duration_seconds")
                .record(started.elapsed().as_secs_f64());
        }
        Err(e) => {
            tracing::error!(error = %providers::error_chain(&e), records = records.len(), "usage insert failed; spilling to disk");
            metrics::counter!("gateway_usage_spilled_total", "reason" => "store_error")
                .increment(1);
            spill.append(&records).await;
        }
    }
}

async fn replay_loop(
    store: Arc<dyn Store>,
    spill: Arc<Spill>,
    interval: Duration,
    cancel: CancellationToken,
) {
    loop {
        spill.replay(store.as_ref()).await;
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use store::UsageStore;
    use store_sqlite::SqliteStore;

    use super::*;

    fn draft(tenant: TenantId) -> UsageDraft {
        UsageDraft {
            request_id: RequestId::new(),
            tenant_id: tenant,
            key_id: ApiKeyId::new(),
            endpoint: "chat.completions",
            model_alias: "m".into(),
            provider: "p".into(),
            upstream_model: "u".into(),
            stream: false,
            tokens: Tokens::Reported(UsageReport {
                counts: domain::llm::TokenCounts {
                    prompt: 3,
                    completion: 4,
                    ..Default::default()
                },
                raw: None,
                complete: true,
            }),
            status: UsageStatus::Ok,
            http_status: 200,
            error_code: None,
            latency: Duration::from_millis(5),
            ttft: None,
            created_at: OffsetDateTime::now_utc(),
        }
    }

    async fn setup(dir: &std::path::Path) -> Arc<SqliteStore> {
        let store = SqliteStore::connect(&store_sqlite::Config {
            url: format!("sqlite://{}", dir.join("t.db").display()),
            max_connections: 2,
        })
        .await
        .unwrap();
        store.migrate().await.unwrap();
        Arc::new(store)
    }

    /// Makes usage inserts fail (or work again) by hiding the table.
    async fn database_down(store: &SqliteStore, down: bool) {
        let sql = if down {
            "alter table usage_records rename to usage_records_hidden"
        } else {
            "alter table usage_records_hidden rename to usage_records"
        };
        store.execute_for_tests(sql).await.unwrap();
    }

    async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
        for _ in 0..300 {
            if check().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("timed out waiting for {what}");
    }

    fn config(dir: &std::path::Path, capacity: usize) -> Config {
        Config {
            queue_capacity: capacity,
            batch_size: 10,
            flush_interval: Duration::from_millis(10),
            spill_dir: dir.to_path_buf(),
            replay_interval: Duration::from_millis(50),
        }
    }

    #[tokio::test]
    async fn records_survive_a_database_outage_through_the_spill_file_exactly_once() {
        let dir = std::env::temp_dir().join(format!("sluice-spill-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = setup(&dir).await;
        database_down(&store, true).await;
        let tracker = TaskTracker::new();
        let cancel = CancellationToken::new();
        let sink = start(&config(&dir, 100), store.clone(), &tracker, cancel.clone());
        let tenant = TenantId::new();
        for _ in 0..25 {
            sink.record(draft(tenant));
        }
        let spill = dir.join("usage-spill.jsonl");
        eventually("25 spilled records", async || {
            std::fs::read_to_string(&spill).is_ok_and(|it| it.lines().count() == 25)
        })
        .await;
        database_down(&store, false).await;
        eventually("replay", async || {
            store.list_usage(tenant, 100).await.unwrap().len() == 25
        })
        .await;
        eventually("spill file removed", async || !spill.exists()).await;
        cancel.cancel();
        tracker.close();
        tracker.wait().await;
        assert_eq!(store.list_usage(tenant, 100).await.unwrap().len(), 25);
    }

    #[tokio::test]
    async fn a_full_queue_spills_instead_of_dropping() {
        let dir = std::env::temp_dir().join(format!("sluice-spill-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = setup(&dir).await;
        let tracker = TaskTracker::new();
        let cancel = CancellationToken::new();
        let sink = start(&config(&dir, 1), store.clone(), &tracker, cancel.clone());
        let tenant = TenantId::new();
        // Recorded synchronously: the writer cannot keep up with a queue of one.
        for _ in 0..200 {
            sink.record(draft(tenant));
        }
        eventually("every record stored", async || {
            store.list_usage(tenant, 1000).await.unwrap().len() == 200
        })
        .await;
        cancel.cancel();
        tracker.close();
        tracker.wait().await;
        assert_eq!(store.list_usage(tenant, 1000).await.unwrap().len(), 200);
    }

    #[test]
    fn estimates_count_real_tokens_and_keep_a_known_prompt_count() {
        let mut d = draft(TenantId::new());
        d.tokens = Tokens::Estimate {
            prompt_tokens: Some(40),
            prompt_text: String::new(),
            completion_text: "hello world".into(),
            raw: Some("{\"input_tokens\":40}".into()),
        };
        let record = d.into_record();
        assert_eq!(
            (
                record.prompt_tokens,
                record.completion_tokens,
                record.estimated
            ),
            (40, 2, true)
        );
        assert_eq!(record.raw_usage.as_deref(), Some("{\"input_tokens\":40}"));
    }
}

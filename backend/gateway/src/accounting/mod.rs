//! Usage accounting off the request path: requests hand a draft to a bounded queue, and one
//! writer task turns drafts into records (counting tokens where the upstream did not) and
//! inserts them in batches.
//!
//! Nothing accepted is lost, whatever stops the process:
//! - Before a call is answered its draft is appended to the usage journal (`journal`: a
//!   memory-mapped file, so the entry belongs to the operating system as soon as it is copied),
//!   and a stream gets a provisional entry when it starts. A `SIGKILL` therefore loses nothing:
//!   the next start recovers every unsettled entry (a stream that never finished is billed as
//!   estimated, `server_closed`).
//! - When the store fails or hangs, a batch waits at most [`INSERT_TIMEOUT`]; then the writer
//!   spills to an fsync'd file without asking the store again until a back-off has passed, and
//!   the file is replayed when the store answers. A journal entry is settled (and its segment
//!   freed) only once its record is in the store or in the spill file.
//! - On shutdown the writer has until the deadline [`Lifecycle::shutdown_by`] set: what the
//!   store cannot take in time is spilled, and [`Lifecycle::unsaved`] says what is in neither
//!   the store, the spill file nor the journal, so the process can exit non-zero.
//!
//! Record ids are generated when the draft is made (UUIDv7), so every replay path inserts each
//! record at most once.

mod entry;
mod spill;

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use domain::llm::TokenCounts;
use domain::pricing::CallRates;
use domain::{ApiKeyId, RequestId, TenantId, UsageAttempt, UsageId, UsageRecord, UsageStatus};
use journal::{Journal, Ticket};
use providers::UsageReport;
use store::Store;
use time::OffsetDateTime;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use self::spill::Spill;
use crate::telemetry::Endpoint;
use crate::tokens;

/// The longest one batch insert may take before the writer treats the store as down.
const INSERT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the writer leaves the store alone after a failure, at first and at most.
const BACKOFF_FIRST: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// What a shutdown keeps for spilling after the store had its chance (an fsync'd append takes
/// milliseconds).
const SPILL_RESERVE: Duration = Duration::from_millis(200);

/// The size of a journal segment. Mapped pages count in the process's resident size while a
/// segment is written, so it stays small; it is a few thousand calls' worth.
const JOURNAL_SEGMENT_BYTES: usize = 4 * 1024 * 1024;

/// Queue and batching settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub queue_capacity: usize,
    pub batch_size: usize,
    pub flush_interval: Duration,
    /// Where `usage-spill.jsonl` and the `usage-journal` directory live.
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
#[derive(Debug)]
pub struct UsageDraft {
    /// The record's id, fixed when the call is first written down so every copy of it (journal,
    /// spill, store) is the same record.
    pub id: UsageId,
    pub request_id: RequestId,
    pub tenant_id: TenantId,
    pub key_id: ApiKeyId,
    pub endpoint: Endpoint,
    pub model_alias: Arc<str>,
    pub provider: Arc<str>,
    pub upstream_model: Arc<str>,
    /// Tries that failed before the one recorded here; only that one is billed.
    pub attempts: Vec<crate::call::Attempt>,
    /// The experiment arm of the deployment recorded here, if its route runs one.
    pub variant: Option<Arc<str>>,
    pub stream: bool,
    pub tokens: Tokens,
    pub status: UsageStatus,
    pub http_status: u16,
    pub error_code: Option<String>,
    pub latency: Duration,
    pub ttft: Option<Duration>,
    pub created_at: OffsetDateTime,
    /// The rates it is charged at, resolved when the call was recorded.
    pub rates: CallRates,
    /// The journal entries this draft settles once it is durable.
    pub(crate) tickets: Tickets,
    /// Whether its own entry made it into the journal.
    pub(crate) journaled: bool,
}

/// A draft's journal entries: its own, and the provisional one its stream started with. Two
/// fields, not a list: the request path allocates nothing for them.
#[derive(Debug, Default)]
pub(crate) struct Tickets {
    pub(crate) own: Option<Ticket>,
    pub(crate) opened: Option<Ticket>,
}

impl Tickets {
    /// The draft is durable elsewhere: its journal entries may go.
    fn settle(self) {
        for ticket in [self.own, self.opened].into_iter().flatten() {
            ticket.settle();
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl UsageDraft {
    /// Counts estimated tokens (CPU work: done on the writer, never on the request path).
    pub fn into_record(self) -> UsageRecord {
        let mut res = UsageRecord {
            id: self.id,
            request_id: self.request_id,
            tenant_id: self.tenant_id,
            key_id: self.key_id,
            endpoint: self.endpoint.as_str().to_owned(),
            model_alias: self.model_alias.to_string(),
            provider: self.provider.to_string(),
            upstream_model: self.upstream_model.to_string(),
            // Empty for nearly every call; collecting an empty list allocates nothing.
            attempts: self
                .attempts
                .into_iter()
                .map(|it| UsageAttempt {
                    deployment: it.deployment.to_string(),
                    http_status: it.http_status,
                    error_code: String::from(it.error_code),
                    latency_ms: millis(it.latency),
                })
                .collect(),
            variant: self.variant.as_deref().map(str::to_owned),
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
            cost: None,
            wholesale: None,
            price: None,
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
        let priced = self.rates.charge(&TokenCounts {
            prompt: res.prompt_tokens,
            completion: res.completion_tokens,
            cached: res.cached_tokens,
            cache_write: res.cache_write_tokens,
            reasoning: res.reasoning_tokens,
        });
        res.cost = priced.cost;
        res.wholesale = priced.wholesale;
        res.price = priced.price;
        res
    }
}

/// The usage pipeline's state that shutdown reads and sets.
#[derive(Debug, Default)]
pub struct Lifecycle {
    /// Cancelled when the process starts to stop: open streams end with an error event, and
    /// calls cut by the stop are recorded as `server_closed`.
    pub draining: CancellationToken,
    /// When everything queued must be stored or spilled.
    deadline: Mutex<Option<Instant>>,
    /// Drafts that are in neither the journal, the store nor the spill file.
    unsaved: AtomicI64,
}

impl Lifecycle {
    /// Sets the moment by which the writer must have stored or spilled everything.
    pub fn shutdown_by(&self, deadline: Instant) {
        *self
            .deadline
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(deadline);
    }

    /// The deadline set by [`Lifecycle::shutdown_by`], if any.
    pub fn deadline(&self) -> Option<Instant> {
        *self
            .deadline
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Accepted calls whose usage is in neither the journal, the store nor the spill file: lost
    /// if the process ends now.
    pub fn unsaved(&self) -> u64 {
        u64::try_from(self.unsaved.load(Ordering::Acquire)).unwrap_or(0)
    }
}

/// Logs at most once per `every`, using `last` (seconds since the Unix epoch) as the memory.
fn due(last: &AtomicU64, every: Duration) -> bool {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |it| it.as_secs());
    let before = last.load(Ordering::Relaxed);
    now >= before + every.as_secs()
        && last
            .compare_exchange(before, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}

/// The request side of the queue.
#[derive(Debug, Clone)]
pub(crate) struct UsageSink(Arc<Sink>);

#[derive(Debug)]
struct Sink {
    sender: mpsc::Sender<UsageDraft>,
    /// Wakes the writer before its interval ends.
    pressure: Arc<Notify>,
    /// The writer is woken once this few free places are left: when a batch's worth waits.
    wake_below: usize,
    spill: Arc<Spill>,
    journal: Option<Arc<Journal>>,
    lifecycle: Arc<Lifecycle>,
    tracker: TaskTracker,
    journal_failure_logged: AtomicU64,
    /// Drafts the full queue turned away, waiting for the spill file: appended together, one
    /// write and one `fdatasync` for all that arrived during the last one (a task per draft
    /// synced once per draft, and at thousands of calls a second they piled up for minutes).
    overflow: std::sync::Mutex<Vec<UsageDraft>>,
    /// Whether a task is appending `overflow`; at most one is.
    overflow_flushing: std::sync::atomic::AtomicBool,
}

impl UsageSink {
    pub(crate) fn lifecycle(&self) -> &Arc<Lifecycle> {
        &self.0.lifecycle
    }

    /// Writes `draft` down in the journal; answers whether it is there.
    fn journal(&self, draft: &UsageDraft, provisional: bool) -> Option<Ticket> {
        let journal = self.0.journal.as_ref()?;
        match entry::with_entry(draft, provisional, |bytes| journal.append(bytes)) {
            Some(Ok(ticket)) => Some(ticket),
            failed => {
                metrics::counter!("gateway_usage_journal_failures_total").increment(1);
                if due(&self.0.journal_failure_logged, Duration::from_secs(10)) {
                    let error = match failed {
                        Some(Err(e)) => e.to_string(),
                        _ => "the draft could not be serialised".to_owned(),
                    };
                    tracing::error!(%error, "cannot write to the usage journal; records are at risk until stored");
                }
                None
            }
        }
    }

    /// Writes a stream's provisional entry when it starts: if the process dies before the
    /// stream ends, the next start bills it from this entry.
    pub(crate) fn open_stream(&self, provisional: &UsageDraft) -> Option<Ticket> {
        self.journal(provisional, true)
    }

    /// Writes the draft to the journal, then hands it to the writer without waiting. When the
    /// queue is full the draft goes to the spill file on a blocking thread, never lost and never
    /// on the request path.
    pub(crate) fn record(&self, mut draft: UsageDraft) {
        match self.journal(&draft, false) {
            Some(ticket) => {
                draft.tickets.own = Some(ticket);
                draft.journaled = true;
            }
            None => {
                self.0.lifecycle.unsaved.fetch_add(1, Ordering::AcqRel);
            }
        }
        let sink = &self.0;
        match sink.sender.try_send(draft) {
            Ok(()) => {
                if sink.sender.capacity() < sink.wake_below {
                    sink.pressure.notify_one();
                }
            }
            Err(
                mpsc::error::TrySendError::Full(draft) | mpsc::error::TrySendError::Closed(draft),
            ) => {
                metrics::counter!("gateway_usage_spilled_total", "reason" => "queue_full")
                    .increment(1);
                sink.overflow
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(draft);
                if !sink.overflow_flushing.swap(true, Ordering::AcqRel) {
                    sink.tracker.spawn(spill_overflow(self.0.clone()));
                }
            }
        }
    }

    /// Flushes the journal to disk and stops writing its current segment: the last step of a
    /// clean shutdown, after the writer finished.
    pub(crate) fn close_journal(&self) {
        if let Some(journal) = &self.0.journal {
            if let Err(e) = journal.sync() {
                tracing::error!(error = %e, "cannot sync the usage journal");
            }
            journal.close();
        }
    }
}

/// Takes the drafts' journal tickets (settled once their records are durable) and counts the
/// drafts the journal does not hold.
fn take_tickets(drafts: &mut [UsageDraft]) -> (Vec<Tickets>, i64) {
    let mut unjournaled = 0i64;
    let tickets = drafts
        .iter_mut()
        .map(|draft| {
            unjournaled += i64::from(!draft.journaled);
            std::mem::take(&mut draft.tickets)
        })
        .collect();
    (tickets, unjournaled)
}

/// Appends what the full queue turned away to the spill file until none is left: each pass
/// takes everything waiting, so drafts that arrive during one append go together in the next.
async fn spill_overflow(sink: Arc<Sink>) {
    loop {
        let drafts = std::mem::take(
            &mut *sink
                .overflow
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        if drafts.is_empty() {
            sink.overflow_flushing.store(false, Ordering::Release);
            // A draft pushed after the take but before the flag fell has no task: take it
            // here unless another task already did.
            let waiting = !sink
                .overflow
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .is_empty();
            if waiting && !sink.overflow_flushing.swap(true, Ordering::AcqRel) {
                continue;
            }
            return;
        }
        let mut drafts = drafts;
        let (tickets, unjournaled) = take_tickets(&mut drafts);
        let records: Vec<UsageRecord> = drafts.into_iter().map(UsageDraft::into_record).collect();
        match sink.spill.append(&records, "queue_full").await {
            Ok(()) => {
                for tickets in tickets {
                    tickets.settle();
                }
                sink.lifecycle
                    .unsaved
                    .fetch_sub(unjournaled, Ordering::AcqRel);
            }
            Err(e) => {
                metrics::counter!("gateway_usage_spill_failures_total").increment(1);
                tracing::error!(error = %e, records = records.len(), "usage spill failed; journaled records come back at the next start");
            }
        }
    }
}

/// Opens the journal in `dir` and answers it with what earlier processes left in it.
fn open_journal(dir: &std::path::Path) -> (Option<Arc<Journal>>, Vec<PathBuf>) {
    match Journal::open(&dir.join("usage-journal"), JOURNAL_SEGMENT_BYTES) {
        Ok((journal, leftovers)) => (Some(Arc::new(journal)), leftovers.segments),
        Err(e) => {
            tracing::error!(error = %e, "the usage journal is unavailable: a crash can lose the usage of calls in flight");
            (None, Vec::new())
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
    let spill = Arc::new(Spill::new(config.spill_dir.join("usage-spill.jsonl")));
    let (journal, leftovers) = open_journal(&config.spill_dir);
    let lifecycle = Arc::new(Lifecycle::default());
    tracker.spawn(write_loop(
        Writer {
            store: store.clone(),
            spill: spill.clone(),
            lifecycle: lifecycle.clone(),
            tracker: tracker.clone(),
            health: StoreHealth::default(),
        },
        receiver,
        config.batch_size.max(1),
        config.flush_interval,
        pressure.clone(),
        cancel.clone(),
    ));
    tracker.spawn(replay_loop(
        store,
        spill.clone(),
        leftovers,
        config.replay_interval,
        cancel,
    ));
    UsageSink(Arc::new(Sink {
        sender,
        pressure,
        // A batch's worth waiting (half the queue at most) is written at once: a busy node
        // writes batches of `batch_size` as they fill instead of a flush interval's worth.
        wake_below: capacity - config.batch_size.min(capacity / 2).max(1).min(capacity),
        spill,
        journal,
        lifecycle,
        tracker: tracker.clone(),
        journal_failure_logged: AtomicU64::new(0),
        overflow: std::sync::Mutex::new(Vec::new()),
        overflow_flushing: std::sync::atomic::AtomicBool::new(false),
    }))
}

/// Whether the store is worth asking: after a failure it is left alone for a back-off that
/// doubles while it keeps failing.
#[derive(Debug, Default)]
struct StoreHealth {
    down_until: Option<Instant>,
    backoff: Duration,
}

impl StoreHealth {
    fn available(&self) -> bool {
        self.down_until.is_none_or(|until| Instant::now() >= until)
    }

    fn failed(&mut self, error: &str) {
        let first = self.down_until.is_none();
        self.backoff = if first {
            BACKOFF_FIRST
        } else {
            (self.backoff * 2).min(BACKOFF_MAX)
        };
        self.down_until = Some(Instant::now() + self.backoff);
        if first {
            tracing::error!(%error, "usage inserts fail; records go to the spill file until the store answers");
        }
    }

    fn succeeded(&mut self) {
        if self.down_until.take().is_some() {
            tracing::info!("usage inserts work again");
        }
        self.backoff = Duration::ZERO;
    }
}

/// The writer task's collaborators.
struct Writer {
    store: Arc<dyn Store>,
    spill: Arc<Spill>,
    lifecycle: Arc<Lifecycle>,
    tracker: TaskTracker,
    health: StoreHealth,
}

/// Drains the queue every `flush_interval`, or as soon as `pressure` says a batch's worth
/// waits.
///
/// The writer never waits on the queue itself: a waiting receiver would be woken by every
/// request, a cross-thread wake-up and context switch per request on a busy node. Polling on a
/// timer costs a few wake-ups per second instead.
async fn write_loop(
    mut writer: Writer,
    mut receiver: mpsc::Receiver<UsageDraft>,
    batch_size: usize,
    flush_interval: Duration,
    pressure: Arc<Notify>,
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
                writer.flush(&mut batch).await;
            }
        }
        writer.flush(&mut batch).await;
    }
}

impl Writer {
    /// How long the store may take with the next batch: [`INSERT_TIMEOUT`], or what is left
    /// before the shutdown deadline once the spill's share is kept.
    ///
    /// # Errors
    /// Why the store is not to be asked at all.
    fn store_budget(&self) -> Result<Duration, &'static str> {
        if !self.health.available() {
            return Err("the store is left alone after failing");
        }
        match self.lifecycle.deadline() {
            None => Ok(INSERT_TIMEOUT),
            Some(deadline) => deadline
                .checked_duration_since(Instant::now())
                .and_then(|left| left.checked_sub(SPILL_RESERVE))
                .filter(|it| !it.is_zero())
                .map(|it| it.min(INSERT_TIMEOUT))
                .ok_or("the shutdown deadline leaves no time for the store"),
        }
    }

    async fn flush(&mut self, batch: &mut Vec<UsageDraft>) {
        if batch.is_empty() {
            return;
        }
        let mut drafts = std::mem::take(batch);
        let (tickets, unjournaled) = take_tickets(&mut drafts);
        let Some(records) = self.records(drafts).await else {
            return;
        };
        let mut asked = true;
        let stored = match self.store_budget() {
            Err(why) => {
                asked = false;
                Err(why.to_owned())
            }
            Ok(budget) => {
                let started = Instant::now();
                match tokio::time::timeout(budget, self.store.insert_usage(&records)).await {
                    Ok(Ok(_)) => {
                        metrics::histogram!("gateway_usage_flush_duration_seconds")
                            .record(started.elapsed().as_secs_f64());
                        Ok(())
                    }
                    Ok(Err(e)) => Err(providers::error_chain(&e)),
                    Err(_) => Err(format!("no answer within {} ms", budget.as_millis())),
                }
            }
        };
        match stored {
            Ok(()) => {
                self.health.succeeded();
                metrics::counter!("gateway_usage_records_written_total")
                    .increment(records.len() as u64);
            }
            Err(error) => {
                if asked {
                    self.health.failed(&error);
                }
                let reason = if asked || !self.health.available() {
                    "store_error"
                } else {
                    "shutdown_deadline"
                };
                metrics::counter!("gateway_usage_spilled_total", "reason" => reason).increment(1);
                if let Err(e) = self.spill.append(&records, reason).await {
                    // The journal still holds the journaled ones: they come back at the next
                    // start. The others are at risk, and shutdown says so.
                    metrics::counter!("gateway_usage_spill_failures_total").increment(1);
                    tracing::error!(error = %e, records = records.len(), "usage spill failed");
                    return;
                }
            }
        }
        for tickets in tickets {
            tickets.settle();
        }
        self.lifecycle
            .unsaved
            .fetch_sub(unjournaled, Ordering::AcqRel);
    }

    /// Turns drafts into records; tokenizing is CPU work, kept off the async threads.
    async fn records(&self, drafts: Vec<UsageDraft>) -> Option<Vec<UsageRecord>> {
        let needs_tokenizer = drafts
            .iter()
            .any(|it| matches!(it.tokens, Tokens::Estimate { .. }));
        if !needs_tokenizer {
            return Some(drafts.into_iter().map(UsageDraft::into_record).collect());
        }
        match self
            .tracker
            .spawn_blocking(move || drafts.into_iter().map(UsageDraft::into_record).collect())
            .await
        {
            Ok(records) => Some(records),
            Err(e) => {
                tracing::error!(error = %e, "usage estimation failed; the records stay in the journal");
                None
            }
        }
    }
}

/// Recovers what earlier processes left in the journal (into the spill file, so that it needs
/// no store), then replays the spill file into the store every `interval` until `cancel`.
async fn replay_loop(
    store: Arc<dyn Store>,
    spill: Arc<Spill>,
    leftovers: Vec<PathBuf>,
    interval: Duration,
    cancel: CancellationToken,
) {
    if !leftovers.is_empty() {
        recover_journal(&spill, leftovers).await;
    }
    loop {
        if let Err(e) = spill.replay(store.as_ref()).await {
            tracing::warn!(error = %providers::error_chain(&e), "usage replay failed; will retry");
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}

/// Moves the drafts of leftover journal segments into the spill file, then deletes the
/// segments. Calls that never finished are billed as estimated, `server_closed`.
async fn recover_journal(spill: &Spill, segments: Vec<PathBuf>) {
    let recovered = tokio::task::spawn_blocking(move || {
        let (drafts, unreadable) = entry::recover(&segments);
        let records: Vec<UsageRecord> = drafts.into_iter().map(UsageDraft::into_record).collect();
        (records, unreadable, segments)
    })
    .await;
    let Ok((records, unreadable, segments)) = recovered else {
        tracing::error!("usage journal recovery failed; it is tried again at the next start");
        return;
    };
    if let Err(e) = spill.append(&records, "recovered from the journal").await {
        tracing::error!(error = %e, "cannot spill recovered usage; the journal is kept for the next start");
        return;
    }
    for segment in &segments {
        if let Err(e) = journal::remove(segment) {
            tracing::error!(error = %e, path = %segment.display(), "cannot remove a recovered journal segment");
        }
    }
    let interrupted = records
        .iter()
        .filter(|it| it.status == UsageStatus::ServerClosed)
        .count();
    tracing::warn!(
        records = records.len(),
        interrupted,
        unreadable,
        "recovered usage from the journal of a process that did not stop cleanly"
    );
}

#[cfg(test)]
mod tests {
    use store::UsageStore;
    use store_sqlite::SqliteStore;

    use super::*;

    pub(crate) fn draft(tenant: TenantId) -> UsageDraft {
        UsageDraft {
            id: UsageId::new(),
            request_id: RequestId::new(),
            tenant_id: tenant,
            key_id: ApiKeyId::new(),
            endpoint: Endpoint::ChatCompletions,
            model_alias: "m".into(),
            provider: "p".into(),
            upstream_model: "u".into(),
            attempts: Vec::new(),
            variant: None,
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
            rates: CallRates::default(),
            tickets: Tickets::default(),
            journaled: false,
        }
    }

    pub(crate) async fn setup(dir: &std::path::Path) -> Arc<SqliteStore> {
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
        let dir = scratch();
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

    pub(crate) fn scratch() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("sluice-spill-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn journal_segments(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir.join("usage-journal"))
            .map(|it| {
                it.filter(|entry| {
                    entry
                        .as_ref()
                        .is_ok_and(|it| it.path().extension().is_some_and(|ext| ext == "log"))
                })
                .count()
            })
            .unwrap_or(0)
    }

    #[tokio::test]
    async fn a_killed_processs_journal_is_billed_by_the_next_start_exactly_once() {
        let dir = scratch();
        let store = setup(&dir).await;
        let tenant = TenantId::new();
        // What a process killed mid-flight leaves: five answered calls, a stream that ended
        // (provisional and final entries), and a stream still open (a provisional entry only).
        let (journal, _) =
            Journal::open(&dir.join("usage-journal"), JOURNAL_SEGMENT_BYTES).unwrap();
        let answered: Vec<UsageDraft> = (0..5).map(|_| draft(tenant)).collect();
        let mut ended = draft(tenant);
        ended.stream = true;
        let mut open = draft(tenant);
        open.stream = true;
        open.status = UsageStatus::ServerClosed;
        open.tokens = Tokens::Estimate {
            prompt_tokens: Some(25),
            prompt_text: String::new(),
            completion_text: String::new(),
            raw: None,
        };
        let mut written = Vec::new();
        for (draft, provisional) in answered.iter().map(|it| (it, false)).chain([
            (&ended, true),
            (&ended, false),
            (&open, true),
        ]) {
            written.push(
                entry::with_entry(draft, provisional, |bytes| journal.append(bytes))
                    .unwrap()
                    .unwrap(),
            );
        }
        std::mem::forget(written);
        std::mem::forget(journal);
        // The kill also released the directory's lock.
        std::fs::remove_file(dir.join("usage-journal/LOCK")).unwrap();

        for _start in 0..2 {
            let tracker = TaskTracker::new();
            let cancel = CancellationToken::new();
            let _sink = start(&config(&dir, 100), store.clone(), &tracker, cancel.clone());
            eventually("the journal recovered and replayed", async || {
                store.list_usage(tenant, 100).await.unwrap().len() == 7
                    && journal_segments(&dir) == 0
                    && !dir.join("usage-spill.jsonl").exists()
            })
            .await;
            cancel.cancel();
            tracker.close();
            tracker.wait().await;
        }
        let stored = store.list_usage(tenant, 100).await.unwrap();
        assert_eq!(stored.len(), 7, "a second start bills nothing twice");
        let by_id = |id: UsageId| stored.iter().find(|it| it.id == id).unwrap();
        assert_eq!(
            by_id(ended.id).status,
            UsageStatus::Ok,
            "the final line won"
        );
        let cut = by_id(open.id);
        assert_eq!(
            (cut.status, cut.estimated, cut.prompt_tokens),
            (UsageStatus::ServerClosed, true, 25)
        );
    }

    #[tokio::test]
    async fn a_clean_stop_during_an_outage_spills_everything_before_the_deadline() {
        let dir = scratch();
        let store = setup(&dir).await;
        database_down(&store, true).await;
        let tracker = TaskTracker::new();
        let cancel = CancellationToken::new();
        let mut config = config(&dir, 1000);
        // The writer would otherwise flush before the stop below.
        config.flush_interval = Duration::from_secs(60);
        let sink = start(&config, store.clone(), &tracker, cancel.clone());
        let tenant = TenantId::new();
        for _ in 0..300 {
            sink.record(draft(tenant));
        }
        assert_eq!(
            journal_segments(&dir),
            1,
            "every draft is in the journal first"
        );
        let deadline = Instant::now() + Duration::from_secs(2);
        sink.lifecycle().shutdown_by(deadline);
        cancel.cancel();
        tracker.close();
        assert!(
            tokio::time::timeout_at(deadline.into(), tracker.wait())
                .await
                .is_ok(),
            "the writer finished before the deadline"
        );
        sink.close_journal();
        let spilled = std::fs::read_to_string(dir.join("usage-spill.jsonl")).unwrap();
        assert_eq!(spilled.lines().count(), 300);
        assert_eq!(journal_segments(&dir), 0, "spilled lines are settled");
        assert_eq!(sink.lifecycle().unsaved(), 0);
    }

    #[tokio::test]
    async fn drafts_in_neither_journal_store_nor_spill_are_counted_as_unsaved() {
        let dir = scratch();
        let store = setup(&dir).await;
        // A data directory that is a file: neither the journal nor the spill file can exist.
        let blocked = dir.join("not-a-directory");
        std::fs::write(&blocked, "x").unwrap();
        let tracker = TaskTracker::new();
        let cancel = CancellationToken::new();
        let sink = start(
            &config(&blocked, 100),
            store.clone(),
            &tracker,
            cancel.clone(),
        );
        let tenant = TenantId::new();
        database_down(&store, true).await;
        for _ in 0..3 {
            sink.record(draft(tenant));
        }
        assert_eq!(sink.lifecycle().unsaved(), 3);
        eventually("the writer took the batch", async || {
            sink.0.sender.capacity() == 100
        })
        .await;
        // Its insert fails at once (the table is gone) and so does its spill.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            sink.lifecycle().unsaved(),
            3,
            "still at risk: nowhere to put them"
        );
        database_down(&store, false).await;
        // Past the writer's back-off, the store is asked again.
        tokio::time::sleep(BACKOFF_FIRST + Duration::from_millis(100)).await;
        sink.record(draft(tenant));
        // The store takes the new one; the three are gone with their failed batch, and stay
        // counted so that shutdown can say so.
        eventually("stored", async || {
            store.list_usage(tenant, 10).await.unwrap().len() == 1
        })
        .await;
        cancel.cancel();
        tracker.close();
        tracker.wait().await;
        assert_eq!(sink.lifecycle().unsaved(), 3);
    }

    #[test]
    fn a_record_lists_its_drafts_failed_tries_and_bills_the_answering_deployment() {
        let mut d = draft(TenantId::new());
        d.attempts = vec![crate::call::Attempt {
            deployment: "east".into(),
            http_status: 504,
            error_code: "upstream_timeout".into(),
            latency: Duration::from_micros(2_500_900),
        }];
        let record = d.into_record();
        assert_eq!(
            record.attempts,
            [UsageAttempt {
                deployment: "east".into(),
                http_status: 504,
                error_code: "upstream_timeout".into(),
                latency_ms: 2_500,
            }]
        );
        assert_eq!(
            (
                record.provider.as_str(),
                record.prompt_tokens,
                record.status
            ),
            ("p", 3, UsageStatus::Ok),
            "the record itself is the try that answered"
        );
        assert!(draft(TenantId::new()).into_record().attempts.is_empty());
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

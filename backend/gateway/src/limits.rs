//! The rate-limit and budget counters as the admit stage calls them (`Limiter`): the shared
//! counters (`store::SharedLimiter`, Redis) when configured, this node's (`LocalLimiter`)
//! otherwise or when the caller's fail-open policy falls back to them.
//!
//! A call's settlements and in-flight releases are queued here and ride on the next admission
//! to the shared counters, so each call costs one round trip; a flusher on the `TaskTracker`
//! sends what waited ~50 ms with no admission to carry it, or when the queue fills. What fails
//! to send is kept for the next try, up to a bound; beyond it the oldest is dropped, counted
//! and logged.

mod local;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use metrics::Counter as MetricCounter;
use smallvec::SmallVec;
use store::SharedLimiter;
use store::limits::{Admission, Counter, Pending, hash_tag};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use local::{Clock, LocalLimiter, ManualClock, SystemClock};

/// How the limiter talks to the shared counters.
#[derive(Debug, Clone)]
pub struct Config {
    /// The most one round trip may take before the counters count as unavailable.
    pub timeout: Duration,
    /// Adjustments kept waiting at most; beyond, the oldest is dropped (and counted).
    pub max_pending: usize,
    /// Adjustments one admission carries at most.
    pub max_carried: usize,
    /// How long an adjustment waits for an admission to carry it before the flusher sends it.
    pub flush_after: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            timeout: Duration::from_millis(250),
            max_pending: 8_192,
            max_carried: 64,
            flush_after: Duration::from_millis(50),
        }
    }
}

/// The shared counters could not be asked (down, or too slow; or, with
/// `store::Error::Other`, they refused the request as malformed, a bug): the caller applies
/// the tenant's policy, refusing (fail closed) or asking [`Limiter::admit_local`] (fail open).
#[derive(Debug, thiserror::Error)]
#[error("the shared rate-limit counters are unavailable")]
pub struct LimitsUnavailable(#[source] pub store::Error);

/// The admit stage's counters.
#[derive(Debug, Clone)]
pub struct Limiter {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    shared: Option<Arc<dyn SharedLimiter>>,
    local: LocalLimiter,
    config: Config,
    queue: Mutex<VecDeque<Queued>>,
    /// Wakes the flusher early: the queue is filling.
    wake: Notify,
    /// Dropped since the flusher last said so.
    dropped_unreported: AtomicU64,
    /// Whether the last round trip to the shared counters failed.
    unreachable: std::sync::atomic::AtomicBool,
    metrics: Metrics,
}

#[derive(Debug)]
struct Queued {
    since: Instant,
    item: Pending,
    /// Whether an admission may carry it: not after the counters refused a request that
    /// carried it as malformed, so that a bad adjustment cannot keep failing admissions (the
    /// flusher then sends it alone, and drops it if it is refused again).
    carry: bool,
    /// The batch it was sent in when the reply was lost: it goes again in that batch, which
    /// the counters apply at most once (`Pending::Batch`).
    batch: Option<Arc<str>>,
}

/// Pre-registered handles, so that counting allocates nothing.
#[derive(Debug)]
struct Metrics {
    admit_ok: MetricCounter,
    admit_error: MetricCounter,
    settle_ok: MetricCounter,
    settle_error: MetricCounter,
    fallbacks: MetricCounter,
    dropped: MetricCounter,
    /// 1 while the last round trip to the shared counters failed.
    unreachable: metrics::Gauge,
}

impl Metrics {
    fn new() -> Self {
        let trip = |op: &'static str, outcome: &'static str| metrics::counter!("gateway_limits_round_trips_total", "op" => op, "outcome" => outcome);
        Metrics {
            admit_ok: trip("admit", "ok"),
            admit_error: trip("admit", "error"),
            settle_ok: trip("settle", "ok"),
            settle_error: trip("settle", "error"),
            fallbacks: metrics::counter!("gateway_limits_fallbacks_total"),
            dropped: metrics::counter!("gateway_limits_settlements_dropped_total"),
            unreachable: metrics::gauge!("gateway_limits_shared_unreachable"),
        }
    }
}

impl Limiter {
    /// Counters on this node only.
    pub fn local(local: LocalLimiter) -> Self {
        Limiter::build(None, local, Config::default())
    }

    /// Counters shared through `shared`, with `local` for the fail-open fallback; the flusher
    /// runs on `tasks` until `cancel`, and then sends what is queued one last time.
    pub fn shared(
        shared: Arc<dyn SharedLimiter>,
        local: LocalLimiter,
        config: Config,
        tasks: &TaskTracker,
        cancel: CancellationToken,
    ) -> Self {
        let res = Limiter::build(Some(shared), local, config);
        let flusher = res.clone();
        tasks.spawn(async move { flusher.flush_loop(cancel).await });
        res
    }

    fn build(shared: Option<Arc<dyn SharedLimiter>>, local: LocalLimiter, config: Config) -> Self {
        Limiter {
            inner: Arc::new(Inner {
                shared,
                local,
                config,
                queue: Mutex::new(VecDeque::new()),
                wake: Notify::new(),
                dropped_unreported: AtomicU64::new(0),
                unreachable: std::sync::atomic::AtomicBool::new(false),
                metrics: Metrics::new(),
            }),
        }
    }

    /// Whether counters are shared between nodes.
    pub fn is_shared(&self) -> bool {
        self.inner.shared.is_some()
    }

    /// Where calls are counted now: `shared`, `local` (no shared counters configured) or
    /// `unreachable` (configured, but the last round trip failed: each tenant's policy
    /// applies, and fail-open calls are counted by this node alone).
    pub fn state(&self) -> &'static str {
        match &self.inner.shared {
            None => "local",
            Some(_) if self.inner.unreachable.load(Ordering::Relaxed) => "unreachable",
            Some(_) => "shared",
        }
    }

    fn reached(&self, ok: bool) {
        let inner = &*self.inner;
        if inner.unreachable.swap(!ok, Ordering::Relaxed) == ok {
            inner.metrics.unreachable.set(if ok { 0.0 } else { 1.0 });
        }
    }

    /// Admits `call_id` on `counters`, all or nothing, carrying this node's queued adjustments
    /// of the same hash tag in the same round trip.
    ///
    /// # Errors
    /// [`LimitsUnavailable`] when the shared counters did not answer within the configured
    /// timeout; the carried adjustments are queued again.
    pub async fn admit(
        &self,
        counters: &[Counter],
        call_id: &str,
    ) -> Result<Admission, LimitsUnavailable> {
        let inner = &*self.inner;
        let Some(shared) = &inner.shared else {
            return Ok(inner.local.admit(&[], counters, call_id));
        };
        let (carried, batch) = match counters.first() {
            Some(first) => self.take_queued(hash_tag(&first.key), call_id),
            None => (Vec::new(), None),
        };
        let asked = tokio::time::timeout(
            inner.config.timeout,
            shared.admit(&carried, counters, call_id),
        )
        .await;
        let error = match asked {
            Ok(Ok(admission)) => {
                inner.metrics.admit_ok.increment(1);
                self.reached(true);
                return Ok(admission);
            }
            Ok(Err(e)) => e,
            Err(_) => {
                store::Error::Unavailable("the shared counters did not answer in time".into())
            }
        };
        inner.metrics.admit_error.increment(1);
        self.reached(false);
        let carry = matches!(error, store::Error::Unavailable(_));
        self.requeue(carried, carry, batch);
        Err(LimitsUnavailable(error))
    }

    /// Admits on this node's counters: the fail-open fallback (counted as one when counters
    /// are shared). Settle what it admits with [`Limiter::settle_local`].
    pub fn admit_local(&self, counters: &[Counter], call_id: &str) -> Admission {
        if self.inner.shared.is_some() {
            self.inner.metrics.fallbacks.increment(1);
        }
        self.inner.local.admit(&[], counters, call_id)
    }

    /// Queues an adjustment of what [`Limiter::admit`] admitted; it never waits.
    pub fn settle(&self, item: Pending) {
        self.settle_all([item]);
    }

    /// Queues the adjustments of one call at once; it never waits.
    pub fn settle_all(&self, items: impl IntoIterator<Item = Pending>) {
        let inner = &*self.inner;
        if inner.shared.is_none() {
            let items: SmallVec<[Pending; 4]> = items.into_iter().collect();
            inner.local.settle(&items);
            return;
        }
        let len = {
            let since = Instant::now();
            let mut queue = self.queue();
            queue.extend(items.into_iter().map(|item| Queued {
                since,
                item,
                carry: true,
                batch: None,
            }));
            self.trim(&mut queue);
            queue.len()
        };
        if len >= inner.config.max_pending / 2 {
            inner.wake.notify_one();
        }
    }

    /// Adjusts what [`Limiter::admit_local`] admitted.
    pub fn settle_local(&self, item: Pending) {
        self.settle_local_all([item]);
    }

    /// Adjusts at once what [`Limiter::admit_local`] admitted for one call.
    pub fn settle_local_all(&self, items: impl IntoIterator<Item = Pending>) {
        let items: SmallVec<[Pending; 4]> = items.into_iter().collect();
        self.inner.local.settle(&items);
    }

    /// Adjustments waiting to be sent.
    pub fn pending(&self) -> usize {
        self.queue().len()
    }

    /// Sends every queued adjustment now, one round trip per hash tag.
    ///
    /// # Errors
    /// [`LimitsUnavailable`] when a round trip failed; what it carried is queued again.
    pub async fn flush(&self) -> Result<(), LimitsUnavailable> {
        self.flush_older_than(Duration::ZERO).await
    }

    fn queue(&self) -> MutexGuard<'_, VecDeque<Queued>> {
        self.inner
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Drops the oldest adjustments beyond the bound.
    fn trim(&self, queue: &mut VecDeque<Queued>) {
        let over = queue.len().saturating_sub(self.inner.config.max_pending);
        if over > 0 {
            queue.drain(..over);
            let over = u64::try_from(over).unwrap_or(u64::MAX);
            self.inner.metrics.dropped.increment(over);
            self.inner
                .dropped_unreported
                .fetch_add(over, Ordering::Relaxed);
        }
    }

    /// Takes up to `max_carried` queued adjustments of hash tag `tag`, oldest first, looking
    /// no further than a few times that into the queue (the request path holds the lock), as
    /// one batch: the batch of the oldest when its first sending's reply was lost (the same
    /// adjustments again, so that the counters apply them at most once), else a new one
    /// named `fresh`. Answers them after the batch's mark, and the batch's id.
    fn take_queued(&self, tag: &str, fresh: &str) -> (Vec<Pending>, Option<Arc<str>>) {
        let max = self.inner.config.max_carried;
        let mut queue = self.queue();
        let mut res = Vec::new();
        let mut batch = None;
        let mut i = 0;
        while i < queue.len() && i < max * 4 && res.len() < max {
            let it = &queue[i];
            let joins = res.is_empty() || it.batch == batch;
            if it.carry && joins && hash_tag(it.item.key()) == tag {
                if let Some(it) = queue.remove(i) {
                    if res.is_empty() {
                        batch = it.batch;
                    }
                    res.push(it.item);
                }
            } else {
                i += 1;
            }
        }
        drop(queue);
        let batch = marked(tag, &mut res, batch, fresh);
        (res, batch)
    }

    /// Puts back adjustments that could not be sent, ahead of newer ones (so that the bound
    /// drops them first), remembering the batch they were sent in.
    fn requeue(&self, items: Vec<Pending>, carry: bool, batch: Option<Arc<str>>) {
        if items.is_empty() {
            return;
        }
        let now = Instant::now();
        let mut queue = self.queue();
        for item in items.into_iter().rev() {
            if matches!(item, Pending::Batch { .. }) {
                continue;
            }
            queue.push_front(Queued {
                since: now,
                item,
                carry,
                batch: batch.clone(),
            });
        }
        self.trim(&mut queue);
    }

    /// Sends the adjustments that waited `age` or more, grouped by hash tag (one round trip
    /// each, as Redis Cluster requires).
    async fn flush_older_than(&self, age: Duration) -> Result<(), LimitsUnavailable> {
        let inner = &*self.inner;
        let Some(shared) = &inner.shared else {
            return Ok(());
        };
        let due: Vec<(Pending, Option<Arc<str>>)> = {
            let mut queue = self.queue();
            let now = Instant::now();
            let n = queue
                .iter()
                .take_while(|it| now.duration_since(it.since) >= age)
                .count();
            // A full queue goes out whatever its age.
            let n = if queue.len() >= inner.config.max_pending / 2 {
                queue.len()
            } else {
                n
            };
            queue.drain(..n).map(|it| (it.item, it.batch)).collect()
        };
        // By hash tag (one round trip each, as Redis Cluster requires) and batch: a batch
        // whose reply was lost goes again whole and alone.
        type Group = (String, Option<Arc<str>>, Vec<Pending>);
        let mut groups: Vec<Group> = Vec::new();
        for (item, batch) in due {
            let tag = hash_tag(item.key());
            match groups
                .iter_mut()
                .find(|(it, of, _)| it == tag && *of == batch)
            {
                Some((_, _, group)) => group.push(item),
                None => groups.push((tag.to_owned(), batch, vec![item])),
            }
        }
        let mut failed: Option<store::Error> = None;
        let mut unsent: Vec<(Pending, Option<Arc<str>>)> = Vec::new();
        let size = inner.config.max_carried.max(1);
        for (tag, batch, group) in groups {
            let chunks: Vec<Vec<Pending>> = if batch.is_some() {
                vec![group]
            } else {
                group.chunks(size).map(<[Pending]>::to_vec).collect()
            };
            for mut chunk in chunks {
                let fresh = uuid::Uuid::now_v7().simple().to_string();
                let batch = marked(&tag, &mut chunk, batch.clone(), &fresh);
                if failed.is_some() {
                    unsent.extend(chunk.into_iter().map(|it| (it, batch.clone())));
                    continue;
                }
                match tokio::time::timeout(inner.config.timeout, shared.settle(&chunk)).await {
                    Ok(Ok(())) => inner.metrics.settle_ok.increment(1),
                    Ok(Err(e @ (store::Error::Other(_) | store::Error::Conflict(_)))) => {
                        // Refused as malformed: sending it again would fail again.
                        inner.metrics.settle_error.increment(1);
                        let n = chunk
                            .iter()
                            .filter(|it| !matches!(it, Pending::Batch { .. }))
                            .count();
                        let n = u64::try_from(n).unwrap_or(u64::MAX);
                        inner.metrics.dropped.increment(n);
                        tracing::error!(error = %e, dropped = n, "limits: settlements refused by the shared counters, dropped");
                    }
                    outcome => {
                        inner.metrics.settle_error.increment(1);
                        failed = Some(match outcome {
                            Ok(Err(e)) => e,
                            _ => store::Error::Unavailable(
                                "the shared counters did not answer in time".into(),
                            ),
                        });
                        unsent.extend(chunk.into_iter().map(|it| (it, batch.clone())));
                    }
                }
            }
        }
        // Back in order, each with the batch it was sent in.
        for (item, batch) in unsent.into_iter().rev() {
            self.requeue(vec![item], true, batch);
        }
        failed.map_or(Ok(()), |e| Err(LimitsUnavailable(e)))
    }

    async fn flush_loop(&self, cancel: CancellationToken) {
        let flush_after = self.inner.config.flush_after;
        let mut backoff = flush_after;
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                () = self.inner.wake.notified() => {}
                () = tokio::time::sleep(backoff) => {}
            }
            match self.flush_older_than(flush_after).await {
                Ok(()) => backoff = flush_after,
                Err(e) => {
                    tracing::debug!(error = %e, pending = self.pending(), "limits: settlements not sent; kept for the next try");
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
            self.report_dropped();
        }
        if let Err(e) = self.flush().await {
            tracing::warn!(error = %e, pending = self.pending(), "limits: settlements not sent at shutdown");
        }
        self.report_dropped();
    }

    fn report_dropped(&self) {
        let dropped = self.inner.dropped_unreported.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            tracing::warn!(
                dropped,
                bound = self.inner.config.max_pending,
                "limits: settlements dropped, the queue was full (the shared counters are unreachable)"
            );
        }
    }
}

/// Puts the mark of `items`' batch (of hash tag `tag`) in front of them when one of them
/// changes a count (a release is harmless to repeat): the batch `batch` they were sent in
/// before, else a new one named `fresh`. Answers the batch's id.
fn marked(
    tag: &str,
    items: &mut Vec<Pending>,
    batch: Option<Arc<str>>,
    fresh: &str,
) -> Option<Arc<str>> {
    if !items.iter().any(|it| matches!(it, Pending::Settle { .. })) {
        return batch;
    }
    let id = batch.unwrap_or_else(|| Arc::from(fresh));
    items.insert(
        0,
        Pending::Batch {
            key: store::limits::batch_key(tag, &id),
        },
    );
    Some(id)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::time::Duration;

    use store::limits::{Admission, Counter, Pending, SharedLimiter, Window};
    use tokio_util::sync::CancellationToken;
    use tokio_util::task::TaskTracker;

    use super::{Config, Limiter, LocalLimiter, ManualClock};

    /// Shared counters that are up or down on demand, and record what they were sent. (The
    /// counters themselves are a `LocalLimiter`: this tests the queue, not the arithmetic.)
    #[derive(Debug)]
    struct Switch {
        up: AtomicBool,
        hang: AtomicBool,
        /// Applies what it is sent, then answers as if the reply was lost.
        lose: AtomicBool,
        counters: LocalLimiter,
        admits: AtomicUsize,
        settles: AtomicUsize,
        carried: std::sync::Mutex<Vec<usize>>,
    }

    impl Switch {
        fn new() -> Arc<Self> {
            Arc::new(Switch {
                up: AtomicBool::new(true),
                hang: AtomicBool::new(false),
                lose: AtomicBool::new(false),
                counters: LocalLimiter::new(Arc::new(ManualClock::at_system_time())),
                admits: AtomicUsize::new(0),
                settles: AtomicUsize::new(0),
                carried: std::sync::Mutex::new(Vec::new()),
            })
        }

        fn lost(&self) -> Result<(), store::Error> {
            if self.lose.load(Ordering::Relaxed) {
                return Err(store::Error::Unavailable("the reply was lost".into()));
            }
            Ok(())
        }

        async fn gate(&self) -> Result<(), store::Error> {
            if self.hang.load(Ordering::Relaxed) {
                std::future::pending::<()>().await;
            }
            if self.up.load(Ordering::Relaxed) {
                Ok(())
            } else {
                Err(store::Error::Unavailable("down".into()))
            }
        }
    }

    #[async_trait::async_trait]
    impl SharedLimiter for Switch {
        async fn admit(
            &self,
            pending: &[Pending],
            counters: &[Counter],
            call_id: &str,
        ) -> Result<Admission, store::Error> {
            self.gate().await?;
            self.admits.fetch_add(1, Ordering::Relaxed);
            let adjustments = pending
                .iter()
                .filter(|it| !matches!(it, Pending::Batch { .. }))
                .count();
            self.carried.lock().unwrap().push(adjustments);
            let admission = self.counters.admit(pending, counters, call_id);
            self.lost()?;
            Ok(admission)
        }

        async fn settle(&self, pending: &[Pending]) -> Result<(), store::Error> {
            self.gate().await?;
            self.settles.fetch_add(1, Ordering::Relaxed);
            self.counters.settle(pending);
            self.lost()
        }
    }

    fn rpm(tenant: &str) -> Counter {
        Counter {
            key: format!("{{t:{tenant}}}:rpm").into(),
            window: Window::Sliding { span_ms: 60_000 },
            limit: 100,
            take: 1,
        }
    }

    fn give_back(admission: &Admission, counter: &Counter) -> Pending {
        Pending::Settle {
            key: counter.key.clone(),
            bucket: admission.counters[0].bucket.clone().unwrap(),
            delta: -1,
        }
    }

    fn shared(switch: &Arc<Switch>, config: Config) -> (Limiter, TaskTracker, CancellationToken) {
        let tasks = TaskTracker::new();
        let cancel = CancellationToken::new();
        let limiter = Limiter::shared(
            switch.clone(),
            LocalLimiter::default(),
            config,
            &tasks,
            cancel.clone(),
        );
        (limiter, tasks, cancel)
    }

    fn quiet() -> Config {
        // No flush during the test unless asked.
        Config {
            flush_after: Duration::from_secs(3_600),
            ..Config::default()
        }
    }

    #[tokio::test]
    async fn settlements_ride_on_the_next_admission_of_the_same_tag() {
        let switch = Switch::new();
        let (limiter, _tasks, _cancel) = shared(&switch, quiet());
        let first = limiter.admit(&[rpm("a")], "c1").await.unwrap();
        limiter.settle(give_back(&first, &rpm("a")));
        let other = limiter.admit(&[rpm("b")], "c2").await.unwrap();
        assert!(other.is_admitted());
        assert_eq!(
            limiter.pending(),
            1,
            "tenant b's call does not carry a's settlement"
        );
        let second = limiter.admit(&[rpm("a")], "c3").await.unwrap();
        assert_eq!(
            second.counters[0].used, 1,
            "1 + 1 − 1: the release landed first"
        );
        assert_eq!(limiter.pending(), 0);
        assert_eq!(
            switch.admits.load(Ordering::Relaxed),
            3,
            "one round trip per call"
        );
        assert_eq!(*switch.carried.lock().unwrap(), [0, 0, 1]);
        assert_eq!(switch.settles.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn a_settlement_whose_reply_was_lost_is_applied_once_when_sent_again() {
        let switch = Switch::new();
        let (limiter, _tasks, _cancel) = shared(&switch, quiet());
        let tpm = Counter {
            key: "{t:a}:tpm".into(),
            window: Window::Sliding { span_ms: 60_000 },
            limit: 1_000,
            take: 100,
        };
        let check = Counter {
            take: 0,
            ..tpm.clone()
        };
        let first = limiter
            .admit(std::slice::from_ref(&tpm), "c1")
            .await
            .unwrap();
        let bucket = first.counters[0].bucket.clone().unwrap();
        let settle = |delta| Pending::Settle {
            key: tpm.key.clone(),
            bucket: bucket.clone(),
            delta,
        };
        // Carried by an admission that the counters applied but whose reply was lost.
        limiter.settle(settle(-60));
        switch.lose.store(true, Ordering::Relaxed);
        assert!(
            limiter
                .admit(std::slice::from_ref(&check), "c2")
                .await
                .is_err()
        );
        assert_eq!(limiter.pending(), 1, "kept: it may not have been applied");
        switch.lose.store(false, Ordering::Relaxed);
        let res = limiter
            .admit(std::slice::from_ref(&check), "c3")
            .await
            .unwrap();
        assert_eq!(res.counters[0].used, 40, "100 − 60, once");
        assert_eq!(limiter.pending(), 0);
        // Sent alone by the flusher, the same.
        limiter.settle(settle(-10));
        switch.lose.store(true, Ordering::Relaxed);
        assert!(limiter.flush().await.is_err());
        assert_eq!(limiter.pending(), 1);
        switch.lose.store(false, Ordering::Relaxed);
        limiter.flush().await.unwrap();
        assert_eq!(limiter.pending(), 0);
        let res = limiter
            .admit(std::slice::from_ref(&check), "c4")
            .await
            .unwrap();
        assert_eq!(res.counters[0].used, 30, "40 − 10, once");
        // A settlement queued behind the lost batch goes in a batch of its own, and applies.
        limiter.settle(settle(-5));
        switch.lose.store(true, Ordering::Relaxed);
        assert!(
            limiter
                .admit(std::slice::from_ref(&check), "c5")
                .await
                .is_err()
        );
        switch.lose.store(false, Ordering::Relaxed);
        limiter.settle(settle(-3));
        limiter
            .admit(std::slice::from_ref(&check), "c6")
            .await
            .unwrap();
        assert_eq!(
            limiter.pending(),
            1,
            "the newer one waits for the next carrier"
        );
        let res = limiter.admit(&[check], "c7").await.unwrap();
        assert_eq!(res.counters[0].used, 22, "30 − 5 − 3");
    }

    #[tokio::test]
    async fn the_flusher_sends_what_no_admission_carried() {
        let switch = Switch::new();
        let config = Config {
            flush_after: Duration::from_millis(20),
            ..Config::default()
        };
        let (limiter, tasks, cancel) = shared(&switch, config);
        let admitted = limiter.admit(&[rpm("a")], "c1").await.unwrap();
        limiter.settle(give_back(&admitted, &rpm("a")));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while limiter.pending() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(limiter.pending(), 0);
        assert_eq!(switch.settles.load(Ordering::Relaxed), 1);
        let check = Counter {
            take: 0,
            ..rpm("a")
        };
        assert_eq!(
            switch.counters.admit(&[], &[check], "x").counters[0].used,
            0
        );
        cancel.cancel();
        tasks.close();
        tasks.wait().await;
    }

    #[tokio::test]
    async fn unavailable_counters_answer_quickly_and_keep_the_settlements() {
        let switch = Switch::new();
        let config = Config {
            timeout: Duration::from_millis(100),
            ..quiet()
        };
        let (limiter, _tasks, _cancel) = shared(&switch, config);
        let admitted = limiter.admit(&[rpm("a")], "c1").await.unwrap();
        limiter.settle(give_back(&admitted, &rpm("a")));

        switch.hang.store(true, Ordering::Relaxed);
        let started = std::time::Instant::now();
        let refused = limiter.admit(&[rpm("a")], "c2").await;
        assert!(refused.is_err(), "a hung Redis is an unavailable one");
        assert!(started.elapsed() < Duration::from_millis(500));
        assert_eq!(limiter.pending(), 1, "the carried settlement is kept");
        assert!(limiter.flush().await.is_err());
        assert_eq!(limiter.pending(), 1);

        // The caller's fail-open policy: this node's counters.
        let local = limiter.admit_local(&[rpm("a")], "c2");
        assert!(local.is_admitted());
        assert_eq!(local.counters[0].used, 1);

        switch.hang.store(false, Ordering::Relaxed);
        limiter.flush().await.unwrap();
        assert_eq!(limiter.pending(), 0);
    }

    #[tokio::test]
    async fn beyond_the_bound_the_oldest_settlements_are_dropped() {
        let switch = Switch::new();
        switch.up.store(false, Ordering::Relaxed);
        let config = Config {
            max_pending: 4,
            ..quiet()
        };
        let (limiter, _tasks, _cancel) = shared(&switch, config);
        for i in 0..6 {
            limiter.settle(Pending::Release {
                key: "{t:a}:slots".into(),
                member: format!("call{i}"),
            });
        }
        assert_eq!(limiter.pending(), 4);
        assert!(limiter.admit(&[rpm("a")], "c").await.is_err());
        assert_eq!(limiter.pending(), 4, "put back, still bounded");
        let kept: Vec<String> = limiter
            .queue()
            .iter()
            .map(|it| match &it.item {
                Pending::Release { member, .. } => member.clone(),
                Pending::Settle { .. } | Pending::Batch { .. } => String::new(),
            })
            .collect();
        assert_eq!(
            kept,
            ["call2", "call3", "call4", "call5"],
            "the newest are kept"
        );
    }

    /// The real shared counters, or `None` (said loudly) without a Redis; under `CI=true` a
    /// missing Redis fails.
    #[expect(clippy::print_stderr, reason = "a skipped test must be visible")]
    async fn redis() -> Option<store_redis::RedisLimiter> {
        let url =
            std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        match store_redis::RedisLimiter::connect(&url, Duration::from_millis(250)).await {
            Ok(it) => Some(it),
            Err(e) => {
                assert!(
                    !std::env::var("CI").is_ok_and(|it| it == "true" || it == "1"),
                    "Redis at {url} is required (CI) but unreachable: {e}"
                );
                eprintln!("\n!!!!!!!! SKIPPING Redis test: no server at {url} ({e}) !!!!!!!!\n");
                None
            }
        }
    }

    #[tokio::test]
    async fn over_redis_each_call_is_one_round_trip_carrying_the_last_settlement() {
        let Some(redis) = redis().await else { return };
        let tasks = TaskTracker::new();
        let limiter = Limiter::shared(
            Arc::new(redis.clone()),
            LocalLimiter::default(),
            quiet(),
            &tasks,
            CancellationToken::new(),
        );
        let tpm = Counter {
            key: format!("{{t:{}}}:tpm", uuid::Uuid::now_v7()).into(),
            window: Window::Sliding { span_ms: 3_600_000 },
            limit: 1_000_000,
            take: 500,
        };
        let before = redis.round_trips();
        for call in 0..20 {
            let admission = limiter
                .admit(std::slice::from_ref(&tpm), &format!("call-{call}"))
                .await
                .unwrap();
            assert!(admission.is_admitted());
            // The call used 200 tokens of the 500 it reserved.
            limiter.settle(Pending::Settle {
                key: tpm.key.clone(),
                bucket: admission.counters[0].bucket.clone().unwrap(),
                delta: -300,
            });
        }
        assert_eq!(redis.round_trips() - before, 20, "one round trip per call");
        assert_eq!(limiter.pending(), 1, "the last call's settlement waits");
        limiter.flush().await.unwrap();
        assert_eq!(redis.round_trips() - before, 21);
        let check = Counter { take: 0, ..tpm };
        let state = limiter.admit(&[check], "check").await.unwrap();
        assert_eq!(state.counters[0].used, 20 * 200);
    }

    #[tokio::test]
    async fn a_settlement_the_counters_refuse_stops_riding_and_is_dropped_by_the_flusher() {
        let Some(redis) = redis().await else { return };
        let tasks = TaskTracker::new();
        let limiter = Limiter::shared(
            Arc::new(redis),
            LocalLimiter::default(),
            quiet(),
            &tasks,
            CancellationToken::new(),
        );
        let counter = Counter {
            key: format!("{{t:{}}}:rpm", uuid::Uuid::now_v7()).into(),
            ..rpm("unused")
        };
        // A delta beyond what the script holds exactly: a caller's bug.
        limiter.settle(Pending::Settle {
            key: counter.key.clone(),
            bucket: store::limits::Bucket::Sliding {
                span_ms: 60_000,
                index: 1,
            },
            delta: i64::MAX,
        });
        let refused = limiter.admit(std::slice::from_ref(&counter), "c1").await;
        assert!(matches!(
            refused,
            Err(super::LimitsUnavailable(store::Error::Other(_)))
        ));
        assert_eq!(limiter.pending(), 1, "kept, but no longer carried");
        let admitted = limiter.admit(std::slice::from_ref(&counter), "c2").await;
        assert!(
            admitted.unwrap().is_admitted(),
            "the next call is not held hostage"
        );
        assert!(limiter.flush().await.is_ok());
        assert_eq!(limiter.pending(), 0, "dropped when refused alone");
    }

    #[tokio::test]
    async fn without_shared_counters_everything_is_local() {
        let limiter = Limiter::local(LocalLimiter::default());
        assert!(!limiter.is_shared());
        let counter = Counter {
            limit: 1,
            ..rpm("a")
        };
        let admitted = limiter
            .admit(std::slice::from_ref(&counter), "c1")
            .await
            .unwrap();
        assert!(admitted.is_admitted());
        assert!(
            !limiter
                .admit(std::slice::from_ref(&counter), "c2")
                .await
                .unwrap()
                .is_admitted()
        );
        limiter.settle(Pending::Settle {
            key: counter.key.clone(),
            bucket: admitted.counters[0].bucket.clone().unwrap(),
            delta: -1,
        });
        assert!(limiter.admit(&[counter], "c3").await.unwrap().is_admitted());
    }
}

//! A deployment's per-minute ceilings (`rpm`, `tpm`): how many requests and tokens this node
//! sends it in a sliding minute, counted with a few atomics so the request path neither locks
//! nor allocates. Dispatch passes over a deployment at its ceiling as it passes over an open
//! breaker, and the `usage_aware` strategy tries the least used deployment first.
//!
//! Ceilings are **per node**: each gateway process counts only its own calls (a fleet of `n`
//! nodes may send a deployment up to `n` times its ceiling). They are soft: calls admitted at
//! the same instant may pass a ceiling by the number of those calls, since checking and counting
//! are two steps (a strict check would need a lock on the hot path).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const MINUTE_MILLIS: u64 = 60_000;

/// Counts of the current and the previous minute; the sliding estimate of the last 60 seconds
/// weighs the previous minute by the share of it still inside them (the two-bucket "sliding
/// window counter": an estimate that assumes the previous minute's calls were spread evenly, for
/// three words of memory instead of a log of every call).
#[derive(Debug, Default)]
struct Window {
    /// Which minute (since the ceiling's epoch) `current` counts.
    minute: AtomicU64,
    current: AtomicU64,
    previous: AtomicU64,
}

impl Window {
    /// Moves the window to `minute` if it is behind. Counts added by other threads in the
    /// instant of the move may land in the wrong minute: harmless for a soft ceiling.
    fn roll(&self, minute: u64) {
        let seen = self.minute.load(Ordering::Acquire);
        if seen >= minute {
            return;
        }
        if self
            .minute
            .compare_exchange(seen, minute, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            let carried = self.current.swap(0, Ordering::AcqRel);
            let previous = if minute == seen + 1 { carried } else { 0 };
            self.previous.store(previous, Ordering::Release);
        }
    }

    fn add(&self, at: Moment, n: u64) {
        self.roll(at.minute);
        self.current.fetch_add(n, Ordering::Relaxed);
    }

    /// The count over the 60 seconds before `at`.
    fn estimate(&self, at: Moment) -> u64 {
        self.roll(at.minute);
        let previous = self.previous.load(Ordering::Relaxed);
        let current = self.current.load(Ordering::Relaxed);
        let left = MINUTE_MILLIS - at.into_minute_millis;
        current.saturating_add(
            u64::try_from(u128::from(previous) * u128::from(left) / u128::from(MINUTE_MILLIS))
                .unwrap_or(u64::MAX),
        )
    }
}

/// A point in time as the windows see it.
#[derive(Debug, Clone, Copy)]
struct Moment {
    minute: u64,
    into_minute_millis: u64,
}

/// A deployment's configured ceilings and its counts on this node.
#[derive(Debug)]
pub struct Ceiling {
    /// Requests per minute; `None`: unlimited.
    pub rpm: Option<u32>,
    /// Tokens (prompt and completion) per minute; `None`: unlimited.
    pub tpm: Option<u64>,
    epoch: Instant,
    requests: Window,
    tokens: Window,
}

/// What the management view shows of a ceiling: the counts of the last minute on this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CeilingReport {
    pub requests: u64,
    pub tokens: u64,
}

impl Ceiling {
    /// `None` when neither ceiling is set: such a deployment costs nothing to count.
    pub fn new(rpm: Option<u32>, tpm: Option<u64>) -> Option<Self> {
        if rpm.is_none() && tpm.is_none() {
            return None;
        }
        Some(Ceiling {
            rpm,
            tpm,
            epoch: Instant::now(),
            requests: Window::default(),
            tokens: Window::default(),
        })
    }

    fn moment(&self, now: Instant) -> Moment {
        let millis = u64::try_from(now.saturating_duration_since(self.epoch).as_millis())
            .unwrap_or(u64::MAX);
        Moment {
            minute: millis / MINUTE_MILLIS,
            into_minute_millis: millis % MINUTE_MILLIS,
        }
    }

    /// Whether one more request now would pass a ceiling.
    pub(crate) fn is_full(&self, now: Instant) -> bool {
        let at = self.moment(now);
        self.rpm
            .is_some_and(|rpm| self.requests.estimate(at) >= u64::from(rpm))
            || self.tpm.is_some_and(|tpm| self.tokens.estimate(at) >= tpm)
    }

    /// Counts one request sent to the deployment.
    pub(crate) fn sent(&self, now: Instant) {
        self.requests.add(self.moment(now), 1);
    }

    /// Counts the tokens of a call the deployment answered.
    pub(crate) fn used(&self, now: Instant, tokens: u64) {
        if self.tpm.is_some() && tokens > 0 {
            self.tokens.add(self.moment(now), tokens);
        }
    }

    /// How much of its ceilings the deployment used in the last minute, in millionths of the
    /// fuller one (the `usage_aware` strategy's ranking).
    pub(crate) fn utilisation(&self, now: Instant) -> u64 {
        let at = self.moment(now);
        let share = |used: u64, limit: u64| {
            u64::try_from(u128::from(used) * 1_000_000 / u128::from(limit.max(1)))
                .unwrap_or(u64::MAX)
        };
        let requests = self
            .rpm
            .map_or(0, |rpm| share(self.requests.estimate(at), u64::from(rpm)));
        let tokens = self
            .tpm
            .map_or(0, |tpm| share(self.tokens.estimate(at), tpm));
        requests.max(tokens)
    }

    /// How long until the window turns to its next minute: when a full deployment has room
    /// again at the latest (its previous minute then weighs less with every second).
    pub(crate) fn wait(&self, now: Instant) -> Duration {
        let at = self.moment(now);
        Duration::from_millis(MINUTE_MILLIS - at.into_minute_millis)
    }

    /// The counts of the last minute on this node.
    pub fn report(&self, now: Instant) -> CeilingReport {
        let at = self.moment(now);
        CeilingReport {
            requests: self.requests.estimate(at),
            tokens: self.tokens.estimate(at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_ceiling_is_nothing_to_count() {
        assert!(Ceiling::new(None, None).is_none());
    }

    #[test]
    fn a_ceiling_fills_and_frees_up_as_the_minute_slides() {
        let ceiling = Ceiling::new(Some(3), None).unwrap();
        let start = ceiling.epoch;
        for _ in 0..3 {
            assert!(!ceiling.is_full(start));
            ceiling.sent(start);
        }
        assert!(ceiling.is_full(start));
        assert_eq!(ceiling.utilisation(start), 1_000_000);
        assert_eq!(ceiling.wait(start), Duration::from_secs(60));
        // Half-way through the next minute, half of the previous one still counts: 1.5 → 1.
        let later = start + Duration::from_secs(90);
        assert!(!ceiling.is_full(later));
        assert_eq!(ceiling.report(later).requests, 1);
        assert_eq!(ceiling.wait(later), Duration::from_secs(30));
        // Two minutes on, nothing is left.
        let much_later = start + Duration::from_secs(200);
        assert_eq!(ceiling.report(much_later).requests, 0);
        assert_eq!(ceiling.utilisation(much_later), 0);
    }

    #[test]
    fn tokens_count_only_where_a_token_ceiling_is_set() {
        let ceiling = Ceiling::new(Some(100), Some(1000)).unwrap();
        let now = ceiling.epoch;
        ceiling.used(now, 600);
        assert!(!ceiling.is_full(now));
        assert_eq!(ceiling.utilisation(now), 600_000);
        ceiling.used(now, 400);
        assert!(ceiling.is_full(now), "1000 of 1000 tokens");
        let requests_only = Ceiling::new(Some(10), None).unwrap();
        requests_only.used(now, 5000);
        assert_eq!(requests_only.report(now).tokens, 0);
    }
}

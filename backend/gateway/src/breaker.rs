//! A circuit breaker per deployment: after enough failures in a row, or too high a share of
//! failures in a window, the deployment is left alone for a cool-down; then one probe call is
//! let through, and its outcome closes the breaker or opens it again.
//!
//! Breakers only steer calls to healthy deployments. When every deployment a call could use
//! is open, the call still goes to them in order: refusing it outright would turn one
//! upstream's outage into a certain one for the caller.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// When a breaker opens and how long it stays open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Failures in a row that open it.
    pub consecutive_failures: u32,
    /// Share of failed calls in a window that opens it, in percent (with `min_calls`).
    pub error_rate_percent: u32,
    /// Calls a window needs before its error rate counts.
    pub min_calls: u32,
    pub window: Duration,
    /// How long it stays open before a probe.
    pub cooldown: Duration,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        BreakerPolicy {
            consecutive_failures: 5,
            error_rate_percent: 50,
            min_calls: 20,
            window: Duration::from_secs(60),
            cooldown: Duration::from_secs(30),
        }
    }
}

/// A breaker's state, as reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }

    /// The value of the state gauge.
    pub fn gauge(self) -> f64 {
        match self {
            BreakerState::Closed => 0.0,
            BreakerState::Open => 1.0,
            BreakerState::HalfOpen => 2.0,
        }
    }
}

/// Whether a call may use the deployment now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    Yes,
    /// Yes, as the one probe of a half-open breaker.
    Probe,
    No,
}

#[derive(Debug)]
enum State {
    Closed,
    Open {
        until: Instant,
    },
    /// The cool-down is over; `probe_since` is when the probe in flight was let through.
    HalfOpen {
        probe_since: Option<Instant>,
    },
}

#[derive(Debug)]
struct Inner {
    state: State,
    consecutive: u32,
    window_start: Instant,
    calls: u32,
    failures: u32,
}

/// One deployment's breaker; `None` policy: never opens.
#[derive(Debug)]
pub struct Breaker {
    policy: Option<BreakerPolicy>,
    inner: Mutex<Inner>,
}

/// Figures of a breaker's current window, for the management API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerReport {
    pub state: BreakerState,
    pub calls: u32,
    pub failures: u32,
    pub consecutive_failures: u32,
}

impl Breaker {
    pub fn new(policy: Option<BreakerPolicy>) -> Self {
        Breaker {
            policy,
            inner: Mutex::new(Inner {
                state: State::Closed,
                consecutive: 0,
                window_start: Instant::now(),
                calls: 0,
                failures: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding it leaves consistent counters: keep using them.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn admit(&self, now: Instant) -> Admission {
        let Some(policy) = self.policy else {
            return Admission::Yes;
        };
        let mut inner = self.lock();
        match inner.state {
            State::Closed => Admission::Yes,
            State::Open { until } if now < until => Admission::No,
            State::Open { .. } => {
                inner.state = State::HalfOpen {
                    probe_since: Some(now),
                };
                Admission::Probe
            }
            // A probe whose caller went away never reports: after a cool-down, another.
            State::HalfOpen {
                probe_since: Some(since),
            } if now.duration_since(since) < policy.cooldown => Admission::No,
            State::HalfOpen { .. } => {
                inner.state = State::HalfOpen {
                    probe_since: Some(now),
                };
                Admission::Probe
            }
        }
    }

    /// Whether calls should pass the deployment by now: open, or half-open with its probe
    /// in flight. Changes nothing.
    pub(crate) fn blocks(&self, now: Instant) -> bool {
        let Some(policy) = self.policy else {
            return false;
        };
        match self.lock().state {
            State::Closed => false,
            State::Open { until } => now < until,
            State::HalfOpen {
                probe_since: Some(since),
            } => now.duration_since(since) < policy.cooldown,
            State::HalfOpen { probe_since: None } => false,
        }
    }

    /// Counts a call the deployment answered. Returns the new state when it changed.
    pub(crate) fn succeeded(&self, now: Instant) -> Option<BreakerState> {
        let policy = self.policy?;
        let mut inner = self.lock();
        roll_window(&mut inner, &policy, now);
        inner.calls = inner.calls.saturating_add(1);
        inner.consecutive = 0;
        match inner.state {
            State::Closed => None,
            State::Open { .. } | State::HalfOpen { .. } => {
                inner.state = State::Closed;
                inner.calls = 1;
                inner.failures = 0;
                inner.window_start = now;
                Some(BreakerState::Closed)
            }
        }
    }

    /// Counts a call the deployment failed (its own fault, not the caller's). Returns the new
    /// state when it changed.
    pub(crate) fn failed(&self, now: Instant) -> Option<BreakerState> {
        let policy = self.policy?;
        let mut inner = self.lock();
        roll_window(&mut inner, &policy, now);
        inner.calls = inner.calls.saturating_add(1);
        inner.failures = inner.failures.saturating_add(1);
        inner.consecutive = inner.consecutive.saturating_add(1);
        let open = State::Open {
            until: now + policy.cooldown,
        };
        match inner.state {
            State::Open { .. } => None,
            State::HalfOpen { .. } => {
                inner.state = open;
                Some(BreakerState::Open)
            }
            State::Closed => {
                let too_many = inner.consecutive >= policy.consecutive_failures;
                let rate = inner.calls >= policy.min_calls
                    && u64::from(inner.failures) * 100
                        >= u64::from(inner.calls) * u64::from(policy.error_rate_percent);
                if too_many || rate {
                    inner.state = open;
                    Some(BreakerState::Open)
                } else {
                    None
                }
            }
        }
    }

    /// Whether the breaker can open at all.
    pub fn enabled(&self) -> bool {
        self.policy.is_some()
    }

    pub fn report(&self, now: Instant) -> BreakerReport {
        let inner = self.lock();
        let state = match inner.state {
            State::Closed => BreakerState::Closed,
            State::Open { until } if now < until => BreakerState::Open,
            State::Open { .. } | State::HalfOpen { .. } => BreakerState::HalfOpen,
        };
        BreakerReport {
            state,
            calls: inner.calls,
            failures: inner.failures,
            consecutive_failures: inner.consecutive,
        }
    }
}

/// Starts a new window when the current one is over.
fn roll_window(inner: &mut Inner, policy: &BreakerPolicy, now: Instant) {
    if now.duration_since(inner.window_start) >= policy.window {
        inner.window_start = now;
        inner.calls = 0;
        inner.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> BreakerPolicy {
        BreakerPolicy {
            consecutive_failures: 3,
            error_rate_percent: 50,
            min_calls: 10,
            window: Duration::from_secs(60),
            cooldown: Duration::from_secs(30),
        }
    }

    #[test]
    fn opens_after_failures_in_a_row_then_probes_once_and_closes() {
        let breaker = Breaker::new(Some(policy()));
        let t0 = Instant::now();
        assert_eq!(breaker.failed(t0), None);
        assert_eq!(breaker.succeeded(t0), None, "a success resets the run");
        assert_eq!(breaker.failed(t0), None);
        assert_eq!(breaker.failed(t0), None);
        assert_eq!(breaker.failed(t0), Some(BreakerState::Open));
        assert_eq!(breaker.admit(t0 + Duration::from_secs(29)), Admission::No);
        let later = t0 + Duration::from_secs(30);
        assert_eq!(breaker.report(later).state, BreakerState::HalfOpen);
        assert_eq!(breaker.admit(later), Admission::Probe);
        assert_eq!(breaker.admit(later), Admission::No, "one probe at a time");
        assert_eq!(breaker.succeeded(later), Some(BreakerState::Closed));
        assert_eq!(breaker.admit(later), Admission::Yes);
    }

    #[test]
    fn a_failed_probe_opens_it_again_and_a_lost_probe_is_replaced() {
        let breaker = Breaker::new(Some(policy()));
        let t0 = Instant::now();
        for _ in 0..3 {
            breaker.failed(t0);
        }
        let t1 = t0 + Duration::from_secs(30);
        assert_eq!(breaker.admit(t1), Admission::Probe);
        assert_eq!(breaker.failed(t1), Some(BreakerState::Open));
        assert_eq!(breaker.admit(t1 + Duration::from_secs(1)), Admission::No);
        let t2 = t1 + Duration::from_secs(30);
        assert_eq!(breaker.admit(t2), Admission::Probe);
        // That probe's caller went away: no outcome. A cool-down later, another probe.
        assert_eq!(breaker.admit(t2 + Duration::from_secs(29)), Admission::No);
        assert_eq!(
            breaker.admit(t2 + Duration::from_secs(30)),
            Admission::Probe
        );
    }

    #[test]
    fn opens_on_the_error_rate_of_a_window_with_enough_calls() {
        let breaker = Breaker::new(Some(policy()));
        let t0 = Instant::now();
        // Alternating: never three in a row, but half of the calls fail.
        for i in 0..9 {
            let changed = if i % 2 == 1 {
                breaker.failed(t0)
            } else {
                breaker.succeeded(t0)
            };
            assert_eq!(changed, None, "call {i}: too few calls to judge");
        }
        assert_eq!(breaker.failed(t0), Some(BreakerState::Open), "5 of 10");
        // A new window forgets the old one.
        let breaker = Breaker::new(Some(policy()));
        for _ in 0..9 {
            breaker.succeeded(t0);
        }
        breaker.failed(t0);
        let next = t0 + Duration::from_secs(61);
        assert_eq!(breaker.failed(next), None);
        assert_eq!(breaker.report(next).calls, 1);
    }

    #[test]
    fn without_a_policy_it_never_opens() {
        let breaker = Breaker::new(None);
        let t0 = Instant::now();
        for _ in 0..100 {
            assert_eq!(breaker.failed(t0), None);
        }
        assert_eq!(breaker.admit(t0), Admission::Yes);
    }
}

//! Sign-in throttling per client address, in memory: a burst of attempts is allowed, then one
//! per interval. Per-account lockout (in the store) stops slow guessing across addresses.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Attempts allowed at once from one address.
const BURST: f64 = 10.0;
/// Attempts regained per second.
const REFILL_PER_SEC: f64 = 0.2;
/// Buckets kept before idle ones are forgotten.
const MAX_TRACKED: usize = 100_000;

#[derive(Debug, Default)]
pub(crate) struct LoginThrottle {
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl LoginThrottle {
    /// How long `address` must wait before its next attempt, without taking one.
    pub(crate) fn blocked(&self, address: &str) -> Option<Duration> {
        let buckets = self.buckets.lock().ok()?;
        let (tokens, at) = buckets.get(address)?;
        let tokens = (tokens + at.elapsed().as_secs_f64() * REFILL_PER_SEC).min(BURST);
        (tokens < 1.0).then(|| Duration::from_secs_f64((1.0 - tokens) / REFILL_PER_SEC))
    }

    /// Takes one attempt for `address`; `Err(wait)` when there is none left.
    pub(crate) fn attempt(&self, address: &str) -> Result<(), Duration> {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        let now = Instant::now();
        if buckets.len() > MAX_TRACKED {
            buckets.retain(|_, (_, at)| now.duration_since(*at) < Duration::from_secs(300));
        }
        let (tokens, at) = buckets.entry(address.to_owned()).or_insert((BURST, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * REFILL_PER_SEC).min(BURST);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / REFILL_PER_SEC))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_attempts_wait() {
        let throttle = LoginThrottle::default();
        for _ in 0..10 {
            assert!(throttle.attempt("10.0.0.1").is_ok());
        }
        let wait = throttle.attempt("10.0.0.1").unwrap_err();
        assert!(
            wait > Duration::from_secs(4) && wait <= Duration::from_secs(5),
            "{wait:?}"
        );
        assert!(
            throttle.attempt("10.0.0.2").is_ok(),
            "addresses are separate"
        );
    }
}

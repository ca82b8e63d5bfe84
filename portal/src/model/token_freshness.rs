//! When the explorer's short-lived data-plane token must be replaced: a minute before it
//! expires, so that a call (or a long stream) never starts with a token about to lapse.

use time::{Duration, OffsetDateTime};

/// A token with less than this left is replaced before the next call.
pub const MARGIN: Duration = Duration::seconds(60);

/// Whether a token expiring at `expires_at` may still be used at `now`.
pub fn usable(expires_at: OffsetDateTime, now: OffsetDateTime) -> bool {
    expires_at - now >= MARGIN
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn tokens_are_replaced_a_minute_before_they_expire() {
        let now = datetime!(2026-11-25 12:00 UTC);
        assert!(usable(now + Duration::seconds(300), now));
        assert!(usable(now + Duration::seconds(60), now));
        assert!(!usable(now + Duration::seconds(59), now));
        assert!(!usable(now - Duration::seconds(1), now));
    }
}

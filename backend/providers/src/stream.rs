//! Helpers shared by every streaming adapter: the first-event peek and the total deadline.

use std::time::Instant;

use futures_util::StreamExt;

use std::time::Duration;

use crate::{EventStream, ProviderError, ProviderErrorKind, Timeouts};

/// Waits for the first event so that failures before it surface as call errors (before the
/// gateway commits to a response), and bounds the rest of the stream by `deadline`.
///
/// # Errors
/// The first event's error, a timeout, or an upstream that closed without sending anything.
pub(crate) async fn peek_first(
    mut stream: EventStream,
    deadline: Instant,
    timeouts: Timeouts,
) -> Result<EventStream, ProviderError> {
    let wait = timeouts
        .first_byte
        .min(deadline.saturating_duration_since(Instant::now()));
    let first = match tokio::time::timeout(wait, stream.next()).await {
        Err(_) => return Err(ProviderError::timeout("waiting for the first event", wait)),
        Ok(None) => {
            return Err(ProviderError::new(
                ProviderErrorKind::Decode,
                "upstream closed the stream without sending any event",
            ));
        }
        Ok(Some(first)) => first?,
    };
    let rest = with_deadlines(stream, deadline, timeouts.idle);
    Ok(Box::pin(
        futures_util::stream::once(async move { Ok(first) }).chain(rest),
    ))
}

/// Ends the stream with a timeout error when `deadline` passes, or when no event arrives for
/// `idle` (one timer per event, rather than one per socket read inside the HTTP client).
fn with_deadlines(stream: EventStream, deadline: Instant, idle: Duration) -> EventStream {
    Box::pin(futures_util::stream::unfold(
        (stream, false),
        move |(mut stream, done)| async move {
            if done {
                return None;
            }
            let now = Instant::now();
            let idle_ends = now + idle;
            let (until, what) = if idle_ends < deadline {
                (
                    idle_ends,
                    "upstream sent nothing for longer than the idle timeout",
                )
            } else {
                (deadline, "upstream stream exceeded the total timeout")
            };
            match tokio::time::timeout_at(until.into(), stream.next()).await {
                Ok(Some(item)) => {
                    let failed = item.is_err();
                    Some((item, (stream, failed)))
                }
                Ok(None) => None,
                Err(_) => Some((
                    Err(ProviderError::new(ProviderErrorKind::Timeout, what)),
                    (stream, true),
                )),
            }
        },
    ))
}

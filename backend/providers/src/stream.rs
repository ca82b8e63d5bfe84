//! Helpers shared by every streaming adapter: the first-event peek and the total deadline.

use std::time::{Duration, Instant};

use futures_util::StreamExt;

use crate::{EventStream, ProviderError, ProviderErrorKind};

/// Waits for the first event so that failures before it surface as call errors (before the
/// gateway commits to a response), and bounds the rest of the stream by `deadline`.
///
/// # Errors
/// The first event's error, a timeout, or an upstream that closed without sending anything.
pub(crate) async fn peek_first(
    mut stream: EventStream,
    deadline: Instant,
    first_byte: Duration,
) -> Result<EventStream, ProviderError> {
    let wait = first_byte.min(deadline.saturating_duration_since(Instant::now()));
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
    let rest = with_deadline(stream, deadline);
    Ok(Box::pin(
        futures_util::stream::once(async move { Ok(first) }).chain(rest),
    ))
}

/// Ends the stream with a timeout error when `deadline` passes.
fn with_deadline(stream: EventStream, deadline: Instant) -> EventStream {
    let deadline = tokio::time::Instant::from_std(deadline);
    Box::pin(futures_util::stream::unfold(
        (stream, false),
        move |(mut stream, done)| async move {
            if done {
                return None;
            }
            match tokio::time::timeout_at(deadline, stream.next()).await {
                Ok(Some(item)) => {
                    let failed = item.is_err();
                    Some((item, (stream, failed)))
                }
                Ok(None) => None,
                Err(_) => Some((
                    Err(ProviderError::new(
                        ProviderErrorKind::Timeout,
                        "upstream stream exceeded the total timeout",
                    )),
                    (stream, true),
                )),
            }
        },
    ))
}

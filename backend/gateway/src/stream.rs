//! The accounting wrapper around a provider stream: it forwards chunks as they arrive, strips
//! the usage chunk the client did not ask for, remembers usage and delivered text, and records
//! the call exactly once: at the end, on an upstream error, when the client goes away (the
//! stream is dropped, which also drops and so cancels the upstream request), or when the
//! server's shutdown deadline ends it (with an error event, so the client knows it was cut).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use domain::UsageStatus;
use futures_util::Stream;
use providers::{EventStream, UsageReport};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::accounting::Tokens;
use crate::call::{CallRecord, Finish};
use crate::{Error, ErrorKind};

/// What the HTTP layer frames and sends.
#[derive(Debug)]
pub enum StreamItem {
    /// One JSON chunk.
    Chunk(Bytes),
    /// The upstream failed after the response started: send an error event and close.
    Error(Error),
    /// The upstream finished: send the terminator and close.
    Done,
}

/// A committed stream with its accounting attached.
pub struct AccountedStream {
    inner: EventStream,
    record: Option<CallRecord>,
    wants_usage: bool,
    usage: Option<UsageReport>,
    delivered: String,
    /// Prompt text for an estimate, computed lazily only if the upstream reports no usage.
    prompt_text: Box<dyn Fn() -> String + Send>,
    ttft: Duration,
    ended: bool,
    /// Set when the process is stopping and open streams must end: checked on every poll (an
    /// atomic load), while `woken` is polled only when the stream is about to wait, so that
    /// an idle stream is woken by it and a busy one pays no lock per chunk.
    draining: CancellationToken,
    woken: Option<Pin<Box<WaitForCancellationFutureOwned>>>,
}

impl std::fmt::Debug for AccountedStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountedStream")
            .field("wants_usage", &self.wants_usage)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl AccountedStream {
    pub(crate) fn new(
        inner: EventStream,
        mut record: CallRecord,
        wants_usage: bool,
        prompt_text: Box<dyn Fn() -> String + Send>,
    ) -> Self {
        let ttft = record.started().elapsed();
        record.upstream_answered(ttft);
        record.opened();
        let draining = record.draining().clone();
        AccountedStream {
            inner,
            record: Some(record),
            wants_usage,
            usage: None,
            delivered: String::new(),
            prompt_text,
            ttft,
            ended: false,
            draining,
            woken: None,
        }
    }

    fn tokens(&mut self) -> Tokens {
        match self.usage.take() {
            Some(report) if report.complete => Tokens::Reported(report),
            partial => Tokens::Estimate {
                prompt_tokens: partial.as_ref().map(|it| it.counts.prompt),
                prompt_text: if partial.is_some() {
                    String::new()
                } else {
                    (self.prompt_text)()
                },
                completion_text: std::mem::take(&mut self.delivered),
                raw: partial.and_then(|it| it.raw),
            },
        }
    }

    fn finish(&mut self, status: UsageStatus, error: Option<Error>) {
        let Some(record) = self.record.take() else {
            return;
        };
        let tokens = self.tokens();
        record.finish(Finish {
            tokens,
            status,
            // The response was committed with 200; an error after that is in the stream.
            http_status: 200,
            error,
            ttft: Some(self.ttft),
        });
    }
}

impl AccountedStream {
    /// Ends the stream because the server is stopping: recorded as cut by the server, and the
    /// client told so in the protocol's error event.
    fn cut_by_shutdown(&mut self) -> StreamItem {
        self.ended = true;
        let error = Error::new(
            ErrorKind::Unavailable,
            "the server is shutting down and ended this stream; retry the request",
        );
        self.finish(UsageStatus::ServerClosed, Some(error.clone()));
        StreamItem::Error(error)
    }
}

impl Stream for AccountedStream {
    type Item = StreamItem;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<StreamItem>> {
        let this = &mut *self;
        if this.ended {
            return Poll::Ready(None);
        }
        if this.draining.is_cancelled() {
            return Poll::Ready(Some(this.cut_by_shutdown()));
        }
        loop {
            match this.inner.as_mut().poll_next(cx) {
                Poll::Pending => {
                    let woken = this
                        .woken
                        .get_or_insert_with(|| Box::pin(this.draining.clone().cancelled_owned()));
                    if woken.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Some(this.cut_by_shutdown()));
                    }
                    return Poll::Pending;
                }
                Poll::Ready(Some(Ok(event))) => {
                    // The chunk with the final usage tells the caller its price.
                    let price = event
                        .usage
                        .as_ref()
                        .filter(|it| it.complete)
                        .and_then(|it| this.record.as_mut()?.price_of(&it.counts));
                    if let Some(report) = event.usage {
                        // A complete report is final; a partial one never replaces it.
                        let keep_old =
                            this.usage.as_ref().is_some_and(|it| it.complete) && !report.complete;
                        if !keep_old {
                            this.usage = Some(report);
                        }
                    }
                    this.delivered.push_str(&event.text);
                    // Empty events only carry accounting facts.
                    if event.data.is_empty() || (event.usage_only && !this.wants_usage) {
                        continue;
                    }
                    let data = match price {
                        Some(price) => {
                            crate::pricing::with_cost(&event.data, price).unwrap_or(event.data)
                        }
                        None => event.data,
                    };
                    return Poll::Ready(Some(StreamItem::Chunk(data)));
                }
                Poll::Ready(Some(Err(e))) => {
                    this.ended = true;
                    let error = Error::from(e);
                    tracing::warn!(code = error.code().as_str(), detail = ?error.detail, "upstream failed mid-stream");
                    this.finish(UsageStatus::Error, Some(error.clone()));
                    return Poll::Ready(Some(StreamItem::Error(error)));
                }
                Poll::Ready(None) => {
                    this.ended = true;
                    this.finish(UsageStatus::Ok, None);
                    return Poll::Ready(Some(StreamItem::Done));
                }
            }
        }
    }
}

impl Drop for AccountedStream {
    fn drop(&mut self) {
        // Still unfinished: the client went away. Bill what was delivered.
        self.finish(UsageStatus::ClientClosed, None);
    }
}

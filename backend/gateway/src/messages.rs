//! `POST /v1/messages`: Anthropic's Messages API. To an upstream that speaks it (Anthropic),
//! the call is relayed as it came and the answer comes back untouched, so every block and
//! event type survives. To any other upstream it rides the chat pipeline: translated into the
//! canonical chat request, served exactly as a chat completion, and the answer translated
//! back into a message or Anthropic's stream events. Either way the key's limits apply and
//! usage is recorded under the `messages` endpoint.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use domain::llm::messages::{self, Event, MessagesRequest, StreamTranslator};
use domain::llm::{ChatChunk, ChatResponse};
use futures_util::Stream;
use serde::de::DeserializeOwned;
use serde_json::Value;

use providers::Provider;

use crate::call::RequestCtx;
use crate::catalog::Route;
use crate::chat;
use crate::dispatch::{dispatch, unsupported};
use crate::stream::{AccountedStream, StreamItem};
use crate::telemetry::Endpoint;
use crate::{Answer, Error, ErrorKind, Gateway, Outcome};

/// The answer to a Messages call.
#[derive(Debug)]
pub enum MessagesOutcome {
    /// A complete Anthropic message, as JSON.
    Complete(Bytes),
    /// A committed stream of Anthropic events.
    Stream(Box<MessagesStream>),
}

/// What the HTTP layer frames and sends for a Messages stream.
#[derive(Debug)]
pub enum MessagesItem {
    /// One event: its name and JSON.
    Event(&'static str, Bytes),
    /// One complete SSE frame, relayed as the upstream sent it.
    Frame(Bytes),
    /// The upstream failed after the response started: send an error event and close.
    Error(Error),
}

/// Serves one Messages call, streamed or not.
///
/// # Errors
/// As for a chat completion, with invalid requests named by their Anthropic field paths.
pub(crate) async fn handle(
    gw: &Gateway,
    ctx: &RequestCtx,
    req: MessagesRequest,
) -> Result<Answer<MessagesOutcome>, Error> {
    // A tenant's own credential changes a provider's key, never its kind: the route's first
    // deployment tells which path the call takes.
    if gw.catalog.resolve(&req.model).is_ok_and(speaks_messages) {
        return relay(gw, ctx, req).await;
    }
    let alias = req.model.clone();
    let chat = messages::to_chat(req)?;
    let answer = chat::handle(gw, ctx, chat, Endpoint::Messages).await?;
    let body = match answer.body {
        Outcome::Complete(body) => {
            let response: ChatResponse = lenient(&body).ok_or_else(untranslatable)?;
            let message = messages::message_from_chat(&response);
            let json = serde_json::to_vec(&message).map_err(|_| untranslatable())?;
            MessagesOutcome::Complete(Bytes::from(json))
        }
        Outcome::Stream(stream) => MessagesOutcome::Stream(Box::new(MessagesStream::new(
            stream,
            Some(StreamTranslator::new(ctx.request_id.to_string(), alias)),
        ))),
    };
    Ok(Answer {
        body,
        headers: answer.headers,
    })
}

/// Whether a route's calls are relayed to an upstream that speaks the Messages API.
fn speaks_messages(route: &Arc<Route>) -> bool {
    route
        .primary()
        .is_some_and(|it| it.provider.capabilities().messages)
}

/// How one try of a relayed call was answered.
enum Tried<T> {
    /// By an upstream that speaks the Messages API: its own answer.
    Relayed(T),
    /// By another upstream (a fallback of another kind), through the chat pipeline.
    Translated(T),
}

/// Relays a call to an upstream that speaks the Messages API, after the same checks, in the
/// same order, as the translated path: a bad call gets the same answer and never leaves. A
/// fallback deployment that does not speak it (a route of Anthropic first, another provider
/// after) gets the call translated, and its answer is told back in Anthropic's shape.
async fn relay(
    gw: &Gateway,
    ctx: &RequestCtx,
    req: MessagesRequest,
) -> Result<Answer<MessagesOutcome>, Error> {
    // The canonical form is checked here, kept for a tokenizer estimate, and sent to
    // deployments that do not speak the Messages API.
    let chat = messages::to_chat(req.clone())?;
    chat.validate()?;
    let stream = req.is_stream();
    let (route, record) = chat::open(gw, ctx, &req.model, Endpoint::Messages, stream)?;
    let record = crate::admit::admit(gw, ctx, route, record, || {
        chat::prompt_demand(&chat, Some(u64::from(req.max_tokens)))
    })
    .await?;
    ctx.identify(
        route,
        req.metadata.as_ref().and_then(|it| it.user_id.as_deref()),
    );
    let (req, asked) = (&req, &chat);
    if stream {
        let (sent, record) = dispatch(
            ctx,
            route,
            record,
            chat::all,
            chat::never,
            |provider, call| async move {
                if provider.capabilities().messages {
                    provider
                        .messages_stream(req.clone(), call)
                        .await
                        .map(Tried::Relayed)
                } else {
                    provider
                        .chat_stream(asked, call)
                        .await
                        .map(Tried::Translated)
                }
            },
        )
        .await?;
        let (events, translator, wants_usage) = match sent.answer {
            Tried::Relayed(events) => (events, None, true),
            Tried::Translated(events) => (
                events,
                Some(StreamTranslator::new(
                    ctx.request_id.to_string(),
                    req.model.clone(),
                )),
                chat.wants_stream_usage(),
            ),
        };
        let prompt = Box::new(move || chat::prompt_text(&chat));
        let stream = AccountedStream::new(events, record, wants_usage, prompt);
        return Ok(Answer {
            body: MessagesOutcome::Stream(Box::new(MessagesStream::new(
                Box::new(stream),
                translator,
            ))),
            headers: sent.headers,
        });
    }
    let (sent, record) = dispatch(
        ctx,
        route,
        record,
        chat::all,
        chat::never,
        |provider, call| async move {
            if provider.capabilities().messages {
                provider
                    .messages(req.clone(), call)
                    .await
                    .map(Tried::Relayed)
            } else {
                provider.chat(asked, call).await.map(Tried::Translated)
            }
        },
    )
    .await?;
    let mut headers = sent.headers;
    let body = match sent.answer {
        Tried::Relayed(reply) => {
            let texts = || {
                (
                    chat::prompt_text(&chat),
                    providers::anthropic::message_text(&reply.body),
                )
            };
            chat::answered(
                record,
                sent.asked,
                reply.usage,
                (reply.body.clone(), reply.usage_at),
                &mut headers,
                texts,
            )
        }
        Tried::Translated(reply) => {
            let told = lenient::<ChatResponse>(&reply.body)
                .map(|response| messages::message_from_chat(&response))
                .and_then(|message| serde_json::to_vec(&message).ok());
            let Some(told) = told else {
                let error = untranslatable();
                record.fail(&error);
                return Err(error);
            };
            let texts = || (chat::prompt_text(&chat), chat::completion_text(&reply.body));
            chat::answered(
                record,
                sent.asked,
                reply.usage,
                (Bytes::from(told), None),
                &mut headers,
                texts,
            )
        }
    };
    Ok(Answer {
        body: MessagesOutcome::Complete(body),
        headers,
    })
}

/// Counts the prompt tokens of a Messages request, for `POST /v1/messages/count_tokens`: by
/// the upstream when it speaks the Messages API (exact), otherwise with the gateway's
/// tokenizer (an estimate for models whose own tokenizer differs). The key must be allowed
/// the model, as for a call.
///
/// # Errors
/// Invalid requests, unknown or forbidden models, and the upstream's failures.
pub(crate) async fn count_tokens(
    gw: &Gateway,
    ctx: &RequestCtx,
    req: MessagesRequest,
) -> Result<u64, Error> {
    let chat = messages::to_chat(req.clone())?;
    chat.validate()?;
    let route = gw.authorize(ctx, Endpoint::Messages, &chat.model)?;
    if !speaks_messages(route) {
        return crate::tokens::count_off_thread(chat::prompt_text(&chat))
            .await
            .map_err(|e| match e {
                crate::tokens::CountError::TooLong => Error::new(
                    ErrorKind::PayloadTooLarge,
                    format!(
                        "the prompt's text is longer than the {} MiB this gateway counts",
                        crate::tokens::MAX_COUNTED_BYTES / (1024 * 1024)
                    ),
                ),
                crate::tokens::CountError::Unavailable => {
                    Error::new(ErrorKind::Unavailable, e.to_string())
                }
            });
    }
    // Counted by the upstream, over the route's deployments like a call (not billed).
    let relays = |provider: &Provider| provider.capabilities().messages;
    let none = || unsupported(route, "Anthropic's Messages API");
    let (sent, ()) = dispatch(ctx, route, (), relays, none, |provider, call| {
        provider.count_message_tokens(req.clone(), call)
    })
    .await?;
    Ok(sent.answer)
}

fn untranslatable() -> Error {
    Error::new(
        ErrorKind::UpstreamError,
        "the upstream's answer could not be translated into an Anthropic message",
    )
}

/// Parses an OpenAI-shaped object, filling the bookkeeping fields some compatible servers
/// leave out (`id`, `object`, `created`, `model`), which the translation does not need.
fn lenient<T: DeserializeOwned>(json: &[u8]) -> Option<T> {
    let mut value: Value = serde_json::from_slice(json).ok()?;
    let object = value.as_object_mut()?;
    for (field, default) in [
        ("id", Value::from("")),
        ("object", Value::from("")),
        ("created", Value::from(0)),
        ("model", Value::from("")),
        ("choices", Value::Array(Vec::new())),
    ] {
        object.entry(field).or_insert(default);
    }
    serde_json::from_value(value).ok()
}

/// A stream of Anthropic events with its accounting: relayed from an upstream that speaks
/// them, or a chat stream re-told.
pub struct MessagesStream {
    inner: Box<AccountedStream>,
    /// `None` when the upstream's own events are relayed.
    translator: Option<StreamTranslator>,
    pending: VecDeque<Event>,
    ended: bool,
}

impl std::fmt::Debug for MessagesStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessagesStream")
            .field("inner", &self.inner)
            .field("pending", &self.pending.len())
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl MessagesStream {
    /// `translator` turns chat events into Messages events; `None` relays the upstream's own.
    fn new(inner: Box<AccountedStream>, translator: Option<StreamTranslator>) -> Self {
        MessagesStream {
            inner,
            translator,
            pending: VecDeque::new(),
            ended: false,
        }
    }

    fn queue(&mut self, events: Vec<Event>) {
        self.pending.extend(events);
    }
}

impl Stream for MessagesStream {
    type Item = MessagesItem;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<MessagesItem>> {
        let this = &mut *self;
        loop {
            if let Some(event) = this.pending.pop_front() {
                let json = serde_json::to_vec(&event.data).unwrap_or_default();
                return Poll::Ready(Some(MessagesItem::Event(event.name, Bytes::from(json))));
            }
            if this.ended {
                return Poll::Ready(None);
            }
            let mut events = Vec::new();
            match (
                Pin::new(&mut this.inner).poll_next(cx),
                &mut this.translator,
            ) {
                (Poll::Pending, _) => return Poll::Pending,
                (Poll::Ready(Some(StreamItem::Chunk(frame))), None) => {
                    return Poll::Ready(Some(MessagesItem::Frame(frame)));
                }
                (Poll::Ready(Some(StreamItem::Chunk(json))), Some(translator)) => {
                    match lenient::<ChatChunk>(&json) {
                        Some(chunk) => translator.on_chunk(&chunk, &mut events),
                        None => tracing::warn!(
                            bytes = json.len(),
                            "a stream chunk could not be read; it is left out of the Anthropic stream"
                        ),
                    }
                }
                (Poll::Ready(Some(StreamItem::Done) | None), translator) => {
                    this.ended = true;
                    if let Some(translator) = translator {
                        translator.finish(&mut events);
                        if translator.dropped_fragments > 0 {
                            tracing::warn!(
                                fragments = translator.dropped_fragments,
                                "tool-call fragments arrived after their block closed"
                            );
                        }
                    }
                }
                (Poll::Ready(Some(StreamItem::Error(e))), _) => {
                    this.ended = true;
                    return Poll::Ready(Some(MessagesItem::Error(e)));
                }
            }
            this.queue(events);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_missing_bookkeeping_fields_still_translate() {
        let response: ChatResponse = lenient(
            br#"{"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}"#,
        )
        .unwrap();
        assert_eq!(response.choices[0].message.content.as_deref(), Some("hi"));
        let chunk: ChatChunk =
            lenient(br#"{"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}"#)
                .unwrap();
        assert_eq!(chunk.choices[0].delta.content.as_deref(), Some("x"));
        assert!(lenient::<ChatChunk>(b"[1]").is_none());
        assert!(lenient::<ChatChunk>(b"not json").is_none());
    }
}

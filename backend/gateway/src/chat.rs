//! `POST /v1/chat/completions`, stage by stage. Reading `handle` top to bottom shows the
//! whole order: validate → route → authorize → cache (exact, then semantic) → dispatch over
//! the route's deployments (commit point: the first streamed event) → account.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use domain::UsageStatus;
use domain::llm::{ChatRequest, ChatResponse, Content};
use domain::pricing::Money;
use providers::{Provider, ProviderError, StreamEvent, UsageReport};

use crate::accounting::Tokens;
use crate::admit::Demand;
use crate::cache::Entry;
use crate::cache_stage::Cached;
use crate::call::{CallRecord, Finish, RequestCtx};
use crate::catalog::Route;
use crate::dispatch::dispatch;
use crate::headers::ResponseHeaders;
use crate::stream::AccountedStream;
use crate::telemetry::Endpoint;
use crate::{Answer, Error, Gateway, Outcome};

/// Serves one chat completion, streamed or not, as `endpoint` (the endpoint the key must be
/// allowed and the usage is recorded under: chat completions, or Anthropic's messages).
///
/// # Errors
/// Invalid requests, unknown or forbidden models, and upstream failures before the commit point.
pub(crate) async fn handle(
    gw: &Gateway,
    ctx: &RequestCtx,
    req: ChatRequest,
    endpoint: Endpoint,
) -> Result<Answer<Outcome>, Error> {
    req.validate()?;
    let stream = req.is_stream();
    let (route, record) = open(gw, ctx, &req.model, endpoint, stream)?;
    let mut record = crate::admit::admit(gw, ctx, route, record, || {
        let most = req.max_completion_tokens.or(req.max_tokens).map(u64::from);
        let choices = u64::from(req.n.unwrap_or(1).max(1));
        prompt_demand(&req, most.map(|it| it.saturating_mul(choices)))
    })
    .await?;
    ctx.identify(route, req.user.as_deref());
    let cached = Cached::lookup(gw, ctx, route, endpoint, &req).await;
    if let Some(entry) = cached.hit() {
        record.served_from_cache(&entry.deployment);
        let mut answer = replay(record, route, entry, req)?;
        cached.mark(&mut answer.headers);
        return Ok(answer);
    }
    crate::shadow::mirror(gw, ctx, route, endpoint, &req);
    if stream {
        let (sent, record) = dispatch(ctx, route, record, all, never, |provider, call| {
            provider.chat_stream(&req, call)
        })
        .await?;
        let wants_usage = req.wants_stream_usage();
        let prompt = Box::new(move || prompt_text(&req));
        let stream = AccountedStream::new(sent.answer, record, wants_usage, prompt);
        let mut headers = sent.headers;
        cached.mark(&mut headers);
        return Ok(Answer {
            body: Outcome::Stream(Box::new(stream)),
            headers,
        });
    }
    let (sent, record) = dispatch(ctx, route, record, all, never, |provider, call| {
        provider.chat(&req, call)
    })
    .await?;
    let reply = sent.answer;
    cached.keep(
        gw,
        ctx,
        route,
        &reply.body,
        reply.usage.as_ref(),
        &sent.deployment,
    );
    let mut headers = sent.headers;
    let texts = || (prompt_text(&req), completion_text(&reply.body));
    let body = answered(
        record,
        sent.asked,
        reply.usage,
        (reply.body.clone(), reply.usage_at),
        &mut headers,
        texts,
    );
    cached.mark(&mut headers);
    Ok(Answer {
        body: Outcome::Complete(body),
        headers,
    })
}

/// Answers from a kept answer: as it was, or as the stream that delivers it.
fn replay(
    record: CallRecord,
    route: &Route,
    entry: &Entry,
    req: ChatRequest,
) -> Result<Answer<Outcome>, Error> {
    let usage = UsageReport {
        counts: entry.counts,
        raw: None,
        complete: true,
    };
    let mut headers = ResponseHeaders::default();
    headers.set(
        crate::headers::DEPLOYMENT,
        crate::cache::deployment_header(route, entry),
    );
    if !req.is_stream() {
        let body = answered(
            record,
            Instant::now(),
            Some(usage),
            (entry.body.clone(), None),
            &mut headers,
            || (String::new(), String::new()),
        );
        return Ok(Answer {
            body: Outcome::Complete(body),
            headers,
        });
    }
    let response: ChatResponse = match serde_json::from_slice(&entry.body) {
        Ok(it) => it,
        Err(e) => {
            let error = Error::internal(format!("a cached answer could not be read: {e}"));
            record.fail(&error);
            return Err(error);
        }
    };
    let chunks = response.as_chunks(true);
    let last = chunks.len().saturating_sub(1);
    let events: Vec<Result<StreamEvent, ProviderError>> = chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            let text = chunk
                .choices
                .iter()
                .filter_map(|it| it.delta.content.as_deref())
                .collect::<String>();
            let usage_only = chunk.choices.is_empty();
            serde_json::to_vec(&chunk)
                .map(|data| StreamEvent {
                    data: data.into(),
                    usage: (i == last).then(|| usage.clone()),
                    usage_only,
                    text,
                })
                .map_err(ProviderError::decode)
        })
        .collect();
    let wants_usage = req.wants_stream_usage();
    let prompt = Box::new(move || prompt_text(&req));
    let events: providers::EventStream = Box::pin(futures_util::stream::iter(events));
    let stream = AccountedStream::new(events, record, wants_usage, prompt);
    Ok(Answer {
        body: Outcome::Stream(Box::new(stream)),
        headers,
    })
}

/// Every provider serves chat.
pub(crate) fn all(_: &Provider) -> bool {
    true
}

/// The error of a route no deployment of which serves the call: cannot happen where every
/// provider serves it.
pub(crate) fn never() -> Error {
    Error::internal("no deployment of the route serves chat")
}

/// The stages every call passes between checking its body and dispatching it: resolve the
/// model and check the key may use it and `endpoint`, and open the usage record (from here on
/// the call is recorded, failed or not). Which provider serves it is decided per try, by
/// `dispatch`.
///
/// # Errors
/// Unknown or forbidden models and endpoints.
pub(crate) fn open<'a>(
    gw: &'a Gateway,
    ctx: &'a RequestCtx,
    model: &str,
    endpoint: Endpoint,
    stream: bool,
) -> Result<(&'a Arc<Route>, CallRecord), Error> {
    let route = gw.authorize(ctx, endpoint, model)?;
    let record = CallRecord::new(gw.usage.clone(), ctx, route, endpoint, stream);
    Ok((route, record))
}

/// Records a complete (non-streamed) answer asked for at `asked` (see [`recorded`]) and
/// answers `body` with its price told (`pricing::tell`) where the usage is known now;
/// `usage_at` is where the usage object lies in `body`, when the provider's scan found it.
pub(crate) fn answered(
    record: CallRecord,
    asked: Instant,
    usage: Option<UsageReport>,
    (body, usage_at): (Bytes, Option<std::ops::Range<usize>>),
    headers: &mut ResponseHeaders,
    texts: impl FnOnce() -> (String, String),
) -> Bytes {
    let price = recorded(record, asked, usage, texts);
    crate::pricing::tell(body, usage_at, price, headers)
}

/// Records a complete (non-streamed) answer asked for at `asked`: with the upstream's usage,
/// or estimated from the prompt and answer text `texts` gives when it reported none. Answers
/// the call's price when its usage is known now.
pub(crate) fn recorded(
    mut record: CallRecord,
    asked: Instant,
    usage: Option<UsageReport>,
    texts: impl FnOnce() -> (String, String),
) -> Option<Money> {
    record.upstream_answered(asked.elapsed());
    let price = usage
        .as_ref()
        .filter(|it| it.complete)
        .and_then(|it| record.price_of(&it.counts));
    let tokens = match usage {
        Some(report) => Tokens::Reported(report),
        None => {
            let (prompt_text, completion_text) = texts();
            Tokens::Estimate {
                prompt_tokens: None,
                prompt_text,
                completion_text,
                raw: None,
            }
        }
    };
    record.finish(Finish {
        tokens,
        status: UsageStatus::Ok,
        http_status: 200,
        error: None,
        ttft: None,
    });
    price
}

/// What a chat call asks of the limits: a short prompt of plain messages is measured without
/// assembling its text (the length [`prompt_text`] would have).
pub(crate) fn prompt_demand(req: &ChatRequest, max_output: Option<u64>) -> Demand {
    let plain = req.tools.is_none()
        && req
            .messages
            .iter()
            .all(|it| !matches!(it.content, Some(Content::Parts(_))));
    if plain {
        let len = req.messages.iter().map(message_len).sum();
        if let Some(demand) = Demand::short(len, max_output) {
            return demand;
        }
    }
    Demand::of(&prompt_text(req), max_output)
}

/// How many bytes a message adds to [`prompt_text`] (its text parts counted as in its text).
fn message_len(message: &domain::llm::Message) -> usize {
    let text = match &message.content {
        Some(Content::Text(text)) => text.len(),
        Some(Content::Parts(_)) | None => 0,
    };
    let calls: usize = message
        .tool_calls
        .iter()
        .flatten()
        .map(|it| it.function.name.len() + it.function.arguments.len())
        .sum();
    text + calls + 1
}

/// Everything the model read, for a tokenizer estimate: message text, tool calls and tools.
pub(crate) fn prompt_text(req: &ChatRequest) -> String {
    let mut res = String::with_capacity(req.messages.iter().map(message_len).sum());
    for message in &req.messages {
        if let Some(content) = &message.content {
            match content {
                Content::Text(text) => res.push_str(text),
                Content::Parts(_) => res.push_str(&content.joined_text()),
            }
        }
        for call in message.tool_calls.iter().flatten() {
            res.push_str(&call.function.name);
            res.push_str(&call.function.arguments);
        }
        res.push('\n');
    }
    if let Some(tools) = &req.tools
        && let Ok(json) = serde_json::to_string(tools)
    {
        res.push_str(&json);
    }
    res
}

/// The text of a complete answer, for a tokenizer estimate.
pub(crate) fn completion_text(body: &[u8]) -> String {
    let Ok(response) = serde_json::from_slice::<ChatResponse>(body) else {
        return String::new();
    };
    let mut res = String::new();
    for choice in response.choices {
        let message = choice.message;
        for text in [message.content, message.reasoning_content, message.refusal]
            .into_iter()
            .flatten()
        {
            res.push_str(&text);
        }
        for call in message.tool_calls.into_iter().flatten() {
            res.push_str(&call.function.name);
            res.push_str(&call.function.arguments);
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: serde_json::Value) -> ChatRequest {
        serde_json::from_value(json).expect("a chat request")
    }

    #[test]
    fn a_prompt_measured_without_its_text_counts_what_its_text_would() {
        let calls = serde_json::json!([{"id": "c1", "type": "function",
            "function": {"name": "lookup", "arguments": "{\"q\":\"é\"}"}}]);
        for req in [
            request(serde_json::json!({"model": "m", "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "héllo wörld"},
                {"role": "assistant", "content": null, "tool_calls": calls},
                {"role": "tool", "tool_call_id": "c1", "content": "42"}]})),
            request(serde_json::json!({"model": "m", "messages": [
                {"role": "user", "content": [{"type": "text", "text": "parts"}]}]})),
            request(
                serde_json::json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
                "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}),
            ),
            request(serde_json::json!({"model": "m", "messages": [
                {"role": "user", "content": "long ".repeat(300)}]})),
        ] {
            let measured = prompt_demand(&req, Some(7));
            let counted = Demand::of(&prompt_text(&req), Some(7));
            assert_eq!(measured.prompt_tokens, counted.prompt_tokens, "{req:?}");
            assert_eq!(measured.max_output, 7);
        }
    }
}

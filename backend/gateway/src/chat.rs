//! `POST /v1/chat/completions`, stage by stage. Reading `handle` top to bottom shows the
//! whole order: validate → route → authorize → dispatch (commit point: the first streamed
//! event) → account.

use std::sync::Arc;
use std::time::Instant;

use domain::UsageStatus;
use domain::llm::{ChatRequest, ChatResponse, Content};
use providers::{Call, Provider, UsageReport};

use crate::accounting::Tokens;
use crate::call::{CallRecord, Finish, RequestCtx};
use crate::catalog::Route;
use crate::stream::AccountedStream;
use crate::telemetry::Endpoint;
use crate::{Error, Gateway, Outcome};

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
) -> Result<Outcome, Error> {
    req.validate()?;
    let stream = req.is_stream();
    let Opened {
        record,
        provider,
        call,
        ..
    } = open(gw, ctx, &req.model, endpoint, stream)?;
    if stream {
        return match provider.chat_stream(&req, call).await {
            Ok(events) => {
                let wants_usage = req.wants_stream_usage();
                let prompt = Box::new(move || prompt_text(&req));
                Ok(Outcome::Stream(Box::new(AccountedStream::new(
                    events,
                    record,
                    wants_usage,
                    prompt,
                ))))
            }
            Err(e) => Err(failed(record, e.into())),
        };
    }
    let asked = Instant::now();
    match provider.chat(&req, call).await {
        Ok(reply) => {
            answered(record, asked, reply.usage, || {
                (prompt_text(&req), completion_text(&reply.body))
            });
            Ok(Outcome::Complete(reply.body))
        }
        Err(e) => Err(failed(record, e.into())),
    }
}

/// A checked call, routed and authorized, with its usage record opened.
pub(crate) struct Opened<'a> {
    pub route: &'a Arc<Route>,
    /// Records the call exactly once, however it ends.
    pub record: CallRecord,
    /// The route's provider, or the tenant's own variant of it.
    pub provider: &'a Provider,
    pub call: Call<'a>,
}

/// The stages every call passes between checking its body and dispatching it: resolve the
/// model and check the key may use it and `endpoint`, open the usage record (from here on
/// the call is recorded, failed or not), and pick the provider.
///
/// # Errors
/// Unknown or forbidden models and endpoints, and a tenant credential that cannot be used.
pub(crate) fn open<'a>(
    gw: &'a Gateway,
    ctx: &'a RequestCtx,
    model: &str,
    endpoint: Endpoint,
    stream: bool,
) -> Result<Opened<'a>, Error> {
    let route = gw.authorize(ctx, endpoint, model)?;
    let record = CallRecord::new(gw.usage.clone(), ctx, route, endpoint, stream);
    let provider = match ctx.principal.provider_for(route) {
        Ok(provider) => provider,
        Err(e) => return Err(failed(record, e)),
    };
    Ok(Opened {
        route,
        record,
        provider,
        call: ctx.upstream_call(route, provider),
    })
}

/// Records a complete (non-streamed) answer asked for at `asked`: with the upstream's usage,
/// or estimated from the prompt and answer text `texts` gives when it reported none.
pub(crate) fn answered(
    record: CallRecord,
    asked: Instant,
    usage: Option<UsageReport>,
    texts: impl FnOnce() -> (String, String),
) {
    record.upstream_answered(asked.elapsed());
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
}

/// Records a failed call and hands the error back.
pub(crate) fn failed(record: CallRecord, error: Error) -> Error {
    record.fail(&error);
    error
}

/// Everything the model read, for a tokenizer estimate: message text, tool calls and tools.
pub(crate) fn prompt_text(req: &ChatRequest) -> String {
    let mut res = String::new();
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
fn completion_text(body: &[u8]) -> String {
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

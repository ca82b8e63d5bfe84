//! `POST /v1/completions` (legacy text completions). Providers with a native endpoint get the
//! request as it came; chat-only providers (Anthropic) are served through chat, with the
//! prompt as one user message and the answer mapped back to `text_completion` objects.

use std::time::Instant;

use bytes::Bytes;
use domain::llm::chat::{ChatChunk, ChatResponse};
use domain::llm::completions::{CompletionChoice, CompletionResponse};
use domain::llm::{ChatRequest, CompletionRequest, Extra, Message, Role};
use futures_util::StreamExt;
use providers::{EventStream, ProviderError, Reply, StreamEvent};

use crate::call::RequestCtx;
use crate::chat::{Opened, answered, failed, open};
use crate::stream::AccountedStream;
use crate::telemetry::Endpoint;
use crate::{Error, Gateway, Outcome};

/// # Errors
/// Invalid requests, unknown or forbidden models, and upstream failures before the commit point.
pub(crate) async fn handle(
    gw: &Gateway,
    ctx: &RequestCtx,
    req: CompletionRequest,
) -> Result<Outcome, Error> {
    req.validate()?;
    let stream = req.is_stream();
    let Opened {
        record,
        provider,
        call,
        ..
    } = open(gw, ctx, &req.model, Endpoint::Completions, stream)?;
    let native = provider.capabilities().completions;
    let chat = if native {
        None
    } else {
        match as_chat(&req) {
            Ok(chat) => Some(chat),
            Err(e) => return Err(failed(record, e)),
        }
    };
    if stream {
        let events = match &chat {
            None => provider.completion_stream(&req, call).await,
            Some(chat) => provider
                .chat_stream(chat, call)
                .await
                .map(chunks_as_completions),
        };
        return match events {
            Ok(events) => {
                let wants_usage = req.wants_stream_usage();
                let prompt = Box::new(move || req.prompt.joined_text());
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
    let reply = match &chat {
        None => provider.completion(&req, call).await,
        Some(chat) => provider
            .chat(chat, call)
            .await
            .and_then(response_as_completion),
    };
    match reply {
        Ok(reply) => {
            answered(record, asked, reply.usage, || {
                (req.prompt.joined_text(), completion_text(&reply.body))
            });
            Ok(Outcome::Complete(reply.body))
        }
        Err(e) => Err(failed(record, e.into())),
    }
}

/// The chat request that stands for a completion request.
fn as_chat(req: &CompletionRequest) -> Result<ChatRequest, Error> {
    let prompt = req.prompt.as_single_text().ok_or_else(|| {
        Error::invalid(
            "prompt",
            "this model's provider accepts `prompt` only as a single string",
        )
    })?;
    if req.echo == Some(true) || req.suffix.is_some() || req.logprobs.is_some() {
        return Err(Error::invalid(
            "prompt",
            "`echo`, `suffix` and `logprobs` are not supported by this model's provider",
        ));
    }
    Ok(ChatRequest {
        model: req.model.clone(),
        messages: vec![Message::text(Role::User, prompt)],
        stream: req.stream,
        stream_options: req.stream_options.clone(),
        max_tokens: req.max_tokens,
        max_completion_tokens: None,
        temperature: req.temperature,
        top_p: req.top_p,
        n: req.n,
        stop: req.stop.clone(),
        seed: req.seed,
        logprobs: None,
        top_logprobs: None,
        presence_penalty: None,
        frequency_penalty: None,
        tools: None,
        tool_choice: None,
        parallel_tool_calls: None,
        response_format: None,
        user: req.user.clone(),
        reasoning_effort: None,
        extra: Extra::new(),
    })
}

fn response_as_completion(reply: Reply) -> Result<Reply, ProviderError> {
    let chat: ChatResponse = serde_json::from_slice(&reply.body).map_err(ProviderError::decode)?;
    let res = CompletionResponse {
        id: chat.id,
        object: "text_completion".into(),
        created: chat.created,
        model: chat.model,
        choices: chat
            .choices
            .into_iter()
            .map(|choice| CompletionChoice {
                text: choice.message.content.unwrap_or_default(),
                index: choice.index,
                logprobs: None,
                finish_reason: choice.finish_reason,
            })
            .collect(),
        usage: chat.usage,
    };
    Ok(Reply {
        body: Bytes::from(serde_json::to_vec(&res).map_err(ProviderError::decode)?),
        usage: reply.usage,
    })
}

fn chunk_as_completion(event: StreamEvent) -> Result<Option<StreamEvent>, ProviderError> {
    let chunk: ChatChunk = serde_json::from_slice(&event.data).map_err(ProviderError::decode)?;
    let choices: Vec<CompletionChoice> = chunk
        .choices
        .into_iter()
        .filter_map(|choice| {
            let text = choice.delta.content.unwrap_or_default();
            (!text.is_empty() || choice.finish_reason.is_some()).then_some(CompletionChoice {
                text,
                index: choice.index,
                logprobs: None,
                finish_reason: choice.finish_reason,
            })
        })
        .collect();
    if choices.is_empty() && chunk.usage.is_none() {
        // A role-only or reasoning chunk: nothing a completion client can show. Its usage
        // report (if any) must still reach accounting, so it is kept with empty data.
        return Ok(event.usage.is_some().then(|| StreamEvent {
            data: Bytes::new(),
            usage: event.usage,
            usage_only: true,
            text: event.text,
        }));
    }
    let res = CompletionResponse {
        id: chunk.id,
        object: "text_completion".into(),
        created: chunk.created,
        model: chunk.model,
        choices,
        usage: chunk.usage,
    };
    Ok(Some(StreamEvent {
        data: Bytes::from(serde_json::to_vec(&res).map_err(ProviderError::decode)?),
        ..event
    }))
}

fn chunks_as_completions(events: EventStream) -> EventStream {
    Box::pin(events.filter_map(|item| async move {
        match item {
            Ok(event) => chunk_as_completion(event).transpose(),
            Err(e) => Some(Err(e)),
        }
    }))
}

fn completion_text(body: &[u8]) -> String {
    serde_json::from_slice::<CompletionResponse>(body)
        .map(|it| it.choices.into_iter().map(|c| c.text).collect())
        .unwrap_or_default()
}

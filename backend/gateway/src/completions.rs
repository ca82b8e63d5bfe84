//! `POST /v1/completions` (legacy text completions). Providers with a native endpoint get the
//! request as it came; chat-only providers (Anthropic) are served through chat, with the
//! prompt as one user message and the answer mapped back to `text_completion` objects. The
//! choice is made per try: a route's deployments may differ.

use bytes::Bytes;
use domain::llm::chat::{ChatChunk, ChatResponse};
use domain::llm::completions::{CompletionChoice, CompletionResponse};
use domain::llm::{ChatRequest, CompletionRequest, Extra, Message, Role};
use futures_util::StreamExt;
use providers::{EventStream, ProviderError, Reply, StreamEvent};

use crate::call::RequestCtx;
use crate::chat::{all, answered, never, open};
use crate::dispatch::dispatch;
use crate::stream::AccountedStream;
use crate::telemetry::Endpoint;
use crate::{Answer, Error, Gateway, Outcome};

/// # Errors
/// Invalid requests, unknown or forbidden models, and upstream failures before the commit point.
pub(crate) async fn handle(
    gw: &Gateway,
    ctx: &RequestCtx,
    req: CompletionRequest,
) -> Result<Answer<Outcome>, Error> {
    req.validate()?;
    let stream = req.is_stream();
    let (route, record) = open(gw, ctx, &req.model, Endpoint::Completions, stream)?;
    let record = crate::admit::admit(gw, ctx, route, record, || {
        let choices = u64::from(req.n.unwrap_or(1).max(1));
        crate::admit::Demand::of(
            &req.prompt.joined_text(),
            req.max_tokens
                .map(|it| u64::from(it).saturating_mul(choices)),
        )
    })
    .await?;
    ctx.identify(route, req.user.as_deref());
    if stream {
        let asked = &req;
        let (sent, record) = dispatch(
            ctx,
            route,
            record,
            all,
            never,
            |provider, call| async move {
                if provider.capabilities().completions {
                    provider.completion_stream(asked, call).await
                } else {
                    let chat = as_chat(asked)?;
                    provider
                        .chat_stream(&chat, call)
                        .await
                        .map(chunks_as_completions)
                }
            },
        )
        .await?;
        let wants_usage = req.wants_stream_usage();
        let prompt = Box::new(move || req.prompt.joined_text());
        let stream = AccountedStream::new(sent.answer, record, wants_usage, prompt);
        return Ok(Answer {
            body: Outcome::Stream(Box::new(stream)),
            headers: sent.headers,
        });
    }
    let asked = &req;
    let (sent, record) = dispatch(
        ctx,
        route,
        record,
        all,
        never,
        |provider, call| async move {
            if provider.capabilities().completions {
                provider.completion(asked, call).await
            } else {
                let chat = as_chat(asked)?;
                provider
                    .chat(&chat, call)
                    .await
                    .and_then(response_as_completion)
            }
        },
    )
    .await?;
    let reply = sent.answer;
    let mut headers = sent.headers;
    let texts = || (req.prompt.joined_text(), completion_text(&reply.body));
    let body = answered(
        record,
        sent.asked,
        reply.usage,
        (reply.body.clone(), reply.usage_at),
        &mut headers,
        texts,
    );
    Ok(Answer {
        body: Outcome::Complete(body),
        headers,
    })
}

/// The chat request that stands for a completion request.
fn as_chat(req: &CompletionRequest) -> Result<ChatRequest, ProviderError> {
    let prompt = req.prompt.as_single_text().ok_or_else(|| {
        ProviderError::invalid_param(
            "prompt",
            "this model's provider accepts `prompt` only as a single string",
        )
    })?;
    if req.echo == Some(true) || req.suffix.is_some() || req.logprobs.is_some() {
        return Err(ProviderError::invalid_param(
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
        usage_at: None,
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

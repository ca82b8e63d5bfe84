//! The explorer's answer: status, latency, time to first token and token usage; the text as it
//! streams in and any tool calls; the error in words; and the exact request and response JSON
//! (for streams, the assembled answer and the raw chunks), folded away.

use leptos::prelude::*;

use crate::components::status::Empty;
use crate::model::chat_reply::{Exchange, Phase, Served, ToolCall};
use crate::model::usage_figures::millis;

#[component]
pub fn ResponseCard(exchange: RwSignal<Option<Exchange>>) -> impl IntoView {
    let has = move || exchange.with(Option::is_some);
    view! {
        <section class="card" aria-labelledby="explorer-response">
            <h2 id="explorer-response">"Response"</h2>
            <Show
                when=has
                fallback=|| view! {
                    <Empty title="Nothing sent yet">
                        <p>"Write a message and send it: the answer appears here as it arrives."</p>
                    </Empty>
                }
            >
                <Metrics exchange=exchange />
                <Answer exchange=exchange />
                <RawJson exchange=exchange />
            </Show>
        </section>
    }
}

/// Reads one thing from the current exchange, tracked.
fn read<T>(exchange: RwSignal<Option<Exchange>>, f: impl Fn(&Exchange) -> T) -> Option<T> {
    exchange.with(|it| it.as_ref().map(f))
}

#[component]
fn Metrics(exchange: RwSignal<Option<Exchange>>) -> impl IntoView {
    let phase = move || read(exchange, |it| it.phase);
    let status = move || {
        read(exchange, |it| it.status)
            .flatten()
            .map_or_else(|| "…".to_owned(), |it| it.to_string())
    };
    let pending = move |value: Option<u64>| {
        value.map_or_else(
            || {
                if phase().is_some_and(|it| matches!(it, Phase::Waiting | Phase::Receiving)) {
                    "…".to_owned()
                } else {
                    "—".to_owned()
                }
            },
            |ms| millis(ms as f64),
        )
    };
    let latency = move || pending(read(exchange, Exchange::latency_ms).flatten());
    let ttft = move || pending(read(exchange, Exchange::ttft_ms).flatten());
    let tokens = move || {
        read(exchange, |it| it.reply.usage).flatten().map_or_else(
            || "—".to_owned(),
            |usage| {
                format!(
                    "{} in · {} out",
                    usage.prompt_tokens, usage.completion_tokens
                )
            },
        )
    };
    let served = move || {
        read(exchange, |it| it.served.as_ref().map(Served::describe))
            .flatten()
            .unwrap_or_else(|| "—".to_owned())
    };
    let state = move || match phase() {
        Some(Phase::Waiting) => "Waiting for the answer…",
        Some(Phase::Receiving) => "Receiving…",
        Some(Phase::Done) => "Done",
        Some(Phase::Stopped) => "Stopped",
        Some(Phase::Failed) => "Failed",
        None => "",
    };
    let failed = move || {
        read(exchange, |it| it.status)
            .flatten()
            .is_some_and(|it| !(200..300).contains(&it))
    };
    view! {
        <dl class="metrics">
            <div>
                <dt>"Status"</dt>
                <dd id="explorer-status" class:bad=failed>{status}</dd>
            </div>
            <div>
                <dt>"Latency"</dt>
                <dd id="explorer-latency">{latency}</dd>
            </div>
            <div>
                <dt>"Time to first token"</dt>
                <dd id="explorer-ttft">{ttft}</dd>
            </div>
            <div>
                <dt>"Tokens"</dt>
                <dd id="explorer-tokens">{tokens}</dd>
            </div>
            <div>
                <dt>"Served by"</dt>
                <dd id="explorer-served">{served}</dd>
            </div>
        </dl>
        <p class="muted phase" role="status">{state}</p>
    }
}

#[component]
fn Answer(exchange: RwSignal<Option<Exchange>>) -> impl IntoView {
    let content = move || read(exchange, |it| it.reply.content.clone()).unwrap_or_default();
    let tool_calls = move || read(exchange, |it| it.reply.tool_calls.clone()).unwrap_or_default();
    let error = move || read(exchange, |it| it.error.clone()).flatten();
    let finish = move || read(exchange, |it| it.reply.finish_reason.clone()).flatten();
    view! {
        {move || error().map(|error| view! {
            <div class="notice error" role="alert" id="explorer-error">
                <p>{error.message()}</p>
            </div>
        })}
        <div class="answer" aria-live="polite" aria-busy=move || if read(exchange, Exchange::running).unwrap_or(false) { "true" } else { "false" }>
            <Show when=move || !content().is_empty()>
                <p class="diff-label">"Answer"</p>
                <div id="explorer-answer" class="answer-text">{content}</div>
            </Show>
            <Show when=move || !tool_calls().is_empty()>
                <p class="diff-label">"Tool calls"</p>
                <ul class="plain-list tool-calls">
                    {move || tool_calls().into_iter().map(|call| view! { <ToolCallItem call=call /> }).collect_view()}
                </ul>
            </Show>
            {move || finish().map(|reason| view! { <p class="muted small">"Finish reason: " <code>{reason}</code></p> })}
        </div>
    }
}

#[component]
fn ToolCallItem(call: ToolCall) -> impl IntoView {
    let arguments = serde_json::from_str::<serde_json::Value>(&call.arguments)
        .ok()
        .and_then(|it| serde_json::to_string_pretty(&it).ok())
        .unwrap_or(call.arguments);
    view! {
        <li class="tool-call">
            <code class="tool-name">{call.name}</code>
            {(!call.id.is_empty()).then(|| view! { <span class="muted small">" " {call.id}</span> })}
            <pre>{arguments}</pre>
        </li>
    }
}

#[component]
fn RawJson(exchange: RwSignal<Option<Exchange>>) -> impl IntoView {
    let request = move || read(exchange, |it| it.request_json.clone()).unwrap_or_default();
    // Rebuilt once the answer is complete, not for every chunk of a long stream.
    let running = move || read(exchange, Exchange::running).unwrap_or(false);
    let response = move || {
        if running() {
            Some("Arriving…".to_owned())
        } else {
            read(exchange, Exchange::response_json).flatten()
        }
    };
    let raw_chunks = move || {
        if running() {
            "Arriving…".to_owned()
        } else {
            read(exchange, |it| it.chunks.join("\n")).unwrap_or_default()
        }
    };
    let chunks = move || read(exchange, |it| it.chunks.len()).unwrap_or(0);
    let streamed = move || read(exchange, |it| it.stream && it.body.is_none()).unwrap_or(false);
    view! {
        <details class="example">
            <summary>"Request JSON"</summary>
            <pre id="explorer-request-json" class="code-block">{request}</pre>
        </details>
        <details class="example">
            <summary>{move || if streamed() { "Response JSON (assembled from the stream)" } else { "Response JSON" }}</summary>
            <pre id="explorer-response-json" class="code-block">{move || response().unwrap_or_else(|| "No answer yet.".to_owned())}</pre>
        </details>
        <Show when=move || { chunks() > 0 }>
            <details class="example">
                <summary>{move || format!("Raw stream chunks ({})", chunks())}</summary>
                <pre class="chunks code-block">{raw_chunks}</pre>
            </details>
        </Show>
    }
}

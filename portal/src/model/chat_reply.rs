//! One explorer call from send to end: the answer assembled from stream chunks (content and
//! tool-call argument deltas) or read from a whole response, the status, the token usage, the
//! timings (latency and time to first token) and the raw JSON, for display.

use serde::Deserialize;

use super::sse::SseEvent;
use crate::api::ApiError;

/// Token counts as the data plane reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub total_tokens: u64,
}

/// A tool call in the answer, its arguments joined from their deltas.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// The answer's first choice, as far as it has arrived.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reply {
    pub id: Option<String>,
    pub model: Option<String>,
    pub content: String,
    pub tool_calls: Vec<ToolCall>,
    pub finish_reason: Option<String>,
    pub usage: Option<Usage>,
}

impl Reply {
    /// Applies one `chat.completion.chunk`; true when it carried output (text or a tool call),
    /// which is what time to first token measures.
    pub fn apply_chunk(&mut self, chunk: &serde_json::Value) -> bool {
        self.note_ids(chunk);
        if let Some(usage) = usage_of(chunk) {
            self.usage = Some(usage);
        }
        let Some(choice) = first_choice(chunk) else {
            return false;
        };
        if let Some(reason) = choice.get("finish_reason").and_then(|it| it.as_str()) {
            self.finish_reason = Some(reason.to_owned());
        }
        let Some(delta) = choice.get("delta") else {
            return false;
        };
        let mut output = false;
        if let Some(text) = delta.get("content").and_then(|it| it.as_str())
            && !text.is_empty()
        {
            self.content.push_str(text);
            output = true;
        }
        for call in delta
            .get("tool_calls")
            .and_then(|it| it.as_array())
            .into_iter()
            .flatten()
        {
            self.apply_tool_call_delta(call);
            output = true;
        }
        output
    }

    /// Reads a whole `chat.completion`.
    pub fn from_completion(body: &serde_json::Value) -> Reply {
        let mut reply = Reply::default();
        reply.note_ids(body);
        reply.usage = usage_of(body);
        if let Some(choice) = first_choice(body) {
            reply.finish_reason = choice
                .get("finish_reason")
                .and_then(|it| it.as_str())
                .map(str::to_owned);
            if let Some(message) = choice.get("message") {
                reply.content = message
                    .get("content")
                    .and_then(|it| it.as_str())
                    .unwrap_or_default()
                    .to_owned();
                reply.tool_calls = message
                    .get("tool_calls")
                    .and_then(|it| it.as_array())
                    .into_iter()
                    .flatten()
                    .map(|call| ToolCall {
                        id: str_at(call, &["id"]),
                        name: str_at(call, &["function", "name"]),
                        arguments: str_at(call, &["function", "arguments"]),
                    })
                    .collect();
            }
        }
        reply
    }

    /// The streamed answer as one `chat.completion`, as if it had not been streamed.
    pub fn assembled(&self) -> serde_json::Value {
        let mut message = serde_json::json!({
            "role": "assistant",
            "content": if self.content.is_empty() && !self.tool_calls.is_empty() {
                serde_json::Value::Null
            } else {
                serde_json::Value::String(self.content.clone())
            },
        });
        if !self.tool_calls.is_empty() {
            message["tool_calls"] = self
                .tool_calls
                .iter()
                .map(|it| {
                    serde_json::json!({
                        "id": it.id,
                        "type": "function",
                        "function": { "name": it.name, "arguments": it.arguments },
                    })
                })
                .collect();
        }
        let mut res = serde_json::json!({
            "id": self.id,
            "object": "chat.completion",
            "model": self.model,
            "choices": [{ "index": 0, "message": message, "finish_reason": self.finish_reason }],
        });
        if let Some(usage) = self.usage {
            res["usage"] = serde_json::json!({
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "total_tokens": usage.total_tokens,
            });
        }
        res
    }

    fn note_ids(&mut self, value: &serde_json::Value) {
        if self.id.is_none() {
            self.id = value
                .get("id")
                .and_then(|it| it.as_str())
                .map(str::to_owned);
        }
        if self.model.is_none() {
            self.model = value
                .get("model")
                .and_then(|it| it.as_str())
                .map(str::to_owned);
        }
    }

    fn apply_tool_call_delta(&mut self, delta: &serde_json::Value) {
        let index = delta
            .get("index")
            .and_then(serde_json::Value::as_u64)
            .and_then(|it| usize::try_from(it).ok())
            .unwrap_or(self.tool_calls.len().saturating_sub(1));
        // Indexes are small and dense; a gap would be an upstream bug, filled with blanks.
        if index >= 64 {
            return;
        }
        while self.tool_calls.len() <= index {
            self.tool_calls.push(ToolCall::default());
        }
        let call = &mut self.tool_calls[index];
        if let Some(id) = delta.get("id").and_then(|it| it.as_str()) {
            call.id = id.to_owned();
        }
        if let Some(function) = delta.get("function") {
            if let Some(name) = function.get("name").and_then(|it| it.as_str()) {
                call.name.push_str(name);
            }
            if let Some(arguments) = function.get("arguments").and_then(|it| it.as_str()) {
                call.arguments.push_str(arguments);
            }
        }
    }
}

fn first_choice(value: &serde_json::Value) -> Option<&serde_json::Value> {
    value.get("choices")?.as_array()?.iter().find(|it| {
        it.get("index")
            .and_then(serde_json::Value::as_u64)
            .is_none_or(|i| i == 0)
    })
}

fn usage_of(value: &serde_json::Value) -> Option<Usage> {
    value
        .get("usage")
        .filter(|it| it.is_object())
        .and_then(|it| serde_json::from_value(it.clone()).ok())
}

fn str_at(value: &serde_json::Value, path: &[&str]) -> String {
    path.iter()
        .try_fold(value, |at, key| at.get(key))
        .and_then(|it| it.as_str())
        .unwrap_or_default()
        .to_owned()
}

/// Where a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Sent; no answer yet.
    Waiting,
    /// The answer's headers arrived; the body is being read.
    Receiving,
    Done,
    /// Stopped by the person.
    Stopped,
    Failed,
}

/// What the routing headers of an answer say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    pub deployment: String,
    pub attempts: u32,
    /// `Some(true)` for a cache hit, `Some(false)` for a miss, `None` on models without cache.
    pub from_cache: Option<bool>,
}

impl Served {
    /// Reads `x-upstream-deployment`, `x-upstream-attempts` and `x-cache`; `None` without
    /// the first (an answer that never reached routing).
    pub fn from_headers(header: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let deployment = header("x-upstream-deployment")?;
        Some(Served {
            deployment,
            attempts: header("x-upstream-attempts")
                .and_then(|it| it.parse().ok())
                .unwrap_or(1),
            from_cache: header("x-cache").map(|it| it == "hit"),
        })
    }

    /// In words, for the explorer: "east", "west (2nd try)", "east · from cache".
    pub fn describe(&self) -> String {
        let mut res = self.deployment.clone();
        if self.attempts > 1 {
            let ordinal = match self.attempts {
                2 => "2nd".to_owned(),
                3 => "3rd".to_owned(),
                n => format!("{n}th"),
            };
            res.push_str(&format!(" ({ordinal} try)"));
        }
        if self.from_cache == Some(true) {
            res.push_str(" · from cache");
        }
        res
    }
}

/// Everything about one call, for the response panel. Times are the browser's
/// `performance.now()` in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    pub request_json: String,
    pub stream: bool,
    pub phase: Phase,
    pub status: Option<u16>,
    /// Which deployment answered, after how many tries, and whether from the cache.
    pub served: Option<Served>,
    pub reply: Reply,
    /// The `data` of every stream event, as received.
    pub chunks: Vec<String>,
    /// A whole response's body (or an error body), pretty-printed when it is JSON.
    pub body: Option<String>,
    pub error: Option<ApiError>,
    started_at: f64,
    first_output_at: Option<f64>,
    ended_at: Option<f64>,
}

impl Exchange {
    pub fn new(request_json: String, stream: bool, now: f64) -> Self {
        Exchange {
            request_json,
            stream,
            phase: Phase::Waiting,
            status: None,
            served: None,
            reply: Reply::default(),
            chunks: Vec::new(),
            body: None,
            error: None,
            started_at: now,
            first_output_at: None,
            ended_at: None,
        }
    }

    /// Whether the call is still under way (Stop applies).
    pub fn running(&self) -> bool {
        matches!(self.phase, Phase::Waiting | Phase::Receiving)
    }

    /// The answer's status arrived.
    pub fn on_served(&mut self, served: Option<Served>) {
        self.served = served;
    }

    pub fn on_status(&mut self, status: u16) {
        self.status = Some(status);
        self.phase = Phase::Receiving;
    }

    /// One stream event; an error event (the upstream failed after the stream began) ends it.
    pub fn on_event(&mut self, event: SseEvent, now: f64) {
        match event {
            SseEvent::Done => self.finish(now),
            SseEvent::Data(data) => {
                let parsed = serde_json::from_str::<serde_json::Value>(&data);
                self.chunks.push(data);
                let Ok(chunk) = parsed else {
                    return;
                };
                if let Some(error) = ApiError::from_openai(self.status.unwrap_or(200), &chunk) {
                    self.fail(error, now);
                    return;
                }
                if self.reply.apply_chunk(&chunk) && self.first_output_at.is_none() {
                    self.first_output_at = Some(now);
                }
            }
        }
    }

    /// A whole body: a non-streamed answer, or the error of a failed call.
    pub fn on_body(&mut self, text: &str, now: f64) {
        let status = self.status.unwrap_or(0);
        let parsed = serde_json::from_str::<serde_json::Value>(text).ok();
        self.body = Some(
            parsed
                .as_ref()
                .and_then(|it| serde_json::to_string_pretty(it).ok())
                .unwrap_or_else(|| text.to_owned()),
        );
        if (200..300).contains(&status) {
            if let Some(body) = &parsed {
                self.reply = Reply::from_completion(body);
                if !self.reply.content.is_empty() || !self.reply.tool_calls.is_empty() {
                    self.first_output_at = Some(now);
                }
            }
            self.finish(now);
        } else {
            self.fail(ApiError::from_openai_text(status, text), now);
        }
    }

    /// The body ended (for streams: without `[DONE]` if it was cut).
    pub fn on_end(&mut self, now: f64) {
        if self.running() {
            self.finish(now);
        }
    }

    /// The person pressed Stop.
    pub fn on_stopped(&mut self, now: f64) {
        if self.running() {
            self.phase = Phase::Stopped;
            self.ended_at = Some(now);
        }
    }

    /// The call failed without (or before the end of) an answer. After a stop nothing changes:
    /// the aborted read fails too, and that is no news.
    pub fn fail(&mut self, error: ApiError, now: f64) {
        if self.phase == Phase::Stopped {
            return;
        }
        self.error = Some(error);
        self.phase = Phase::Failed;
        self.ended_at.get_or_insert(now);
    }

    fn finish(&mut self, now: f64) {
        if self.running() {
            self.phase = Phase::Done;
        }
        self.ended_at.get_or_insert(now);
    }

    /// From send to the end of the answer, in whole milliseconds.
    pub fn latency_ms(&self) -> Option<u64> {
        self.ended_at.map(|end| millis(end - self.started_at))
    }

    /// From send to the first text or tool call, in whole milliseconds.
    pub fn ttft_ms(&self) -> Option<u64> {
        self.first_output_at.map(|at| millis(at - self.started_at))
    }

    /// The response as JSON, for display: the body, or for streams the assembled answer.
    pub fn response_json(&self) -> Option<String> {
        if let Some(body) = &self.body {
            return Some(body.clone());
        }
        (self.stream && !self.chunks.is_empty())
            .then(|| serde_json::to_string_pretty(&self.reply.assembled()).unwrap_or_default())
    }
}

fn millis(span: f64) -> u64 {
    if span.is_finite() && span > 0.0 {
        // Saturating: `as` clamps floats to the integer's range.
        span.round() as u64
    } else {
        0
    }
}

#[cfg(test)]
mod served_tests {
    use super::Served;

    #[test]
    fn routing_headers_read_as_words() {
        let headers = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(Served::from_headers(headers(&[])), None);
        let first = Served::from_headers(headers(&[("x-upstream-deployment", "east")])).unwrap();
        assert_eq!(first.describe(), "east");
        let second = Served::from_headers(headers(&[
            ("x-upstream-deployment", "west"),
            ("x-upstream-attempts", "2"),
            ("x-cache", "miss"),
        ]))
        .unwrap();
        assert_eq!(
            (second.describe(), second.from_cache),
            ("west (2nd try)".to_owned(), Some(false))
        );
        let hit = Served::from_headers(headers(&[
            ("x-upstream-deployment", "east"),
            ("x-cache", "hit"),
        ]))
        .unwrap();
        assert_eq!(hit.describe(), "east · from cache");
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::sse::SseDecoder;

    /// What the mock provider streams for a tool-enabled request, split mid-frame.
    const TOOL_STREAM: &[&str] = &[
        "data: {\"id\":\"c1\",\"model\":\"mock\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\ndata: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_0\",\"type\":\"function\",\"function\":{\"name\":\"get_",
        "weather\",\"arguments\":\"\"}}]}}]}\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]}}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"Oslo\\\"}\"}}]}}]}\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,\"total_tokens\":11}}\n\ndata: [DONE]\n\n",
    ];

    fn run(reads: &[&str]) -> Exchange {
        let mut exchange = Exchange::new("{}".into(), true, 1000.0);
        exchange.on_status(200);
        let mut decoder = SseDecoder::new();
        for (i, read) in reads.iter().enumerate() {
            let now = 1000.0 + 10.0 * (i as f64 + 1.0);
            for event in decoder.push(read.as_bytes()) {
                exchange.on_event(event, now);
            }
        }
        exchange
    }

    #[test]
    fn streamed_text_usage_and_timings() {
        let mut exchange = Exchange::new("{}".into(), true, 100.0);
        exchange.on_status(200);
        let chunk = |content: &str| {
            SseEvent::Data(
                json!({"id": "c", "model": "mock", "choices": [{"index": 0, "delta": {"content": content}}]})
                    .to_string(),
            )
        };
        exchange.on_event(chunk(""), 110.0);
        assert_eq!(exchange.ttft_ms(), None, "an empty delta is not a token");
        exchange.on_event(chunk("Hello "), 142.4);
        exchange.on_event(chunk("world"), 150.0);
        exchange.on_event(
            SseEvent::Data(
                json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                    .to_string(),
            ),
            151.0,
        );
        exchange.on_event(
            SseEvent::Data(json!({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}}).to_string()),
            152.0,
        );
        assert!(exchange.running());
        exchange.on_event(SseEvent::Done, 160.6);
        assert_eq!(exchange.phase, Phase::Done);
        assert_eq!(exchange.reply.content, "Hello world");
        assert_eq!(exchange.reply.finish_reason.as_deref(), Some("stop"));
        assert_eq!(exchange.reply.usage.map(|it| it.completion_tokens), Some(2));
        assert_eq!(exchange.ttft_ms(), Some(42));
        assert_eq!(exchange.latency_ms(), Some(61));
        assert_eq!(exchange.chunks.len(), 5);
        let assembled: serde_json::Value =
            serde_json::from_str(&exchange.response_json().unwrap()).unwrap();
        assert_eq!(assembled["choices"][0]["message"]["content"], "Hello world");
        assert_eq!(assembled["usage"]["total_tokens"], 7);
        assert_eq!(assembled["object"], "chat.completion");
    }

    #[test]
    fn tool_call_deltas_are_joined_across_reads() {
        let exchange = run(TOOL_STREAM);
        assert_eq!(exchange.phase, Phase::Done);
        assert_eq!(
            exchange.reply.tool_calls,
            vec![ToolCall {
                id: "call_0".into(),
                name: "get_weather".into(),
                arguments: "{\"city\":\"Oslo\"}".into(),
            }]
        );
        assert_eq!(
            exchange.ttft_ms(),
            Some(20),
            "the first tool-call delta counts"
        );
        let assembled = exchange.reply.assembled();
        assert_eq!(assembled["choices"][0]["message"]["content"], json!(null));
        assert_eq!(
            assembled["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"],
            "{\"city\":\"Oslo\"}"
        );
        assert_eq!(assembled["choices"][0]["finish_reason"], "tool_calls");
    }

    #[test]
    fn an_error_event_ends_the_stream_with_its_message() {
        let exchange = run(&[
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n",
            "data: {\"error\":{\"message\":\"the upstream stopped answering\",\"type\":\"api_error\",\"code\":\"upstream_timeout\"}}\n\n",
        ]);
        assert_eq!(exchange.phase, Phase::Failed);
        assert_eq!(exchange.reply.content, "Hi");
        assert_eq!(
            exchange.error.unwrap().message(),
            "The upstream stopped answering."
        );
    }

    #[test]
    fn a_whole_answer_and_a_failed_one() {
        let mut ok = Exchange::new("{}".into(), false, 0.0);
        ok.on_status(200);
        ok.on_body(
            &json!({
                "id": "c", "model": "mock",
                "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
                    "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
            })
            .to_string(),
            25.0,
        );
        assert_eq!(ok.phase, Phase::Done);
        assert_eq!(ok.reply.tool_calls[0].name, "f");
        assert_eq!(ok.reply.usage.unwrap().prompt_tokens, 3);
        assert_eq!((ok.latency_ms(), ok.ttft_ms()), (Some(25), Some(25)));
        assert!(
            ok.response_json().unwrap().contains("\n  \"choices\""),
            "pretty"
        );

        let mut failed = Exchange::new("{}".into(), true, 0.0);
        failed.on_status(404);
        failed.on_body(
            r#"{"error":{"message":"model `x` is not available","type":"invalid_request_error","param":"model","code":"model_not_found"}}"#,
            5.0,
        );
        assert_eq!(failed.phase, Phase::Failed);
        assert_eq!(
            failed.error.as_ref().unwrap().message(),
            "Model `x` is not available."
        );
        assert!(failed.response_json().unwrap().contains("model_not_found"));
        assert_eq!(failed.latency_ms(), Some(5));
    }

    #[test]
    fn stopping_keeps_what_arrived() {
        let mut exchange =
            run(&["data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Part\"}}]}\n\n"]);
        exchange.on_stopped(1500.0);
        assert_eq!(exchange.phase, Phase::Stopped);
        exchange.on_end(1600.0);
        assert_eq!(
            exchange.phase,
            Phase::Stopped,
            "the end after a stop changes nothing"
        );
        assert_eq!(exchange.latency_ms(), Some(500));
        assert_eq!(exchange.reply.content, "Part");
    }
}

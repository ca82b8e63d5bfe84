//! Anthropic Messages request → canonical (OpenAI-shaped) chat request.
//!
//! Every block keeps what the canonical types do not model in `extra`, where the Anthropic
//! provider picks it up again (`cache_control`, `is_error`, native blocks such as documents
//! with text sources or search results), so nothing an Anthropic upstream understands is lost.

use serde_json::{Value, json};

use super::{Block, InputContent, InputMessage, InputRole, MessagesRequest, System, ToolChoice};
use crate::llm::chat::{
    FunctionCall, FunctionDefinition, FunctionName, ImageUrl, NamedToolChoice, Stop, StreamOptions,
    ThinkingBlock, Tool, ToolCall,
};
use crate::llm::{
    ChatRequest, Content, ContentPart, Extra, Message, Role, ToolChoice as ChatToolChoice,
    ValidationError,
};

fn invalid(param: impl Into<String>, message: impl Into<String>) -> ValidationError {
    ValidationError {
        param: param.into(),
        message: message.into(),
    }
}

fn check_unit_range(param: &str, value: Option<f64>) -> Result<(), ValidationError> {
    match value {
        Some(v) if !(0.0..=1.0).contains(&v) => Err(invalid(
            param,
            format!("`{param}` must be between 0 and 1, got {v}"),
        )),
        _ => Ok(()),
    }
}

/// Translates a Messages request, checking what Anthropic would check, with its field paths.
///
/// # Errors
/// An empty model or conversation, `max_tokens` of 0, sampling values out of range, blocks
/// missing what their type needs, or an unknown `tool_choice`, each naming the field.
pub fn to_chat(req: MessagesRequest) -> Result<ChatRequest, ValidationError> {
    if req.model.trim().is_empty() {
        return Err(invalid("model", "`model` must not be empty"));
    }
    if req.messages.is_empty() {
        return Err(invalid(
            "messages",
            "`messages` must hold at least one message",
        ));
    }
    if req.max_tokens == 0 {
        return Err(invalid("max_tokens", "`max_tokens` must be at least 1"));
    }
    check_unit_range("temperature", req.temperature)?;
    check_unit_range("top_p", req.top_p)?;

    let mut messages = Vec::with_capacity(req.messages.len() + 1);
    match req.system {
        Some(System::Text(text)) => messages.push(Message::text(Role::System, text)),
        Some(System::Blocks(blocks)) if !blocks.is_empty() => {
            let parts = blocks
                .into_iter()
                .enumerate()
                .map(|(j, block)| part(block, &format!("system[{j}]")))
                .collect::<Result<Vec<_>, _>>()?;
            messages.push(with_content(Role::System, Content::Parts(parts)));
        }
        Some(System::Blocks(_)) | None => {}
    }
    for (i, message) in req.messages.into_iter().enumerate() {
        match message.role {
            InputRole::User => user_messages(message, i, &mut messages)?,
            InputRole::Assistant => messages.push(assistant_message(message, i)?),
        }
    }

    let tools = req
        .tools
        .map(|tools| {
            tools
                .into_iter()
                .map(|tool| {
                    let is_client_tool = tool.kind.as_deref().is_none_or(|it| it == "custom");
                    if is_client_tool {
                        Tool {
                            kind: "function".into(),
                            function: Some(FunctionDefinition {
                                name: tool.name,
                                description: tool.description,
                                parameters: tool.input_schema,
                                strict: None,
                                extra: Extra::new(),
                            }),
                            extra: tool.extra,
                        }
                    } else {
                        // A server tool (web search, code execution): only Anthropic runs it.
                        let mut extra = tool.extra;
                        extra.insert("name".into(), tool.name.into());
                        if let Some(description) = tool.description {
                            extra.insert("description".into(), description.into());
                        }
                        if let Some(schema) = tool.input_schema {
                            extra.insert("input_schema".into(), schema);
                        }
                        Tool {
                            kind: tool.kind.unwrap_or_default(),
                            function: None,
                            extra,
                        }
                    }
                })
                .collect::<Vec<_>>()
        })
        .filter(|it| !it.is_empty());
    let (tool_choice, parallel_tool_calls) = match req.tool_choice {
        Some(choice) => tool_choice(choice)?,
        None => (None, None),
    };

    let mut extra = req.extra;
    if let Some(top_k) = req.top_k {
        extra.insert("top_k".into(), top_k.into());
    }
    if let Some(thinking) = req.thinking {
        extra.insert("thinking".into(), thinking);
    }
    let stream = req.stream == Some(true);
    Ok(ChatRequest {
        model: req.model,
        messages,
        stream: stream.then_some(true),
        // The Anthropic stream reports usage in its last event, so usage is always asked for.
        stream_options: stream.then(|| StreamOptions {
            include_usage: Some(true),
            extra: Extra::new(),
        }),
        max_tokens: Some(req.max_tokens),
        max_completion_tokens: None,
        temperature: req.temperature,
        top_p: req.top_p,
        n: None,
        stop: req
            .stop_sequences
            .filter(|it| !it.is_empty())
            .map(Stop::Many),
        seed: None,
        logprobs: None,
        top_logprobs: None,
        presence_penalty: None,
        frequency_penalty: None,
        tools,
        tool_choice,
        parallel_tool_calls,
        response_format: None,
        user: req.metadata.and_then(|it| it.user_id),
        reasoning_effort: None,
        extra,
    })
}

fn with_content(role: Role, content: Content) -> Message {
    let mut message = Message::text(role, String::new());
    message.content = Some(content);
    message
}

fn tool_choice(
    choice: ToolChoice,
) -> Result<(Option<ChatToolChoice>, Option<bool>), ValidationError> {
    let parallel = choice.disable_parallel_tool_use.map(|disable| !disable);
    let mode = |it: &str| Some(ChatToolChoice::Mode(it.to_owned()));
    let choice = match choice.kind.as_str() {
        "auto" => mode("auto"),
        "any" => mode("required"),
        "none" => mode("none"),
        "tool" => {
            let name = choice.name.filter(|it| !it.is_empty()).ok_or_else(|| {
                invalid(
                    "tool_choice.name",
                    "`tool_choice.name` is required when `tool_choice.type` is `tool`",
                )
            })?;
            Some(ChatToolChoice::Named(NamedToolChoice {
                kind: "function".into(),
                function: Some(FunctionName { name }),
                extra: Extra::new(),
            }))
        }
        other => {
            return Err(invalid(
                "tool_choice.type",
                format!(
                    "`tool_choice.type` must be `auto`, `any`, `tool` or `none`, got `{other}`"
                ),
            ));
        }
    };
    Ok((choice, parallel))
}

/// A user turn: its tool results first, each as a `tool` message (OpenAI wants them right
/// after the assistant's calls), then the rest as one user message.
fn user_messages(
    message: InputMessage,
    i: usize,
    out: &mut Vec<Message>,
) -> Result<(), ValidationError> {
    let blocks = match message.content {
        InputContent::Text(text) => {
            out.push(Message::text(Role::User, text));
            return Ok(());
        }
        InputContent::Blocks(blocks) => blocks,
    };
    if blocks.is_empty() {
        return Err(invalid(
            format!("messages[{i}].content"),
            format!("`messages[{i}].content` must not be empty"),
        ));
    }
    let mut parts = Vec::new();
    for (j, block) in blocks.into_iter().enumerate() {
        let at = format!("messages[{i}].content[{j}]");
        if block.kind == "tool_result" {
            out.push(tool_result(block, &at)?);
        } else {
            parts.push(part(block, &at)?);
        }
    }
    if !parts.is_empty() {
        out.push(with_content(Role::User, Content::Parts(parts)));
    }
    Ok(())
}

fn tool_result(block: Block, at: &str) -> Result<Message, ValidationError> {
    let id = block
        .tool_use_id
        .filter(|it| !it.is_empty())
        .ok_or_else(|| {
            invalid(
                format!("{at}.tool_use_id"),
                format!("`{at}.tool_use_id` is required"),
            )
        })?;
    let content = match block.content {
        None | Some(Value::Null) => Content::Text(String::new()),
        Some(Value::String(text)) => Content::Text(text),
        Some(Value::Array(items)) => Content::Parts(
            items
                .into_iter()
                .enumerate()
                .map(|(k, item)| {
                    let at = format!("{at}.content[{k}]");
                    let block: Block = serde_json::from_value(item).map_err(|e| {
                        invalid(at.clone(), format!("`{at}` is not a content block: {e}"))
                    })?;
                    part(block, &at)
                })
                .collect::<Result<_, _>>()?,
        ),
        Some(_) => {
            return Err(invalid(
                format!("{at}.content"),
                format!("`{at}.content` must be a string or an array of content blocks"),
            ));
        }
    };
    let mut message = with_content(Role::Tool, content);
    message.tool_call_id = Some(id);
    if let Some(is_error) = block.is_error {
        message.extra.insert("is_error".into(), is_error.into());
    }
    if let Some(cache) = block.extra.get("cache_control") {
        message.extra.insert("cache_control".into(), cache.clone());
    }
    Ok(message)
}

/// A user-side block as a canonical content part.
fn part(block: Block, at: &str) -> Result<ContentPart, ValidationError> {
    match block.kind.as_str() {
        "text" => {
            let text = block
                .text
                .ok_or_else(|| invalid(format!("{at}.text"), format!("`{at}.text` is required")))?;
            let mut part = ContentPart::text(text);
            part.extra = block.extra;
            Ok(part)
        }
        "image" => {
            let source = block.source.as_ref().ok_or_else(|| {
                invalid(format!("{at}.source"), format!("`{at}.source` is required"))
            })?;
            let url = source_url(source, &format!("{at}.source"))?;
            Ok(ContentPart {
                kind: "image_url".into(),
                text: None,
                image_url: Some(ImageUrl {
                    url,
                    detail: None,
                    extra: Extra::new(),
                }),
                extra: block.extra,
            })
        }
        // A PDF given inline travels as OpenAI's file part; other documents stay native.
        "document"
            if block.source.as_ref().and_then(|it| it.get("type")) == Some(&json!("base64")) =>
        {
            let source = block.source.as_ref().unwrap_or(&Value::Null);
            let data = source_url(source, &format!("{at}.source"))?;
            let mut extra = block.extra;
            extra.insert("file".into(), json!({ "file_data": data }));
            Ok(ContentPart {
                kind: "file".into(),
                text: None,
                image_url: None,
                extra,
            })
        }
        _ => native_part(block, at),
    }
}

/// A block the canonical types do not model, kept whole for an Anthropic upstream.
fn native_part(block: Block, at: &str) -> Result<ContentPart, ValidationError> {
    let kind = block.kind.clone();
    let Value::Object(mut fields) = serde_json::to_value(block)
        .map_err(|e| invalid(at.to_owned(), format!("`{at}` cannot be read: {e}")))?
    else {
        return Err(invalid(at.to_owned(), format!("`{at}` must be an object")));
    };
    fields.remove("type");
    let text = match fields.remove("text") {
        Some(Value::String(text)) => Some(text),
        _ => None,
    };
    Ok(ContentPart {
        kind,
        text,
        image_url: None,
        extra: fields,
    })
}

/// A `base64` source as a data URL, or a `url` source's URL.
fn source_url(source: &Value, at: &str) -> Result<String, ValidationError> {
    let field = |name: &str| source.get(name).and_then(Value::as_str);
    match field("type") {
        Some("base64") => {
            let media_type = field("media_type").ok_or_else(|| {
                invalid(
                    format!("{at}.media_type"),
                    format!("`{at}.media_type` is required"),
                )
            })?;
            let data = field("data")
                .ok_or_else(|| invalid(format!("{at}.data"), format!("`{at}.data` is required")))?;
            Ok(format!("data:{media_type};base64,{data}"))
        }
        Some("url") => field("url")
            .map(str::to_owned)
            .ok_or_else(|| invalid(format!("{at}.url"), format!("`{at}.url` is required"))),
        _ => Err(invalid(
            format!("{at}.type"),
            format!("`{at}.type` must be `base64` or `url`"),
        )),
    }
}

/// An assistant turn: text, tool calls and thinking blocks in their canonical places; blocks
/// the canonical message cannot hold (server tool calls and results) stay as native parts.
fn assistant_message(message: InputMessage, i: usize) -> Result<Message, ValidationError> {
    let blocks = match message.content {
        InputContent::Text(text) => return Ok(Message::text(Role::Assistant, text)),
        InputContent::Blocks(blocks) => blocks,
    };
    let mut parts: Vec<ContentPart> = Vec::new();
    let mut calls = Vec::new();
    let mut thinking = Vec::new();
    for (j, block) in blocks.into_iter().enumerate() {
        let at = format!("messages[{i}].content[{j}]");
        match block.kind.as_str() {
            "tool_use" => {
                let id = block
                    .id
                    .filter(|it| !it.is_empty())
                    .ok_or_else(|| invalid(format!("{at}.id"), format!("`{at}.id` is required")))?;
                let name = block.name.filter(|it| !it.is_empty()).ok_or_else(|| {
                    invalid(format!("{at}.name"), format!("`{at}.name` is required"))
                })?;
                let input = block.input.unwrap_or_else(|| json!({}));
                if !input.is_object() {
                    return Err(invalid(
                        format!("{at}.input"),
                        format!("`{at}.input` must be an object"),
                    ));
                }
                calls.push(ToolCall {
                    id,
                    kind: "function".into(),
                    function: FunctionCall {
                        name,
                        arguments: input.to_string(),
                    },
                    extra: Extra::new(),
                });
            }
            "thinking" | "redacted_thinking" => thinking.push(ThinkingBlock {
                kind: block.kind,
                thinking: block.thinking,
                signature: block.signature,
                data: block.data,
            }),
            "text" => parts.push(part(block, &at)?),
            _ => parts.push(native_part(block, &at)?),
        }
    }
    let plain_text = parts
        .iter()
        .all(|it| it.kind == "text" && it.extra.is_empty());
    let content = if parts.is_empty() {
        None
    } else if plain_text {
        Some(Content::Text(
            parts.into_iter().filter_map(|it| it.text).collect(),
        ))
    } else {
        Some(Content::Parts(parts))
    };
    let mut res = Message::text(Role::Assistant, String::new());
    res.content = content;
    res.tool_calls = (!calls.is_empty()).then_some(calls);
    res.thinking_blocks = (!thinking.is_empty()).then_some(thinking);
    Ok(res)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn translate(body: Value) -> Result<Value, ValidationError> {
        let req: MessagesRequest = serde_json::from_value(body).unwrap();
        to_chat(req).map(|it| serde_json::to_value(it).unwrap())
    }

    #[test]
    fn a_request_reads_back_whole_with_fields_the_gateway_does_not_model() {
        // What the relay to an Anthropic upstream sends is the request read and written back.
        let body = json!({
            "model": "claude", "max_tokens": 100, "container": "container_1",
            "system": [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
            "messages": [
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": [
                    {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}},
                    {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": [{"type": "web_search_result", "url": "https://example.com"}]},
                    {"type": "text", "text": "cited", "citations": [{"type": "web_search_result_location", "cited_text": "c"}]}
                ]},
                {"role": "user", "content": [{"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "d"}, "citations": {"enabled": true}}]}
            ],
            "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 2, "allowed_domains": ["example.com"]}],
            "tool_choice": {"type": "auto", "disable_parallel_tool_use": true, "added_later": 1},
            "metadata": {"user_id": "u", "added_later": "x"},
            "service_tier": "auto"
        });
        let req: MessagesRequest = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(serde_json::to_value(&req).unwrap(), body);
    }

    #[test]
    fn a_whole_conversation_maps_onto_the_canonical_request() {
        let got = translate(json!({
            "model": "claude",
            "max_tokens": 100,
            "system": [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}],
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "what is here?"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}},
                    {"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}},
                    {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}, "title": "spec"},
                    {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "plain"}}
                ]},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                    {"type": "text", "text": "Let me look."},
                    {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}},
                    {"type": "tool_use", "id": "toolu_2", "name": "weather", "input": {"city": "Oslo"}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
                    {"type": "tool_result", "tool_use_id": "toolu_2", "is_error": true,
                     "content": [{"type": "text", "text": "no data"}], "cache_control": {"type": "ephemeral"}},
                    {"type": "text", "text": "and so?"}
                ]}
            ],
            "stop_sequences": ["END"],
            "temperature": 0.5,
            "top_k": 5,
            "thinking": {"type": "enabled", "budget_tokens": 1024},
            "metadata": {"user_id": "u-1"},
            "tools": [
                {"name": "weather", "description": "the weather", "input_schema": {"type": "object"}, "cache_control": {"type": "ephemeral"}},
                {"type": "web_search_20250305", "name": "web_search", "max_uses": 2}
            ],
            "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
            "service_tier": "auto",
            "stream": true
        }))
        .unwrap();
        let messages = got["messages"].as_array().unwrap();
        assert_eq!(messages[0]["role"], "system");
        assert_eq!(
            messages[0]["content"][0]["cache_control"]["type"],
            "ephemeral"
        );
        let user = &messages[1]["content"];
        assert_eq!(user[0], json!({"type": "text", "text": "what is here?"}));
        assert_eq!(user[1]["image_url"]["url"], "data:image/png;base64,iVBO");
        assert_eq!(user[2]["image_url"]["url"], "https://x.test/a.png");
        assert_eq!(user[3]["type"], "file");
        assert_eq!(
            user[3]["file"]["file_data"],
            "data:application/pdf;base64,JVBE"
        );
        assert_eq!(user[3]["title"], "spec");
        assert_eq!(user[4]["type"], "document");
        assert_eq!(user[4]["source"]["type"], "text");
        let assistant = &messages[2];
        assert_eq!(assistant["content"], "Let me look.");
        assert_eq!(assistant["thinking_blocks"][0]["signature"], "sig");
        assert_eq!(assistant["tool_calls"][1]["id"], "toolu_2");
        assert_eq!(
            assistant["tool_calls"][0]["function"]["arguments"],
            "{\"city\":\"Paris\"}"
        );
        assert_eq!(messages[3]["role"], "tool");
        assert_eq!(messages[3]["tool_call_id"], "toolu_1");
        assert_eq!(messages[3]["content"], "sunny");
        assert_eq!(messages[4]["is_error"], true);
        assert_eq!(messages[4]["cache_control"]["type"], "ephemeral");
        assert_eq!(messages[4]["content"][0]["text"], "no data");
        assert_eq!(messages[5]["role"], "user");
        assert_eq!(messages[5]["content"][0]["text"], "and so?");
        assert_eq!(got["max_tokens"], 100);
        assert_eq!(got["stop"], json!(["END"]));
        assert_eq!(got["top_k"], 5);
        assert_eq!(got["thinking"]["budget_tokens"], 1024);
        assert_eq!(got["user"], "u-1");
        assert_eq!(got["service_tier"], "auto");
        assert_eq!(got["tool_choice"], "required");
        assert_eq!(got["parallel_tool_calls"], false);
        assert_eq!(
            got["tools"][0]["function"]["parameters"],
            json!({"type": "object"})
        );
        assert_eq!(got["tools"][0]["cache_control"]["type"], "ephemeral");
        assert_eq!(got["tools"][1]["type"], "web_search_20250305");
        assert_eq!(got["tools"][1]["max_uses"], 2);
        assert_eq!(got["stream"], true);
        assert_eq!(got["stream_options"]["include_usage"], true);
    }

    #[test]
    fn named_tool_choice_and_plain_strings() {
        let got = translate(json!({
            "model": "m", "max_tokens": 1, "system": "sys",
            "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
            "tool_choice": {"type": "tool", "name": "weather"}
        }))
        .unwrap();
        assert_eq!(
            got["messages"][0],
            json!({"role": "system", "content": "sys"})
        );
        assert_eq!(
            got["messages"][2],
            json!({"role": "assistant", "content": "hello"})
        );
        assert_eq!(
            got["tool_choice"],
            json!({"type": "function", "function": {"name": "weather"}})
        );
        assert!(got.get("stream_options").is_none());
    }

    #[test]
    fn bad_requests_name_the_anthropic_field() {
        let base = |messages: Value| json!({"model": "m", "max_tokens": 10, "messages": messages});
        let cases = [
            (
                json!({"model": " ", "max_tokens": 1, "messages": [{"role": "user", "content": "x"}]}),
                "model",
            ),
            (
                json!({"model": "m", "max_tokens": 0, "messages": [{"role": "user", "content": "x"}]}),
                "max_tokens",
            ),
            (
                json!({"model": "m", "max_tokens": 1, "messages": []}),
                "messages",
            ),
            (
                json!({"model": "m", "max_tokens": 1, "temperature": 1.5, "messages": [{"role": "user", "content": "x"}]}),
                "temperature",
            ),
            (
                base(json!([{"role": "user", "content": []}])),
                "messages[0].content",
            ),
            (
                base(json!([{"role": "user", "content": [{"type": "text"}]}])),
                "messages[0].content[0].text",
            ),
            (
                base(
                    json!([{"role": "user", "content": [{"type": "image", "source": {"type": "file"}}]}]),
                ),
                "messages[0].content[0].source.type",
            ),
            (
                base(
                    json!([{"role": "user", "content": [{"type": "tool_result", "content": "x"}]}]),
                ),
                "messages[0].content[0].tool_use_id",
            ),
            (
                base(
                    json!([{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": 7}]}]),
                ),
                "messages[0].content[0].content",
            ),
            (
                base(
                    json!([{"role": "assistant", "content": [{"type": "tool_use", "name": "f"}]}]),
                ),
                "messages[0].content[0].id",
            ),
            (
                base(
                    json!([{"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": [1]}]}]),
                ),
                "messages[0].content[0].input",
            ),
            (
                json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "x"}], "tool_choice": {"type": "sometimes"}}),
                "tool_choice.type",
            ),
            (
                json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "x"}], "tool_choice": {"type": "tool"}}),
                "tool_choice.name",
            ),
        ];
        for (body, param) in cases {
            let e = translate(body.clone()).unwrap_err();
            assert_eq!(e.param, param, "{body}");
            assert!(
                e.message
                    .contains(param.rsplit('.').next().unwrap().split('[').next().unwrap()),
                "{e:?}"
            );
        }
    }

    #[test]
    fn wrong_content_types_are_named_plainly() {
        let e = serde_json::from_value::<MessagesRequest>(json!({
            "model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": 5}]
        }))
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("a string or an array of content blocks"),
            "{e}"
        );
        let e = serde_json::from_value::<MessagesRequest>(json!({
            "model": "m", "max_tokens": 1, "messages": [{"role": "system", "content": "x"}]
        }))
        .unwrap_err();
        assert!(e.to_string().contains("unknown variant `system`"), "{e}");
    }
}

//! OpenAI-shaped chat request → Anthropic Messages request.

use domain::llm::{ChatRequest, Content, ContentPart, Message, Role, ToolChoice};
use serde_json::{Map, Value, json};

use crate::ProviderError;

/// The tool that carries `response_format: json_schema`: Anthropic is made to call it, and its
/// input becomes the message content.
pub(crate) const JSON_TOOL: &str = "json_response";

/// Top-level fields Anthropic accepts that OpenAI does not have; forwarded when a client sends
/// them. Every other unknown field is dropped, since Anthropic rejects unknown fields.
const PASSTHROUGH: &[&str] = &[
    "top_k",
    "thinking",
    "metadata",
    "service_tier",
    "container",
    "mcp_servers",
    "context_management",
];

/// The translated request, and whether the JSON tool stands in for `response_format`.
pub(crate) struct Translated {
    pub body: Map<String, Value>,
    pub json_mode: bool,
}

/// Thinking budgets for `reasoning_effort`.
fn thinking_budget(effort: &str) -> Option<u32> {
    match effort {
        "low" => Some(1024),
        "medium" => Some(4096),
        "high" => Some(16384),
        _ => None,
    }
}

/// # Errors
/// Requests Anthropic cannot express (`n > 1`, audio input, legacy function messages) and tool
/// arguments that are not JSON, each naming the field.
pub(crate) fn to_wire(
    req: &ChatRequest,
    upstream_model: &str,
    default_max_tokens: u32,
    stream: bool,
) -> Result<Translated, ProviderError> {
    if req.n.is_some_and(|n| n > 1) {
        return Err(ProviderError::invalid_param(
            "n",
            "`n` greater than 1 is not supported by this model's provider",
        ));
    }
    let mut body = Map::new();
    body.insert("model".into(), upstream_model.into());

    let mut system: Vec<Value> = Vec::new();
    let mut messages: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for (i, message) in req.messages.iter().enumerate() {
        let at = format!("messages[{i}]");
        let (role, blocks) = match message.role {
            Role::System | Role::Developer => {
                system.extend(content_blocks(message, &at)?);
                continue;
            }
            Role::User => ("user", content_blocks(message, &at)?),
            Role::Assistant => ("assistant", assistant_blocks(message, &at)?),
            Role::Tool => ("user", vec![tool_result_block(message, &at)?]),
            Role::Function => {
                return Err(ProviderError::invalid_param(
                    format!("{at}.role"),
                    "role `function` is not supported by this model's provider; use `tool`",
                ));
            }
        };
        // Anthropic wants alternating roles: consecutive messages of one role become one.
        match messages.last_mut() {
            Some((last_role, last_blocks)) if *last_role == role => last_blocks.extend(blocks),
            _ => messages.push((role, blocks)),
        }
    }

    let mut json_mode = false;
    let mut tools: Vec<Value> = Vec::new();
    for (i, tool) in req.tools.iter().flatten().enumerate() {
        tools.push(tool_definition(tool, i)?);
    }
    let mut tool_choice = req.tool_choice.as_ref().map(|choice| match choice {
        ToolChoice::Mode(mode) => match mode.as_str() {
            "required" => json!({"type": "any"}),
            "none" => json!({"type": "none"}),
            _ => json!({"type": "auto"}),
        },
        ToolChoice::Named(named) => json!({
            "type": "tool",
            "name": named.function.as_ref().map(|it| it.name.as_str()).unwrap_or_default(),
        }),
    });
    if let Some(format) = &req.response_format {
        match format.kind.as_str() {
            "json_schema" => {
                let schema = format
                    .json_schema
                    .as_ref()
                    .and_then(|it| it.schema.clone())
                    .unwrap_or_else(|| json!({"type": "object"}));
                tools.push(json!({
                    "name": JSON_TOOL,
                    "description": "Respond with a JSON object matching this schema.",
                    "input_schema": schema,
                }));
                tool_choice = Some(json!({"type": "tool", "name": JSON_TOOL}));
                json_mode = true;
            }
            "json_object" => system.push(json!({
                "type": "text",
                "text": "Respond only with one valid JSON object and nothing else.",
            })),
            _ => {}
        }
    }
    if req.parallel_tool_calls == Some(false) && !tools.is_empty() {
        let choice = tool_choice.get_or_insert_with(|| json!({"type": "auto"}));
        if let Some(object) = choice.as_object_mut()
            && object.get("type").and_then(Value::as_str) != Some("none")
        {
            object.insert("disable_parallel_tool_use".into(), true.into());
        }
    }

    let mut max_tokens = req.output_cap().unwrap_or(default_max_tokens);
    let mut thinking = req.extra.get("thinking").cloned();
    if thinking.is_none()
        && let Some(budget) = req.reasoning_effort.as_deref().and_then(thinking_budget)
    {
        thinking = Some(json!({"type": "enabled", "budget_tokens": budget}));
    }
    let thinking_on = thinking
        .as_ref()
        .and_then(|it| it.get("type"))
        .and_then(Value::as_str)
        .is_some_and(|it| it == "enabled");
    if thinking_on {
        let budget = thinking
            .as_ref()
            .and_then(|it| it.get("budget_tokens"))
            .and_then(Value::as_u64)
            .and_then(|it| u32::try_from(it).ok())
            .unwrap_or(0);
        // The budget is part of `max_tokens`: keep the caller's cap for the visible answer.
        if max_tokens <= budget {
            max_tokens = budget.saturating_add(max_tokens);
        }
    }

    body.insert("max_tokens".into(), max_tokens.into());
    body.insert(
        "messages".into(),
        Value::Array(
            messages
                .into_iter()
                .map(|(role, content)| json!({"role": role, "content": content}))
                .collect(),
        ),
    );
    if !system.is_empty() {
        body.insert("system".into(), Value::Array(system));
    }
    if stream {
        body.insert("stream".into(), true.into());
    }
    // Extended thinking requires the default sampling.
    if !thinking_on {
        if let Some(t) = req.temperature {
            // OpenAI's range is 0..2, Anthropic's 0..1.
            body.insert("temperature".into(), t.min(1.0).into());
        }
        if let Some(p) = req.top_p {
            body.insert("top_p".into(), p.into());
        }
    }
    if let Some(stop) = &req.stop {
        body.insert("stop_sequences".into(), stop.to_vec().into());
    }
    if !tools.is_empty() {
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(choice) = tool_choice
        && body.contains_key("tools")
    {
        body.insert("tool_choice".into(), choice);
    }
    if let Some(user) = &req.user {
        body.insert("metadata".into(), json!({"user_id": user}));
    }
    for field in PASSTHROUGH {
        if let Some(value) = req.extra.get(*field) {
            body.insert((*field).to_owned(), value.clone());
        }
    }
    if let Some(thinking) = thinking {
        body.insert("thinking".into(), thinking);
    }
    Ok(Translated { body, json_mode })
}

/// `cache_control` set on a whole message applies to its last block (LiteLLM's convention).
fn with_message_cache_control(message: &Message, mut blocks: Vec<Value>) -> Vec<Value> {
    if let Some(cache) = message.extra.get("cache_control")
        && let Some(Value::Object(last)) = blocks.last_mut()
    {
        last.entry("cache_control").or_insert_with(|| cache.clone());
    }
    blocks
}

fn content_blocks(message: &Message, at: &str) -> Result<Vec<Value>, ProviderError> {
    let blocks = match &message.content {
        None => Vec::new(),
        Some(Content::Text(text)) => vec![json!({"type": "text", "text": text})],
        Some(Content::Parts(parts)) => parts
            .iter()
            .enumerate()
            .map(|(j, part)| part_block(part, &format!("{at}.content[{j}]")))
            .collect::<Result<_, _>>()?,
    };
    Ok(with_message_cache_control(message, blocks))
}

fn part_block(part: &ContentPart, at: &str) -> Result<Value, ProviderError> {
    let mut block = match part.kind.as_str() {
        "text" => json!({"type": "text", "text": part.text.clone().unwrap_or_default()}),
        "image_url" => {
            let url = part
                .image_url
                .as_ref()
                .map(|it| it.url.as_str())
                .unwrap_or_default();
            json!({"type": "image", "source": media_source(url, at)?})
        }
        "file" => {
            let data = part
                .extra
                .get("file")
                .and_then(|it| it.get("file_data"))
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    ProviderError::invalid_param(
                        format!("{at}.file.file_data"),
                        format!(
                            "`{at}.file.file_data` must be a data URL for this model's provider"
                        ),
                    )
                })?;
            json!({"type": "document", "source": media_source(data, at)?})
        }
        "input_audio" => {
            return Err(ProviderError::invalid_param(
                at.to_owned(),
                "audio input is not supported by this model's provider",
            ));
        }
        // Anthropic-native blocks sent through the OpenAI API pass as they are.
        _ => {
            let mut block = part.extra.clone();
            block.insert("type".into(), part.kind.clone().into());
            if let Some(text) = &part.text {
                block.insert("text".into(), text.clone().into());
            }
            return Ok(Value::Object(block));
        }
    };
    if let (Some(cache), Value::Object(object)) = (part.extra.get("cache_control"), &mut block) {
        object.insert("cache_control".into(), cache.clone());
    }
    Ok(block)
}

/// A `data:` URL becomes a base64 source; anything else is fetched by Anthropic as a URL.
fn media_source(url: &str, at: &str) -> Result<Value, ProviderError> {
    let Some(rest) = url.strip_prefix("data:") else {
        return Ok(json!({"type": "url", "url": url}));
    };
    let (media_type, data) = rest.split_once(";base64,").ok_or_else(|| {
        ProviderError::invalid_param(
            at.to_owned(),
            format!("`{at}` must be a base64 data URL (`data:<type>;base64,<data>`)"),
        )
    })?;
    Ok(json!({"type": "base64", "media_type": media_type, "data": data}))
}

fn assistant_blocks(message: &Message, at: &str) -> Result<Vec<Value>, ProviderError> {
    let mut blocks = Vec::new();
    for block in message.thinking_blocks.iter().flatten() {
        blocks.push(if block.kind == "redacted_thinking" {
            json!({"type": "redacted_thinking", "data": block.data.clone().unwrap_or_default()})
        } else {
            json!({
                "type": "thinking",
                "thinking": block.thinking.clone().unwrap_or_default(),
                "signature": block.signature.clone().unwrap_or_default(),
            })
        });
    }
    let has_calls = message.tool_calls.as_ref().is_some_and(|it| !it.is_empty());
    for block in content_blocks(message, at)? {
        // Anthropic rejects empty text blocks, which OpenAI clients send next to tool calls.
        let empty_text = block.get("type").and_then(Value::as_str) == Some("text")
            && block
                .get("text")
                .and_then(Value::as_str)
                .is_some_and(str::is_empty);
        if !(empty_text && has_calls) {
            blocks.push(block);
        }
    }
    for (j, call) in message.tool_calls.iter().flatten().enumerate() {
        let arguments = call.function.arguments.trim();
        let input: Value = if arguments.is_empty() {
            json!({})
        } else {
            serde_json::from_str(arguments).map_err(|_| {
                ProviderError::invalid_param(
                    format!("{at}.tool_calls[{j}].function.arguments"),
                    format!("`{at}.tool_calls[{j}].function.arguments` must be a JSON object"),
                )
            })?
        };
        blocks.push(json!({
            "type": "tool_use",
            "id": call.id,
            "name": call.function.name,
            "input": input,
        }));
    }
    Ok(blocks)
}

fn tool_result_block(message: &Message, at: &str) -> Result<Value, ProviderError> {
    let content = match &message.content {
        Some(Content::Text(text)) => Value::String(text.clone()),
        Some(Content::Parts(parts)) => Value::Array(
            parts
                .iter()
                .enumerate()
                .map(|(j, part)| part_block(part, &format!("{at}.content[{j}]")))
                .collect::<Result<_, _>>()?,
        ),
        None => Value::String(String::new()),
    };
    let mut block = json!({
        "type": "tool_result",
        "tool_use_id": message.tool_call_id.clone().unwrap_or_default(),
        "content": content,
    });
    // `is_error` comes from Anthropic clients of `/v1/messages`, through the canonical form.
    if let Value::Object(object) = &mut block {
        for field in ["cache_control", "is_error"] {
            if let Some(value) = message.extra.get(field) {
                object.insert(field.into(), value.clone());
            }
        }
    }
    Ok(block)
}

fn tool_definition(tool: &domain::llm::Tool, i: usize) -> Result<Value, ProviderError> {
    if tool.kind != "function" {
        // Anthropic server tools (web search, code execution) are sent as they came.
        let mut object = tool.extra.clone();
        object.insert("type".into(), tool.kind.clone().into());
        return Ok(Value::Object(object));
    }
    let function = tool.function.as_ref().ok_or_else(|| {
        ProviderError::invalid_param(format!("tools[{i}].function"), "`function` is required")
    })?;
    let mut object = Map::new();
    object.insert("name".into(), function.name.clone().into());
    if let Some(description) = &function.description {
        object.insert("description".into(), description.clone().into());
    }
    object.insert(
        "input_schema".into(),
        function
            .parameters
            .clone()
            .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
    );
    if let Some(cache) = tool.extra.get("cache_control") {
        object.insert("cache_control".into(), cache.clone());
    }
    Ok(Value::Object(object))
}

#[cfg(test)]
mod tests {
    use expect_test::expect;
    use serde_json::json;

    use super::*;

    fn translate(body: Value) -> Value {
        let req: ChatRequest = serde_json::from_value(body).unwrap();
        Value::Object(to_wire(&req, "claude-x", 4096, false).unwrap().body)
    }

    fn check(body: Value, expected: expect_test::Expect) {
        expected.assert_eq(&serde_json::to_string_pretty(&translate(body)).unwrap());
    }

    #[test]
    fn system_multi_turn_tools_and_results() {
        check(
            json!({
                "model": "alias",
                "messages": [
                    {"role": "system", "content": "be brief"},
                    {"role": "developer", "content": [{"type": "text", "text": "cached", "cache_control": {"type": "ephemeral"}}]},
                    {"role": "user", "content": "weather in Paris and Oslo?"},
                    {"role": "assistant", "content": "", "tool_calls": [
                        {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}},
                        {"id": "call_2", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Oslo\"}"}}
                    ]},
                    {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
                    {"role": "tool", "tool_call_id": "call_2", "content": "4C", "cache_control": {"type": "ephemeral"}},
                    {"role": "user", "content": "thanks"}
                ],
                "tools": [{"type": "function", "function": {"name": "weather", "description": "get weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
                "tool_choice": "required",
                "parallel_tool_calls": false,
                "max_tokens": 100,
                "temperature": 1.5,
                "stop": "END",
                "user": "u-1",
                "seed": 1,
                "logit_bias": {"1": 2},
                "top_k": 5
            }),
            expect![[r#"
                {
                  "max_tokens": 100,
                  "messages": [
                    {
                      "content": [
                        {
                          "text": "weather in Paris and Oslo?",
                          "type": "text"
                        }
                      ],
                      "role": "user"
                    },
                    {
                      "content": [
                        {
                          "id": "call_1",
                          "input": {
                            "city": "Paris"
                          },
                          "name": "weather",
                          "type": "tool_use"
                        },
                        {
                          "id": "call_2",
                          "input": {
                            "city": "Oslo"
                          },
                          "name": "weather",
                          "type": "tool_use"
                        }
                      ],
                      "role": "assistant"
                    },
                    {
                      "content": [
                        {
                          "content": "18C",
                          "tool_use_id": "call_1",
                          "type": "tool_result"
                        },
                        {
                          "cache_control": {
                            "type": "ephemeral"
                          },
                          "content": "4C",
                          "tool_use_id": "call_2",
                          "type": "tool_result"
                        },
                        {
                          "text": "thanks",
                          "type": "text"
                        }
                      ],
                      "role": "user"
                    }
                  ],
                  "metadata": {
                    "user_id": "u-1"
                  },
                  "model": "claude-x",
                  "stop_sequences": [
                    "END"
                  ],
                  "system": [
                    {
                      "text": "be brief",
                      "type": "text"
                    },
                    {
                      "cache_control": {
                        "type": "ephemeral"
                      },
                      "text": "cached",
                      "type": "text"
                    }
                  ],
                  "temperature": 1.0,
                  "tool_choice": {
                    "disable_parallel_tool_use": true,
                    "type": "any"
                  },
                  "tools": [
                    {
                      "description": "get weather",
                      "input_schema": {
                        "properties": {
                          "city": {
                            "type": "string"
                          }
                        },
                        "type": "object"
                      },
                      "name": "weather"
                    }
                  ],
                  "top_k": 5
                }"#]],
        );
    }

    #[test]
    fn images_become_base64_or_url_sources() {
        let out = translate(json!({
            "model": "m",
            "messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}
            ]}]
        }));
        assert_eq!(
            out["messages"][0]["content"],
            json!([
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}
            ])
        );
    }

    #[test]
    fn thinking_blocks_go_back_first_and_effort_sets_a_budget() {
        let out = translate(json!({
            "model": "m",
            "reasoning_effort": "medium",
            "temperature": 0.2,
            "max_tokens": 1000,
            "messages": [
                {"role": "user", "content": "q"},
                {"role": "assistant", "content": "a", "thinking_blocks": [
                    {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                    {"type": "redacted_thinking", "data": "enc"}
                ]},
                {"role": "user", "content": "q2"}
            ]
        }));
        assert_eq!(
            out["thinking"],
            json!({"type": "enabled", "budget_tokens": 4096})
        );
        assert_eq!(out["max_tokens"], json!(5096));
        assert!(out.get("temperature").is_none());
        assert_eq!(
            out["messages"][1]["content"],
            json!([
                {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                {"type": "redacted_thinking", "data": "enc"},
                {"type": "text", "text": "a"}
            ])
        );
    }

    #[test]
    fn json_schema_is_served_by_a_forced_tool() {
        let req: ChatRequest = serde_json::from_value(json!({
            "model": "m",
            "messages": [{"role": "user", "content": "q"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object", "properties": {"x": {"type": "integer"}}}}}
        }))
        .unwrap();
        let out = to_wire(&req, "m", 4096, true).unwrap();
        assert!(out.json_mode);
        assert_eq!(
            out.body["tool_choice"],
            json!({"type": "tool", "name": JSON_TOOL})
        );
        assert_eq!(
            out.body["tools"][0]["input_schema"]["properties"]["x"],
            json!({"type": "integer"})
        );
        assert_eq!(out.body["stream"], json!(true));
    }

    #[test]
    fn unsupported_input_names_its_field() {
        let bad = |body: Value| {
            let req: ChatRequest = serde_json::from_value(body).unwrap();
            to_wire(&req, "m", 4096, false)
                .err()
                .unwrap()
                .param
                .unwrap()
        };
        assert_eq!(
            bad(json!({"model": "m", "n": 2, "messages": [{"role": "user", "content": "q"}]})),
            "n"
        );
        assert_eq!(
            bad(
                json!({"model": "m", "messages": [{"role": "user", "content": "q"},
                {"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{oops"}}]}]})
            ),
            "messages[1].tool_calls[0].function.arguments"
        );
        assert_eq!(
            bad(
                json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}]}]})
            ),
            "messages[0].content[0]"
        );
    }
}

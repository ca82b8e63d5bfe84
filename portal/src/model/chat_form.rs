//! The API explorer's composer: what a person typed, checked like the data plane would check it,
//! and turned into the exact chat completions request that is sent, shown and turned into code.

use serde::Serialize;

use super::errors::FieldErrors;

/// The largest `max_tokens` the composer accepts (no model answers more).
pub const MAX_TOKENS_LIMIT: u64 = 1_000_000;

/// Who says a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::System, Role::User, Role::Assistant];

    /// The wire name, also a select's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::System => "System",
            Role::User => "User",
            Role::Assistant => "Assistant",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|it| it.as_str() == value)
    }

    /// The role a new message gets after `last`: conversations alternate.
    pub fn after(last: Option<Role>) -> Role {
        match last {
            Some(Role::User) => Role::Assistant,
            _ => Role::User,
        }
    }
}

/// One message as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageDraft {
    pub role: Role,
    pub content: String,
}

/// Everything the composer holds, as typed (numbers are still text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatForm {
    pub model: String,
    pub messages: Vec<MessageDraft>,
    /// Empty for the model's default.
    pub temperature: String,
    /// Empty for the model's default.
    pub max_tokens: String,
    pub stream: bool,
    /// A JSON array of tools; empty for none.
    pub tools: String,
}

/// A chat completions request, with its fields in OpenAI's documented order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatCall {
    pub model: String,
    pub messages: Vec<WireMessage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    pub stream: bool,
    /// Asked for with every stream, so the last chunk carries the token usage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<serde_json::Value>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WireMessage {
    pub role: Role,
    pub content: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StreamOptions {
    pub include_usage: bool,
}

/// A tools list to start from, offered next to the field.
pub const TOOLS_EXAMPLE: &str = r#"[
  {
    "type": "function",
    "function": {
      "name": "get_weather",
      "description": "The current weather in a city",
      "parameters": {
        "type": "object",
        "properties": { "city": { "type": "string" } },
        "required": ["city"]
      }
    }
  }
]"#;

impl ChatForm {
    /// A fresh composer: one empty user message, streaming on.
    pub fn new(model: impl Into<String>) -> Self {
        ChatForm {
            model: model.into(),
            messages: vec![MessageDraft {
                role: Role::User,
                content: String::new(),
            }],
            temperature: String::new(),
            max_tokens: String::new(),
            stream: true,
            tools: String::new(),
        }
    }

    /// The request, or a message per field (`model`, `messages`, `temperature`, `max_tokens`,
    /// `tools`).
    ///
    /// # Errors
    /// Every field that would be refused, with a sentence saying how to fix it.
    pub fn to_call(&self) -> Result<ChatCall, FieldErrors> {
        let mut errors = FieldErrors::new();
        let model = self.model.trim();
        if model.is_empty() {
            errors.add("model", "Choose a model.");
        }
        if self.messages.is_empty() {
            errors.add("messages", "Add at least one message.");
        }
        for (i, message) in self.messages.iter().enumerate() {
            if message.content.trim().is_empty() {
                errors.add(
                    "messages",
                    format!("Message {} is empty: write something or remove it.", i + 1),
                );
            }
        }
        let temperature = match temperature(&self.temperature) {
            Ok(it) => it,
            Err(message) => {
                errors.add("temperature", message);
                None
            }
        };
        let max_tokens = match max_tokens(&self.max_tokens) {
            Ok(it) => it,
            Err(message) => {
                errors.add("max_tokens", message);
                None
            }
        };
        let tools = match tools(&self.tools) {
            Ok(it) => it,
            Err(message) => {
                errors.add("tools", message);
                None
            }
        };
        errors.into_result(ChatCall {
            model: model.to_owned(),
            messages: self
                .messages
                .iter()
                .map(|it| WireMessage {
                    role: it.role,
                    content: it.content.clone(),
                })
                .collect(),
            temperature,
            max_tokens,
            stream: self.stream,
            stream_options: self.stream.then_some(StreamOptions {
                include_usage: true,
            }),
            tools,
        })
    }
}

impl ChatCall {
    /// The body as sent.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The body as shown (and as the snippets send it).
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The body as a JSON value, for the snippets.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// # Errors
/// A sentence when the text is not a number from 0 to 2.
fn temperature(raw: &str) -> Result<Option<f64>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    // Read as JSON reads it (no `NaN` or `inf`), after forgiving a decimal comma and a bare
    // leading point; JSON's parser is in the bundle anyway, Rust's float parser is not.
    let mut text = raw.replace(',', ".");
    if text.starts_with('.') {
        text.insert(0, '0');
    }
    match serde_json::from_str::<f64>(&text) {
        Ok(value) if value.is_finite() && (0.0..=2.0).contains(&value) => Ok(Some(value)),
        _ => Err("Temperature is a number from 0 to 2, like 0.7.".to_owned()),
    }
}

/// # Errors
/// A sentence when the text is not a whole number in range.
fn max_tokens(raw: &str) -> Result<Option<u64>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    match raw.parse::<u64>() {
        Ok(value) if (1..=MAX_TOKENS_LIMIT).contains(&value) => Ok(Some(value)),
        _ => Err(format!(
            "Max tokens is a whole number from 1 to {MAX_TOKENS_LIMIT}."
        )),
    }
}

/// # Errors
/// A sentence when the text is not a JSON array of tools.
fn tools(raw: &str) -> Result<Option<Vec<serde_json::Value>>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let value: serde_json::Value =
        serde_json::from_str(raw).map_err(|e| format!("Tools must be valid JSON: {e}."))?;
    let serde_json::Value::Array(list) = value else {
        return Err(
            "Tools must be a JSON array, like [{\"type\": \"function\", \"function\": {…}}]."
                .to_owned(),
        );
    };
    for (i, tool) in list.iter().enumerate() {
        let n = i + 1;
        let Some(kind) = tool.get("type").and_then(serde_json::Value::as_str) else {
            return Err(format!("Tool {n} needs a \"type\", like \"function\"."));
        };
        if kind != "function" {
            continue;
        }
        let name = tool
            .get("function")
            .and_then(|it| it.get("name"))
            .and_then(serde_json::Value::as_str);
        match name {
            None => return Err(format!("Tool {n} needs \"function\": {{\"name\": …}}.")),
            Some(name) if !is_function_name(name) => {
                return Err(format!(
                    "Tool {n}'s name may only have letters, digits, _, - and . (at most 64)."
                ));
            }
            Some(_) => {}
        }
    }
    Ok(Some(list))
}

/// The data plane's rule for function names.
fn is_function_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(text: &str) -> ChatForm {
        let mut form = ChatForm::new("mock");
        form.messages[0].content = text.into();
        form
    }

    #[test]
    fn a_stream_asks_for_usage_and_leaves_defaults_out() {
        let call = form("Hi").to_call().unwrap();
        assert_eq!(
            call.to_json(),
            r#"{"model":"mock","messages":[{"role":"user","content":"Hi"}],"stream":true,"stream_options":{"include_usage":true}}"#
        );
        let mut quiet = form("Hi");
        quiet.stream = false;
        quiet.temperature = "0,5".into();
        quiet.max_tokens = " 64 ".into();
        assert_eq!(
            quiet.to_call().unwrap().to_json(),
            r#"{"model":"mock","messages":[{"role":"user","content":"Hi"}],"temperature":0.5,"max_tokens":64,"stream":false}"#
        );
    }

    #[test]
    fn numbers_out_of_range_are_caught_before_sending() {
        for bad in ["2.5", "-0.1", "warm", "NaN", "inf"] {
            let mut it = form("Hi");
            it.temperature = bad.into();
            let errors = it.to_call().unwrap_err();
            assert!(
                errors.get("temperature").unwrap().contains("0 to 2"),
                "{bad}"
            );
        }
        for good in ["0", "2", "1.25", ".5", "0,7"] {
            let mut it = form("Hi");
            it.temperature = good.into();
            assert!(it.to_call().is_ok(), "{good}");
        }
        for bad in ["0", "-1", "1.5", "1000001", "lots"] {
            let mut it = form("Hi");
            it.max_tokens = bad.into();
            assert!(
                it.to_call().unwrap_err().get("max_tokens").is_some(),
                "{bad}"
            );
        }
    }

    #[test]
    fn tools_must_be_a_json_array_of_named_functions() {
        let check = |tools: &str| {
            let mut it = form("Hi");
            it.tools = tools.into();
            it.to_call().map_err(|e| e.get("tools").unwrap_or_default())
        };
        let err = check("[{").unwrap_err();
        assert!(err.starts_with("Tools must be valid JSON: "), "{err}");
        assert!(err.contains("line 1"), "{err}");
        assert!(check("{}").unwrap_err().contains("JSON array"));
        assert!(
            check("[{}]")
                .unwrap_err()
                .contains("Tool 1 needs a \"type\"")
        );
        assert!(
            check(r#"[{"type":"function","function":{}}]"#)
                .unwrap_err()
                .contains("name")
        );
        assert!(
            check(r#"[{"type":"function","function":{"name":"no spaces"}}]"#)
                .unwrap_err()
                .contains("letters, digits")
        );
        let call = check(TOOLS_EXAMPLE).unwrap();
        let tools = call.tools.unwrap();
        assert_eq!(tools[0]["function"]["name"], "get_weather");
        assert!(check("  ").unwrap().tools.is_none());
    }

    #[test]
    fn every_mistake_is_reported_at_once() {
        let mut it = ChatForm::new(" ");
        it.messages.push(MessageDraft {
            role: Role::Assistant,
            content: "fine".into(),
        });
        it.temperature = "3".into();
        let errors = it.to_call().unwrap_err();
        assert_eq!(errors.get("model").as_deref(), Some("Choose a model."));
        assert_eq!(
            errors.get("messages").as_deref(),
            Some("Message 1 is empty: write something or remove it.")
        );
        assert!(errors.get("temperature").is_some());
    }

    #[test]
    fn roles_alternate_and_round_trip() {
        assert_eq!(Role::after(None), Role::User);
        assert_eq!(Role::after(Some(Role::User)), Role::Assistant);
        assert_eq!(Role::after(Some(Role::Assistant)), Role::User);
        assert_eq!(Role::after(Some(Role::System)), Role::User);
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            assert_eq!(
                serde_json::to_string(&role).unwrap(),
                format!("\"{}\"", role.as_str())
            );
        }
    }

    #[test]
    fn unicode_and_quotes_survive_into_the_body() {
        let call = form("Say \"hé\" 🦀\n").to_call().unwrap();
        let back: serde_json::Value = serde_json::from_str(&call.to_json_pretty()).unwrap();
        assert_eq!(back["messages"][0]["content"], "Say \"hé\" 🦀\n");
    }
}

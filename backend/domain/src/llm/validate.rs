//! Semantic checks that types alone cannot express, each naming the offending field.

use super::chat::{ChatRequest, Content, Role, ToolChoice};
use super::completions::CompletionRequest;
use super::embeddings::{EmbeddingInput, EmbeddingRequest};

/// A rule a request broke: `param` is the JSON path of the field (`messages[2].content`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValidationError {
    pub param: String,
    pub message: String,
}

/// `messages[i]`, formatted only when an error needs it (validation runs on every request).
#[derive(Clone, Copy)]
struct MessageAt(usize);

impl std::fmt::Display for MessageAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "messages[{}]", self.0)
    }
}

/// `messages[i].content[j]`, formatted only when an error needs it.
#[derive(Clone, Copy)]
struct PartAt(usize, usize);

impl std::fmt::Display for PartAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "messages[{}].content[{}]", self.0, self.1)
    }
}

fn fail(param: impl Into<String>, message: impl Into<String>) -> Result<(), ValidationError> {
    Err(ValidationError {
        param: param.into(),
        message: message.into(),
    })
}

fn check_range(param: &str, value: Option<f64>, min: f64, max: f64) -> Result<(), ValidationError> {
    match value {
        Some(v) if !(min..=max).contains(&v) => fail(
            param,
            format!("`{param}` must be between {min} and {max}, got {v}"),
        ),
        _ => Ok(()),
    }
}

fn check_model(model: &str) -> Result<(), ValidationError> {
    if model.trim().is_empty() {
        return fail("model", "`model` must not be empty");
    }
    Ok(())
}

fn is_valid_function_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

impl ChatRequest {
    /// Checks the rules of OpenAI's chat schema that serde types cannot.
    ///
    /// # Errors
    /// The first rule broken, naming its field.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_model(&self.model)?;
        if self.messages.is_empty() {
            return fail("messages", "`messages` must contain at least one message");
        }
        for (i, message) in self.messages.iter().enumerate() {
            let at = MessageAt(i);
            match message.role {
                Role::System | Role::Developer | Role::User => {
                    if message.content.is_none() {
                        return fail(
                            format!("{at}.content"),
                            format!("`{at}.content` is required for role `{:?}`", message.role)
                                .to_lowercase(),
                        );
                    }
                }
                Role::Assistant => {
                    let has_calls = message.tool_calls.as_ref().is_some_and(|it| !it.is_empty());
                    if message.content.is_none() && !has_calls && message.refusal.is_none() {
                        return fail(
                            format!("{at}.content"),
                            format!("`{at}` needs `content` or `tool_calls`"),
                        );
                    }
                }
                Role::Tool => {
                    if message.tool_call_id.as_deref().is_none_or(str::is_empty) {
                        return fail(
                            format!("{at}.tool_call_id"),
                            format!("`{at}.tool_call_id` is required for role `tool`"),
                        );
                    }
                    if message.content.is_none() {
                        return fail(
                            format!("{at}.content"),
                            format!("`{at}.content` is required for role `tool`"),
                        );
                    }
                }
                Role::Function => {
                    if message.name.is_none() {
                        return fail(
                            format!("{at}.name"),
                            format!("`{at}.name` is required for role `function`"),
                        );
                    }
                }
            }
            if let Some(Content::Parts(parts)) = &message.content {
                for (j, part) in parts.iter().enumerate() {
                    let part_at = PartAt(i, j);
                    match part.kind.as_str() {
                        "text" if part.text.is_none() => {
                            return fail(
                                format!("{part_at}.text"),
                                format!("`{part_at}.text` is required for a `text` part"),
                            );
                        }
                        "image_url" if part.image_url.is_none() => {
                            return fail(
                                format!("{part_at}.image_url"),
                                format!(
                                    "`{part_at}.image_url` is required for an `image_url` part"
                                ),
                            );
                        }
                        _ => {}
                    }
                }
            }
            if let Some(calls) = &message.tool_calls {
                for (j, call) in calls.iter().enumerate() {
                    if call.id.is_empty() {
                        return fail(
                            format!("{at}.tool_calls[{j}].id"),
                            format!("`{at}.tool_calls[{j}].id` must not be empty"),
                        );
                    }
                }
            }
        }
        check_range("temperature", self.temperature, 0.0, 2.0)?;
        check_range("top_p", self.top_p, 0.0, 1.0)?;
        check_range("presence_penalty", self.presence_penalty, -2.0, 2.0)?;
        check_range("frequency_penalty", self.frequency_penalty, -2.0, 2.0)?;
        if let Some(n) = self.n
            && !(1..=128).contains(&n)
        {
            return fail("n", format!("`n` must be between 1 and 128, got {n}"));
        }
        for (param, value) in [
            ("max_tokens", self.max_tokens),
            ("max_completion_tokens", self.max_completion_tokens),
        ] {
            if value == Some(0) {
                return fail(param, format!("`{param}` must be at least 1"));
            }
        }
        if let Some(top) = self.top_logprobs
            && top > 20
        {
            return fail("top_logprobs", "`top_logprobs` must be between 0 and 20");
        }
        if let Some(tools) = &self.tools {
            for (i, tool) in tools.iter().enumerate() {
                if tool.kind == "function" {
                    match &tool.function {
                        None => {
                            return fail(
                                format!("tools[{i}].function"),
                                format!("`tools[{i}].function` is required for a function tool"),
                            );
                        }
                        Some(function) if !is_valid_function_name(&function.name) => {
                            return fail(
                                format!("tools[{i}].function.name"),
                                format!(
                                    "`tools[{i}].function.name` must be 1 to 64 characters of a-z, A-Z, 0-9, `_`, `-` and `.`"
                                ),
                            );
                        }
                        Some(_) => {}
                    }
                }
            }
        }
        match &self.tool_choice {
            Some(ToolChoice::Mode(mode))
                if !matches!(mode.as_str(), "none" | "auto" | "required") =>
            {
                return fail(
                    "tool_choice",
                    format!(
                        "`tool_choice` must be `none`, `auto`, `required` or a named tool, got `{mode}`"
                    ),
                );
            }
            Some(ToolChoice::Named(named))
                if named.kind == "function" && named.function.is_none() =>
            {
                return fail("tool_choice.function", "`tool_choice.function` is required");
            }
            _ => {}
        }
        if let Some(format) = &self.response_format {
            match format.kind.as_str() {
                "text" | "json_object" => {}
                "json_schema" if format.json_schema.is_none() => {
                    return fail(
                        "response_format.json_schema",
                        "`response_format.json_schema` is required when `type` is `json_schema`",
                    );
                }
                "json_schema" => {}
                other => {
                    return fail(
                        "response_format.type",
                        format!(
                            "`response_format.type` must be `text`, `json_object` or `json_schema`, got `{other}`"
                        ),
                    );
                }
            }
        }
        Ok(())
    }
}

impl EmbeddingRequest {
    /// # Errors
    /// The first rule broken, naming its field.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_model(&self.model)?;
        if self.input.is_empty() {
            return fail("input", "`input` must not be empty");
        }
        let has_empty = match &self.input {
            EmbeddingInput::Text(it) => it.is_empty(),
            EmbeddingInput::Texts(it) => it.iter().any(String::is_empty),
            EmbeddingInput::Tokens(it) => it.is_empty(),
            EmbeddingInput::TokenLists(it) => it.iter().any(Vec::is_empty),
        };
        if has_empty {
            return fail(
                "input",
                "`input` must not contain empty strings or token arrays",
            );
        }
        if self.input.len() > 2048 {
            return fail("input", "`input` may hold at most 2048 items");
        }
        if self.dimensions == Some(0) {
            return fail("dimensions", "`dimensions` must be at least 1");
        }
        Ok(())
    }
}

impl CompletionRequest {
    /// # Errors
    /// The first rule broken, naming its field.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_model(&self.model)?;
        check_range("temperature", self.temperature, 0.0, 2.0)?;
        check_range("top_p", self.top_p, 0.0, 1.0)?;
        if let Some(n) = self.n
            && !(1..=128).contains(&n)
        {
            return fail("n", format!("`n` must be between 1 and 128, got {n}"));
        }
        if self.max_tokens == Some(0) {
            return fail("max_tokens", "`max_tokens` must be at least 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn chat(body: serde_json::Value) -> Result<(), ValidationError> {
        serde_json::from_value::<ChatRequest>(body)
            .unwrap()
            .validate()
    }

    fn param_of(body: serde_json::Value) -> String {
        chat(body).unwrap_err().param
    }

    #[test]
    fn valid_requests_pass() {
        assert_eq!(
            chat(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]})),
            Ok(())
        );
    }

    #[test]
    fn each_rule_names_its_field() {
        let user = json!([{"role": "user", "content": "hi"}]);
        assert_eq!(param_of(json!({"model": " ", "messages": user})), "model");
        assert_eq!(param_of(json!({"model": "m", "messages": []})), "messages");
        assert_eq!(
            param_of(json!({"model": "m", "messages": [{"role": "user"}]})),
            "messages[0].content"
        );
        assert_eq!(
            param_of(json!({"model": "m", "messages": [{"role": "tool", "content": "x"}]})),
            "messages[0].tool_call_id"
        );
        assert_eq!(
            param_of(json!({"model": "m", "messages": [{"role": "assistant"}]})),
            "messages[0].content"
        );
        assert_eq!(
            param_of(
                json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "text"}]}]})
            ),
            "messages[0].content[0].text"
        );
        assert_eq!(
            param_of(json!({"model": "m", "messages": user, "temperature": 3})),
            "temperature"
        );
        assert_eq!(
            param_of(json!({"model": "m", "messages": user, "n": 0})),
            "n"
        );
        assert_eq!(
            param_of(json!({"model": "m", "messages": user, "max_tokens": 0})),
            "max_tokens"
        );
        assert_eq!(
            param_of(json!({"model": "m", "messages": user, "tool_choice": "maybe"})),
            "tool_choice"
        );
        assert_eq!(
            param_of(
                json!({"model": "m", "messages": user, "tools": [{"type": "function", "function": {"name": "bad name"}}]})
            ),
            "tools[0].function.name"
        );
        assert_eq!(
            param_of(json!({"model": "m", "messages": user, "response_format": {"type": "xml"}})),
            "response_format.type"
        );
        assert_eq!(
            param_of(
                json!({"model": "m", "messages": user, "response_format": {"type": "json_schema"}})
            ),
            "response_format.json_schema"
        );
    }

    #[test]
    fn embedding_rules_name_their_field() {
        let check = |body| {
            serde_json::from_value::<EmbeddingRequest>(body)
                .unwrap()
                .validate()
        };
        assert!(check(json!({"model": "e", "input": "hello"})).is_ok());
        assert!(check(json!({"model": "e", "input": [1, 2, 3]})).is_ok());
        assert_eq!(
            check(json!({"model": "e", "input": []})).unwrap_err().param,
            "input"
        );
        assert_eq!(
            check(json!({"model": "e", "input": ["a", ""]}))
                .unwrap_err()
                .param,
            "input"
        );
        assert_eq!(
            check(json!({"model": "e", "input": "a", "dimensions": 0}))
                .unwrap_err()
                .param,
            "dimensions"
        );
    }
}

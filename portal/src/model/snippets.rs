//! The explorer's request as code to copy: `curl`, Python with the OpenAI SDK, and JavaScript
//! with the `openai` npm package. Each sends the same body; the key comes from the
//! `GATEWAY_API_KEY` environment variable, never from the page (the explorer's own token is
//! short-lived and the user's, not something to paste into a program).

use serde_json::Value;

use super::chat_form::ChatCall;

/// Where the snippets read the API key from.
pub const KEY_VARIABLE: &str = "GATEWAY_API_KEY";

/// The languages offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Curl,
    Python,
    JavaScript,
}

impl Language {
    pub const ALL: [Language; 3] = [Language::Curl, Language::Python, Language::JavaScript];

    pub fn label(self) -> &'static str {
        match self {
            Language::Curl => "curl",
            Language::Python => "Python",
            Language::JavaScript => "JavaScript",
        }
    }

    /// A stable id for the tab and its panel.
    pub fn id(self) -> &'static str {
        match self {
            Language::Curl => "curl",
            Language::Python => "python",
            Language::JavaScript => "javascript",
        }
    }

    /// The snippet for `call`; `base_url` is the data plane's (`https://host/v1`).
    pub fn snippet(self, call: &ChatCall, base_url: &str) -> String {
        match self {
            Language::Curl => curl(call, base_url),
            Language::Python => python(call, base_url),
            Language::JavaScript => javascript(call, base_url),
        }
    }
}

/// `origin` + `/v1`.
pub fn base_url(origin: &str) -> String {
    format!("{}/v1", origin.trim_end_matches('/'))
}

fn curl(call: &ChatCall, base_url: &str) -> String {
    let url = shell_word(&format!("{base_url}/chat/completions"));
    let no_buffer = if call.stream { " -N" } else { "" };
    format!(
        "curl{no_buffer} {url} \\\n  -H \"Authorization: Bearer ${KEY_VARIABLE}\" \\\n  -H \"Content-Type: application/json\" \\\n  -d {}\n",
        shell_word(&call.to_json_pretty())
    )
}

/// The call's top-level fields in the order they are sent.
fn fields(call: &ChatCall) -> Vec<(&'static str, Value)> {
    let value = call.to_value();
    [
        "model",
        "messages",
        "temperature",
        "max_tokens",
        "stream",
        "stream_options",
        "tools",
    ]
    .into_iter()
    .filter_map(|name| value.get(name).map(|it| (name, it.clone())))
    .collect()
}

fn python(call: &ChatCall, base_url: &str) -> String {
    let mut args = String::new();
    for (name, value) in fields(call) {
        let literal = if name == "messages" {
            messages_literal(call, Syntax::Python, 1)
        } else {
            literal(&value, Syntax::Python, 1)
        };
        args.push_str(&format!("    {name}={literal},\n"));
    }
    let url = string_literal(base_url);
    let head = format!(
        "import os\n\nfrom openai import OpenAI\n\nclient = OpenAI(\n    base_url={url},\n    api_key=os.environ[\"{KEY_VARIABLE}\"],\n)\n\n"
    );
    if call.stream {
        format!(
            "{head}stream = client.chat.completions.create(\n{args})\nfor chunk in stream:\n    if chunk.choices and chunk.choices[0].delta.content:\n        print(chunk.choices[0].delta.content, end=\"\", flush=True)\n    if chunk.usage:\n        print()\n        print(chunk.usage)\n"
        )
    } else {
        format!(
            "{head}completion = client.chat.completions.create(\n{args})\nprint(completion.choices[0].message)\nprint(completion.usage)\n"
        )
    }
}

fn javascript(call: &ChatCall, base_url: &str) -> String {
    let mut body = String::new();
    for (name, value) in fields(call) {
        let literal = if name == "messages" {
            messages_literal(call, Syntax::JavaScript, 1)
        } else {
            literal(&value, Syntax::JavaScript, 1)
        };
        body.push_str(&format!("  {name}: {literal},\n"));
    }
    let url = string_literal(base_url);
    let head = format!(
        "import OpenAI from \"openai\";\n\nconst client = new OpenAI({{\n  baseURL: {url},\n  apiKey: process.env.{KEY_VARIABLE},\n}});\n\n"
    );
    if call.stream {
        format!(
            "{head}const stream = await client.chat.completions.create({{\n{body}}});\nfor await (const chunk of stream) {{\n  process.stdout.write(chunk.choices[0]?.delta?.content ?? \"\");\n  if (chunk.usage) console.log(\"\\n\", chunk.usage);\n}}\n"
        )
    } else {
        format!(
            "{head}const completion = await client.chat.completions.create({{\n{body}}});\nconsole.log(completion.choices[0].message);\nconsole.log(completion.usage);\n"
        )
    }
}

/// A word for a POSIX shell: as it is when it has nothing the shell would interpret,
/// otherwise in single quotes (a quote inside becomes `'\''`).
pub fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:,@%+=~".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// A double-quoted string literal valid in Python and JavaScript: JSON's escaping (quotes,
/// backslashes, control characters) is a subset of both; other characters stay as they are.
pub fn string_literal(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Syntax {
    Python,
    JavaScript,
}

impl Syntax {
    /// One level of indentation, as each language's formatter (black, prettier) writes it.
    fn indent(self) -> &'static str {
        match self {
            Syntax::Python => "    ",
            Syntax::JavaScript => "  ",
        }
    }
}

/// Literals up to this long stay on one line.
const INLINE_WIDTH: usize = 60;

/// The messages with `role` first, as people write them.
fn messages_literal(call: &ChatCall, syntax: Syntax, depth: usize) -> String {
    let items: Vec<String> = call
        .messages
        .iter()
        .map(|it| {
            let pairs = [
                ("role", string_literal(it.role.as_str())),
                ("content", string_literal(&it.content)),
            ];
            let inner: Vec<String> = pairs
                .iter()
                .map(|(key, value)| format!("{}: {value}", key_literal(key, syntax)))
                .collect();
            braces(&inner.join(", "), syntax)
        })
        .collect();
    block('[', ']', &items, depth, syntax)
}

/// A JSON value as a Python or JavaScript literal, indented by `depth` levels.
fn literal(value: &Value, syntax: Syntax, depth: usize) -> String {
    let inline = inline_literal(value, syntax);
    if inline.chars().count() <= INLINE_WIDTH {
        return inline;
    }
    match value {
        Value::Array(items) => {
            let items: Vec<String> = items
                .iter()
                .map(|it| literal(it, syntax, depth + 1))
                .collect();
            block('[', ']', &items, depth, syntax)
        }
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(key, it)| {
                    format!(
                        "{}: {}",
                        key_literal(key, syntax),
                        literal(it, syntax, depth + 1)
                    )
                })
                .collect();
            block('{', '}', &items, depth, syntax)
        }
        _ => inline,
    }
}

fn inline_literal(value: &Value, syntax: Syntax) -> String {
    match value {
        Value::Null => match syntax {
            Syntax::Python => "None",
            Syntax::JavaScript => "null",
        }
        .to_owned(),
        Value::Bool(it) => match (syntax, it) {
            (Syntax::Python, true) => "True",
            (Syntax::Python, false) => "False",
            (Syntax::JavaScript, true) => "true",
            (Syntax::JavaScript, false) => "false",
        }
        .to_owned(),
        Value::Number(it) => it.to_string(),
        Value::String(it) => string_literal(it),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(|it| inline_literal(it, syntax)).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(key, it)| {
                    format!(
                        "{}: {}",
                        key_literal(key, syntax),
                        inline_literal(it, syntax)
                    )
                })
                .collect();
            braces(&items.join(", "), syntax)
        }
    }
}

/// Python dict keys are strings; JavaScript keys that are identifiers go unquoted.
fn key_literal(key: &str, syntax: Syntax) -> String {
    let identifier = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if syntax == Syntax::JavaScript && identifier {
        key.to_owned()
    } else {
        string_literal(key)
    }
}

/// `{…}`, with the spaces inside that JavaScript style puts there.
fn braces(inner: &str, syntax: Syntax) -> String {
    match (syntax, inner.is_empty()) {
        (_, true) => "{}".to_owned(),
        (Syntax::Python, false) => format!("{{{inner}}}"),
        (Syntax::JavaScript, false) => format!("{{ {inner} }}"),
    }
}

/// Items one per line, with trailing commas, closed at the indentation of `depth`.
fn block(open: char, close: char, items: &[String], depth: usize, syntax: Syntax) -> String {
    if items.is_empty() {
        return format!("{open}{close}");
    }
    let unit = syntax.indent();
    let inner = unit.repeat(depth + 1);
    let mut out = String::from(open);
    out.push('\n');
    for item in items {
        out.push_str(&inner);
        out.push_str(item);
        out.push_str(",\n");
    }
    out.push_str(&unit.repeat(depth));
    out.push(close);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::chat_form::{ChatForm, MessageDraft, Role, TOOLS_EXAMPLE};

    const BASE: &str = "https://gw.example/v1";

    fn call(text: &str, stream: bool) -> ChatCall {
        let mut form = ChatForm::new("gpt-4o-mini");
        form.messages = vec![
            MessageDraft {
                role: Role::System,
                content: "Be brief.".into(),
            },
            MessageDraft {
                role: Role::User,
                content: text.into(),
            },
        ];
        form.stream = stream;
        form.temperature = "0.7".into();
        form.max_tokens = "256".into();
        form.to_call().unwrap()
    }

    #[test]
    fn curl_sends_the_same_body_with_the_key_from_the_environment() {
        let c = call("It's \"quoted\" — ünïcode 🦀", true);
        let snippet = Language::Curl.snippet(&c, BASE);
        assert!(snippet.starts_with(
            "curl -N https://gw.example/v1/chat/completions \\\n  -H \"Authorization: Bearer $GATEWAY_API_KEY\" \\\n"
        ));
        // What the shell passes to curl after removing the quoting is the body, byte for byte.
        let quoted = snippet.split(" -d ").nth(1).unwrap().trim_end();
        assert_eq!(unquote_shell(quoted), c.to_json_pretty());
        assert!(quoted.contains("It'\\''s"));
        assert!(
            !Language::Curl
                .snippet(&call("x", false), BASE)
                .contains(" -N ")
        );
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(
            shell_word("http://127.0.0.1:8080/v1"),
            "http://127.0.0.1:8080/v1"
        );
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("$HOME"), "'$HOME'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn python_uses_the_sdk_with_python_literals() {
        let mut c = call("Say \"hi\"\\n\n", true);
        c.tools = serde_json::from_str(TOOLS_EXAMPLE).unwrap();
        let snippet = Language::Python.snippet(&c, BASE);
        assert!(snippet.contains("from openai import OpenAI"));
        assert!(snippet.contains(
            "client = OpenAI(\n    base_url=\"https://gw.example/v1\",\n    api_key=os.environ[\"GATEWAY_API_KEY\"],\n)"
        ));
        assert!(snippet.contains("    model=\"gpt-4o-mini\",\n"));
        assert!(
            snippet.contains(
                "        {\"role\": \"user\", \"content\": \"Say \\\"hi\\\"\\\\n\\n\"},\n"
            )
        );
        assert!(snippet.contains("    temperature=0.7,\n    max_tokens=256,\n    stream=True,\n"));
        assert!(snippet.contains("    stream_options={\"include_usage\": True},\n"));
        assert!(snippet.contains("\"required\": [\"city\"]"));
        assert!(!snippet.contains("true") && !snippet.contains("null"));
        assert!(snippet.contains("for chunk in stream:"));
        let plain = Language::Python.snippet(&call("x", false), BASE);
        assert!(plain.contains("stream=False,") && plain.contains("print(completion.usage)"));
        assert!(!plain.contains("stream_options"));
    }

    #[test]
    fn javascript_uses_the_openai_package() {
        let c = call("ünïcode 🦀 'single' \"double\"", true);
        let snippet = Language::JavaScript.snippet(&c, BASE);
        assert!(snippet.starts_with("import OpenAI from \"openai\";"));
        assert!(snippet.contains("apiKey: process.env.GATEWAY_API_KEY,"));
        assert!(snippet.contains(
            "    { role: \"user\", content: \"ünïcode 🦀 'single' \\\"double\\\"\" },\n"
        ));
        assert!(snippet.contains("  stream_options: { include_usage: true },\n"));
        assert!(snippet.contains("for await (const chunk of stream)"));
    }

    #[test]
    fn long_values_break_over_lines_and_odd_keys_are_quoted() {
        let value: Value = serde_json::json!({"a-b": [1, 2], "ok": {"deep": "x".repeat(70)}});
        let js = literal(&value, Syntax::JavaScript, 0);
        assert_eq!(
            js,
            format!(
                "{{\n  \"a-b\": [1, 2],\n  ok: {{\n    deep: \"{}\",\n  }},\n}}",
                "x".repeat(70)
            )
        );
        let py = literal(&serde_json::json!([null, false, 1.5]), Syntax::Python, 0);
        assert_eq!(py, "[None, False, 1.5]");
    }

    #[test]
    fn no_snippet_holds_a_token() {
        for language in Language::ALL {
            let snippet = language.snippet(&call("x", true), BASE);
            assert!(snippet.contains(KEY_VARIABLE), "{}", language.label());
            assert!(!snippet.contains("eyJ"));
        }
        assert_eq!(
            base_url("http://localhost:8080/"),
            "http://localhost:8080/v1"
        );
    }

    /// Undoes `shell_word`'s quoting the way a POSIX shell does.
    fn unquote_shell(word: &str) -> String {
        let mut out = String::new();
        let mut quoted = false;
        let mut chars = word.chars();
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('\'', _) => quoted = !quoted,
                ('\\', false) => out.extend(chars.next()),
                (c, _) => out.push(c),
            }
        }
        out
    }
}

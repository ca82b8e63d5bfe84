//! The "Get started" page's content: the two base URLs (OpenAI's SDKs take the `/v1` one,
//! Anthropic's the origin), and a first call to one of the tenant's models in every way the
//! page offers it, each reading the key from `GATEWAY_API_KEY`. Nothing here names the
//! platform: on a partner's domain the page is the partner's.

use super::chat_form::{ChatCall, Role, WireMessage};
use super::snippets::{KEY_VARIABLE, Language, base_url, string_literal};

/// What the first call says.
const HELLO: &str = "Say hello in five words.";
/// The answer's length Anthropic's API requires a call to set.
const MAX_TOKENS: u64 = 256;

/// One way of making the first call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    /// Stable, for the element's id.
    pub id: &'static str,
    pub label: &'static str,
    pub code: String,
}

/// The base URL for OpenAI's SDKs and `curl` (`https://host/v1`) and for Anthropic's
/// (`https://host`), from the page's origin.
pub fn base_urls(origin: &str) -> (String, String) {
    (base_url(origin), origin.trim_end_matches('/').to_owned())
}

/// The first call to `model` in each way offered: curl, then OpenAI's SDKs, then Anthropic's.
pub fn snippets(origin: &str, model: &str) -> Vec<Snippet> {
    let (openai, anthropic) = base_urls(origin);
    let call = ChatCall {
        model: model.to_owned(),
        messages: vec![WireMessage {
            role: Role::User,
            content: HELLO.to_owned(),
        }],
        temperature: None,
        max_tokens: None,
        stream: false,
        stream_options: None,
        tools: None,
    };
    let openai_snippet = |language: Language, id, label| Snippet {
        id,
        label,
        code: language.snippet(&call, &openai),
    };
    vec![
        openai_snippet(Language::Curl, "curl", "curl"),
        openai_snippet(Language::Python, "openai-python", "Python (OpenAI SDK)"),
        openai_snippet(
            Language::JavaScript,
            "openai-javascript",
            "JavaScript (OpenAI SDK)",
        ),
        Snippet {
            id: "anthropic-python",
            label: "Python (Anthropic SDK)",
            code: anthropic_python(&anthropic, model),
        },
        Snippet {
            id: "anthropic-javascript",
            label: "JavaScript (Anthropic SDK)",
            code: anthropic_javascript(&anthropic, model),
        },
    ]
}

fn anthropic_python(base: &str, model: &str) -> String {
    format!(
        "import os\n\nfrom anthropic import Anthropic\n\nclient = Anthropic(\n    base_url={},\n    api_key=os.environ[\"{KEY_VARIABLE}\"],\n)\n\nmessage = client.messages.create(\n    model={},\n    max_tokens={MAX_TOKENS},\n    messages=[{{\"role\": \"user\", \"content\": {}}}],\n)\nprint(message.content[0].text)\nprint(message.usage)\n",
        string_literal(base),
        string_literal(model),
        string_literal(HELLO),
    )
}

fn anthropic_javascript(base: &str, model: &str) -> String {
    format!(
        "import Anthropic from \"@anthropic-ai/sdk\";\n\nconst client = new Anthropic({{\n  baseURL: {},\n  apiKey: process.env.{KEY_VARIABLE},\n}});\n\nconst message = await client.messages.create({{\n  model: {},\n  max_tokens: {MAX_TOKENS},\n  messages: [{{ role: \"user\", content: {} }}],\n}});\nconsole.log(message.content[0].text);\nconsole.log(message.usage);\n",
        string_literal(base),
        string_literal(model),
        string_literal(HELLO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_takes_the_v1_url_and_anthropic_the_origin() {
        assert_eq!(
            base_urls("https://ai.acme.example/"),
            (
                "https://ai.acme.example/v1".to_owned(),
                "https://ai.acme.example".to_owned()
            )
        );
    }

    #[test]
    fn every_snippet_calls_the_model_with_the_key_from_the_environment() {
        let all = snippets("https://ai.acme.example", "gpt-4o \"mini\"");
        let ids: Vec<_> = all.iter().map(|it| it.id).collect();
        assert_eq!(
            ids,
            [
                "curl",
                "openai-python",
                "openai-javascript",
                "anthropic-python",
                "anthropic-javascript"
            ]
        );
        for snippet in &all {
            assert!(snippet.code.contains(KEY_VARIABLE), "{}", snippet.code);
            // The model's quote is escaped in every language.
            assert!(
                snippet.code.contains(r#"gpt-4o \"mini\""#),
                "{}",
                snippet.code
            );
            assert!(
                !snippet.code.to_lowercase().contains("sluice"),
                "{}",
                snippet.code
            );
        }
        assert!(
            all[0]
                .code
                .contains("https://ai.acme.example/v1/chat/completions")
        );
        assert!(
            all[3]
                .code
                .contains("base_url=\"https://ai.acme.example\",")
        );
        assert!(
            all[4]
                .code
                .contains("baseURL: \"https://ai.acme.example\",")
        );
        assert!(all[4].code.contains("max_tokens: 256"));
    }
}

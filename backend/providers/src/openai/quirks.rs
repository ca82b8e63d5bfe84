//! What each OpenAI-compatible upstream does differently, in one place.
//!
//! Everything that is not plain OpenAI behaviour is a field here, so an adapter reads as
//! "do what OpenAI does, adjusted by these switches", and a new upstream is one more match arm.

use domain::llm::{ChatRequest, CompletionRequest};

/// The OpenAI-compatible upstreams we know by name. `Generic` is any other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compat {
    Generic,
    Vllm,
    Ollama,
    Tgi,
    Groq,
    Together,
    Mistral,
    DeepSeek,
    OpenRouter,
}

impl Compat {
    /// Parses the `flavor` of a provider's configuration.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "generic" => Compat::Generic,
            "vllm" => Compat::Vllm,
            "ollama" => Compat::Ollama,
            "tgi" => Compat::Tgi,
            "groq" => Compat::Groq,
            "together" => Compat::Together,
            "mistral" => Compat::Mistral,
            "deepseek" => Compat::DeepSeek,
            "openrouter" => Compat::OpenRouter,
            _ => return None,
        })
    }

    pub const NAMES: &'static [&'static str] = &[
        "generic",
        "vllm",
        "ollama",
        "tgi",
        "groq",
        "together",
        "mistral",
        "deepseek",
        "openrouter",
    ];
}

/// How a streamed answer reports usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamUsage {
    /// Only when asked with `stream_options.include_usage` (OpenAI's behaviour).
    OnRequest,
    /// Always in the last chunk; `stream_options` must not be sent.
    Always,
    /// In `x_groq.usage` of the last chunk; `stream_options` must not be sent.
    XGroq,
}

/// Which field carries the output cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MaxTokens {
    /// Forward what the client sent.
    AsSent,
    /// Send `max_completion_tokens` (OpenAI's reasoning models reject `max_tokens`).
    Modern,
    /// Send `max_tokens` (servers that do not know `max_completion_tokens`).
    Legacy,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Quirks {
    pub stream_usage: StreamUsage,
    pub max_tokens: MaxTokens,
    /// Top-level fields the upstream rejects; removed before sending.
    pub unsupported: &'static [&'static str],
    /// Mistral calls `seed` `random_seed`.
    pub seed_field: &'static str,
}

const OPENAI: Quirks = Quirks {
    stream_usage: StreamUsage::OnRequest,
    max_tokens: MaxTokens::Modern,
    unsupported: &[],
    seed_field: "seed",
};

pub(crate) const fn openai() -> Quirks {
    OPENAI
}

/// Azure serves many API versions; older ones know only `max_tokens`.
pub(crate) const fn azure() -> Quirks {
    Quirks {
        max_tokens: MaxTokens::AsSent,
        ..OPENAI
    }
}

pub(crate) const fn compat(flavor: Compat) -> Quirks {
    match flavor {
        Compat::Generic | Compat::Vllm | Compat::OpenRouter => Quirks {
            max_tokens: MaxTokens::AsSent,
            ..OPENAI
        },
        Compat::Ollama | Compat::Tgi | Compat::DeepSeek => Quirks {
            max_tokens: MaxTokens::Legacy,
            ..OPENAI
        },
        Compat::Groq => Quirks {
            stream_usage: StreamUsage::XGroq,
            max_tokens: MaxTokens::AsSent,
            unsupported: &["logprobs", "top_logprobs", "logit_bias", "stream_options"],
            seed_field: "seed",
        },
        Compat::Together => Quirks {
            stream_usage: StreamUsage::Always,
            max_tokens: MaxTokens::Legacy,
            unsupported: &["stream_options"],
            seed_field: "seed",
        },
        Compat::Mistral => Quirks {
            stream_usage: StreamUsage::Always,
            max_tokens: MaxTokens::Legacy,
            unsupported: &[
                "stream_options",
                "user",
                "logit_bias",
                "logprobs",
                "top_logprobs",
                "store",
                "metadata",
                "service_tier",
            ],
            seed_field: "random_seed",
        },
    }
}

impl Quirks {
    /// Adjusts a chat request (already a copy for this upstream) to what the upstream accepts.
    pub(crate) fn apply_chat(&self, req: &mut ChatRequest) {
        if req.is_stream() {
            match self.stream_usage {
                StreamUsage::OnRequest => {
                    // Always ask for usage: billing needs it even when the client did not.
                    req.stream_options.get_or_insert_default().include_usage = Some(true);
                }
                StreamUsage::Always | StreamUsage::XGroq => req.stream_options = None,
            }
        } else {
            req.stream_options = None;
        }
        match self.max_tokens {
            MaxTokens::AsSent => {}
            MaxTokens::Modern => {
                if let Some(cap) = req.max_tokens.take() {
                    req.max_completion_tokens.get_or_insert(cap);
                }
            }
            MaxTokens::Legacy => {
                if let Some(cap) = req.max_completion_tokens.take() {
                    req.max_tokens = Some(cap);
                }
            }
        }
        if self.seed_field != "seed"
            && let Some(seed) = req.seed.take()
        {
            req.extra.insert(self.seed_field.to_owned(), seed.into());
        }
        for field in self.unsupported {
            req.extra.remove(*field);
            match *field {
                "stream_options" => req.stream_options = None,
                "user" => req.user = None,
                "logprobs" => req.logprobs = None,
                "top_logprobs" => req.top_logprobs = None,
                _ => {}
            }
        }
    }

    pub(crate) fn apply_completion(&self, req: &mut CompletionRequest) {
        if req.is_stream() && self.stream_usage == StreamUsage::OnRequest {
            req.stream_options.get_or_insert_default().include_usage = Some(true);
        } else {
            req.stream_options = None;
        }
        if self.seed_field != "seed"
            && let Some(seed) = req.seed.take()
        {
            req.extra.insert(self.seed_field.to_owned(), seed.into());
        }
        for field in self.unsupported {
            req.extra.remove(*field);
            match *field {
                "user" => req.user = None,
                "logprobs" => req.logprobs = None,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn adjusted(quirks: Quirks, body: serde_json::Value) -> serde_json::Value {
        let mut req: ChatRequest = serde_json::from_value(body).unwrap();
        quirks.apply_chat(&mut req);
        serde_json::to_value(req).unwrap()
    }

    #[test]
    fn openai_always_asks_for_stream_usage_and_uses_max_completion_tokens() {
        let out = adjusted(
            openai(),
            json!({"model": "m", "messages": [], "stream": true, "max_tokens": 5}),
        );
        assert_eq!(out["stream_options"], json!({"include_usage": true}));
        assert_eq!(out["max_completion_tokens"], json!(5));
        assert!(out.get("max_tokens").is_none());
        let out = adjusted(
            openai(),
            json!({"model": "m", "messages": [], "stream_options": {"include_usage": true}}),
        );
        assert!(
            out.get("stream_options").is_none(),
            "not valid without stream"
        );
    }

    #[test]
    fn mistral_renames_seed_and_drops_fields_it_rejects() {
        let out = adjusted(
            compat(Compat::Mistral),
            json!({"model": "m", "messages": [], "stream": true, "seed": 3, "user": "u",
                   "logit_bias": {}, "max_completion_tokens": 9, "safe_prompt": true}),
        );
        assert_eq!(
            out,
            json!({"model": "m", "messages": [], "stream": true, "random_seed": 3,
                   "max_tokens": 9, "safe_prompt": true})
        );
    }

    #[test]
    fn groq_gets_no_stream_options() {
        let out = adjusted(
            compat(Compat::Groq),
            json!({"model": "m", "messages": [], "stream": true, "logprobs": true}),
        );
        assert_eq!(out, json!({"model": "m", "messages": [], "stream": true}));
    }

    #[test]
    fn every_flavor_name_parses() {
        for name in Compat::NAMES {
            assert!(Compat::parse(name).is_some(), "{name}");
        }
        assert_eq!(Compat::parse("nope"), None);
    }
}

//! LiteLLM's public price list (`model_prices_and_context_window.json`) as a price file: what
//! `sluice prices import` writes, so the shipped defaults can be refreshed by a command.
//!
//! LiteLLM gives US dollars per token as JSON numbers (`1.5e-07`); a price file gives them
//! per million tokens as exact decimal text (`0.15`). The conversion shifts the decimal point
//! of each number's shortest form, which is the text it was written as, so nothing is rounded
//! through a float.

use std::fmt::Write as _;

use serde_json::Value;

use super::money::Money;

/// LiteLLM's provider names and ours.
const PROVIDERS: [(&str, &str); 4] = [
    ("openai", "openai"),
    ("text-completion-openai", "openai"),
    ("azure", "azure_openai"),
    ("anthropic", "anthropic"),
];

/// The modes whose models our endpoints serve.
const MODES: [&str; 3] = ["chat", "completion", "embedding"];

/// Why a list could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("not LiteLLM's price list: {0}")]
    NotAList(String),
}

/// What an import made: the file's text, how many models it priced, and the models it left
/// out because a price had more precision than money keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub text: String,
    pub priced: usize,
    pub skipped: Vec<String>,
}

/// `per_token` dollars per token as exact decimal text per million tokens.
fn per_million(per_token: &Value) -> Option<Money> {
    let number = per_token
        .as_f64()
        .filter(|it| it.is_finite() && *it >= 0.0)?;
    // `{:e}` writes the shortest digits that read back as the same float: the JSON's own.
    let text = format!("{number:e}");
    let (mantissa, exponent) = text.split_once('e')?;
    let exponent: i32 = exponent.parse().ok()?;
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{fraction}");
    // The value is 0.digits × 10^(point), with the point after `whole`, shifted by 6.
    let point = i32::try_from(whole.len()).ok()? + exponent + 6;
    let decimal = if point <= 0 {
        format!("0.{}{digits}", "0".repeat(usize::try_from(-point).ok()?))
    } else {
        let point = usize::try_from(point).ok()?;
        if point >= digits.len() {
            format!("{digits}{}", "0".repeat(point - digits.len()))
        } else {
            format!("{}.{}", &digits[..point], &digits[point..])
        }
    };
    Money::parse(&decimal).ok()
}

/// The price file for every OpenAI, Azure OpenAI and Anthropic chat, completion and embedding
/// model in `json` that has input and output prices, headed by `source`.
///
/// # Errors
/// JSON that is not an object of models.
pub fn import(json: &str, source: &str) -> Result<Imported, ImportError> {
    let list: serde_json::Map<String, Value> =
        serde_json::from_str(json).map_err(|e| ImportError::NotAList(e.to_string()))?;
    let mut lines = Vec::new();
    let mut skipped = Vec::new();
    for (key, entry) in &list {
        let Some(provider) = entry
            .get("litellm_provider")
            .and_then(Value::as_str)
            .and_then(|name| PROVIDERS.iter().find(|(theirs, _)| *theirs == name))
            .map(|(_, ours)| *ours)
        else {
            continue;
        };
        if !entry
            .get("mode")
            .and_then(Value::as_str)
            .is_some_and(|mode| MODES.contains(&mode))
        {
            continue;
        }
        let model = key.strip_prefix("azure/").unwrap_or(key);
        if model.contains('/') || model.trim().is_empty() {
            continue;
        }
        let field = |name: &str| entry.get(name).map(|it| (it, per_million(it)));
        let (Some((_, Some(input))), Some((_, Some(output)))) = (
            field("input_cost_per_token"),
            field("output_cost_per_token"),
        ) else {
            if entry.get("input_cost_per_token").is_some() {
                skipped.push(key.clone());
            }
            continue;
        };
        let mut line = format!(
            "\n[[price]]\nprovider = \"{provider}\"\nmodel = \"{}\"\ninput = \"{input}\"\noutput = \"{output}\"\n",
            model.replace('\\', "\\\\").replace('"', "\\\"")
        );
        let mut exact = true;
        for (theirs, ours) in [
            ("cache_read_input_token_cost", "cached_input"),
            ("cache_creation_input_token_cost", "cache_write"),
            ("output_cost_per_reasoning_token", "reasoning"),
        ] {
            match field(theirs) {
                None => {}
                Some((_, Some(rate))) => {
                    let _ = writeln!(line, "{ours} = \"{rate}\"");
                }
                Some((_, None)) => exact = false,
            }
        }
        if exact {
            lines.push((provider, model.to_owned(), line));
        } else {
            skipped.push(key.clone());
        }
    }
    lines.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    lines.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    let mut text = format!(
        "# Default provider prices: what the platform pays each provider, in US dollars per 1,000,000 tokens.\n\
         # Made by `sluice prices import` from LiteLLM's model_prices_and_context_window.json.\n\
         source = \"{}\"\ncurrency = \"USD\"\neffective_from = \"2025-01-01\"\n",
        source.replace('\\', "\\\\").replace('"', "\\\"")
    );
    for (_, _, line) in &lines {
        text.push_str(line);
    }
    Ok(Imported {
        text,
        priced: lines.len(),
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::{PriceFile, PriceScope, PriceSource};

    #[test]
    fn per_token_floats_become_exact_rates_per_million() {
        for (json, expected) in [
            ("1.5e-07", "0.15"),
            ("2.5e-06", "2.5"),
            ("3.75e-06", "3.75"),
            ("5.46875e-07", "0.546875"),
            ("1e-05", "10"),
            ("0.0", "0"),
            ("6e-08", "0.06"),
            ("1.25", "1250000"),
        ] {
            let value: Value = serde_json::from_str(json).unwrap();
            assert_eq!(per_million(&value).unwrap().to_string(), expected, "{json}");
        }
        for bad in ["-1e-06", "\"0.1\"", "null", "1e-17"] {
            let value: Value = serde_json::from_str(bad).unwrap();
            assert_eq!(per_million(&value), None, "{bad}");
        }
    }

    #[test]
    fn an_import_is_a_price_file_of_our_providers_and_modes() {
        let json = r#"{
            "sample_spec": {"litellm_provider": "one of ...", "mode": "one of ..."},
            "gpt-4o-mini": {"litellm_provider": "openai", "mode": "chat",
                "input_cost_per_token": 1.5e-07, "output_cost_per_token": 6e-07,
                "cache_read_input_token_cost": 7.5e-08},
            "azure/gpt-4o": {"litellm_provider": "azure", "mode": "chat",
                "input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05},
            "claude-sonnet-4-5": {"litellm_provider": "anthropic", "mode": "chat",
                "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
                "cache_creation_input_token_cost": 3.75e-06, "cache_read_input_token_cost": 3e-07},
            "dall-e-3": {"litellm_provider": "openai", "mode": "image_generation", "output_cost_per_image": 0.04},
            "bedrock/x": {"litellm_provider": "bedrock", "mode": "chat",
                "input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06},
            "tiny": {"litellm_provider": "openai", "mode": "chat",
                "input_cost_per_token": 1e-17, "output_cost_per_token": 1e-06}
        }"#;
        let imported = import(json, "test list").unwrap();
        assert_eq!(imported.priced, 3);
        assert_eq!(imported.skipped, ["tiny"]);
        let file = PriceFile::parse(&imported.text).unwrap();
        let entries = file
            .entries(PriceScope::Cost, PriceSource::Defaults)
            .unwrap();
        let names: Vec<_> = entries
            .iter()
            .map(|it| (it.provider.as_str(), it.model.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("anthropic", "claude-sonnet-4-5"),
                ("azure_openai", "gpt-4o"),
                ("openai", "gpt-4o-mini")
            ]
        );
        assert_eq!(entries[0].rates.cache_write.unwrap().to_string(), "3.75");
        assert_eq!(entries[2].rates.cached_input.unwrap().to_string(), "0.075");
        assert_eq!(file.source.as_deref(), Some("test list"));
        assert!(import("[1, 2]", "x").is_err());
    }
}

//! Light, borrowing parses of OpenAI-shaped answers: only what accounting needs, so that an
//! OpenAI-compatible answer is forwarded byte for byte without being rebuilt.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::{ProviderError, UsageReport};
use domain::llm::TokenCounts;

#[derive(Deserialize)]
struct ChunkProbe<'a> {
    #[serde(default, borrow)]
    choices: Vec<ChoiceProbe<'a>>,
    #[serde(default, borrow)]
    usage: Option<&'a RawValue>,
    #[serde(default, borrow)]
    x_groq: Option<XGroqProbe<'a>>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct XGroqProbe<'a> {
    #[serde(default, borrow)]
    usage: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ChoiceProbe<'a> {
    #[serde(default, borrow)]
    delta: Option<DeltaProbe<'a>>,
    /// Text completions stream `text` instead of a delta.
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct DeltaProbe<'a> {
    #[serde(default, borrow)]
    content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    reasoning_content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    refusal: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tool_calls: Option<Vec<ToolCallProbe<'a>>>,
}

#[derive(Deserialize)]
struct ToolCallProbe<'a> {
    #[serde(default, borrow)]
    function: Option<FunctionProbe<'a>>,
}

#[derive(Deserialize)]
struct FunctionProbe<'a> {
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    arguments: Option<Cow<'a, str>>,
}

/// OpenAI's usage object, only the counts (no `flatten`: this runs once per call).
#[derive(Deserialize)]
struct UsageCounts {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
    #[serde(default)]
    completion_tokens_details: Option<CompletionDetails>,
}

#[derive(Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct CompletionDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

fn usage_report(raw: &RawValue) -> Option<UsageReport> {
    let usage: UsageCounts = serde_json::from_str(raw.get()).ok()?;
    Some(report_of(usage, raw.get()))
}

fn report_of(usage: UsageCounts, raw: &str) -> UsageReport {
    let prompt = usage.prompt_tokens_details.as_ref();
    UsageReport {
        counts: TokenCounts {
            prompt: usage.prompt_tokens,
            completion: usage.completion_tokens,
            cached: prompt.and_then(|it| it.cached_tokens).unwrap_or(0),
            cache_write: prompt.and_then(|it| it.cache_creation_tokens).unwrap_or(0),
            reasoning: usage
                .completion_tokens_details
                .and_then(|it| it.reasoning_tokens)
                .unwrap_or(0),
        },
        raw: Some(raw.to_owned()),
        complete: true,
    }
}

/// Reads the usage of a complete (non-streamed) answer and checks that it is an answer.
///
/// The body is forwarded as it came, so it is not parsed whole: a structural scan finds the
/// top-level fields, and only `usage` is parsed.
///
/// # Errors
/// A body that is not a JSON object, or an error object sent with a 2xx status (some servers do).
pub(crate) fn body_usage(body: &[u8]) -> Result<BodyUsage, ProviderError> {
    let mut usage = None;
    let (mut answer, mut error) = (false, false);
    crate::json_scan::object_fields(body, |key, value| match key {
        b"usage" => usage = Some(value),
        b"choices" | b"data" => answer = true,
        b"error" => error = true,
        _ => {}
    })
    .ok_or_else(|| ProviderError::decode("the answer is not a JSON object"))?;
    if error && !answer {
        return Err(crate::http::classify_stream_error(body));
    }
    if !answer {
        return Err(ProviderError::decode(
            "the answer has neither `choices` nor `data`",
        ));
    }
    let Some(at) = usage.filter(|it| &body[it.clone()] != b"null") else {
        return Ok(BodyUsage::default());
    };
    // One parse: it both checks the JSON and reads the counts. Valid JSON of another shape
    // is kept as no usage (the call is then estimated), as for streamed usage.
    let raw = std::str::from_utf8(&body[at.clone()]).map_err(ProviderError::decode)?;
    match serde_json::from_str::<UsageCounts>(raw) {
        Ok(counts) => Ok(BodyUsage {
            report: Some(report_of(counts, raw)),
            at: Some(at),
        }),
        Err(e) if e.is_data() => Ok(BodyUsage::default()),
        Err(e) => Err(ProviderError::decode(e)),
    }
}

/// The usage of a complete answer, and where its object lies in the body.
#[derive(Debug, Default)]
pub(crate) struct BodyUsage {
    pub report: Option<UsageReport>,
    pub at: Option<std::ops::Range<usize>>,
}

/// What one streamed chunk carries for accounting.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct ChunkFacts {
    pub usage: Option<UsageReport>,
    pub usage_only: bool,
    pub text: String,
}

/// Reads one chunk of an OpenAI-compatible stream.
///
/// # Errors
/// A chunk that is not JSON, or an error object sent mid-stream.
pub(crate) fn chunk_facts(data: &[u8], x_groq: bool) -> Result<ChunkFacts, ProviderError> {
    let probe: ChunkProbe<'_> = serde_json::from_slice(data).map_err(ProviderError::decode)?;
    if probe.error.is_some() {
        return Err(crate::http::classify_stream_error(data));
    }
    let raw_usage = if x_groq {
        probe.x_groq.and_then(|it| it.usage).or(probe.usage)
    } else {
        probe.usage
    };
    let mut text = String::new();
    for choice in &probe.choices {
        if let Some(t) = &choice.text {
            text.push_str(t);
        }
        let Some(delta) = &choice.delta else { continue };
        for part in [&delta.content, &delta.reasoning_content, &delta.refusal]
            .into_iter()
            .flatten()
        {
            text.push_str(part);
        }
        for call in delta.tool_calls.iter().flatten() {
            if let Some(function) = &call.function {
                for part in [&function.name, &function.arguments].into_iter().flatten() {
                    text.push_str(part);
                }
            }
        }
    }
    let usage = raw_usage.and_then(usage_report);
    Ok(ChunkFacts {
        usage_only: probe.choices.is_empty() && usage.is_some(),
        usage,
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_tool_arguments_and_reasoning_are_collected() {
        let facts = chunk_facts(
            br#"{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"H\u00e9","reasoning_content":"hm","tool_calls":[{"index":0,"function":{"name":"f","arguments":"{\"a\""}}]},"finish_reason":null}],"usage":null}"#,
            false,
        )
        .unwrap();
        assert_eq!(facts.text, "Héhmf{\"a\"");
        assert_eq!(facts.usage, None);
        assert!(!facts.usage_only);
    }

    #[test]
    fn final_usage_chunk_is_recognised() {
        let facts = chunk_facts(
            br#"{"id":"c","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21,"prompt_tokens_details":{"cached_tokens":2}}}"#,
            false,
        )
        .unwrap();
        assert!(facts.usage_only);
        let report = facts.usage.unwrap();
        assert_eq!(report.counts.prompt, 9);
        assert_eq!(report.counts.cached, 2);
        assert!(report.raw.unwrap().contains("cached_tokens"));
    }

    #[test]
    fn groq_usage_is_read_from_x_groq() {
        let facts = chunk_facts(
            br#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"x_groq":{"id":"req","usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}}"#,
            true,
        )
        .unwrap();
        assert_eq!(facts.usage.unwrap().counts.completion, 4);
        assert!(!facts.usage_only);
    }

    #[test]
    fn errors_inside_streams_and_bodies_are_reported() {
        assert!(
            chunk_facts(
                br#"{"error":{"message":"boom","type":"server_error"}}"#,
                false
            )
            .is_err()
        );
        assert!(chunk_facts(b"not json", false).is_err());
        assert!(body_usage(br#"{"error":{"message":"model not loaded"}}"#).is_err());
        assert!(
            body_usage(
                br#"{"object":"list","data":[],"usage":{"prompt_tokens":1,"total_tokens":1}}"#
            )
            .unwrap()
            .report
            .is_some()
        );
        assert!(
            body_usage(br#"{"id":"x","choices":[]}"#)
                .unwrap()
                .report
                .is_none()
        );
        assert!(body_usage(br#"{"id":"x"}"#).is_err());
        assert!(body_usage(b"<html>oops</html>").is_err());
        assert!(
            body_usage(br#"{"choices": [ {"a": "}{\"]"} ], "usage": null}"#)
                .unwrap()
                .report
                .is_none()
        );
        assert!(body_usage(br#"{"choices":[], "usage""#).is_err());
        // An escaped backslash right before a closing quote, non-ASCII text, and bodies cut
        // inside a string or right after an escape.
        assert!(
            body_usage(
                r#"{"choices":[{"c":"ends in \\","d":"→ ünïcødé \""}],"usage":null}"#.as_bytes()
            )
            .unwrap()
            .report
            .is_none()
        );
        assert!(body_usage(br#"{"choices":["abc"#).is_err());
        assert!(body_usage(br#"{"choices":["abc\"#).is_err());
        assert!(body_usage(br#"{"choices":[[[{"#).is_err());
        // A usage object of another shape is no usage; one that is not JSON is an error.
        assert!(
            body_usage(br#"{"choices":[],"usage":{"prompt_tokens":"many"}}"#)
                .unwrap()
                .report
                .is_none()
        );
        assert!(body_usage(br#"{"choices":[],"usage":{"prompt_tokens":}}"#).is_err());
    }

    #[test]
    fn the_structural_scan_finds_top_level_usage_past_tricky_strings() {
        let body = br#" { "id" : "c\"1", "choices" : [ {"message": {"content": "usage: {\"prompt_tokens\": 99}"}} ],
            "usage" : {"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29, "prompt_tokens_details": {"cached_tokens": 3}} , "x": true } "#;
        let found = body_usage(body).unwrap();
        assert!(body[found.at.unwrap()].starts_with(br#"{"prompt_tokens": 19"#));
        let report = found.report.unwrap();
        assert_eq!(
            (
                report.counts.prompt,
                report.counts.completion,
                report.counts.cached
            ),
            (19, 10, 3)
        );
        assert!(report.raw.unwrap().starts_with(r#"{"prompt_tokens": 19"#));
    }
}

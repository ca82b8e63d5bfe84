//! Token estimates with a real tokenizer, for calls whose upstream never reported usage
//! (a client that disconnected, a server that sends no usage).
//!
//! The encoding is loaded on first use only: it costs tens of megabytes and most deployments
//! never need it, because upstreams report usage.

use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

fn encoding() -> Option<&'static CoreBPE> {
    static ENCODING: OnceLock<Option<CoreBPE>> = OnceLock::new();
    ENCODING
        .get_or_init(|| match tiktoken_rs::o200k_base() {
            Ok(bpe) => Some(bpe),
            Err(e) => {
                tracing::error!(error = %e, "tokenizer failed to load; estimates fall back to bytes / 4");
                None
            }
        })
        .as_ref()
}

/// Counts the tokens of `text` with `o200k_base` (the GPT-4o family's encoding), a close
/// estimate for other model families too.
pub fn count(text: &str) -> u64 {
    if text.is_empty() {
        return 0;
    }
    let n = match encoding() {
        Some(bpe) => bpe.encode_ordinary(text).len(),
        None => text.len().div_ceil(4),
    };
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_real_tokens() {
        assert_eq!(count(""), 0);
        assert_eq!(count("hello world"), 2);
        assert!(count("Ünïcödé 租户 ✓") > 3);
    }
}

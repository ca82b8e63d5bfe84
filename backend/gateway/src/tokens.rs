//! Token estimates with a real tokenizer, for calls whose upstream never reported usage
//! (a client that disconnected, a server that sends no usage), and for counting a prompt
//! locally (`/v1/messages/count_tokens` on an upstream that cannot count).
//!
//! The encoding is loaded on first use only: it costs tens of megabytes and most deployments
//! never need it, because upstreams report usage.
//!
//! Tokenizing is CPU work proportional to the text, and byte-pair encoding one very long
//! "word" is far worse than linear: a 9 MB prompt of one letter took seconds and a gigabyte.
//! So text is counted in bounded slices (cut before whitespace where there is some, which is
//! where the encoder's own pieces start anyway), and callers on the request path go through
//! [`count_off_thread`], which runs on the blocking pool under a bound of its own.

use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;
use tokio::sync::Semaphore;

/// About how much text is handed to the encoder at once: each call costs a few microseconds
/// before its first byte, so prose goes in slices of this size, cut before whitespace.
const SLICE_BYTES: usize = 4096;

/// The longest run without whitespace handed to the encoder as one piece. Its work on a piece
/// grows with the square of the piece's length, and a run of one letter, a base64 blob or a
/// paragraph of Chinese is one piece to it; real words are shorter than this. Each cut changes
/// a count by at most a token.
const RUN_BYTES: usize = 64;

/// How many texts are tokenized at once for requests: half the cores (at least one), so large
/// counts queue behind each other instead of taking every core from the calls being served.
fn concurrent_counts() -> usize {
    std::thread::available_parallelism().map_or(1, |it| (it.get() / 2).max(1))
}

/// The most text one request may have counted locally. A million-token context is about 4 MiB
/// of text; more than this cannot be a prompt any model accepts.
pub const MAX_COUNTED_BYTES: usize = 8 * 1024 * 1024;

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

/// Calls `each` with consecutive slices of `text` that together are all of it: slices of
/// about [`SLICE_BYTES`] cut before whitespace, and any run without whitespace longer than
/// [`RUN_BYTES`] cut into pieces of at most that (at character boundaries) on its own.
fn for_each_slice<'t>(text: &'t str, mut each: impl FnMut(&'t str)) {
    let mut slice_start = 0;
    let mut run_start = 0;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if i - slice_start >= SLICE_BYTES {
                each(&text[slice_start..i]);
                slice_start = i;
            }
            run_start = i + c.len_utf8();
        } else if i + c.len_utf8() - run_start > RUN_BYTES {
            if slice_start < run_start {
                each(&text[slice_start..run_start]);
            }
            each(&text[run_start.max(slice_start)..i]);
            slice_start = i;
            run_start = i;
        }
    }
    if slice_start < text.len() {
        each(&text[slice_start..]);
    }
}

/// Counts the tokens of `text` with `o200k_base` (the GPT-4o family's encoding), a close
/// estimate for other model families too. CPU-bound: not for async threads, see
/// [`count_off_thread`].
pub fn count(text: &str) -> u64 {
    if text.is_empty() {
        return 0;
    }
    let n: usize = match encoding() {
        Some(bpe) => {
            let mut n = 0;
            for_each_slice(text, |slice| n += bpe.encode_ordinary(slice).len());
            n
        }
        None => text.len().div_ceil(4),
    };
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Why a text was not counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CountError {
    #[error("the text is longer than the {MAX_COUNTED_BYTES} bytes that can be counted")]
    TooLong,
    #[error("the tokenizer is not available just now")]
    Unavailable,
}

/// Counts on the blocking pool, at most [`concurrent_counts`] texts at once, so a large count
/// never holds a request worker (every other call on that worker would wait for it).
///
/// # Errors
/// `TooLong` over [`MAX_COUNTED_BYTES`]; `Unavailable` if the counting thread failed.
pub async fn count_off_thread(text: String) -> Result<u64, CountError> {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    if text.len() > MAX_COUNTED_BYTES {
        return Err(CountError::TooLong);
    }
    if text.len() <= SLICE_BYTES {
        // A short text costs less than the hand-over would.
        return Ok(count(&text));
    }
    let _permit = PERMITS
        .get_or_init(|| Semaphore::new(concurrent_counts()))
        .acquire()
        .await
        .map_err(|_| CountError::Unavailable)?;
    tokio::task::spawn_blocking(move || count(&text))
        .await
        .map_err(|_| CountError::Unavailable)
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

    fn slices(text: &str) -> Vec<&str> {
        let mut all = Vec::new();
        for_each_slice(text, |it| all.push(it));
        all
    }

    #[test]
    fn slices_cover_the_text_in_bounded_pieces_cut_before_whitespace() {
        let prose = "the quick brown fox jumps over the lazy dog ".repeat(500);
        let parts = slices(&prose);
        assert_eq!(parts.concat(), prose);
        assert!(parts.len() > 1);
        assert!(parts.iter().all(|it| it.len() <= SLICE_BYTES + 8));
        assert!(parts[1..].iter().all(|it| it.starts_with(' ')));

        for run in ["ü".repeat(5000), "租".repeat(3000), "a".repeat(100_000)] {
            let parts = slices(&run);
            assert_eq!(parts.concat(), run);
            assert!(parts.iter().all(|it| it.len() <= RUN_BYTES));
        }

        let mixed = format!("intro {} outro {} end", "x".repeat(300), "y".repeat(64));
        let parts = slices(&mixed);
        assert_eq!(parts.concat(), mixed);
        let longest_run = |it: &&str| it.split_whitespace().map(str::len).max().unwrap_or(0);
        assert!(parts.iter().all(|it| longest_run(it) <= RUN_BYTES));
        assert!(slices("").is_empty());
    }

    #[test]
    fn slicing_barely_changes_a_count_of_prose() {
        let prose = "The quick brown fox jumps over the lazy dog, again and again. ".repeat(400);
        let whole = encoding()
            .map(|bpe| bpe.encode_ordinary(&prose).len())
            .unwrap();
        let sliced = usize::try_from(count(&prose)).unwrap();
        assert!(whole.abs_diff(sliced) <= whole / 100, "{whole} vs {sliced}");
    }

    #[test]
    fn a_long_run_without_whitespace_is_counted_in_bounded_work() {
        // Unsliced, byte-pair encoding this one "word" took seconds; sliced it is linear.
        let run = "a".repeat(1024 * 1024);
        let n = count(&run);
        assert!(n > 1000 && n < 1024 * 1024, "{n}");
    }

    #[tokio::test]
    async fn counts_off_thread_refuse_texts_over_the_limit() {
        assert_eq!(count_off_thread("hello world".into()).await, Ok(2));
        assert_eq!(
            count_off_thread("x".repeat(MAX_COUNTED_BYTES + 1)).await,
            Err(CountError::TooLong)
        );
        assert!(count_off_thread("word ".repeat(2000)).await.unwrap() > 1000);
    }
}

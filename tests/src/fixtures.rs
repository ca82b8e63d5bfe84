//! Recorded provider payloads in `tests/fixtures/providers/<provider>/`.

use std::path::PathBuf;

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/providers")
        .join(name)
}

/// The fixture's text.
///
/// # Panics
/// When the file does not exist.
pub fn text(name: &str) -> String {
    std::fs::read_to_string(path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// The SSE frames of an `.sse` fixture, each with its trailing blank line.
pub fn sse_frames(name: &str) -> Vec<String> {
    text(name)
        .split("\n\n")
        .filter(|it| !it.trim().is_empty())
        .map(|it| format!("{}\n\n", it.trim_start_matches('\n')))
        .collect()
}

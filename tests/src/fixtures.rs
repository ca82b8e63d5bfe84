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

/// A JSON fixture as the gateway answers it: its top-level `usage` object ends with the price
/// the gateway adds (`"cost":<cost>`), everything else byte for byte.
pub fn priced(name: &str, cost: &str) -> String {
    let text = text(name);
    let start = text
        .find("\"usage\":{")
        .unwrap_or_else(|| panic!("fixture {name} has no usage object"))
        + "\"usage\":".len();
    let mut depth = 0;
    let mut end = start;
    for (i, c) in text[start..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    end = start + i;
                    break;
                }
            }
            _ => {}
        }
    }
    format!("{},\"cost\":{cost}{}", &text[..end], &text[end..])
}

/// `value` with `usage.cost` set to `cost` (a JSON number written as text, kept exact).
pub fn with_cost(mut value: serde_json::Value, cost: &str) -> serde_json::Value {
    value["usage"]["cost"] = serde_json::from_str(cost).expect("a JSON number");
    value
}

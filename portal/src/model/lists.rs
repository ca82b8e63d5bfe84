//! Lists typed into one text box (models, networks): split on commas, spaces or new lines.

/// The non-empty entries, trimmed, each once, in the order typed.
pub fn split(raw: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for it in raw.split(|c: char| c == ',' || c.is_whitespace()) {
        let it = it.trim();
        if !it.is_empty() && !out.iter().any(|seen| seen == it) {
            out.push(it.to_owned());
        }
    }
    out
}

/// A list as the portal shows it; `everything` when it is empty (no restriction).
pub fn show(items: &[String], everything: &str) -> String {
    if items.is_empty() {
        everything.to_owned()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_commas_spaces_and_lines() {
        assert_eq!(
            split("gpt-4o, mock\nclaude  mock,,"),
            vec!["gpt-4o", "mock", "claude"]
        );
        assert!(split(" ,\n").is_empty());
        assert_eq!(show(&[], "all models"), "all models");
        assert_eq!(show(&["a".into(), "b".into()], "x"), "a, b");
    }
}

//! A structural scan of JSON: where values start and end, by tracking only strings and
//! nesting, never parsing or copying. Answers are forwarded byte for byte, so the gateway finds
//! the one field it reads or writes (`usage`) this way instead of parsing a whole answer.

use std::ops::Range;

/// Where the top-level `key` of a JSON object lies, when its value is an object: from its `{`
/// to just past its `}`. `None` when the body is not an object, has no such member, or its
/// value is something else.
pub fn object_member(body: &[u8], key: &[u8]) -> Option<Range<usize>> {
    let mut found = None;
    object_fields(body, |name, value| {
        if name == key && found.is_none() {
            found = Some(value);
        }
    })?;
    found.filter(|it| body.get(it.start) == Some(&b'{'))
}

/// Calls `on_field(key, where its value lies)` for each top-level field of a JSON object,
/// checking only the structure (brackets, strings and separators), not the contents; `None`
/// when the body is not an object of that structure.
pub fn object_fields<'a>(
    body: &'a [u8],
    mut on_field: impl FnMut(&'a [u8], Range<usize>),
) -> Option<()> {
    let mut at = skip_space(body, 0);
    if body.get(at) != Some(&b'{') {
        return None;
    }
    at = skip_space(body, at + 1);
    if body.get(at) == Some(&b'}') {
        return Some(());
    }
    loop {
        if body.get(at) != Some(&b'"') {
            return None;
        }
        let key_end = skip_string(body, at)?;
        let key = &body[at + 1..key_end - 1];
        at = skip_space(body, key_end);
        if body.get(at) != Some(&b':') {
            return None;
        }
        let value_start = skip_space(body, at + 1);
        let value_end = skip_value(body, value_start)?;
        on_field(key, value_start..value_end);
        at = skip_space(body, value_end);
        match body.get(at)? {
            b',' => at = skip_space(body, at + 1),
            b'}' => return Some(()),
            _ => return None,
        }
    }
}

fn skip_space(body: &[u8], mut at: usize) -> usize {
    while body.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// The index just past the string starting at `at` (which holds its opening quote).
fn skip_string(body: &[u8], at: usize) -> Option<usize> {
    let mut i = at + 1;
    loop {
        // memchr skips the string's contents many bytes at a time: answers are mostly text.
        i += memchr::memchr2(b'"', b'\\', body.get(i..)?)?;
        match body[i] {
            b'\\' => i += 2,
            _ => return Some(i + 1),
        }
    }
}

/// Whether a byte opens or closes a container, or starts a string: the only bytes whose
/// position a container's structure depends on.
const STRUCTURAL: [bool; 256] = {
    let mut table = [false; 256];
    table[b'"' as usize] = true;
    table[b'{' as usize] = true;
    table[b'[' as usize] = true;
    table[b'}' as usize] = true;
    table[b']' as usize] = true;
    table
};

/// The index just past the value starting at `at`.
pub fn skip_value(body: &[u8], at: usize) -> Option<usize> {
    match body.get(at)? {
        b'"' => skip_string(body, at),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = at;
            loop {
                i += body
                    .get(i..)?
                    .iter()
                    .position(|b| STRUCTURAL[usize::from(*b)])?;
                match body[i] {
                    b'"' => {
                        i = skip_string(body, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    _ => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                }
                i += 1;
            }
        }
        _ => {
            let mut i = at;
            while body
                .get(i)
                .is_some_and(|b| !matches!(b, b',' | b'}' | b']') && !b.is_ascii_whitespace())
            {
                i += 1;
            }
            (i > at).then_some(i)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_found_at_the_top_level_only() {
        let body = br#"{"a":"}\"{\\","usage ":{"x":1},"b":[{"usage":{"y":2}},"]"],"c":{"usage":{}},"d":-1.5e3,"e":true,"usage":{"z":"}{"},"f":null}"#;
        let at = object_member(body, b"usage").unwrap();
        assert_eq!(&body[at], br#"{"z":"}{"}"#);
        assert_eq!(object_member(br#"{"usage":null}"#, b"usage"), None);
        assert_eq!(object_member(br#"{"usage":5}"#, b"usage"), None);
        assert_eq!(object_member(br#"[{"usage":{}}]"#, b"usage"), None);
    }

    #[test]
    fn broken_and_deep_bodies_are_refused_without_a_panic() {
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        for body in [
            &br#"{"usage":{"a":"1}}"#[..],
            br#"{"a":,"usage":{}}"#,
            br#"{"a" "usage":{}}"#,
            br#"{"a":"\"#,
            br#"{"usage""#,
            b"{",
            b"   ",
            b"",
            deep.as_bytes(),
        ] {
            assert_eq!(
                object_member(body, b"usage"),
                None,
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
        let trailing = format!("{}, \"usage\": {{}}}}", &deep[..deep.len() - 1]);
        assert!(object_member(trailing.as_bytes(), b"usage").is_some());
    }
}

//! The pricing stage: which rates a call is charged at (resolved once, when it is recorded,
//! from the price book in force when it arrived), and the price told to the caller in the
//! answer's `usage.cost` and the `x-request-cost` header.

use bytes::{BufMut, Bytes, BytesMut};
use domain::pricing::{CallRates, Money, PriceQuery};
use time::OffsetDateTime;

use crate::access::Principal;
use crate::catalog::Deployment;
use crate::headers::{self, HeaderText, ResponseHeaders};

/// The rates `principal`'s call answered by `deployment` at `at` is charged at. A call that
/// reached no provider of the platform's (`free`: served with the tenant's own credential,
/// which the tenant pays its provider for, or answered from the response cache) costs the
/// platform nothing and is charged nothing: priced at zero, not left unpriced.
pub(crate) fn rates(
    principal: &Principal,
    deployment: &Deployment,
    free: bool,
    at: OffsetDateTime,
) -> CallRates {
    if free {
        let zero = Some(domain::pricing::Rates {
            input: Money::ZERO,
            output: Money::ZERO,
            cached_input: None,
            cache_write: None,
            reasoning: None,
        });
        return CallRates {
            cost: zero,
            wholesale: principal.partner.and(zero),
            price: zero,
        };
    }
    principal.prices.rates(&PriceQuery {
        provider: &deployment.provider_name,
        provider_kind: deployment.provider.kind().as_str(),
        model: &deployment.upstream_model,
        tenant: principal.tenant_id(),
        partner: principal.partner,
        at,
    })
}

/// Tells the caller its price: `usage.cost` in `body` and the `x-request-cost` header; the
/// body as it was when the price is not known (unpriced, or usage to be estimated later).
pub(crate) fn tell(body: Bytes, price: Option<Money>, headers: &mut ResponseHeaders) -> Bytes {
    let Some(price) = price else {
        return body;
    };
    headers.set(headers::COST, HeaderText::Money(price));
    with_cost(&body, price).unwrap_or(body)
}

/// `body` (an answer or a stream chunk, JSON) with `"cost": <price>` added to its top-level
/// `usage` object, without parsing or writing anything else; `None` when it has no such
/// object (the caller then sends it as it was).
pub(crate) fn with_cost(body: &[u8], price: Money) -> Option<Bytes> {
    let (open, close) = top_level_usage(body)?;
    let empty = body[open + 1..close].iter().all(u8::is_ascii_whitespace);
    let mut res = BytesMut::with_capacity(body.len() + 32);
    res.put_slice(&body[..close]);
    res.put_slice(if empty { b"\"cost\":" } else { b",\"cost\":" });
    std::fmt::Write::write_fmt(&mut res, format_args!("{price}")).ok()?;
    res.put_slice(&body[close..]);
    Some(res.freeze())
}

/// Where the top-level `usage` object of a JSON object lies: its `{` and its `}`. A scan of
/// the bytes that only tracks strings and nesting (the body came from the provider's parser
/// already, so the scan trusts it is JSON and stops at `usage`; a full parse here cost 10 000
/// instructions a call). `None` when the body is not an object, has no such member, or its
/// value is not an object.
fn top_level_usage(body: &[u8]) -> Option<(usize, usize)> {
    let mut at = skip_space(body, 0);
    if body.get(at) != Some(&b'{') {
        return None;
    }
    at += 1;
    loop {
        at = skip_space(body, at);
        match body.get(at)? {
            b'}' => return None,
            b',' => {
                at += 1;
                continue;
            }
            b'"' => {}
            _ => return None,
        }
        let key_end = skip_string(body, at)?;
        let key = &body[at + 1..key_end - 1];
        at = skip_space(body, key_end);
        if body.get(at) != Some(&b':') {
            return None;
        }
        at = skip_space(body, at + 1);
        let value_end = skip_value(body, at)?;
        if key == b"usage" {
            return (body.get(at) == Some(&b'{')).then_some((at, value_end - 1));
        }
        at = value_end;
    }
}

fn skip_space(body: &[u8], mut at: usize) -> usize {
    while body.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// Past the string that starts (with its `"`) at `at`.
fn skip_string(body: &[u8], at: usize) -> Option<usize> {
    let mut i = at + 1;
    loop {
        match body.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
}

/// Past the value that starts at `at`: a string, an object or array (to its matching close,
/// strings inside skipped), or a scalar (to the next delimiter).
fn skip_value(body: &[u8], at: usize) -> Option<usize> {
    match body.get(at)? {
        b'"' => skip_string(body, at),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = at;
            loop {
                match body.get(i)? {
                    b'"' => {
                        i = skip_string(body, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
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

    fn price(text: &str) -> Money {
        Money::parse(text).unwrap()
    }

    #[test]
    fn the_cost_lands_in_the_top_level_usage_and_nowhere_else() {
        let body = br#"{"id":"x","choices":[{"message":{"content":"{\"usage\":{}}"}}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}"#;
        let out = with_cost(body, price("0.0000021")).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["usage"]["cost"], serde_json::json!(0.0000021));
        assert_eq!(value["usage"]["total_tokens"], 4);
        assert_eq!(value["choices"][0]["message"]["content"], "{\"usage\":{}}");
        assert!(out.ends_with(b"\"total_tokens\":4,\"cost\":0.0000021}}"));
    }

    #[test]
    fn an_empty_or_spaced_usage_object_gets_a_well_formed_cost() {
        for body in [
            &br#"{"usage":{}}"#[..],
            br#"{ "usage" : { } , "id":1 }"#,
            b"{\"usage\":{\"a\":1}\n}\n",
        ] {
            let out = with_cost(body, price("3")).unwrap();
            let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(
                value["usage"]["cost"],
                3,
                "{}",
                String::from_utf8_lossy(&out)
            );
        }
    }

    #[test]
    fn bodies_without_a_usage_object_are_left_alone() {
        for body in [
            &br#"{"id":"x"}"#[..],
            br#"{"usage":null}"#,
            br#"{"usage":5}"#,
            br#"[1,2]"#,
            b"not json",
            b"",
        ] {
            assert!(with_cost(body, price("1")).is_none(), "{body:?}");
        }
    }

    #[test]
    fn strings_escapes_and_nesting_never_fool_the_scan() {
        let body = br#"{"a":"}\"{\\","usage ":{"x":1},"b":[{"usage":{"y":2}},"]"],"c":{"usage":{}},"d":-1.5e3,"e":true,"usage":{"z":"}{"},"f":null}"#;
        let out = with_cost(body, price("2")).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["usage"], serde_json::json!({"z": "}{", "cost": 2}));
        assert_eq!(value["b"][0]["usage"], serde_json::json!({"y": 2}));
        assert_eq!(value["c"]["usage"], serde_json::json!({}));
        assert_eq!(value["usage "], serde_json::json!({"x": 1}));
    }

    #[test]
    fn broken_and_deep_bodies_are_left_alone_without_a_panic() {
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        for body in [
            &br#"{"usage":{"a":"1}}"#[..],
            br#"{"a":,"usage":{}}"#,
            br#"{"a" "usage":{}}"#,
            br#"{"a":"\"#,
            br#"{"usage""#,
            b"{",
            b"   ",
            deep.as_bytes(),
        ] {
            assert!(
                with_cost(body, price("1")).is_none(),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
        let trailing = format!("{}, \"usage\": {{}}}}", &deep[..deep.len() - 1]);
        assert!(with_cost(trailing.as_bytes(), price("1")).is_some());
    }
}

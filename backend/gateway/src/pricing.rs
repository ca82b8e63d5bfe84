//! The pricing stage: which rates a call is charged at (resolved once, when it is recorded,
//! from the price book in force when it arrived), and the price told to the caller in the
//! answer's `usage.cost` and the `x-request-cost` header.

use std::ops::Range;

use bytes::{BufMut, Bytes, BytesMut};
use domain::pricing::{CallRates, Money, PriceQuery};
use providers::json_scan;
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
/// `usage_at` is where the provider's scan found the usage object in this very body, when it
/// did: the price is then written there without scanning the body again.
pub(crate) fn tell(
    body: Bytes,
    usage_at: Option<Range<usize>>,
    price: Option<Money>,
    headers: &mut ResponseHeaders,
) -> Bytes {
    let Some(price) = price else {
        return body;
    };
    headers.set(headers::COST, HeaderText::Money(price));
    let found = usage_at
        .filter(|at| {
            at.start < at.end
                && body.get(at.start) == Some(&b'{')
                && body.get(at.end - 1) == Some(&b'}')
        })
        .or_else(|| json_scan::object_member(&body, b"usage"));
    match found {
        Some(at) => cost_into(&body, at, price),
        None => body,
    }
}

/// `body` (an answer or a stream chunk, JSON) with `"cost": <price>` added to its top-level
/// `usage` object, without parsing or writing anything else; `None` when it has no such
/// object (the caller then sends it as it was).
pub(crate) fn with_cost(body: &[u8], price: Money) -> Option<Bytes> {
    let at = json_scan::object_member(body, b"usage")?;
    Some(cost_into(body, at, price))
}

/// `body` with `"cost": <price>` added to the object at `at` (from its `{` to past its `}`).
fn cost_into(body: &[u8], at: Range<usize>, price: Money) -> Bytes {
    let close = at.end - 1;
    let empty = body[at.start + 1..close]
        .iter()
        .all(u8::is_ascii_whitespace);
    let mut res = BytesMut::with_capacity(body.len() + 32);
    res.put_slice(&body[..close]);
    res.put_slice(if empty { b"\"cost\":" } else { b",\"cost\":" });
    // Writing into a `BytesMut` cannot fail.
    let _ = std::fmt::Write::write_fmt(&mut res, format_args!("{price}"));
    res.put_slice(&body[close..]);
    res.freeze()
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
    fn a_body_the_scan_refuses_is_left_alone() {
        // Which bodies the scan refuses is `providers::json_scan`'s to test; one of each kind.
        for body in [&br#"{"usage":{"a":"1}}"#[..], br#"{"a":,"usage":{}}"#, b"{"] {
            assert!(with_cost(body, price("1")).is_none(), "{body:?}");
        }
    }
}

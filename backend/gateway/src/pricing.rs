//! The pricing stage: which rates a call is charged at (resolved once, when it is recorded,
//! from the price book in force when it arrived), and the price told to the caller in the
//! answer's `usage.cost` and the `x-request-cost` header.

use bytes::{BufMut, Bytes, BytesMut};
use domain::pricing::{CallRates, Money, PriceQuery};
use serde::Deserialize;
use serde_json::value::RawValue;
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

/// Only the top-level `usage` of an answer or a chunk, borrowed where it lies.
#[derive(Deserialize)]
struct UsageSpan<'a> {
    #[serde(borrow)]
    usage: Option<&'a RawValue>,
}

/// `body` (an answer or a stream chunk, JSON) with `"cost": <price>` added to its top-level
/// `usage` object, without parsing or writing anything else; `None` when it has no such
/// object (the caller then sends it as it was).
pub(crate) fn with_cost(body: &[u8], price: Money) -> Option<Bytes> {
    let span: UsageSpan<'_> = serde_json::from_slice(body).ok()?;
    let usage = span.usage?.get();
    // `usage` borrows from `body`: where it ends is where it lies in `body`.
    let start = (usage.as_ptr() as usize).checked_sub(body.as_ptr() as usize)?;
    let object = usage.trim_end();
    if !object.starts_with('{') || !object.ends_with('}') {
        return None;
    }
    let close = start + object.len() - 1;
    let empty = object[1..object.len() - 1].trim().is_empty();
    let mut res = BytesMut::with_capacity(body.len() + 32);
    res.put_slice(&body[..close]);
    res.put_slice(if empty { b"\"cost\":" } else { b",\"cost\":" });
    std::fmt::Write::write_fmt(&mut res, format_args!("{price}")).ok()?;
    res.put_slice(&body[close..]);
    Some(res.freeze())
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
}

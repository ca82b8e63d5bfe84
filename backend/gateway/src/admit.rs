//! The admit stage: every limit a call's key sets (requests and tokens per minute and per day,
//! calls in flight, the monthly spend budget), checked and taken in one step before the call
//! reaches the cache or a provider, and settled when it ends (`Taken`, held by the call's
//! record). With Redis the step is one round trip to counters every node shares; without, the
//! node's own.
//!
//! Tokens are reserved before the call (the prompt's estimate plus the most it may answer)
//! and settled with what it used; spend likewise, at the dearest price among the route's
//! deployments. A call refused here is recorded (unbilled) and never reaches a provider.

use std::time::Duration;

use domain::pricing::Money;
use smallvec::SmallVec;
use store::limits::{Admission, Bucket, Counter, Pending, Window};
use time::OffsetDateTime;

use crate::call::{CallRecord, RequestCtx};
use crate::catalog::Route;
use crate::headers::{self, HeaderText, ResponseHeaders};
use crate::limits::Limiter;
use crate::{Error, ErrorKind, Gateway};

const MINUTE_MS: u64 = 60_000;
/// How long an in-flight slot holds without being released: a node that died mid-call frees
/// its slots then (a stream longer than this frees its slot early).
const LEASE_MS: u64 = 15 * MINUTE_MS;
/// The answer a call is reserved for when it sets no maximum of its own.
pub(crate) const DEFAULT_MAX_OUTPUT: u64 = 4_096;
/// Prompts up to this many bytes are counted with the tokenizer when a token limit applies;
/// larger ones at four bytes a token (the tokenizer's cost grows with the prompt).
const TOKENIZE_BYTES: usize = 64 * 1024;

/// What a call asks of the limits: computed only when a token limit or a budget applies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Demand {
    pub prompt_tokens: u64,
    pub max_output: u64,
}

impl Demand {
    /// The prompt counted from `text` (by the tokenizer when it is short enough), and the
    /// call's own maximum answer or the default.
    pub(crate) fn of(text: &str, max_output: Option<u64>) -> Self {
        let prompt_tokens = if text.len() <= TOKENIZE_BYTES {
            crate::tokens::count(text)
        } else {
            u64::try_from(text.len() / 4).unwrap_or(u64::MAX)
        };
        Demand {
            prompt_tokens,
            max_output: max_output.unwrap_or(DEFAULT_MAX_OUTPUT),
        }
    }
}

/// What each counter of a call is, to read its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    RequestsPerMinute,
    RequestsPerDay,
    TokensPerMinute,
    TokensPerDay,
    InFlight,
    /// Micro-units of the currency (counters are integers Redis's Lua keeps exact).
    Spend,
}

impl Kind {
    fn describe(self, limit: u64) -> String {
        match self {
            Kind::RequestsPerMinute => format!("{limit} requests per minute"),
            Kind::RequestsPerDay => format!("{limit} requests per day"),
            Kind::TokensPerMinute => format!("{limit} tokens per minute"),
            Kind::TokensPerDay => format!("{limit} tokens per day"),
            Kind::InFlight => format!("{limit} calls at once"),
            Kind::Spend => format!(
                "a monthly budget of {}",
                Money::from_micros(i64::try_from(limit).unwrap_or(i64::MAX)).unwrap_or(Money::ZERO)
            ),
        }
    }
}

/// What a call took from the counters, given back or corrected when it ends.
#[derive(Debug)]
pub(crate) struct Taken {
    limiter: Limiter,
    /// Admitted by this node's counters (the shared ones were down and the policy is open).
    local: bool,
    reserved_tokens: u64,
    tokens: SmallVec<[(String, Bucket); 2]>,
    reserved_micros: u64,
    spend: Option<(String, Bucket)>,
    in_flight: Option<(String, String)>,
}

impl Taken {
    /// Corrects the reservations to what the call used (`tokens`, charged `price`) and frees
    /// its in-flight slot. Queued, never waits: it rides on the next admission.
    pub(crate) fn settle(self, tokens: u64, price: Option<Money>) {
        let send = |item: Pending| {
            if self.local {
                self.limiter.settle_local(item);
            } else {
                self.limiter.settle(item);
            }
        };
        let delta = |used: u64, reserved: u64| {
            i64::try_from(used)
                .unwrap_or(i64::MAX)
                .saturating_sub(i64::try_from(reserved).unwrap_or(i64::MAX))
        };
        let tokens_delta = delta(tokens, self.reserved_tokens);
        if tokens_delta != 0 {
            for (key, bucket) in &self.tokens {
                send(Pending::Settle {
                    key: key.clone(),
                    bucket: bucket.clone(),
                    delta: tokens_delta,
                });
            }
        }
        if let Some((key, bucket)) = &self.spend {
            let spent = delta(price.map_or(0, micros_up), self.reserved_micros);
            if spent != 0 {
                send(Pending::Settle {
                    key: key.clone(),
                    bucket: bucket.clone(),
                    delta: spent,
                });
            }
        }
        if let Some((key, member)) = &self.in_flight {
            send(Pending::Release {
                key: key.clone(),
                member: member.clone(),
            });
        }
    }
}

/// Money as whole micro-units, rounded up: a budget never undercounts.
fn micros_up(money: Money) -> u64 {
    u64::try_from(money.nanos().max(0))
        .unwrap_or(0)
        .div_ceil(1_000)
}

/// `2026-12` and the end of that calendar month (UTC), in Unix milliseconds.
fn this_month(now: OffsetDateTime) -> (String, u64) {
    let (year, month) = (now.year(), now.month());
    let next = match time::Date::from_calendar_date(year, month.next(), 1) {
        Ok(date) if month != time::Month::December => date,
        _ => time::Date::from_calendar_date(year + 1, time::Month::January, 1)
            .unwrap_or(time::Date::MAX),
    };
    let ends = next.midnight().assume_utc().unix_timestamp_nanos() / 1_000_000;
    (
        format!("{year}-{:02}", u8::from(month)),
        u64::try_from(ends).unwrap_or(u64::MAX),
    )
}

/// Takes what `record`'s call needs from every limit its key sets; on success the record
/// holds what was taken (settled when it ends), and `ctx.limits` the `x-ratelimit-*` headers
/// the answer gets (`Gateway::chat` and its siblings add them). A key without limits costs a
/// branch.
///
/// # Errors
/// 429 `rate_limited` (with `retry-after`) or `insufficient_quota` (`x-should-retry: false`)
/// when a limit refuses; 503 when the shared counters are unreachable and the call has a
/// budget (budgets fail closed). The refusal is recorded.
pub(crate) async fn admit(
    gw: &Gateway,
    ctx: &RequestCtx,
    route: &Route,
    mut record: CallRecord,
    demand: impl FnOnce() -> Demand,
) -> Result<CallRecord, Error> {
    let limits = &ctx.principal.key.scopes.limits;
    if !limits.any() {
        return Ok(record);
    }
    let limiter = &gw.limits;
    let needs_demand = limits.tokens_per_minute.is_some()
        || limits.tokens_per_day.is_some()
        || limits.monthly_budget_micros.is_some();
    let demand = needs_demand.then(demand);
    let tokens = demand.map_or(0, |it| it.prompt_tokens.saturating_add(it.max_output));
    let tag = format!(
        "{{t:{}}}:k:{}",
        ctx.principal.tenant_id(),
        ctx.principal.key.id
    );
    let mut counters: SmallVec<[Counter; 4]> = SmallVec::new();
    let mut kinds: SmallVec<[Kind; 4]> = SmallVec::new();
    let mut add = |kind: Kind, name: &str, window: Window, limit: u64, take: u64| {
        counters.push(Counter {
            key: format!("{tag}:{name}"),
            window,
            limit,
            take,
        });
        kinds.push(kind);
    };
    let minute = || Window::Sliding { span_ms: MINUTE_MS };
    let day = || Window::Sliding {
        span_ms: store::limits::DAY_MS,
    };
    if let Some(limit) = limits.requests_per_minute {
        add(
            Kind::RequestsPerMinute,
            "rpm",
            minute(),
            u64::from(limit),
            1,
        );
    }
    if let Some(limit) = limits.requests_per_day {
        add(Kind::RequestsPerDay, "rpd", day(), u64::from(limit), 1);
    }
    if let Some(limit) = limits.tokens_per_minute {
        add(Kind::TokensPerMinute, "tpm", minute(), limit, tokens);
    }
    if let Some(limit) = limits.tokens_per_day {
        add(Kind::TokensPerDay, "tpd", day(), limit, tokens);
    }
    if let Some(limit) = limits.max_concurrent {
        add(
            Kind::InFlight,
            "concurrent",
            Window::InFlight { lease_ms: LEASE_MS },
            u64::from(limit),
            1,
        );
    }
    let mut reserved_micros = 0;
    if let Some(budget) = limits.monthly_budget_micros {
        reserved_micros = demand.map_or(0, |it| most_it_can_cost(ctx, route, it));
        let (id, ends_at_ms) = this_month(ctx.received_at);
        add(
            Kind::Spend,
            "budget",
            Window::Period { id, ends_at_ms },
            u64::try_from(budget.max(0)).unwrap_or(0),
            reserved_micros,
        );
    }
    let call_id = record.id().to_string();
    let (admission, local) = match limiter.admit(&counters, &call_id).await {
        Ok(admission) => (admission, false),
        Err(unavailable) if kinds.contains(&Kind::Spend) => {
            tracing::warn!(error = %unavailable.0, "spend counters unreachable: the call is refused (budgets fail closed)");
            let mut error = Error::new(
                ErrorKind::Unavailable,
                "the gateway cannot check this key's budget right now; retry shortly",
            );
            error.retry_after = Some(Duration::from_secs(1));
            record.fail(&error);
            return Err(error);
        }
        Err(unavailable) => {
            tracing::warn!(error = %unavailable.0, "rate-limit counters unreachable: this node's counters apply");
            (limiter.admit_local(&counters, &call_id), true)
        }
    };
    let headers = rate_headers(&counters, &kinds, &admission);
    if let Some(refusal) = &admission.refused {
        let kind = kinds
            .get(refusal.index)
            .copied()
            .unwrap_or(Kind::RequestsPerMinute);
        let limit = counters.get(refusal.index).map_or(0, |it| it.limit);
        let mut error = if kind == Kind::Spend {
            let mut error = Error::new(
                ErrorKind::InsufficientQuota,
                format!(
                    "this api key has reached {}; it resets at the start of next month (UTC)",
                    kind.describe(limit)
                ),
            );
            error
                .headers_mut()
                .set(headers::SHOULD_RETRY, HeaderText::Static("false"));
            error
        } else if refusal.exceeds_limit {
            let mut error = Error::new(
                ErrorKind::RateLimited,
                format!(
                    "this request alone needs more than this api key's limit of {} (about {tokens} tokens with its maximum output); lower `max_tokens` or shorten the prompt",
                    kind.describe(limit)
                ),
            );
            error
                .headers_mut()
                .set(headers::SHOULD_RETRY, HeaderText::Static("false"));
            error
        } else {
            let mut error = Error::new(
                ErrorKind::RateLimited,
                format!(
                    "this api key's limit of {} is reached; retry later",
                    kind.describe(limit)
                ),
            );
            error.retry_after = Some(Duration::from_millis(refusal.retry_after_ms.max(1)));
            error
        };
        for (name, value) in headers.iter() {
            error.headers_mut().set(name, value.clone());
        }
        record.fail(&error);
        return Err(error);
    }
    let mut taken = Taken {
        limiter: limiter.clone(),
        local,
        reserved_tokens: tokens,
        tokens: SmallVec::new(),
        reserved_micros,
        spend: None,
        in_flight: None,
    };
    for ((counter, kind), state) in counters.iter().zip(&kinds).zip(&admission.counters) {
        match (kind, &state.bucket) {
            (Kind::TokensPerMinute | Kind::TokensPerDay, Some(bucket)) => {
                taken.tokens.push((counter.key.clone(), bucket.clone()));
            }
            (Kind::Spend, Some(bucket)) => {
                taken.spend = Some((counter.key.clone(), bucket.clone()))
            }
            (Kind::InFlight, _) => taken.in_flight = Some((counter.key.clone(), call_id.clone())),
            _ => {}
        }
    }
    record.admitted(taken);
    let _ = ctx.limits.set(headers);
    Ok(record)
}

/// The most the call can cost the caller: the dearest of the route's deployments at its
/// price, for the whole prompt and the most output; 0 when none is priced.
fn most_it_can_cost(ctx: &RequestCtx, route: &Route, demand: Demand) -> u64 {
    route
        .deployments
        .iter()
        .filter(|it| it.shadow.is_none())
        .filter_map(|deployment| {
            crate::pricing::rates(&ctx.principal, deployment, false, ctx.received_at).price
        })
        .map(|rates| micros_up(rates.ceiling(demand.prompt_tokens, demand.max_output)))
        .max()
        .unwrap_or(0)
}

/// OpenAI's `x-ratelimit-*` headers: for requests and for tokens, the counter with the least
/// left (per minute or per day).
fn rate_headers(counters: &[Counter], kinds: &[Kind], admission: &Admission) -> ResponseHeaders {
    let mut res = ResponseHeaders::default();
    let tightest = |wanted: &[Kind]| {
        counters
            .iter()
            .zip(kinds)
            .zip(&admission.counters)
            .filter(|((_, kind), _)| wanted.contains(kind))
            .min_by_key(|(_, state)| state.remaining)
            .map(|((counter, _), state)| (counter.limit, state.remaining, state.reset_ms))
    };
    let groups = [
        (
            [Kind::RequestsPerMinute, Kind::RequestsPerDay],
            [
                headers::LIMIT_REQUESTS,
                headers::REMAINING_REQUESTS,
                headers::RESET_REQUESTS,
            ],
        ),
        (
            [Kind::TokensPerMinute, Kind::TokensPerDay],
            [
                headers::LIMIT_TOKENS,
                headers::REMAINING_TOKENS,
                headers::RESET_TOKENS,
            ],
        ),
    ];
    for (wanted, [limit_name, remaining_name, reset_name]) in groups {
        if let Some((limit, remaining, reset_ms)) = tightest(&wanted) {
            res.set(limit_name, HeaderText::Number(limit));
            res.set(remaining_name, HeaderText::Number(remaining));
            res.set(
                reset_name,
                HeaderText::Shared(bytes::Bytes::from(reset_text(reset_ms))),
            );
        }
    }
    res
}

/// A wait as OpenAI writes it in `x-ratelimit-reset-*`: `20ms`, `1.5s`, `6m0s`, `1h2m3s`.
fn reset_text(ms: u64) -> String {
    if ms < 1_000 {
        return format!("{ms}ms");
    }
    let (hours, minutes) = (ms / 3_600_000, ms / 60_000 % 60);
    let seconds = ms % 60_000;
    let seconds = if seconds.is_multiple_of(1_000) {
        format!("{}s", seconds / 1_000)
    } else {
        let text = format!("{:.3}", seconds as f64 / 1_000.0);
        format!("{}s", text.trim_end_matches('0').trim_end_matches('.'))
    };
    match (hours, minutes) {
        (0, 0) => seconds,
        (0, m) => format!("{m}m{seconds}"),
        (h, m) => format!("{h}h{m}m{seconds}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn resets_are_written_as_openai_does() {
        assert_eq!(reset_text(20), "20ms");
        assert_eq!(reset_text(1_000), "1s");
        assert_eq!(reset_text(1_500), "1.5s");
        assert_eq!(reset_text(360_000), "6m0s");
        assert_eq!(reset_text(3_723_000), "1h2m3s");
    }

    #[test]
    fn a_month_ends_at_the_next_ones_midnight() {
        let (id, end) = this_month(datetime!(2026-12-06 10:00 UTC));
        assert_eq!(id, "2026-12");
        assert_eq!(end, 1_798_761_600_000, "2027-01-01T00:00:00Z");
        let (id, end) = this_month(datetime!(2026-02-28 23:59 UTC));
        assert_eq!(id, "2026-02");
        assert_eq!(end, 1_772_323_200_000, "2026-03-01T00:00:00Z");
    }

    #[test]
    fn spend_is_counted_in_micro_units_rounded_up() {
        assert_eq!(micros_up(Money::from_nanos(1)), 1);
        assert_eq!(micros_up(Money::from_nanos(1_000)), 1);
        assert_eq!(micros_up(Money::from_nanos(1_001)), 2);
        assert_eq!(micros_up(Money::ZERO), 0);
    }
}

//! The admit stage: every limit that applies to a call (the platform's for every tenant, the
//! partner's shared by its sub-tenants, the tenant's, the tenant's per model, the key's: see
//! [`plan`]) checked and taken in one step before the call reaches the cache or a provider,
//! and settled when it ends (`Taken`, held by the call's record). With Redis the step is one
//! round trip to counters every node shares; without, the node's own.
//!
//! Tokens are reserved before the call (the prompt's estimate plus the most it may answer)
//! and settled with what it used; spend likewise, at the dearest price among the route's
//! deployments. A call refused here is recorded (unbilled) and never reaches a provider.

mod built;
pub(crate) mod plan;

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use domain::limits::{BudgetPeriod, CountersDown};
use domain::pricing::Money;
use smallvec::SmallVec;
use store::limits::{Admission, Bucket, Pending};

use crate::call::{CallRecord, RequestCtx};
use crate::catalog::Route;
use crate::headers::{self, HeaderText, ResponseHeaders};
use crate::limits::Limiter;
use crate::{Error, ErrorKind, Gateway};
pub(crate) use built::BuiltPlans;
pub(crate) use plan::{Kind, Models, Owner, Plan, Reserve, Who};

/// The answer a call is reserved for when it sets no maximum of its own.
pub(crate) const DEFAULT_MAX_OUTPUT: u64 = 4_096;
/// Prompts up to this many bytes reserve one token per byte: no token is shorter than a byte,
/// so it is never less than the tokenizer's count, and against the answer reserved with it
/// the difference is small (settled on the real usage). Tokenizing even a short prompt costs
/// about 11 000 instructions, more than the rest of the limits stage together.
const SHORT_PROMPT_BYTES: usize = 1024;
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
    /// The prompt counted from `text` (a short one by its bytes, a longer one by the
    /// tokenizer, a very long one at four bytes a token), and the call's own maximum answer or
    /// the default.
    pub(crate) fn of(text: &str, max_output: Option<u64>) -> Self {
        if let Some(demand) = Demand::short(text.len(), max_output) {
            return demand;
        }
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

    /// The demand of a prompt of `len` bytes when it is short enough to count by its bytes
    /// (so a caller that knows the length need not assemble the text).
    pub(crate) fn short(len: usize, max_output: Option<u64>) -> Option<Self> {
        (len <= SHORT_PROMPT_BYTES).then(|| Demand {
            prompt_tokens: u64::try_from(len).unwrap_or(u64::MAX),
            max_output: max_output.unwrap_or(DEFAULT_MAX_OUTPUT),
        })
    }
}

/// What a call took from the counters, given back or corrected when it ends.
#[derive(Debug)]
pub(crate) struct Taken {
    limiter: Limiter,
    /// Admitted by this node's counters (the shared ones were down and the policy is open).
    local: bool,
    reserve: Reserve,
    /// Counters the call's tokens were taken from.
    tokens: SmallVec<[(Arc<str>, Bucket); 2]>,
    /// Counters its price was taken from, and whether at the wholesale price (a partner's).
    spend: SmallVec<[(Arc<str>, Bucket, bool); 1]>,
    in_flight: SmallVec<[Arc<str>; 1]>,
    call_id: String,
}

/// What a finished call used, to settle its reservations.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Used {
    pub tokens: u64,
    /// What the tenant is charged.
    pub price: Option<Money>,
    /// What the partner is charged for it (a sub-tenant's call); the price otherwise.
    pub wholesale: Option<Money>,
}

impl Taken {
    /// Corrects the reservations to what the call used and frees its in-flight slots. Queued,
    /// never waits: it rides on the next admission.
    pub(crate) fn settle(mut self, used: Used) {
        let delta = |used: u64, reserved: u64| {
            i64::try_from(used)
                .unwrap_or(i64::MAX)
                .saturating_sub(i64::try_from(reserved).unwrap_or(i64::MAX))
        };
        let mut items: SmallVec<[Pending; 4]> = SmallVec::new();
        let tokens_delta = delta(used.tokens, self.reserve.tokens);
        if tokens_delta != 0 {
            for (key, bucket) in self.tokens {
                items.push(Pending::Settle {
                    key,
                    bucket,
                    delta: tokens_delta,
                });
            }
        }
        for (key, bucket, wholesale) in self.spend {
            let (charged, reserved) = if wholesale {
                (used.wholesale.or(used.price), self.reserve.wholesale_micros)
            } else {
                (used.price, self.reserve.price_micros)
            };
            let spent = delta(charged.map_or(0, micros_up), reserved);
            if spent != 0 {
                items.push(Pending::Settle {
                    key,
                    bucket,
                    delta: spent,
                });
            }
        }
        let mut in_flight = self.in_flight.into_iter().peekable();
        while let Some(key) = in_flight.next() {
            let member = if in_flight.peek().is_some() {
                self.call_id.clone()
            } else {
                std::mem::take(&mut self.call_id)
            };
            items.push(Pending::Release { key, member });
        }
        if items.is_empty() {
            return;
        }
        if self.local {
            self.limiter.settle_local_all(items);
        } else {
            self.limiter.settle_all(items);
        }
    }
}

/// Money as whole micro-units, rounded up: a budget never undercounts.
pub(crate) fn micros_up(money: Money) -> u64 {
    u64::try_from(money.nanos().max(0))
        .unwrap_or(0)
        .div_ceil(1_000)
}

/// Takes what `record`'s call needs from every limit that applies to it; on success the
/// record holds what was taken (settled when it ends), and `ctx.limits` the `x-ratelimit-*`
/// headers the answer gets (`Gateway::chat` and its siblings add them). A call no limit
/// applies to costs two branches.
///
/// # Errors
/// 429 `rate_limited` (with `retry-after`) or `insufficient_quota` (`x-should-retry: false`)
/// when a limit refuses; 503 when the shared counters are unreachable and the tenant's policy
/// (or a hard budget) says fail closed. The refusal is recorded.
pub(crate) async fn admit(
    gw: &Gateway,
    ctx: &RequestCtx,
    route: &Route,
    record: CallRecord,
    demand: impl FnOnce() -> Demand,
) -> Result<CallRecord, Error> {
    let principal = &ctx.principal;
    if principal.limits.is_none() && !principal.key.scopes.limits.any() {
        return Ok(record);
    }
    // Boxed: the stage's state (its plan, what it took) is large, and every caller's own
    // state would otherwise make room for it, limits or not.
    let mut record = record;
    match Box::pin(admit_limited(gw, ctx, route, &mut record, demand)).await {
        Ok(()) => Ok(record),
        Err(error) => {
            record.fail(&error);
            Err(error)
        }
    }
}

/// [`admit`] for a call some limit applies to; a refusal is recorded by the caller.
async fn admit_limited(
    gw: &Gateway,
    ctx: &RequestCtx,
    route: &Route,
    record: &mut CallRecord,
    demand: impl FnOnce() -> Demand,
) -> Result<(), Error> {
    let principal = &ctx.principal;
    let who = Who {
        tenant: principal.tenant_id(),
        partner: principal.partner,
        key: Some(&principal.key),
        limits: principal.limits.as_deref(),
    };
    let mut plan = gw.plans.plan(
        who,
        principal.limits.as_ref(),
        &principal.key,
        &route.alias,
        ctx.received_at,
        plan::lease_for(route),
    );
    if plan.is_empty() {
        return Ok(());
    }
    let mut reserve = Reserve::default();
    if plan.needs_demand() {
        let demand = demand();
        reserve = most_it_can_cost(record, route, demand);
        reserve.tokens = demand.prompt_tokens.saturating_add(demand.max_output);
        plan.fill(reserve);
    }
    let limiter = &gw.limits;
    // The call's id names its in-flight slots and, with Redis, the batch it carries; a
    // node's own counters need it for in-flight slots only.
    let call_id = if limiter.is_shared() || plan.meanings.iter().any(|it| it.kind == Kind::InFlight)
    {
        record.id().to_string()
    } else {
        String::new()
    };
    let (admission, local) = match limiter.admit(&plan.counters, &call_id).await {
        Ok(admission) => (admission, false),
        Err(unavailable) => {
            let policy = principal
                .limits
                .as_deref()
                .map_or(CountersDown::Default, |it| it.counters_down());
            let closed = match policy {
                CountersDown::Closed => true,
                CountersDown::Default => plan.has_hard_budget(),
                CountersDown::Open => false,
            };
            if closed {
                tracing::warn!(error = %unavailable.0, "limit counters unreachable: the call is refused (the tenant's limits fail closed)");
                let mut error = Error::new(
                    ErrorKind::Unavailable,
                    "the gateway cannot check this tenant's limits right now; retry shortly",
                );
                error.retry_after = Some(Duration::from_secs(1));
                return Err(error);
            }
            tracing::warn!(error = %unavailable.0, "limit counters unreachable: this node's counters apply");
            (limiter.admit_local(&plan.counters, &call_id), true)
        }
    };
    let headers = rate_headers(&plan, &admission);
    if let Some(refusal) = &admission.refused {
        let mut error = refusal_error(&plan, refusal, reserve.tokens);
        for (name, value) in headers.iter() {
            error.headers_mut().set(name, value.clone());
        }
        return Err(error);
    }
    crate::alerts::crossed(gw, ctx, &plan, &admission);
    let mut taken = Taken {
        limiter: limiter.clone(),
        local,
        reserve,
        tokens: SmallVec::new(),
        spend: SmallVec::new(),
        in_flight: SmallVec::new(),
        call_id,
    };
    let counters = plan.counters.into_iter().zip(&plan.meanings);
    for ((counter, meaning), state) in counters.zip(admission.counters) {
        match (meaning.kind, state.bucket) {
            (Kind::InFlight, _) => taken.in_flight.push(counter.key),
            (Kind::Spend(_) | Kind::Credit, Some(bucket)) => {
                let wholesale = meaning.owner == Owner::Partner;
                taken.spend.push((counter.key, bucket, wholesale));
            }
            (Kind::TokensPerMinute | Kind::TokensPerDay | Kind::TokenBudget(_), Some(bucket)) => {
                taken.tokens.push((counter.key, bucket))
            }
            _ => {}
        }
    }
    record.admitted(taken);
    let _ = ctx.limits.set(headers);
    Ok(())
}

/// The error a refused call gets, naming the limit and whose it is.
fn refusal_error(plan: &Plan, refusal: &store::limits::Refusal, tokens: u64) -> Error {
    let Some(meaning) = plan.meanings.get(refusal.index) else {
        return Error::new(ErrorKind::RateLimited, "a limit is reached; retry later");
    };
    let limit = meaning.kind.describe(meaning.limit);
    let whose = meaning.whose();
    if meaning.kind == Kind::Credit {
        let mut error = Error::new(
            ErrorKind::InsufficientQuota,
            "the tenant's prepaid credit cannot cover this call: top up to continue",
        );
        error
            .headers_mut()
            .set(headers::SHOULD_RETRY, HeaderText::Static("false"));
        return error;
    }
    if let Some(period) = meaning.kind.period() {
        let resets = match period {
            BudgetPeriod::Day => "at midnight (UTC)",
            BudgetPeriod::Week => "on Monday (UTC)",
            BudgetPeriod::Month => "at the start of next month (UTC)",
            BudgetPeriod::Rolling30Days => "as its oldest day leaves the 30 days",
        };
        let mut error = Error::new(
            ErrorKind::InsufficientQuota,
            format!("{whose} of {limit} is reached; it frees up {resets}"),
        );
        error
            .headers_mut()
            .set(headers::SHOULD_RETRY, HeaderText::Static("false"));
        return error;
    }
    if refusal.exceeds_limit {
        let mut error = Error::new(
            ErrorKind::RateLimited,
            format!(
                "this request alone needs more than {whose} of {limit} (about {tokens} tokens with its maximum output); lower `max_tokens` or shorten the prompt"
            ),
        );
        error
            .headers_mut()
            .set(headers::SHOULD_RETRY, HeaderText::Static("false"));
        return error;
    }
    let mut error = Error::new(
        ErrorKind::RateLimited,
        format!("{whose} of {limit} is reached; retry later"),
    );
    error.retry_after = Some(Duration::from_millis(refusal.retry_after_ms.max(1)));
    error
}

/// The most the call can cost the tenant (and its partner): the dearest of the route's
/// deployments at its price, for the whole prompt and the most output; 0 when none is priced.
/// The rates come through the record, which keeps those of the first try for it.
fn most_it_can_cost(record: &mut CallRecord, route: &Route, demand: Demand) -> Reserve {
    let mut reserve = Reserve::default();
    for (index, _) in route
        .deployments
        .iter()
        .enumerate()
        .filter(|(_, it)| it.shadow.is_none())
    {
        let rates = record.rates_of(index);
        let most = |rates: domain::pricing::Rates| {
            micros_up(rates.ceiling(demand.prompt_tokens, demand.max_output))
        };
        if let Some(price) = rates.price {
            reserve.price_micros = reserve.price_micros.max(most(price));
        }
        if let Some(wholesale) = rates.wholesale.or(rates.price) {
            reserve.wholesale_micros = reserve.wholesale_micros.max(most(wholesale));
        }
    }
    reserve
}

/// OpenAI's `x-ratelimit-*` headers: for requests and for tokens, the counter with the least
/// left (per minute or per day, whoever's limit it is). Their values are written into one
/// buffer and shared from it: two allocations for the six, not one each.
fn rate_headers(plan: &Plan, admission: &Admission) -> ResponseHeaders {
    let tightest = |wanted: &[Kind]| {
        plan.counters
            .iter()
            .zip(&plan.meanings)
            .zip(&admission.counters)
            .filter(|((_, meaning), _)| wanted.contains(&meaning.kind))
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
    ]
    .map(|(wanted, names)| (tightest(&wanted), names));
    let count = groups.iter().filter(|(found, _)| found.is_some()).count();
    let mut res = ResponseHeaders::with_capacity(count * 3);
    // Room for the longest values: two numbers of 20 digits and a wait of 24 characters.
    let mut text = BytesMut::with_capacity(count * 64);
    for (found, [limit_name, remaining_name, reset_name]) in groups {
        let Some((limit, remaining, reset_ms)) = found else {
            continue;
        };
        // Six distinct names into a fresh set: no search.
        push_number(&mut text, limit);
        res.add_new(limit_name, HeaderText::Shared(text.split().freeze()));
        push_number(&mut text, remaining);
        res.add_new(remaining_name, HeaderText::Shared(text.split().freeze()));
        push_reset(&mut text, reset_ms);
        res.add_new(reset_name, HeaderText::Shared(text.split().freeze()));
    }
    res
}

/// Appends a wait as OpenAI writes it in `x-ratelimit-reset-*`: `20ms`, `1.5s`, `6m0s`,
/// `1h2m3s`.
fn push_reset(out: &mut BytesMut, ms: u64) {
    if ms < 1_000 {
        push_number(out, ms);
        out.extend_from_slice(b"ms");
        return;
    }
    let (hours, minutes) = (ms / 3_600_000, ms / 60_000 % 60);
    let (seconds, thousandths) = (ms % 60_000 / 1_000, ms % 1_000);
    if hours > 0 {
        push_number(out, hours);
        out.extend_from_slice(b"h");
    }
    if hours > 0 || minutes > 0 {
        push_number(out, minutes);
        out.extend_from_slice(b"m");
    }
    push_number(out, seconds);
    if thousandths > 0 {
        let digits = [
            b'.',
            b'0' + (thousandths / 100) as u8,
            b'0' + (thousandths / 10 % 10) as u8,
            b'0' + (thousandths % 10) as u8,
        ];
        let last = digits.iter().rposition(|it| *it != b'0').unwrap_or(0);
        out.extend_from_slice(&digits[..=last]);
    }
    out.extend_from_slice(b"s");
}

/// Appends `n` in decimal.
fn push_number(out: &mut BytesMut, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resets_are_written_as_openai_does() {
        for (ms, text) in [
            (0, "0ms"),
            (20, "20ms"),
            (999, "999ms"),
            (1_000, "1s"),
            (1_500, "1.5s"),
            (1_020, "1.02s"),
            (59_001, "59.001s"),
            (60_000, "1m0s"),
            (360_000, "6m0s"),
            (3_600_000, "1h0m0s"),
            (3_723_000, "1h2m3s"),
            (3_723_450, "1h2m3.45s"),
            (u64::MAX, "5124095576030h25m51.615s"),
        ] {
            let mut out = BytesMut::new();
            push_reset(&mut out, ms);
            assert_eq!(out, text.as_bytes(), "{ms}");
        }
    }

    #[test]
    fn spend_is_counted_in_micro_units_rounded_up() {
        assert_eq!(micros_up(Money::from_nanos(1)), 1);
        assert_eq!(micros_up(Money::from_nanos(1_000)), 1);
        assert_eq!(micros_up(Money::from_nanos(1_001)), 2);
        assert_eq!(micros_up(Money::ZERO), 0);
    }
}

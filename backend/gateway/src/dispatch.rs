//! The one dispatch stage every endpoint calls: try a route's deployments in the order its
//! strategy gives, each with the provider the caller's tenant uses for it (its own credential
//! or the platform's), fall over on failures a retry can help, and say in headers which
//! deployment answered after how many tries.
//!
//! A stream is dispatched the same way: a provider hands back a stream only after its first
//! event arrived (the commit point), so a failure before it is just a failed try, and nothing
//! has reached the client yet.

use std::future::Future;
use std::time::Instant;

use providers::{Call, Provider, ProviderError, ProviderErrorKind};

use crate::breaker::Admission;
use crate::call::{CallRecord, RequestCtx};
use crate::catalog::{Deployment, Route};
use crate::headers::{self, HeaderText, ResponseHeaders};
use crate::{Error, routing};

/// What the attempt loop tells about the tries it makes: a call's usage record, or nothing
/// for a request that is not billed (a token count).
pub(crate) trait Ledger {
    /// The route's deployment `index` is tried next, with the tenant's own credential or not.
    fn trying(&mut self, index: usize, own_credential: bool);
    /// The try in progress failed; another one follows.
    fn attempt_failed(&mut self, error: &Error, latency: std::time::Duration);
    /// The call failed for good.
    fn fail(self, error: &Error);
}

impl Ledger for CallRecord {
    fn trying(&mut self, index: usize, own_credential: bool) {
        CallRecord::trying(self, index, own_credential);
    }

    fn attempt_failed(&mut self, error: &Error, latency: std::time::Duration) {
        CallRecord::attempt_failed(self, error, latency);
    }

    fn fail(self, error: &Error) {
        CallRecord::fail(self, error);
    }
}

/// Nothing to record.
impl Ledger for () {
    fn trying(&mut self, _: usize, _: bool) {}

    fn attempt_failed(&mut self, _: &Error, _: std::time::Duration) {}

    fn fail(self, _: &Error) {}
}

/// A call's answer, from the deployment that gave it.
pub(crate) struct Dispatched<T> {
    pub answer: T,
    /// The answering deployment's name.
    pub deployment: std::sync::Arc<str>,
    pub headers: ResponseHeaders,
    /// When the answering try was sent, for the upstream's latency.
    pub asked: Instant,
}

/// Whether a failed try may go to another deployment: never when the caller's own request
/// was at fault (another deployment would refuse it too, and one peer's habit of repeating a
/// caller's 400 on the backup only doubles the bill).
pub(crate) fn falls_over(kind: ProviderErrorKind) -> bool {
    match kind {
        ProviderErrorKind::InvalidRequest
        | ProviderErrorKind::ContextLengthExceeded
        | ProviderErrorKind::Unsupported => false,
        // The deployment's fault, not the caller's: its key, its model name, its answer.
        ProviderErrorKind::Auth | ProviderErrorKind::NotFound | ProviderErrorKind::Decode => true,
        ProviderErrorKind::RateLimited
        | ProviderErrorKind::Overloaded
        | ProviderErrorKind::Upstream5xx
        | ProviderErrorKind::Timeout
        | ProviderErrorKind::Connect => true,
    }
}

/// Serves the call recorded by `record` on `route`: `serves` says which deployments can take
/// it at all (a provider without embeddings cannot), and `send` makes one try.
///
/// # Errors
/// The last try's error when every try failed or one failed in a way no other try can mend;
/// `unsupported` when no deployment serves the call. The usage record is written either way.
pub(crate) async fn dispatch<'a, T, Fut, L: Ledger>(
    ctx: &'a RequestCtx,
    route: &'a Route,
    mut record: L,
    serves: impl Fn(&Provider) -> bool,
    unsupported: impl FnOnce() -> Error,
    mut send: impl FnMut(&'a Provider, Call<'a>) -> Fut,
) -> Result<(Dispatched<T>, L), Error>
where
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let principal = &ctx.principal;
    let end_user = route.strategy.needs_end_user().then(|| {
        *ctx.end_user
            .get_or_init(|| routing::end_user_hash(None, principal.key.id))
    });
    let order = routing::order(route, end_user, |it| {
        serves(&it.provider) && principal.allows_region(it.region.as_deref())
    });
    if order.is_empty() {
        let error =
            if principal.restricted() && route.deployments.iter().any(|it| serves(&it.provider)) {
                outside_regions(route)
            } else {
                unsupported()
            };
        record.fail(&error);
        return Err(error);
    }
    let deadline = route.retry.total_timeout.map(|it| ctx.started + it);
    // Deployments whose breaker is open are passed over while another one can serve; when
    // none can, the call goes to them anyway.
    let started = Instant::now();
    let mut steer = order.len() > 1
        && order.iter().any(|&i| {
            route
                .deployments
                .get(i)
                .is_some_and(|it| !it.breaker.blocks(started))
        });
    let mut tries: u32 = 0;
    let mut position: usize = 0;
    let mut passed_over: usize = 0;
    let mut at_ceiling: usize = 0;
    loop {
        let slot = position % order.len();
        let round = u32::try_from(position / order.len()).unwrap_or(u32::MAX);
        position += 1;
        let Some((index, deployment)) = order
            .get(slot)
            .and_then(|&i| route.deployments.get(i).map(|it| (i, it)))
        else {
            let error = Error::internal("a route's order named a deployment it does not have");
            record.fail(&error);
            return Err(error);
        };
        // A deployment at its per-minute ceiling is passed over like one with an open breaker,
        // but is not tried when none is left: the call is refused instead.
        let full = deployment
            .ceiling
            .as_ref()
            .is_some_and(|it| it.is_full(Instant::now()));
        if full || (steer && deployment.breaker.admit(Instant::now()) == Admission::No) {
            if full {
                at_ceiling += 1;
            } else {
                passed_over += 1;
            }
            if passed_over + at_ceiling >= order.len() {
                if at_ceiling == 0 || (steer && passed_over > 0) {
                    // Every deployment left is open or full: the open ones are tried anyway.
                    steer = false;
                    passed_over = 0;
                    at_ceiling = 0;
                } else {
                    let error = out_of_capacity(route, &order, tries);
                    record.fail(&error);
                    return Err(error);
                }
            }
            continue;
        }
        passed_over = 0;
        at_ceiling = 0;
        if let Some(ceiling) = &deployment.ceiling {
            ceiling.sent(Instant::now());
        }
        tries += 1;
        let asked = Instant::now();
        let failure = match ctx.principal.provider_for(route, deployment) {
            Err(e) => {
                record.trying(index, false);
                Failure::Gateway(e)
            }
            Ok(provider) => {
                record.trying(index, !std::ptr::eq(provider, deployment.provider.as_ref()));
                let call = upstream_call(ctx, deployment, provider, deadline);
                match send(provider, call).await {
                    Ok(answer) => {
                        let now = Instant::now();
                        deployment.stats.answered_after(now - asked);
                        deployment.answered();
                        if let Some(state) = deployment.breaker.succeeded(now) {
                            deployment.breaker_changed(state);
                        }
                        let mut headers = ResponseHeaders::default();
                        headers.set(
                            headers::DEPLOYMENT,
                            HeaderText::Shared(deployment.name_header.clone()),
                        );
                        headers.set(headers::ATTEMPTS, HeaderText::Number(u64::from(tries)));
                        let dispatched = Dispatched {
                            answer,
                            deployment: deployment.name.clone(),
                            headers,
                            asked,
                        };
                        return Ok((dispatched, record));
                    }
                    Err(e) => Failure::Upstream(e),
                }
            }
        };
        let (error, again) = match failure {
            Failure::Gateway(e) => (e, false),
            Failure::Upstream(e) => {
                let again = e.kind.is_retryable();
                // Too long for this deployment is the prompt's doing, not the deployment's
                // fault: on to the next only where the route says so, and no breaker counts it.
                let too_long = e.kind == ProviderErrorKind::ContextLengthExceeded;
                let over = falls_over(e.kind) || (too_long && route.retry.on_context_window);
                let error = Error::from(e);
                if !over {
                    return Err(give_up(record, error, deployment, tries));
                }
                if !too_long {
                    deployment.failed_try();
                }
                if !too_long && let Some(state) = deployment.breaker.failed(Instant::now()) {
                    deployment.breaker_changed(state);
                }
                (error, again)
            }
        };
        record.attempt_failed(&error, asked.elapsed());
        let next_round = u32::try_from(position / order.len()).unwrap_or(u32::MAX);
        // After a pass over every deployment, only a failure that may pass (a rate limit, an
        // overload, a timeout) is worth trying again.
        if tries >= route.retry.max_attempts || (next_round > round && !again) {
            return Err(give_up(record, error, deployment, tries));
        }
        let wait = routing::backoff(route.retry.backoff, next_round, error.retry_after, |n| {
            fastrand::u64(0..n)
        });
        if !wait.is_zero() {
            let until = Instant::now() + wait;
            let limit = deadline.unwrap_or(ctx.started + deployment.provider.timeouts().total);
            if until >= limit {
                return Err(give_up(record, error, deployment, tries));
            }
            tokio::time::sleep_until(until.into()).await;
        }
    }
}

/// Why one try failed: the gateway could not even send it, or the upstream failed it.
enum Failure {
    Gateway(Error),
    Upstream(ProviderError),
}

/// The call's error after its last try: the usage record is written, and the headers say
/// how far it got.
fn give_up(record: impl Ledger, mut error: Error, last: &Deployment, tries: u32) -> Error {
    let set = error.headers_mut();
    set.set(
        headers::DEPLOYMENT,
        HeaderText::Shared(last.name_header.clone()),
    );
    set.set(headers::ATTEMPTS, HeaderText::Number(u64::from(tries)));
    record.fail(&error);
    error
}

/// The error of a call every deployment of which is at its ceiling on this node: a 429 that
/// says when the first of them has room again.
fn out_of_capacity(route: &Route, order: &routing::Order, tries: u32) -> Error {
    let now = Instant::now();
    let wait = order
        .iter()
        .filter_map(|&i| route.deployments.get(i)?.ceiling.as_ref())
        .map(|it| it.wait(now))
        .min()
        .unwrap_or(std::time::Duration::from_secs(1));
    let mut error = Error::new(
        crate::ErrorKind::RateLimited,
        format!(
            "every deployment of the model `{}` is at its requests or tokens per minute ceiling; retry after {} s",
            route.alias,
            wait.as_secs().max(1)
        ),
    );
    error.retry_after = Some(wait);
    error
        .headers_mut()
        .set(headers::ATTEMPTS, HeaderText::Number(u64::from(tries)));
    error
}

/// What `provider` needs to serve this request on `deployment`: the upstream's model name, the
/// deadline (the route's, or the provider's total timeout from the request's start, whichever
/// comes first), and the client's betas.
fn upstream_call<'a>(
    ctx: &'a RequestCtx,
    deployment: &'a Deployment,
    provider: &Provider,
    route_deadline: Option<Instant>,
) -> Call<'a> {
    let own = ctx.started + provider.timeouts().total;
    Call {
        upstream_model: &deployment.upstream_model,
        deadline: route_deadline.map_or(own, |it| it.min(own)),
        anthropic_beta: ctx.anthropic_beta.as_ref(),
    }
}

/// The error of a call whose model has deployments, none of them in a region the caller's
/// tenant or key allows: data residency is never traded for an answer.
fn outside_regions(route: &Route) -> Error {
    Error::new(
        crate::ErrorKind::RegionNotAllowed,
        format!(
            "no deployment of the model `{}` is in a region this tenant or api key allows",
            route.alias
        ),
    )
    .with_param("model")
}

/// The error of a call that cannot be served because its route has no deployment that
/// serves `what`.
pub(crate) fn unsupported(route: &Route, what: &str) -> Error {
    Error::new(
        crate::ErrorKind::UnsupportedEndpoint,
        format!("the model `{}` does not serve {what}", route.alias),
    )
    .with_param("model")
}

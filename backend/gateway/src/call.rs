//! One data-plane call's bookkeeping: the facts every stage adds, and the single place where a
//! finished call becomes a usage draft and metrics.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::llm::TokenCounts;
use domain::llm::messages::Betas;
use domain::pricing::{CallRates, Money};
use domain::{RequestId, UsageId, UsageStatus};
use journal::Ticket;
use time::OffsetDateTime;

use crate::Error;
use crate::access::Principal;
use crate::accounting::{Tickets, Tokens, UsageDraft, UsageSink};
use crate::cache::CacheDirective;
use crate::catalog::{Deployment, Route};
use crate::telemetry::Endpoint;

/// Per-request state carried across stages.
#[derive(Debug, Clone)]
pub struct RequestCtx {
    pub request_id: RequestId,
    pub started: Instant,
    pub received_at: OffsetDateTime,
    pub principal: Principal,
    /// Beta features a client of Anthropic's Messages API asked for (`anthropic-beta`);
    /// Anthropic upstreams get them after their configured ones, other upstreams ignore them.
    pub anthropic_beta: Option<Betas>,
    /// The request body's size: what a call that never finished is estimated from.
    pub body_bytes: usize,
    /// What the caller's `cache-control` asks of the response cache.
    pub cache: CacheDirective,
    /// The end user's hash (`routing::end_user_hash`), set once by the endpoint's handler
    /// through a shared reference, and only for a route whose strategy reads it (`split`):
    /// other calls neither look at `user` nor hash anything.
    pub end_user: std::sync::OnceLock<u64>,
    /// The `x-ratelimit-*` headers of a call under its key's limits, set by the admit stage;
    /// added to its answer, or to its error after it was admitted.
    pub limits: std::sync::OnceLock<crate::headers::ResponseHeaders>,
}

impl RequestCtx {
    pub fn new(request_id: RequestId, principal: Principal) -> Self {
        RequestCtx {
            request_id,
            started: Instant::now(),
            received_at: OffsetDateTime::now_utc(),
            principal,
            anthropic_beta: None,
            body_bytes: 0,
            cache: CacheDirective::Use,
            end_user: std::sync::OnceLock::new(),
            limits: std::sync::OnceLock::new(),
        }
    }

    /// Notes who the end user is when `route`'s strategy needs it: `user` is the request's own
    /// end-user id, if it has one; the API key stands in otherwise.
    pub(crate) fn identify(&self, route: &Route, user: Option<&str>) {
        if route.strategy.needs_end_user() {
            self.end_user
                .get_or_init(|| crate::routing::end_user_hash(user, self.principal.key.id));
        }
    }
}

/// One failed try of a call that was tried again: kept in its usage record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The deployment's name in its route.
    pub deployment: Arc<str>,
    /// What the client would have been answered had this been the last try.
    pub http_status: u16,
    /// The error's stable code: borrowed when the try fails, owned only when a later process
    /// reads it back from the journal (which may hold a code this build does not know).
    pub error_code: Cow<'static, str>,
    pub latency: Duration,
}

/// How a call ended.
#[derive(Debug)]
pub(crate) struct Finish {
    pub tokens: Tokens,
    pub status: UsageStatus,
    pub http_status: u16,
    pub error: Option<Error>,
    pub ttft: Option<Duration>,
}

/// A call that reached routing: it will produce exactly one usage record, even when it is
/// dropped unfinished (its client went away, or the server stopped it).
#[derive(Debug)]
pub(crate) struct CallRecord {
    sink: UsageSink,
    ctx: RequestCtx,
    route: Arc<Route>,
    /// The deployment being tried, or the one that answered.
    deployment: usize,
    /// Tries that failed before the last one; empty for a call answered at the first try.
    attempts: Vec<Attempt>,
    endpoint: Endpoint,
    stream: bool,
    id: UsageId,
    /// The provisional journal entry of a stream, settled with the final record.
    opened: Option<Ticket>,
    finished: bool,
    /// Answered from the response cache: recorded as a cache hit.
    from_cache: bool,
    /// A mirror to a shadow deployment: recorded with status `shadow`, whatever its outcome.
    shadow: bool,
    /// The try in progress (or the answering one) uses the tenant's own credential.
    own_credential: bool,
    /// What the admit stage took from the key's limits, settled when the call ends. Boxed,
    /// as the rates below: a record is moved from stage to stage, and a call under no limits
    /// should not copy room for them each time.
    taken: Option<Box<crate::admit::Taken>>,
    /// The rates last resolved, for the deployment and credential they were resolved for:
    /// a call's answer and its record ask for them once each.
    rates: Option<Box<(usize, bool, CallRates)>>,
}

/// Prompt tokens guessed from the body's size, for calls that ended before anything counted
/// them: about four bytes a token.
fn tokens_from_body(body_bytes: usize) -> u64 {
    u64::try_from(body_bytes / 4).unwrap_or(u64::MAX)
}

impl CallRecord {
    pub(crate) fn new(
        sink: UsageSink,
        ctx: &RequestCtx,
        route: &Arc<Route>,
        endpoint: Endpoint,
        stream: bool,
    ) -> Self {
        CallRecord {
            sink,
            ctx: ctx.clone(),
            route: route.clone(),
            deployment: route
                .primary()
                .and_then(|first| {
                    route
                        .deployments
                        .iter()
                        .position(|it| std::ptr::eq(it, first))
                })
                .unwrap_or_default(),
            attempts: Vec::new(),
            endpoint,
            stream,
            id: UsageId::new(),
            opened: None,
            finished: false,
            from_cache: false,
            shadow: false,
            own_credential: false,
            taken: None,
            rates: None,
        }
    }

    pub(crate) fn id(&self) -> UsageId {
        self.id
    }

    /// The admit stage took `taken` for this call: given back or corrected when it ends.
    pub(crate) fn admitted(&mut self, taken: crate::admit::Taken) {
        self.taken = Some(Box::new(taken));
    }

    pub(crate) fn started(&self) -> Instant {
        self.ctx.started
    }

    /// The signal that the process is stopping: streams end early when it fires.
    pub(crate) fn draining(&self) -> &tokio_util::sync::CancellationToken {
        &self.sink.lifecycle().draining
    }

    fn deployment(&self) -> Option<&Deployment> {
        self.route.deployments.get(self.deployment)
    }

    /// The call is answered from the response cache with what `deployment` once answered
    /// (the route's first deployment when it has none of that name any more).
    pub(crate) fn served_from_cache(&mut self, deployment: &str) {
        if let Some(index) = self
            .route
            .deployments
            .iter()
            .position(|it| &*it.name == deployment)
        {
            self.deployment = index;
        }
        self.from_cache = true;
    }

    /// The call is a mirror to a shadow deployment, not the caller's.
    pub(crate) fn mark_shadow(&mut self) {
        self.shadow = true;
    }

    /// The call is about to try the route's deployment `index`, with the tenant's own
    /// credential or the platform's.
    pub(crate) fn trying(&mut self, index: usize, own_credential: bool) {
        self.deployment = index;
        self.own_credential = own_credential;
    }

    /// The rates the call is charged at: those of the deployment trying or answering, from
    /// the price book in force when the call arrived.
    pub(crate) fn rates(&mut self) -> CallRates {
        self.rates_of(self.deployment)
    }

    /// The rates the call would be charged at were the route's deployment `index` to answer
    /// it (the admit stage reserves at the dearest), kept for the try that follows.
    pub(crate) fn rates_of(&mut self, index: usize) -> CallRates {
        let free = self.own_credential || self.from_cache;
        if let Some((kept, was_free, rates)) = self.rates.as_deref()
            && *kept == index
            && *was_free == free
        {
            return *rates;
        }
        let rates =
            self.route
                .deployments
                .get(index)
                .map_or_else(CallRates::default, |deployment| {
                    crate::pricing::rates(
                        &self.ctx.principal,
                        deployment,
                        free,
                        self.ctx.received_at,
                    )
                });
        if index == self.deployment || self.rates.is_none() {
            self.rates = Some(Box::new((index, free, rates)));
        }
        rates
    }

    /// What `counts` cost the caller; `None` when the model is unpriced for it.
    pub(crate) fn price_of(&mut self, counts: &TokenCounts) -> Option<Money> {
        self.rates().price.map(|it| it.charge(counts))
    }

    /// The try in progress failed with `error` after `latency`; another one follows.
    pub(crate) fn attempt_failed(&mut self, error: &Error, latency: Duration) {
        let Some(deployment) = self.deployment() else {
            return;
        };
        let code = error.code().as_str();
        let attempt = Attempt {
            deployment: deployment.name.clone(),
            http_status: error.http_status(),
            error_code: Cow::Borrowed(code),
            latency,
        };
        deployment
            .metrics
            .record_attempt_failed(self.endpoint, code);
        self.attempts.push(attempt);
    }

    pub(crate) fn upstream_answered(&self, after: Duration) {
        if let Some(deployment) = self.deployment() {
            deployment
                .metrics
                .record_upstream(self.endpoint, after.as_secs_f64());
        }
    }

    fn draft(&mut self, finish: Finish, latency: Duration) -> UsageDraft {
        let rates = self.rates();
        let (provider, upstream_model) = self.deployment().map_or_else(
            || (Arc::from(""), Arc::from("")),
            |it| (it.provider_name.clone(), it.upstream_model.clone()),
        );
        let variant = self.deployment().and_then(|it| it.variant.clone());
        UsageDraft {
            id: self.id,
            request_id: self.ctx.request_id,
            tenant_id: self.ctx.principal.tenant_id(),
            key_id: self.ctx.principal.key.id,
            endpoint: self.endpoint,
            model_alias: self.route.alias.clone(),
            provider,
            upstream_model,
            attempts: self.attempts.clone(),
            variant,
            stream: self.stream,
            tokens: finish.tokens,
            status: finish.status,
            http_status: finish.http_status,
            error_code: finish.error.map(|it| it.code().as_str().to_owned()),
            latency,
            ttft: finish.ttft,
            created_at: self.ctx.received_at,
            rates,
            tickets: Tickets::default(),
            journaled: false,
        }
    }

    /// What the call is billed as if it ends now, with nothing more known: the prompt guessed
    /// from the body, nothing delivered.
    fn unfinished(&self, status: UsageStatus, http_status: u16) -> Finish {
        Finish {
            tokens: Tokens::Estimate {
                prompt_tokens: Some(tokens_from_body(self.ctx.body_bytes)),
                prompt_text: String::new(),
                completion_text: String::new(),
                raw: None,
            },
            status,
            http_status,
            error: None,
            ttft: None,
        }
    }

    /// A stream was committed: its provisional line goes to the journal now, so a crash before
    /// it ends still leaves it billable.
    pub(crate) fn opened(&mut self) {
        let finish = self.unfinished(UsageStatus::ServerClosed, 200);
        let provisional = self.draft(finish, Duration::ZERO);
        self.opened = self.sink.open_stream(&provisional);
    }

    /// Records the outcome: metrics now, the usage record through the journal and the queue.
    pub(crate) fn finish(mut self, finish: Finish) {
        self.record(finish);
    }

    fn record(&mut self, finish: Finish) {
        self.finished = true;
        let latency = self.ctx.started.elapsed();
        let reported = match &finish.tokens {
            Tokens::Reported(report) => (report.counts.prompt, report.counts.completion),
            Tokens::None | Tokens::Estimate { .. } => (0, 0),
        };
        let outcome = match (&finish.error, finish.status) {
            (Some(e), _) => Some(e.code().as_str()),
            (None, UsageStatus::ClientClosed) => Some("client_closed"),
            (None, UsageStatus::ServerClosed) => Some("server_closed"),
            (None, _) => None,
        };
        if let Some(deployment) = self.deployment() {
            deployment.metrics.record(
                self.endpoint,
                outcome,
                latency.as_secs_f64(),
                finish.ttft.map(|it| it.as_secs_f64()),
                reported,
            );
        }
        // The tokens of a call count against its deployment's `tpm` when it ends: the upstream's
        // figures, or a cheap guess from bytes (four a token) where it reported none, since the
        // tokenizer's count is made later, off the request path.
        if !self.from_cache
            && let Some(ceiling) = self.deployment().and_then(|it| it.ceiling.as_ref())
        {
            let counts = self.counts_now(&finish.tokens);
            ceiling.used(
                Instant::now(),
                counts.prompt.saturating_add(counts.completion),
            );
        }
        let mut draft = self.draft(finish, latency);
        if draft.rates.price.is_none()
            && !matches!(draft.tokens, Tokens::None)
            && let Some(deployment) = self.deployment()
        {
            deployment.metrics.record_unpriced();
        }
        if let Some(taken) = self.taken.take() {
            let counts = self.counts_now(&draft.tokens);
            taken.settle(crate::admit::Used {
                tokens: counts.prompt.saturating_add(counts.completion),
                price: draft.rates.price.map(|it| it.charge(&counts)),
                wholesale: draft.rates.wholesale.map(|it| it.charge(&counts)),
            });
        }
        if self.from_cache && draft.status == UsageStatus::Ok {
            draft.status = UsageStatus::CacheHit;
        }
        if self.shadow {
            draft.status = UsageStatus::Shadow;
        }
        draft.tickets.opened = self.opened.take();
        self.sink.record(draft);
    }

    /// The tokens a finished call used as far as the request path knows them: the upstream's
    /// report, else four bytes a token (the tokenizer's count is made later, off the request
    /// path, for the record; the limits are settled now).
    fn counts_now(&self, tokens: &Tokens) -> TokenCounts {
        match tokens {
            Tokens::None => TokenCounts::default(),
            Tokens::Reported(report) => report.counts,
            Tokens::Estimate {
                prompt_tokens,
                completion_text,
                ..
            } => TokenCounts {
                prompt: prompt_tokens.unwrap_or_else(|| tokens_from_body(self.ctx.body_bytes)),
                completion: tokens_from_body(completion_text.len()),
                ..TokenCounts::default()
            },
        }
    }

    /// Records a call that failed before the upstream produced anything.
    pub(crate) fn fail(self, error: &Error) {
        self.finish(Finish {
            tokens: Tokens::None,
            status: UsageStatus::Error,
            http_status: error.http_status(),
            error: Some(error.clone()),
            ttft: None,
        });
    }
}

impl Drop for CallRecord {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // Dropped before it ended: the client went away while the upstream worked, or the
        // server stopped the call while shutting down.
        let finish = if self.draining().is_cancelled() {
            self.unfinished(UsageStatus::ServerClosed, 503)
        } else {
            self.unfinished(UsageStatus::ClientClosed, 499)
        };
        self.record(finish);
    }
}

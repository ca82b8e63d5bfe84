//! One data-plane call's bookkeeping: the facts every stage adds, and the single place where a
//! finished call becomes a usage draft and metrics.

use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::llm::messages::Betas;
use domain::{RequestId, UsageStatus};
use providers::{Call, Provider};
use time::OffsetDateTime;

use crate::Error;
use crate::access::Principal;
use crate::accounting::{Tokens, UsageDraft, UsageSink};
use crate::catalog::Route;
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
}

impl RequestCtx {
    pub fn new(request_id: RequestId, principal: Principal) -> Self {
        RequestCtx {
            request_id,
            started: Instant::now(),
            received_at: OffsetDateTime::now_utc(),
            principal,
            anthropic_beta: None,
        }
    }

    /// What `provider` needs to serve this request on `route`: the upstream's model name, the
    /// deadline its total timeout sets from the request's start, and the client's betas.
    pub(crate) fn upstream_call<'a>(&'a self, route: &'a Route, provider: &Provider) -> Call<'a> {
        Call {
            upstream_model: &route.upstream_model,
            deadline: self.started + provider.timeouts().total,
            anthropic_beta: self.anthropic_beta.as_ref(),
        }
    }
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

/// A call that reached routing: it will produce exactly one usage record.
#[derive(Debug)]
pub(crate) struct CallRecord {
    sink: UsageSink,
    ctx: RequestCtx,
    route: Arc<Route>,
    endpoint: Endpoint,
    stream: bool,
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
            endpoint,
            stream,
        }
    }

    pub(crate) fn started(&self) -> Instant {
        self.ctx.started
    }

    pub(crate) fn upstream_answered(&self, after: Duration) {
        self.route
            .metrics
            .record_upstream(self.endpoint, after.as_secs_f64());
    }

    /// Records the outcome: metrics now, the usage record through the queue.
    pub(crate) fn finish(self, finish: Finish) {
        let latency = self.ctx.started.elapsed();
        let reported = match &finish.tokens {
            Tokens::Reported(report) => (report.counts.prompt, report.counts.completion),
            Tokens::None | Tokens::Estimate { .. } => (0, 0),
        };
        let outcome = match (&finish.error, finish.status) {
            (Some(e), _) => Some(e.code().as_str()),
            (None, UsageStatus::ClientClosed) => Some("client_closed"),
            (None, _) => None,
        };
        self.route.metrics.record(
            self.endpoint,
            outcome,
            latency.as_secs_f64(),
            finish.ttft.map(|it| it.as_secs_f64()),
            reported,
        );
        self.sink.record(UsageDraft {
            request_id: self.ctx.request_id,
            tenant_id: self.ctx.principal.tenant_id(),
            key_id: self.ctx.principal.key.id,
            endpoint: self.endpoint.as_str(),
            model_alias: self.route.alias.clone(),
            provider: self.route.provider_name.clone(),
            upstream_model: self.route.upstream_model.clone(),
            stream: self.stream,
            tokens: finish.tokens,
            status: finish.status,
            http_status: finish.http_status,
            error_code: finish.error.map(|it| it.code().as_str().to_owned()),
            latency,
            ttft: finish.ttft,
            created_at: self.ctx.received_at,
        });
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

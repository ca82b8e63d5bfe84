//! Shadow traffic: a deployment marked `shadow` never answers a caller; each chat call of its
//! route (chat completions, and Messages calls served through the chat pipeline) is mirrored
//! to it as a non-streamed call in the background, on the gateway's `TaskTracker`, and its
//! usage is recorded apart with status `shadow` (never counted as the tenant's traffic).
//!
//! The caller's call never waits for a mirror and never sees it: the mirror starts when the
//! caller's call is dispatched and owns copies of what it needs. Mirrors are bounded per
//! deployment ([`MAX_IN_FLIGHT`]); one that finds no room is dropped and counted
//! (`gateway_shadow_dropped_total`), so a slow shadow upstream cannot pile up tasks.

use std::sync::Arc;
use std::time::Instant;

use domain::llm::ChatRequest;
use tokio::sync::Semaphore;

use crate::call::{CallRecord, RequestCtx};
use crate::catalog::{Deployment, Route};
use crate::telemetry::Endpoint;
use crate::{Error, Gateway, chat};

/// Mirrors one shadow deployment may have in flight on this node.
pub const MAX_IN_FLIGHT: usize = 64;

/// What makes a deployment a shadow: its bound on mirrors in flight, and the count of those
/// it dropped.
#[derive(Debug)]
pub struct Shadow {
    slots: Arc<Semaphore>,
    dropped: metrics::Counter,
}

impl Shadow {
    pub fn new(alias: &str, deployment: &str) -> Self {
        Shadow {
            slots: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            dropped: metrics::counter!(
                "gateway_shadow_dropped_total",
                "model" => alias.to_owned(),
                "deployment" => deployment.to_owned(),
            ),
        }
    }
}

/// Starts a mirror of `req` to each shadow deployment of `route` that has room. Costs one
/// branch for a route without shadows.
pub(crate) fn mirror(
    gw: &Gateway,
    ctx: &RequestCtx,
    route: &Arc<Route>,
    endpoint: Endpoint,
    req: &ChatRequest,
) {
    if !route.deployments.iter().any(|it| it.shadow.is_some()) {
        return;
    }
    for (index, deployment) in route.deployments.iter().enumerate() {
        let Some(shadow) = &deployment.shadow else {
            continue;
        };
        // Data residency holds for copies too: none goes to a region the caller is kept out of.
        if !ctx.principal.allows_region(deployment.region.as_deref()) {
            continue;
        }
        let full = deployment
            .ceiling
            .as_ref()
            .is_some_and(|it| it.is_full(Instant::now()));
        let Some(permit) = (!full)
            .then(|| shadow.slots.clone().try_acquire_owned().ok())
            .flatten()
        else {
            shadow.dropped.increment(1);
            continue;
        };
        let mut record = CallRecord::new(gw.usage.clone(), ctx, route, endpoint, false);
        record.trying(index, false);
        record.mark_shadow();
        let mut req = req.clone();
        // A streamed caller's request is mirrored whole: the mirror reads one answer.
        req.stream = None;
        req.stream_options = None;
        let (ctx, route) = (ctx.clone(), route.clone());
        gw.tasks.spawn(async move {
            let _permit = permit;
            let draining = record.draining().clone();
            tokio::select! {
                () = send(&ctx, &route, index, record, &req) => {}
                // Shutdown does not wait for a shadow: its record says it was cut.
                () = draining.cancelled() => {}
            }
        });
    }
}

/// One mirrored call: sent with the provider the caller's tenant uses for the deployment,
/// recorded whatever happens, answer discarded.
async fn send(
    ctx: &RequestCtx,
    route: &Route,
    index: usize,
    mut record: CallRecord,
    req: &ChatRequest,
) {
    let Some(deployment) = route.deployments.get(index) else {
        return;
    };
    let provider = match ctx.principal.provider_for(route, deployment) {
        Ok(it) => it,
        Err(e) => {
            record.fail(&e);
            return;
        }
    };
    record.trying(index, !std::ptr::eq(provider, deployment.provider.as_ref()));
    if let Some(ceiling) = &deployment.ceiling {
        ceiling.sent(Instant::now());
    }
    let asked = Instant::now();
    let call = providers::Call {
        upstream_model: &deployment.upstream_model,
        deadline: ctx.started + provider.timeouts().total,
        anthropic_beta: ctx.anthropic_beta.as_ref(),
    };
    match provider.chat(req, call).await {
        Ok(reply) => {
            answered(deployment, asked);
            chat::recorded(record, asked, reply.usage, || {
                (chat::prompt_text(req), chat::completion_text(&reply.body))
            });
        }
        Err(e) => record.fail(&Error::from(e)),
    }
}

/// A shadow's answer feeds its latency average, which the management view shows.
fn answered(deployment: &Deployment, asked: Instant) {
    deployment.stats.answered_after(asked.elapsed());
}

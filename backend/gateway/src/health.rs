//! Active health checks: where a route asks for them, each of its deployments is sent a
//! one-token chat call every interval, in the background, and the outcome feeds its breaker
//! as a live call's would. A deployment that went down is passed over before callers pay
//! for finding out, and one that came back closes its breaker at the next probe instead of
//! waiting for a caller's probe after the cool-down.
//!
//! A probe costs what a one-token call costs on that deployment; probes are per node.

use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::llm::ChatRequest;
use providers::Call;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::catalog::{Catalog, Deployment, Route};
use crate::dispatch::falls_over;

/// How often a route's deployments are probed, and how long a probe may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthCheck {
    pub interval: Duration,
    pub timeout: Duration,
}

/// Starts one probe loop per deployment of every route that asks for health checks; they
/// stop when `cancel` fires.
pub(crate) fn start(catalog: &Arc<Catalog>, tracker: &TaskTracker, cancel: &CancellationToken) {
    for route in catalog.routes() {
        let Some(check) = route.health_check else {
            continue;
        };
        for index in 0..route.deployments.len() {
            if route
                .deployments
                .get(index)
                .is_some_and(|it| it.shadow.is_none())
            {
                tracker.spawn(probe_loop(
                    catalog.clone(),
                    route.alias.clone(),
                    index,
                    check,
                    cancel.clone(),
                ));
            }
        }
    }
}

async fn probe_loop(
    catalog: Arc<Catalog>,
    alias: Arc<str>,
    index: usize,
    check: HealthCheck,
    cancel: CancellationToken,
) {
    let Some(route) = catalog.get(&alias).cloned() else {
        return;
    };
    let Some(request) = probe_request(&route) else {
        return;
    };
    // Spread the first probes over the interval, so a fleet does not probe in step.
    let first = check
        .interval
        .mul_f64(fastrand::f64())
        .max(Duration::from_millis(10));
    let mut next = tokio::time::Instant::now() + first;
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep_until(next) => {}
        }
        next += check.interval;
        let Some(deployment) = route.deployments.get(index) else {
            return;
        };
        tokio::select! {
            () = cancel.cancelled() => return,
            () = probe(deployment, &request, check.timeout) => {}
        }
    }
}

/// A one-token question every provider answers.
fn probe_request(route: &Route) -> Option<ChatRequest> {
    serde_json::from_value(serde_json::json!({
        "model": route.alias.as_ref(),
        "messages": [{"role": "user", "content": "ping"}],
        "max_tokens": 1,
    }))
    .ok()
}

/// Sends one probe and tells the breaker. A failure that is the request's fault (it never
/// is, for this request, unless the upstream changed its rules) is logged and not counted.
async fn probe(deployment: &Deployment, request: &ChatRequest, timeout: Duration) {
    let call = Call {
        upstream_model: &deployment.upstream_model,
        deadline: Instant::now() + timeout,
        anthropic_beta: None,
    };
    let outcome = deployment.provider.chat(request, call).await;
    let now = Instant::now();
    let (word, changed) = match outcome {
        Ok(_) => ("ok", deployment.breaker.succeeded(now)),
        Err(e) if falls_over(e.kind) => {
            tracing::debug!(deployment = %deployment.name, error = %e.message, "health check failed");
            ("failed", deployment.breaker.failed(now))
        }
        Err(e) => {
            tracing::warn!(deployment = %deployment.name, error = %e.message, "health check refused by the upstream; not counted");
            ("refused", None)
        }
    };
    metrics::counter!(
        "gateway_health_checks_total",
        "model" => deployment.metric_model().to_owned(),
        "deployment" => deployment.name.to_string(),
        "outcome" => word,
    )
    .increment(1);
    if let Some(state) = changed {
        deployment.breaker_changed(state);
    }
}

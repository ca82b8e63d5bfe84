//! Budget alerts: an admission that carries a budget past one of its thresholds raises an
//! alert. Only the admission that crosses a threshold sees it crossed (the counters take
//! atomically), and the store keeps one alert per budget, period and threshold, so an alert is
//! raised once however many nodes see it (a release that lowers a counter and a take that
//! raises it again raise nothing new).
//!
//! Raising never waits on the request path: alerts go through a bounded queue to a writer
//! task; the store's outbox delivers them (signed webhooks, retried).

use std::sync::Arc;

use domain::limits::BudgetAlert;
use store::Store;
use store::limits::Admission;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::Gateway;
use crate::admit::{Kind, Owner, Plan};
use crate::call::RequestCtx;

/// Alerts waiting to be written, at most; beyond, new ones are dropped and logged (the next
/// crossing of the next threshold still raises).
const QUEUE: usize = 1_024;

/// The queue to the writer.
#[derive(Debug, Clone)]
pub struct Alerts {
    queue: mpsc::Sender<BudgetAlert>,
}

impl Alerts {
    /// Starts the writer on `tracker`; it drains the queue when `cancel` fires.
    pub fn start(store: Arc<dyn Store>, tracker: &TaskTracker, cancel: CancellationToken) -> Self {
        let (queue, mut waiting) = mpsc::channel::<BudgetAlert>(QUEUE);
        tracker.spawn(async move {
            loop {
                let alert = tokio::select! {
                    biased;
                    alert = waiting.recv() => alert,
                    () = cancel.cancelled() => {
                        waiting.close();
                        waiting.recv().await
                    }
                };
                let Some(alert) = alert else { return };
                match store.raise_alert(&alert).await {
                    Ok(true) => tracing::info!(
                        tenant = %alert.tenant_id,
                        alert = %alert.dedupe_key(),
                        "budget alert raised"
                    ),
                    Ok(false) => {}
                    Err(e) => tracing::error!(
                        error = %providers::error_chain(&e),
                        alert = %alert.dedupe_key(),
                        "a budget alert could not be stored"
                    ),
                }
            }
        });
        Alerts { queue }
    }

    fn raise(&self, alert: BudgetAlert) {
        if let Err(e) = self.queue.try_send(alert) {
            tracing::warn!(error = %e, "budget alert queue full: an alert was dropped");
        }
    }
}

/// Raises an alert for every threshold this admission carried a budget past.
pub(crate) fn crossed(gw: &Gateway, ctx: &RequestCtx, plan: &Plan, admission: &Admission) {
    let items = plan
        .counters
        .iter()
        .zip(&plan.meanings)
        .zip(&admission.counters);
    for ((counter, meaning), state) in items {
        let Some(period) = meaning.kind.period() else {
            continue;
        };
        if meaning.alert_at_percent.is_empty() || counter.take == 0 {
            continue;
        }
        let before = state.used.saturating_sub(counter.take);
        for &percent in &meaning.alert_at_percent {
            if !passes(before, state.used, meaning.limit, percent) {
                continue;
            }
            let (limit, used) = match meaning.kind {
                Kind::Spend(_) => (money(meaning.limit), money(state.used)),
                _ => (meaning.limit.to_string(), state.used.to_string()),
            };
            let period_id = match &counter.window {
                store::limits::Window::Period { id, .. } => id.to_string(),
                _ => ctx.received_at.date().to_string(),
            };
            gw.alerts.raise(BudgetAlert {
                id: domain::AlertId::new(),
                tenant_id: ctx.principal.tenant_id(),
                partner_id: ctx.principal.partner,
                owner: meaning.owner.as_str().to_owned(),
                key_id: (meaning.owner == Owner::Key).then_some(ctx.principal.key.id),
                budget: meaning.kind.as_str().to_owned(),
                period,
                period_id,
                threshold_percent: percent,
                limit,
                used,
                hard: meaning.hard,
                raised_at: ctx.received_at,
            });
        }
    }
}

/// Whether going from `before` to `after` passes `percent` of `limit` (reaching it counts).
fn passes(before: u64, after: u64, limit: u64, percent: u16) -> bool {
    let mark = (u128::from(limit) * u128::from(percent)).div_ceil(100);
    u128::from(before) < mark && u128::from(after) >= mark
}

fn money(micros: u64) -> String {
    domain::pricing::Money::from_micros(i64::try_from(micros).unwrap_or(i64::MAX))
        .unwrap_or(domain::pricing::Money::ZERO)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_threshold_is_passed_once_by_the_take_that_reaches_it() {
        assert!(passes(79, 80, 100, 80));
        assert!(passes(0, 1_000, 100, 80), "one take may pass several");
        assert!(!passes(80, 90, 100, 80), "already past");
        assert!(!passes(10, 79, 100, 80));
        // 50 % of 3 is 1.5: the mark is 2, so 1 has not reached it.
        assert!(!passes(0, 1, 3, 50));
        assert!(passes(1, 2, 3, 50));
        assert!(
            !passes(0, u64::MAX, u64::MAX, 1000),
            "1000 % of the most a counter holds is never reached"
        );
    }
}

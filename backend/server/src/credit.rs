//! Works every prepaid balance out again each hour (on every node; the store keeps the newest):
//! a node that lost its counters of what was spent since the last balance (a Redis restart)
//! forgets at most that hour.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

const EVERY: Duration = Duration::from_secs(3_600);

pub(crate) fn start(
    manager: Arc<management::Manager>,
    tracker: &TaskTracker,
    cancel: CancellationToken,
) {
    tracker.spawn(async move {
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(EVERY) => {}
            }
            if let Err(e) = manager.rebase_all_credit().await {
                tracing::warn!(error = %e, "could not work out prepaid balances: trying again in an hour");
            }
        }
    });
}

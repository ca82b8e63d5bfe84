//! Closes billing periods by itself when `[invoicing] monthly` is on: every node, every `check`,
//! once a tenant's last billing period (the calendar month, or its month from the sign-up day:
//! `anchor`) has been over for `after`, invoices the tenant for it (drafted and finalized by the
//! system; the store lets one node's draft win). What a pass cannot do
//! (a database outage) is left for the next one.

use std::sync::Arc;

use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::settings::InvoicingSettings;

/// Starts the loop; does nothing unless `settings.monthly`.
pub(crate) fn start(
    manager: Arc<management::Manager>,
    settings: &InvoicingSettings,
    tracker: &TaskTracker,
    cancel: CancellationToken,
) {
    if !settings.monthly {
        return;
    }
    let Ok(after) = time::Duration::try_from(settings.after) else {
        return;
    };
    let check = settings.check;
    tracker.spawn(async move {
        loop {
            match manager
                .close_due_periods(OffsetDateTime::now_utc(), after)
                .await
            {
                Ok(closed) if closed.finalized > 0 || closed.failed > 0 => tracing::info!(
                    finalized = closed.finalized,
                    failed = closed.failed,
                    invoiced_already = closed.invoiced,
                    nothing_to_bill = closed.empty,
                    "invoiced the last billing period"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not invoice the last billing period: trying again later"),
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(check) => {}
            }
        }
    });
}

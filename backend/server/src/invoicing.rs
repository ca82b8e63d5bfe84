//! Closes billing periods by itself when `[invoicing] monthly` is on: every node, every `check`,
//! once the last calendar month has been over for `after`, invoices each tenant for it (drafted
//! and finalized by the system; the store lets one node's draft win). What a pass cannot do
//! (a database outage) is left for the next one.

use std::sync::Arc;

use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::settings::InvoicingSettings;

/// The month to close at `now`, once it has been over for `after`.
fn due(
    now: OffsetDateTime,
    after: std::time::Duration,
) -> Option<(OffsetDateTime, OffsetDateTime)> {
    let (this_month, _) = domain::invoice::calendar_month(now);
    let after = time::Duration::try_from(after).ok()?;
    if now - this_month < after {
        return None;
    }
    let (last_month, _) = domain::invoice::calendar_month(this_month - time::Duration::days(1));
    Some((last_month, this_month))
}

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
    let (after, check) = (settings.after, settings.check);
    tracker.spawn(async move {
        loop {
            if let Some((from, to)) = due(OffsetDateTime::now_utc(), after) {
                match manager.close_period(from, to).await {
                    Ok(closed) if closed.finalized > 0 || closed.failed > 0 => tracing::info!(
                        finalized = closed.finalized,
                        failed = closed.failed,
                        invoiced_already = closed.invoiced,
                        nothing_to_bill = closed.empty,
                        "invoiced the last month"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "could not invoice the last month: trying again later"),
                }
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(check) => {}
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_last_month_is_due_once_it_has_been_over_long_enough() {
        let hour = std::time::Duration::from_secs(3_600);
        assert_eq!(due(datetime!(2027-01-01 0:30 UTC), hour), None);
        assert_eq!(
            due(datetime!(2027-01-01 1:00 UTC), hour),
            Some((
                datetime!(2026-12-01 0:00 UTC),
                datetime!(2027-01-01 0:00 UTC)
            ))
        );
        assert_eq!(
            due(datetime!(2027-03-20 12:00 UTC), hour),
            Some((
                datetime!(2027-02-01 0:00 UTC),
                datetime!(2027-03-01 0:00 UTC)
            ))
        );
    }
}

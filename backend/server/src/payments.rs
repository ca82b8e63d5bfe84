//! Sends finalized invoices to Stripe when `[stripe]` is configured: every node, every `sync`,
//! sends what is not sent yet (each step under its idempotency key, so nodes racing on one
//! invoice, or a pass cut short and retried, leave Stripe with one of everything).

use std::sync::Arc;

use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::settings::StripeSettings;

/// The provider and how invoices are collected, for the manager.
///
/// # Errors
/// A secret key that is not a header value, or a base that is not a URL.
pub(crate) fn payments(
    settings: &StripeSettings,
) -> anyhow::Result<management::payments::Payments> {
    let stripe = payments_stripe::Stripe::new(
        &settings.api_base,
        settings.secret_key.expose_secret(),
        settings.webhook_secret.expose_secret(),
    )
    .map_err(|e| anyhow::anyhow!("`stripe`: {e}"))?;
    Ok(management::payments::Payments {
        provider: Arc::new(stripe),
        config: management::payments::PaymentsConfig {
            since: settings.since,
            days_until_due: settings.days_until_due,
            grace: settings.grace,
        },
    })
}

/// Starts the loop; does nothing unless Stripe is configured.
pub(crate) fn start(
    manager: Arc<management::Manager>,
    settings: Option<&StripeSettings>,
    tracker: &TaskTracker,
    cancel: CancellationToken,
) {
    let Some(settings) = settings else {
        return;
    };
    let every = settings.sync;
    tracker.spawn(async move {
        loop {
            match manager.send_invoices().await {
                Ok(done) if done.sent > 0 || done.failed > 0 => tracing::info!(
                    sent = done.sent,
                    kept = done.kept,
                    failed = done.failed,
                    "sent invoices to Stripe"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not send invoices to Stripe: trying again later"),
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
        }
    });
}

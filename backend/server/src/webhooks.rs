//! Delivers budget alerts to their recipients' webhooks: every node polls the store's outbox
//! (`budget_alerts`) each second, claims what is due (one node per alert, by a lease), and
//! POSTs it signed the way Standard Webhooks sign (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64 HMAC-SHA256>`). A delivery without a 2xx answer within
//! 10 s is retried on a growing schedule, then given up and marked failed; nothing raised is
//! lost to a restart or a node's death (the lease runs out and another node takes it).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use domain::crypto::Keyring;
use domain::limits::{AttemptOutcome, BudgetAlert, StoredAlert};
use providers::http::{Client, Reach, Timeouts, Trust};
use store::Store;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How often the outbox is polled.
const POLL: Duration = Duration::from_secs(1);
/// How long a claimed delivery is this node's before another may take it.
const LEASE: time::Duration = time::Duration::minutes(1);
/// Alerts claimed per poll at most.
const BATCH: u32 = 32;
/// The most one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Each retry's wait, as a multiple of the first: 5 s, 30 s, 2 min, 15 min, 1 h, 4 h, 12 h by
/// default; after the last, the alert is marked failed.
const BACKOFF: [u32; 7] = [1, 6, 24, 180, 720, 2_880, 8_640];

/// What a delivery needs.
#[derive(Clone)]
pub(crate) struct Deliverer {
    store: Arc<dyn Store>,
    keyring: Option<Keyring>,
    client: Client,
    first_retry: Duration,
}

impl Deliverer {
    /// # Errors
    /// When the HTTP client cannot be built (the TLS backend).
    pub(crate) fn new(
        store: Arc<dyn Store>,
        keyring: Option<Keyring>,
        allow_private: bool,
        first_retry: Duration,
    ) -> anyhow::Result<Self> {
        let timeouts = Timeouts {
            connect: Duration::from_secs(5),
            first_byte: ATTEMPT_TIMEOUT,
            idle: ATTEMPT_TIMEOUT,
            total: ATTEMPT_TIMEOUT,
        };
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        let reach = if allow_private {
            Reach::Any
        } else {
            Reach::PublicOnly
        };
        let client = providers::http::client(&timeouts, headers, reach, &Trust::System)
            .map_err(|e| anyhow::anyhow!("webhook client: {e}"))?;
        Ok(Deliverer {
            store,
            keyring,
            client,
            first_retry,
        })
    }

    /// Polls and delivers until `cancel`.
    pub(crate) fn start(self, tracker: &TaskTracker, cancel: CancellationToken) {
        tracker.spawn(async move {
            loop {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep(POLL) => {}
                }
                if let Err(e) = self.deliver_due().await {
                    tracing::warn!(error = %providers::error_chain(&e), "budget alert delivery: the outbox could not be read");
                }
            }
        });
    }

    async fn deliver_due(&self) -> Result<(), store::Error> {
        let now = OffsetDateTime::now_utc();
        let due = self.store.claim_due_alerts(now, LEASE, BATCH).await?;
        let attempts = due.into_iter().map(|alert| async move {
            let id = alert.alert.id;
            let outcome = self.attempt(&alert).await;
            if let Err(e) = self.store.alert_attempted(id, &outcome).await {
                // The lease runs out and the alert is tried again.
                tracing::warn!(error = %providers::error_chain(&e), alert = %id, "a delivery's outcome could not be stored");
            }
        });
        futures_util::future::join_all(attempts).await;
        Ok(())
    }

    async fn attempt(&self, stored: &StoredAlert) -> AttemptOutcome {
        let alert = &stored.alert;
        let endpoint = match self.store.webhook(alert.recipient()).await {
            Ok(Some(endpoint)) => endpoint,
            Ok(None) => return AttemptOutcome::NoEndpoint,
            Err(e) => return self.retry(stored, format!("the webhook could not be read: {e}")),
        };
        let Some(key) = self
            .keyring
            .as_ref()
            .and_then(|keyring| keyring.open(&endpoint.secret).ok())
            .and_then(|secret| signing_key(&secret))
        else {
            return self.retry(stored, "the webhook's secret cannot be opened".into());
        };
        let now = OffsetDateTime::now_utc();
        let body = envelope(alert, now);
        let id = alert.id.to_string();
        let timestamp = now.unix_timestamp().to_string();
        let signature = sign(&key, &id, &timestamp, &body);
        let uri = match endpoint.url.parse::<http::Uri>() {
            Ok(uri) => uri,
            Err(e) => return AttemptOutcome::Failed(format!("the webhook URL is invalid: {e}")),
        };
        let mut request = self.client.post(&uri, body);
        let headers = request.headers_mut();
        for (name, value) in [
            ("webhook-id", id),
            ("webhook-timestamp", timestamp),
            ("webhook-signature", signature),
        ] {
            if let Ok(value) = http::HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        match self.client.send(request, ATTEMPT_TIMEOUT).await {
            Ok(_) => AttemptOutcome::Delivered(OffsetDateTime::now_utc()),
            Err(e) => self.retry(stored, e.to_string()),
        }
    }

    /// The next attempt's time, or failed when none is left.
    fn retry(&self, stored: &StoredAlert, error: String) -> AttemptOutcome {
        let done = usize::try_from(stored.attempts).unwrap_or(usize::MAX);
        match BACKOFF.get(done.saturating_sub(1)) {
            Some(&times) => AttemptOutcome::Retry {
                at: OffsetDateTime::now_utc() + self.first_retry * times,
                error,
            },
            None => AttemptOutcome::Failed(error),
        }
    }
}

/// The JSON body: the event's type and time, and the alert.
fn envelope(alert: &BudgetAlert, now: OffsetDateTime) -> Vec<u8> {
    let timestamp = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    serde_json::to_vec(&serde_json::json!({
        "type": "budget.threshold_reached",
        "timestamp": timestamp,
        "data": alert,
    }))
    .unwrap_or_default()
}

/// The HMAC key a `whsec_<base64>` secret stands for.
fn signing_key(secret: &[u8]) -> Option<ring::hmac::Key> {
    let text = std::str::from_utf8(secret).ok()?;
    let encoded = text.strip_prefix(management::SECRET_PREFIX)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    Some(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &bytes))
}

/// `v1,<base64 of HMAC-SHA256("{id}.{timestamp}.{body}")>`.
fn sign(key: &ring::hmac::Key, id: &str, timestamp: &str, body: &[u8]) -> String {
    let mut signed = Vec::with_capacity(id.len() + timestamp.len() + body.len() + 2);
    signed.extend_from_slice(id.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(timestamp.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(body);
    let tag = ring::hmac::sign(key, &signed);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_standard_webhooks_example() {
        // The example in the Standard Webhooks specification.
        let key = signing_key(b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_secret_without_its_prefix_signs_nothing() {
        assert!(signing_key(b"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_none());
        assert!(signing_key(b"whsec_not base64!").is_none());
    }
}

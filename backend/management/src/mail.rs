//! Outgoing mail behind one trait: the log sender by default (the message, link included, goes
//! to the log, which is what a laptop install wants), an in-memory sender for tests.

use std::sync::Mutex;

use async_trait::async_trait;
use domain::Email;

/// One outgoing message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub to: Email,
    pub subject: String,
    pub body: String,
}

/// Sends mail.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// # Errors
    /// When the message could not be handed over.
    async fn send(&self, message: Message) -> Result<(), Box<dyn std::error::Error + Send + Sync>>;
}

/// Writes every message to the log at INFO. The default: a new install has no mail server, and
/// its operator reads verification links from the log.
#[derive(Debug, Default)]
pub struct LogMailer;

#[async_trait]
impl Mailer for LogMailer {
    async fn send(&self, message: Message) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        tracing::info!(
            target: "mail",
            to = %message.to,
            subject = %message.subject,
            body = %message.body,
            "mail (log sender)"
        );
        Ok(())
    }
}

/// Keeps messages in memory, for tests to read links from.
#[derive(Debug, Default)]
pub struct MemoryMailer {
    sent: Mutex<Vec<Message>>,
}

impl MemoryMailer {
    /// Every message sent so far.
    pub fn sent(&self) -> Vec<Message> {
        self.sent.lock().map(|it| it.clone()).unwrap_or_default()
    }

    /// The first link (`http…` up to whitespace) in the last message to `to`.
    pub fn last_link_to(&self, to: &str) -> Option<String> {
        self.sent()
            .iter()
            .rev()
            .find(|it| it.to.as_str() == to)
            .and_then(|it| {
                it.body
                    .split_whitespace()
                    .find(|w| w.starts_with("http"))
                    .map(str::to_owned)
            })
    }
}

#[async_trait]
impl Mailer for MemoryMailer {
    async fn send(&self, message: Message) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if let Ok(mut sent) = self.sent.lock() {
            sent.push(message);
        }
        Ok(())
    }
}

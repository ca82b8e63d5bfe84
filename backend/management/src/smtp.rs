//! Mail through an SMTP relay (`lettre`): implicit TLS (`smtps://`), STARTTLS
//! (`smtp://…?tls=required`) or plain for a local relay (`smtp://host:25`), with credentials in
//! the URL, which therefore comes from the environment.

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::mail::{Mailer, Message};

/// Hands every message to one SMTP relay, reusing connections.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

/// Why the SMTP settings were refused.
#[derive(Debug, thiserror::Error)]
pub enum SmtpConfigError {
    #[error("invalid SMTP URL: {0}")]
    Url(String),
    #[error("invalid sender address `{0}`: expected `Name <address@example.com>` or an address")]
    From(String),
}

impl SmtpMailer {
    /// # Errors
    /// A URL lettre cannot read, or a sender that is not a mailbox.
    pub fn new(url: &str, from: &str) -> Result<Self, SmtpConfigError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| SmtpConfigError::Url(e.to_string()))?
            .timeout(Some(std::time::Duration::from_secs(20)))
            .build();
        let from = from
            .parse::<Mailbox>()
            .map_err(|_| SmtpConfigError::From(from.to_owned()))?;
        Ok(SmtpMailer { transport, from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, message: Message) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let to: Mailbox = message.to.as_str().parse()?;
        let email = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject)
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(message.body)?;
        self.transport.send(email).await?;
        Ok(())
    }
}

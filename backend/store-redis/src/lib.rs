//! Redis, optional at run time: shared state between gateway nodes. The change bus that tells
//! every node to reload its access snapshot at once after a key or tenant changes (the nodes'
//! revision polling is the fallback when Redis is absent or down), the response cache's shared
//! tier, and the rate-limit and budget counters (`limits`).

pub mod limits;

use std::time::Duration;

use futures_util::StreamExt;
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio_util::sync::CancellationToken;

pub use limits::RedisLimiter;

/// The default channel; deployments sharing one Redis use their own `prefix`.
pub const DEFAULT_PREFIX: &str = "sluice";

#[derive(Debug, thiserror::Error)]
#[error("redis: {0}")]
pub struct Error(#[from] redis::RedisError);

/// Publishes and receives change notices on `<prefix>:changes`.
#[derive(Clone)]
pub struct ChangeBus {
    client: redis::Client,
    publisher: ConnectionManager,
    channel: String,
}

impl std::fmt::Debug for ChangeBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: only the channel is shown.
        f.debug_struct("ChangeBus")
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

impl ChangeBus {
    /// Connects (and checks the connection with a `PING`).
    ///
    /// # Errors
    /// An invalid URL or an unreachable server.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, Error> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(2)
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)));
        let mut publisher = ConnectionManager::new_with_config(client.clone(), config).await?;
        let _: String = redis::cmd("PING").query_async(&mut publisher).await?;
        Ok(ChangeBus {
            client,
            publisher,
            channel: format!("{prefix}:changes"),
        })
    }

    /// Announces that keys or tenants changed.
    ///
    /// # Errors
    /// When Redis cannot be reached; nodes still see the change through polling.
    pub async fn publish(&self) -> Result<(), Error> {
        let mut conn = self.publisher.clone();
        let _: i64 = conn.publish(&self.channel, "changed").await?;
        Ok(())
    }

    /// # Errors
    /// When Redis does not answer.
    pub async fn ping(&self) -> Result<(), Error> {
        let mut conn = self.publisher.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }

    /// Calls `on_change` for every notice until `cancel`, reconnecting with backoff when the
    /// connection drops. `on_subscribed` is called each time the subscription is (re)made,
    /// since notices sent while disconnected are lost and the caller should re-check.
    pub async fn listen(
        &self,
        on_change: impl Fn() + Send + Sync,
        on_subscribed: impl Fn() + Send + Sync,
        cancel: CancellationToken,
    ) {
        let mut backoff = Duration::from_millis(200);
        loop {
            let session = async {
                let mut pubsub = self.client.get_async_pubsub().await?;
                pubsub.subscribe(&self.channel).await?;
                on_subscribed();
                backoff = Duration::from_millis(200);
                let mut messages = pubsub.on_message();
                while messages.next().await.is_some() {
                    on_change();
                }
                Ok::<(), redis::RedisError>(())
            };
            tokio::select! {
                () = cancel.cancelled() => return,
                result = session => {
                    match result {
                        Ok(()) => tracing::warn!("redis change subscription ended; reconnecting"),
                        Err(e) => tracing::warn!(error = %e, "redis change subscription failed; reconnecting"),
                    }
                }
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(10));
        }
    }
}

/// The response cache's entries shared between nodes: `<prefix>:cache:<key>`, each with its
/// own expiry. Calls time out quickly: a slow cache must not slow a call down.
#[derive(Clone)]
pub struct RedisCache {
    conn: ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCache")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisCache {
    /// Connects (and checks the connection with a `PING`).
    ///
    /// # Errors
    /// An invalid URL or an unreachable server.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, Error> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_millis(250)));
        let mut conn = ConnectionManager::new_with_config(client, config).await?;
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(RedisCache {
            conn,
            prefix: format!("{prefix}:cache:"),
        })
    }
}

fn unavailable(e: redis::RedisError) -> store::Error {
    store::Error::Unavailable(Box::new(e))
}

#[async_trait::async_trait]
impl store::SharedCache for RedisCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, store::Error> {
        let mut conn = self.conn.clone();
        conn.get(format!("{}{key}", self.prefix))
            .await
            .map_err(unavailable)
    }

    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), store::Error> {
        let mut conn = self.conn.clone();
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        conn.pset_ex::<_, _, ()>(format!("{}{key}", self.prefix), value, millis)
            .await
            .map_err(unavailable)
    }
}

//! The Postgres store: the production system of record, shared by every gateway node.

#[cfg(feature = "testing")]
pub mod testing;

use std::str::FromStr;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use store::Error;
use store_sql::map_err;

/// Migrations compiled into the binary.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// The channel every revision bump is announced on, for nodes that `LISTEN`.
pub const CHANGE_CHANNEL: &str = "sluice_changes";

#[derive(Debug, Clone)]
pub struct Config {
    /// `postgres://user:password@host:port/database`.
    pub url: String,
    pub max_connections: u32,
}

#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects a pool; does not migrate.
    ///
    /// # Errors
    /// When the URL is invalid or the server cannot be reached.
    pub async fn connect(config: &Config) -> Result<Self, Error> {
        let options =
            PgConnectOptions::from_str(&config.url).map_err(|e| Error::Other(Box::new(e)))?;
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections.max(1))
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(map_err)?;
        Ok(PgStore { pool })
    }

    /// Applies pending migrations; safe to run from several nodes at once (sqlx takes a lock).
    ///
    /// # Errors
    /// When a migration fails.
    pub async fn migrate(&self) -> Result<(), Error> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| Error::Other(Box::new(e)))?;
        <Self as store::UsageStore>::backfill_rollups(self)
            .await
            .map(|_| ())
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Calls `on_change` for every `NOTIFY` on [`CHANGE_CHANNEL`] until `cancel`, reconnecting
    /// after failures. Each (re)connection also calls `on_change`, since notices sent while
    /// disconnected are lost.
    pub async fn listen_changes(
        &self,
        on_change: impl Fn() + Send + Sync,
        cancel: tokio_util::sync::CancellationToken,
    ) {
        let mut backoff = Duration::from_millis(200);
        loop {
            let session = async {
                let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
                listener.listen(CHANGE_CHANNEL).await?;
                on_change();
                backoff = Duration::from_millis(200);
                loop {
                    listener.recv().await?;
                    on_change();
                }
            };
            tokio::select! {
                () = cancel.cancelled() => return,
                result = session => {
                    let result: Result<(), sqlx::Error> = result;
                    if let Err(e) = result {
                        tracing::warn!(error = %e, "postgres change listener failed; reconnecting");
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

store_sql::impl_sql_store!(
    PgStore,
    sqlx::Postgres,
    backend = "postgres",
    bump = "with bumped as (update store_revision set revision = revision + 1 where id = 1 \
            returning revision) select pg_notify('sluice_changes', revision::text) from bumped",
    snapshot = Some("set transaction isolation level repeatable read read only")
);

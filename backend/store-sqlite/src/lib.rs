//! The embedded SQLite store: the default, so `sluice serve` needs no other server.
//!
//! The queries are shared with Postgres (`store-sql`); this crate opens the file, runs the
//! migrations and supplies SQLite's dialect statements.

use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use store::Error;
use store_sql::map_err;

/// Migrations compiled into the binary, so a single file is all a deployment needs.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

/// How to open the database.
#[derive(Debug, Clone)]
pub struct Config {
    /// `sqlite://path/to/file.db` (created if missing) or `sqlite::memory:`.
    pub url: String,
    pub max_connections: u32,
}

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database; does not migrate.
    ///
    /// # Errors
    /// When the URL is invalid or the file cannot be opened.
    pub async fn connect(config: &Config) -> Result<Self, Error> {
        let options = SqliteConnectOptions::from_str(&config.url)
            .map_err(|e| Error::Other(Box::new(e)))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            // A checkpoint copies the WAL into the database inside the commit that fills it,
            // on the gateway's own cores: at SQLite's 1 000 pages it ran 3 ms at a stretch,
            // several times a second under load. A fifth of that keeps each one short.
            .pragma("wal_autocheckpoint", "200")
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(config.max_connections.max(1))
            .connect_with(options)
            .await
            .map_err(map_err)?;
        Ok(SqliteStore { pool })
    }

    /// Applies pending migrations, then folds the usage records from before rollups into
    /// them (once per database).
    ///
    /// # Errors
    /// When a migration fails or the database was migrated by a newer version.
    pub async fn migrate(&self) -> Result<(), Error> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| Error::Other(Box::new(e)))?;
        <Self as store::UsageStore>::backfill_rollups(self)
            .await
            .map(|_| ())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Runs a statement directly, for tests that break the database on purpose.
    ///
    /// # Errors
    /// Whatever the statement fails with.
    #[cfg(feature = "testing")]
    pub async fn execute_for_tests(&self, sql: &str) -> Result<(), Error> {
        sqlx::query(sql)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_err)
    }
}

store_sql::impl_sql_store!(
    SqliteStore,
    sqlx::Sqlite,
    backend = "sqlite",
    bump = "update store_revision set revision = revision + 1 where id = 1",
    snapshot = None
);

//! Opens the configured store (SQLite file or Postgres) and migrates it.

use std::sync::Arc;

use anyhow::Context;
use store::Store;

use crate::settings::{DatabaseSettings, redact_url};

/// An open store, with the concrete Postgres handle kept for `LISTEN`.
#[derive(Debug, Clone)]
pub struct OpenStore {
    pub store: Arc<dyn Store>,
    pub postgres: Option<store_pg::PgStore>,
}

/// Connects and applies migrations.
///
/// # Errors
/// When the database cannot be opened or migrated.
pub async fn open(settings: &DatabaseSettings) -> anyhow::Result<OpenStore> {
    let url = &settings.url;
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = store_pg::PgStore::connect(&store_pg::Config {
            url: url.clone(),
            max_connections: settings.max_connections,
        })
        .await
        .with_context(|| format!("cannot connect to Postgres at {}", redact_url(url)))?;
        store
            .migrate()
            .await
            .context("cannot migrate the Postgres database")?;
        return Ok(OpenStore {
            store: Arc::new(store.clone()),
            postgres: Some(store),
        });
    }
    if let Some(path) = url.strip_prefix("sqlite://")
        && let Some(dir) = std::path::Path::new(path.split('?').next().unwrap_or(path)).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    }
    let store = store_sqlite::SqliteStore::connect(&store_sqlite::Config {
        url: url.clone(),
        max_connections: settings.max_connections,
    })
    .await
    .with_context(|| format!("cannot open the SQLite database {url}"))?;
    store
        .migrate()
        .await
        .context("cannot migrate the SQLite database")?;
    Ok(OpenStore {
        store: Arc::new(store),
        postgres: None,
    })
}

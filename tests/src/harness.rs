//! `TestApp`: the real gateway (settings, store, providers, HTTP server) on `127.0.0.1:0`,
//! with a fresh database (a SQLite file, or a Postgres database when asked), a tenant and a
//! key, and typed helpers so tests call operations rather than raw URLs.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use domain::{ApiKey, TenantId, UsageRecord};
use gateway::Gateway;
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::Value;
use server::settings::Settings;
use store::Store;

use crate::sse::Transcript;

/// The process-wide metrics recorder (there can be only one).
fn metrics() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            if std::env::var("TEST_LOG").is_ok() {
                let _ = tracing_subscriber::fmt()
                    .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
                    .with_test_writer()
                    .try_init();
            }
            server::init_tls();
            server::telemetry::init_metrics().expect("metrics recorder installs once")
        })
        .clone()
}

/// Builds a `TestApp`.
#[derive(Debug, Default)]
pub struct Builder {
    config: String,
    postgres: bool,
    env: HashMap<String, String>,
    real_mailer: bool,
}

impl Builder {
    /// The TOML configuration (providers and models).
    pub fn config(mut self, toml: impl Into<String>) -> Self {
        self.config = toml.into();
        self
    }

    /// Runs on a fresh Postgres database (skips loudly when none is reachable outside CI).
    pub fn postgres(mut self) -> Self {
        self.postgres = true;
        self
    }

    /// An environment variable as the gateway sees it (provider secrets, `SLUICE_*` overrides).
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Sends mail as configured (the log, or `SLUICE_SMTP_URL`) instead of into `mailer`.
    pub fn real_mailer(mut self) -> Self {
        self.real_mailer = true;
        self
    }

    /// Starts the gateway; `None` when the test must be skipped (no Postgres locally).
    pub async fn try_spawn(self) -> Option<TestApp> {
        let data_dir = std::env::temp_dir().join(format!("sluice-it-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&data_dir).unwrap();
        let database_url = if self.postgres {
            store_pg::testing::fresh_database_url().await?
        } else {
            format!("sqlite://{}", data_dir.join("sluice.db").display())
        };
        Some(
            TestApp::start(
                self.config,
                self.env,
                database_url,
                data_dir,
                None,
                self.real_mailer,
            )
            .await,
        )
    }

    /// Starts the gateway on SQLite.
    ///
    /// # Panics
    /// When asked for Postgres: use `try_spawn` for that.
    pub async fn spawn(self) -> TestApp {
        assert!(!self.postgres, "use try_spawn with postgres()");
        self.try_spawn().await.expect("sqlite needs no server")
    }
}

/// The tenant and key a test app calls with.
struct Identity {
    tenant: TenantId,
    key: String,
    key_id: domain::ApiKeyId,
}

/// A running gateway with a tenant and a key that may use every model.
pub struct TestApp {
    pub url: String,
    pub key: String,
    pub key_id: domain::ApiKeyId,
    pub tenant: TenantId,
    pub store: Arc<dyn Store>,
    pub gateway: Arc<Gateway>,
    pub manager: Arc<management::Manager>,
    pub data_dir: PathBuf,
    pub database_url: String,
    /// Every mail the gateway sent.
    pub mailer: Arc<management::MemoryMailer>,
    /// The environment this node was started with.
    env: HashMap<String, String>,
    handle: actix_web::dev::ServerHandle,
    client: reqwest::Client,
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

impl TestApp {
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Another gateway process on the same database, tenant and key (a second node).
    pub async fn another_node(&self, config: impl Into<String>) -> TestApp {
        self.another_node_with(config, &[]).await
    }

    /// As [`TestApp::another_node`], with this node's environment plus `env` (which wins). The
    /// new node shares this one's master key unless `env` says otherwise.
    pub async fn another_node_with(
        &self,
        config: impl Into<String>,
        extra: &[(&str, &str)],
    ) -> TestApp {
        let mut env = self.env.clone();
        env.remove("SLUICE_DATA_DIR");
        if !env.contains_key("SLUICE_MASTER_KEY") {
            env.entry("SLUICE_MASTER_KEY_FILE".into())
                .or_insert_with(|| self.data_dir.join("master.key").display().to_string());
        }
        for (name, value) in extra {
            env.insert((*name).to_owned(), (*value).to_owned());
        }
        let data_dir = std::env::temp_dir().join(format!("sluice-it-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&data_dir).unwrap();
        let identity = Identity {
            tenant: self.tenant,
            key: self.key.clone(),
            key_id: self.key_id,
        };
        TestApp::start(
            config.into(),
            env,
            self.database_url.clone(),
            data_dir,
            Some(identity),
            false,
        )
        .await
    }

    async fn start(
        config: String,
        env: HashMap<String, String>,
        database_url: String,
        data_dir: PathBuf,
        identity: Option<Identity>,
        real_mailer: bool,
    ) -> Self {
        let metrics = metrics();
        let mut env = env;
        env.entry("SLUICE_DATABASE_URL".into())
            .or_insert(database_url.clone());
        env.entry("SLUICE_DATA_DIR".into())
            .or_insert(data_dir.display().to_string());
        env.entry("SLUICE_WORKERS".into())
            .or_insert_with(|| "1".into());
        env.entry("SLUICE_BOOTSTRAP".into())
            .or_insert_with(|| "false".into());
        let kept = env.clone();
        let lookup = move |name: &str| env.get(name).cloned();
        let settings = Settings::parse("test.toml", &config, false, &lookup)
            .unwrap_or_else(|e| panic!("test configuration: {e}"));
        let store = server::stores::open(&settings.database)
            .await
            .unwrap()
            .store;
        let identity = match identity {
            Some(identity) => identity,
            None => {
                let tenant = gateway::admin::create_tenant(store.as_ref(), "acme")
                    .await
                    .unwrap();
                let (key, secret) = gateway::admin::create_key(
                    store.as_ref(),
                    tenant.id,
                    &settings.key_prefix,
                    gateway::admin::NewKey::default(),
                )
                .await
                .unwrap();
                Identity {
                    tenant: tenant.id,
                    key: secret.expose().to_owned(),
                    key_id: key.id,
                }
            }
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let mailer = Arc::new(management::MemoryMailer::default());
        let running = if real_mailer {
            server::serve::start(settings, metrics, listener).await
        } else {
            server::serve::start_with_mailer(settings, metrics, listener, mailer.clone()).await
        }
        .unwrap();
        let handle = running.handle();
        let gateway = running.gateway.clone();
        let manager = running.manager.clone();
        tokio::spawn(running.wait());
        TestApp {
            url,
            key: identity.key,
            key_id: identity.key_id,
            tenant: identity.tenant,
            store,
            gateway,
            manager,
            data_dir,
            database_url,
            mailer,
            env: kept,
            handle,
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
        }
    }

    /// Stops the server gracefully and waits for it (usage is flushed).
    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// A POST with this app's key and a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.post_as(&self.key, path, body).await
    }

    pub async fn post_as(&self, key: &str, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.url))
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.get_as(&self.key, path).await
    }

    pub async fn get_as(&self, key: &str, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.url))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
    }

    /// `POST /v1/chat/completions`: the status and the JSON body.
    pub async fn chat(&self, body: &Value) -> (u16, Value) {
        json_of(self.post("/v1/chat/completions", body).await).await
    }

    /// A streamed `POST` to `path`: the status and the whole SSE transcript.
    pub async fn stream_at(&self, path: &str, body: &Value) -> (u16, Transcript) {
        let res = self.post(path, body).await;
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (status, Transcript::parse(&text))
    }

    pub async fn chat_stream(&self, body: &Value) -> (u16, Transcript) {
        self.stream_at("/v1/chat/completions", body).await
    }

    /// Creates another key for this app's tenant.
    pub async fn create_key(&self, new: gateway::admin::NewKey) -> (ApiKey, String) {
        let (key, secret) =
            gateway::admin::create_key(self.store.as_ref(), self.tenant, "sk-sluice", new)
                .await
                .unwrap();
        (key, secret.expose().to_owned())
    }

    /// Waits (up to 10 s) until the tenant has at least `n` usage records; newest first.
    pub async fn usage(&self, n: usize) -> Vec<UsageRecord> {
        let mut records = Vec::new();
        for _ in 0..200 {
            records = self.store.list_usage(self.tenant, 1000).await.unwrap();
            if records.len() >= n {
                return records;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "expected {n} usage records, found {}: {records:?}",
            records.len()
        );
    }
}

/// The status and JSON body of a response (`Null` when the body is not JSON).
pub async fn json_of(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Reads a streamed response until `text` has arrived, then drops it: a client hanging up
/// mid-stream. Returns what was received.
pub async fn hang_up_after(res: reqwest::Response, text: &str) -> String {
    use futures_util::StreamExt as _;
    let mut body = res.bytes_stream();
    let mut received = String::new();
    while !received.contains(text) {
        received.push_str(&String::from_utf8_lossy(
            &body.next().await.unwrap().unwrap(),
        ));
    }
    received
}

/// Polls `check` every 20 ms for up to `within`; true once it held.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

//! Logs and metrics set-up: JSON (or pretty) logs on stderr, never with secrets or prompts,
//! and the Prometheus recorder behind `/metrics`.

use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::settings::{LogFormat, LogSettings};

/// Installs the global log subscriber. `RUST_LOG` overrides the configured level.
pub fn init_logs(settings: &LogSettings) {
    let mut directives = std::env::var("RUST_LOG").unwrap_or_else(|_| {
        format!(
            "{},sqlx=warn,hyper=warn,reqwest=warn,h2=warn,rustls=warn",
            settings.level
        )
    });
    if !settings.access_log {
        directives.push_str(",access=off");
    }
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match settings.format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
    // A subscriber already installed (tests running several apps) is fine.
    drop(result);
}

/// Latency buckets in seconds, from sub-millisecond gateway overhead to long generations.
const SECONDS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 120.0, 300.0,
];

/// Installs the Prometheus recorder; must run before any metric handle is registered.
///
/// # Errors
/// When a recorder is already installed.
pub fn init_metrics() -> anyhow::Result<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)?
        .install_recorder()?;
    Ok(handle)
}

/// How often histogram storage is compacted.
pub const METRICS_UPKEEP: Duration = Duration::from_secs(5);

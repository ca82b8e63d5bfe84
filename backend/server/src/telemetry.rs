//! Logs and metrics set-up: JSON (or pretty) logs on stderr, never with secrets or prompts,
//! and the Prometheus recorder behind `/metrics`.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing::{Level, Metadata};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::writer::EitherWriter;

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
        .with_writer(BufferedStderr::start());
    let result = match settings.format {
        LogFormat::Json => builder.event_format(crate::json_log::JsonLines).try_init(),
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

/// How often buffered log lines are written out.
const LOG_FLUSH_EVERY: Duration = Duration::from_millis(100);
/// A buffer this full is written out at once.
const LOG_BUFFER_LIMIT: usize = 64 * 1024;

/// Stderr, with INFO and finer lines (the access log) buffered and written ten times a second:
/// one `write` per request would cost a system call on the hot path. WARN and ERROR lines go
/// out at once. At most 100 ms of INFO lines are lost if the process is killed.
#[derive(Clone, Debug)]
pub struct BufferedStderr {
    buffer: Arc<Mutex<Vec<u8>>>,
}

static LOG_BUFFER: OnceLock<BufferedStderr> = OnceLock::new();

impl BufferedStderr {
    /// The process-wide buffer, with its flusher thread started on first use.
    pub fn start() -> Self {
        LOG_BUFFER
            .get_or_init(|| {
                let res = BufferedStderr {
                    buffer: Arc::new(Mutex::new(Vec::with_capacity(LOG_BUFFER_LIMIT))),
                };
                let flusher = res.clone();
                let spawned =
                    std::thread::Builder::new()
                        .name("log-flush".into())
                        .spawn(move || {
                            loop {
                                std::thread::sleep(LOG_FLUSH_EVERY);
                                flusher.flush_now();
                            }
                        });
                if spawned.is_err() {
                    // Without a flusher every line is written at once (see `write`).
                    res.flush_now();
                }
                res
            })
            .clone()
    }

    /// Writes out everything buffered.
    pub fn flush_now(&self) {
        let pending = match self.buffer.lock() {
            Ok(mut buffer) if !buffer.is_empty() => std::mem::take(&mut *buffer),
            _ => return,
        };
        let _ = std::io::stderr().lock().write_all(&pending);
    }
}

/// Writes out buffered log lines (at shutdown).
pub fn flush_logs() {
    if let Some(buffer) = LOG_BUFFER.get() {
        buffer.flush_now();
    }
}

/// One buffered log line.
pub struct BufferedLine<'a>(&'a BufferedStderr);

impl Write for BufferedLine<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let full = match self.0.buffer.lock() {
            Ok(mut buffer) => {
                buffer.extend_from_slice(bytes);
                buffer.len() >= LOG_BUFFER_LIMIT
            }
            Err(_) => return std::io::stderr().write(bytes),
        };
        if full {
            self.0.flush_now();
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BufferedStderr {
    type Writer = EitherWriter<BufferedLine<'a>, std::io::Stderr>;

    fn make_writer(&'a self) -> Self::Writer {
        EitherWriter::A(BufferedLine(self))
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        if *meta.level() <= Level::WARN {
            // Keep order: anything buffered goes out before the warning.
            self.flush_now();
            EitherWriter::B(std::io::stderr())
        } else {
            EitherWriter::A(BufferedLine(self))
        }
    }
}

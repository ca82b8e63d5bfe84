//! The rate-limit and budget counters in Redis (`store::SharedLimiter`): one Lua script
//! (`limits.lua`), loaded once and called with `EVALSHA`, applies a node's pending
//! adjustments and then admits a call on all its counters, all or nothing, on Redis's own
//! clock. One call of the port is one round trip, which [`RedisLimiter::round_trips`] counts.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, Pipeline, RedisFuture, Value};
use store::limits::{
    Admission, Bucket, Counter, CounterState, Pending, Refusal, SharedLimiter, Window,
};

/// The script's source, for tests that call it with malformed arguments.
pub const SCRIPT: &str = include_str!("limits.lua");

/// How long one call may take before it counts as unavailable, unless configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(250);

/// The counters in Redis. Cheap to clone; clones share the connection and the count of round
/// trips.
///
/// A limiter made with [`RedisLimiter::lazy`] connects on its first call, and while Redis is
/// unreachable tries again at most once a second, answering `Unavailable` in between: a node
/// that started while Redis was down uses it as soon as it is back, instead of counting alone
/// (and letting budgets through) until restarted.
#[derive(Clone)]
pub struct RedisLimiter {
    conn: Arc<tokio::sync::OnceCell<Counted>>,
    connector: Arc<Connector>,
    script: Arc<redis::Script>,
    timeout: Duration,
    trips: Arc<AtomicU64>,
}

/// What makes the first connection.
struct Connector {
    client: redis::Client,
    config: ConnectionManagerConfig,
    /// When the last attempt failed: the next waits a second after it.
    failed_at: std::sync::Mutex<Option<std::time::Instant>>,
}

impl Connector {
    fn failed(&self) {
        *self
            .failed_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(std::time::Instant::now());
    }
}

/// How long after a failed connection attempt the next may be made.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

impl std::fmt::Debug for RedisLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: not shown.
        f.debug_struct("RedisLimiter")
            .field("timeout", &self.timeout)
            .field("connected", &self.conn.initialized())
            .field("round_trips", &self.round_trips())
            .finish_non_exhaustive()
    }
}

impl RedisLimiter {
    /// A limiter that connects on its first call; every call then times out after `timeout`.
    ///
    /// # Errors
    /// An invalid URL.
    pub fn lazy(url: &str, timeout: Duration) -> Result<Self, crate::Error> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(timeout));
        Ok(RedisLimiter {
            conn: Arc::new(tokio::sync::OnceCell::new()),
            connector: Arc::new(Connector {
                client,
                config,
                failed_at: std::sync::Mutex::new(None),
            }),
            script: Arc::new(redis::Script::new(SCRIPT)),
            timeout,
            trips: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Connects and loads the script now; every call then times out after `timeout`.
    ///
    /// # Errors
    /// An invalid URL, or a server that does not answer within a second.
    pub async fn connect(url: &str, timeout: Duration) -> Result<Self, crate::Error> {
        let limiter = Self::lazy(url, timeout)?;
        tokio::time::timeout(Duration::from_secs(1) + timeout, limiter.connection())
            .await
            .map_err(|_| {
                redis::RedisError::from((
                    redis::ErrorKind::Io,
                    "timed out connecting to Redis for the limits",
                ))
            })??;
        Ok(limiter)
    }

    /// The connection, made (with the script loaded) on first use.
    async fn connection(&self) -> Result<Counted, redis::RedisError> {
        if let Some(conn) = self.conn.get() {
            return Ok(conn.clone());
        }
        let connector = &self.connector;
        let recently_failed = connector
            .failed_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some_and(|at| at.elapsed() < RECONNECT_AFTER);
        if recently_failed {
            return Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "Redis was unreachable a moment ago",
            )));
        }
        let made = self
            .conn
            .get_or_try_init(|| async {
                let inner = ConnectionManager::new_with_config(
                    connector.client.clone(),
                    connector.config.clone(),
                )
                .await?;
                let mut conn = Counted {
                    inner,
                    trips: self.trips.clone(),
                };
                // Loaded now, so that the first call is one `EVALSHA` (a server that lost it,
                // after a restart, answers `NOSCRIPT` and `Script` loads it again).
                self.script.prepare_invoke().load_async(&mut conn).await?;
                Ok::<_, redis::RedisError>(conn)
            })
            .await;
        match made {
            Ok(conn) => Ok(conn.clone()),
            Err(e) => {
                connector.failed();
                Err(e)
            }
        }
    }

    /// Commands sent to Redis since the limiter was made, its own script load included.
    pub fn round_trips(&self) -> u64 {
        self.trips.load(Ordering::Relaxed)
    }

    async fn run(
        &self,
        pending: &[Pending],
        counters: &[Counter],
        call_id: &str,
    ) -> Result<Vec<i64>, store::Error> {
        let invocation = invocation(&self.script, pending, counters, call_id);
        let call = async {
            let mut conn = self.connection().await?;
            invocation.invoke_async::<Vec<i64>>(&mut conn).await
        };
        let reply = tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| {
                if !self.conn.initialized() {
                    // A first connection cut short by the timeout failed too: wait before the next.
                    self.connector.failed();
                }
                store::Error::Unavailable(Box::new(redis::RedisError::from((
                    redis::ErrorKind::Io,
                    "Redis did not answer in time",
                ))))
            })?;
        reply.map_err(|e| match e.kind() {
            // The script refused its arguments, or the keys are not in one slot: retrying
            // will not help.
            redis::ErrorKind::Server(
                redis::ServerErrorKind::ResponseError
                | redis::ServerErrorKind::CrossSlot
                | redis::ServerErrorKind::NoPerm,
            )
            | redis::ErrorKind::UnexpectedReturnType
            | redis::ErrorKind::Parse => store::Error::Other(Box::new(e)),
            _ => store::Error::Unavailable(Box::new(e)),
        })
    }
}

/// The script's keys and arguments (the layout `limits.lua` describes).
fn invocation<'a>(
    script: &'a redis::Script,
    pending: &[Pending],
    counters: &[Counter],
    call_id: &str,
) -> redis::ScriptInvocation<'a> {
    let mut res = script.prepare_invoke();
    res.arg("1")
        .arg(pending.len())
        .arg(counters.len())
        .arg(call_id);
    for item in pending {
        match item {
            Pending::Settle { key, bucket, delta } => match bucket {
                Bucket::Sliding { span_ms, index } => {
                    res.key(&**key).arg("s").arg(span_ms).arg(index).arg(delta);
                }
                Bucket::Period { id, ends_at_ms } => {
                    res.key(period_key(key, id))
                        .arg("p")
                        .arg(ends_at_ms)
                        .arg("")
                        .arg(delta);
                }
                Bucket::Rolling { days, day } => {
                    res.key(&**key).arg("r").arg(days).arg(day).arg(delta);
                }
            },
            Pending::Release { key, member } => {
                res.key(&**key).arg("f").arg(member).arg("").arg("");
            }
            Pending::Batch { key } => {
                res.key(&**key)
                    .arg("b")
                    .arg(store::limits::BATCH_MEMORY_MS)
                    .arg("")
                    .arg("");
            }
        }
    }
    for counter in counters {
        let key = &*counter.key;
        let (kind, param) = match &counter.window {
            Window::Sliding { span_ms } => ("s", *span_ms),
            Window::Period { id, ends_at_ms } => {
                res.key(period_key(key, id));
                ("p", *ends_at_ms)
            }
            Window::Rolling { days } => ("r", u64::from(*days)),
            Window::InFlight { lease_ms } => ("f", *lease_ms),
        };
        if !matches!(counter.window, Window::Period { .. }) {
            res.key(key);
        }
        res.arg(kind)
            .arg(counter.limit)
            .arg(counter.take)
            .arg(param);
    }
    res
}

/// A period's counter: one key per period id.
fn period_key(key: &str, id: &str) -> String {
    format!("{key}:{id}")
}

fn malformed(what: &str) -> store::Error {
    store::Error::Other(what.to_owned().into())
}

fn non_negative(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// Reads the script's reply into an [`Admission`].
fn admission(reply: &[i64], counters: &[Counter]) -> Result<Admission, store::Error> {
    let [admitted, now_ms, refused, retry_after, exceeds, states @ ..] = reply else {
        return Err(malformed("the limits script's reply is too short"));
    };
    if states.len() != counters.len() * 4 {
        return Err(malformed("the limits script answered for other counters"));
    }
    let now_ms = non_negative(*now_ms);
    let refused = if *admitted == 1 {
        None
    } else {
        Some(Refusal {
            index: usize::try_from(*refused - 1)
                .map_err(|_| malformed("the limits script refused no counter"))?,
            retry_after_ms: non_negative(*retry_after).max(1),
            exceeds_limit: *exceeds == 1,
        })
    };
    let counters = counters
        .iter()
        .zip(states.chunks_exact(4))
        .map(|(counter, state)| {
            let &[used, remaining, reset, bucket] = state else {
                return Err(malformed("the limits script's reply is misaligned"));
            };
            let bucket = if refused.is_some() {
                None
            } else {
                match &counter.window {
                    Window::Sliding { span_ms } => Some(Bucket::Sliding {
                        span_ms: *span_ms,
                        index: non_negative(bucket),
                    }),
                    Window::Rolling { days } => Some(Bucket::Rolling {
                        days: *days,
                        day: non_negative(bucket),
                    }),
                    window @ Window::Period { .. } => Bucket::at(window, now_ms),
                    Window::InFlight { .. } => None,
                }
            };
            Ok(CounterState {
                used: non_negative(used),
                remaining: non_negative(remaining),
                reset_ms: non_negative(reset),
                bucket,
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Admission {
        refused,
        counters,
        now_ms,
    })
}

#[async_trait::async_trait]
impl SharedLimiter for RedisLimiter {
    async fn admit(
        &self,
        pending: &[Pending],
        counters: &[Counter],
        call_id: &str,
    ) -> Result<Admission, store::Error> {
        let reply = self.run(pending, counters, call_id).await?;
        admission(&reply, counters)
    }

    async fn settle(&self, pending: &[Pending]) -> Result<(), store::Error> {
        if pending.is_empty() {
            return Ok(());
        }
        self.run(pending, &[], "").await.map(drop)
    }
}

/// A connection that counts the commands sent through it.
#[derive(Clone)]
struct Counted {
    inner: ConnectionManager,
    trips: Arc<AtomicU64>,
}

impl ConnectionLike for Counted {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        self.trips.fetch_add(1, Ordering::Relaxed);
        self.inner.req_packed_command(cmd)
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        // One pipeline is one round trip.
        self.trips.fetch_add(1, Ordering::Relaxed);
        self.inner.req_packed_commands(pipeline, offset, count)
    }

    fn get_db(&self) -> i64 {
        self.inner.get_db()
    }
}

//! The rate-limit counters against a real Redis (`TEST_REDIS_URL`, default
//! `redis://127.0.0.1:6379`): the limiter contract, three nodes at once, round trips, malformed
//! script input, expiries, and a Redis that stops answering. Skips loudly without a server,
//! except under `CI=true` where it fails.

#![expect(clippy::print_stderr, reason = "a skipped test must be visible")]
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]
#![expect(
    clippy::disallowed_methods,
    reason = "the test drives its own concurrent callers and proxy"
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use store::limits::contract::Harness;
use store::limits::{Bucket, Counter, Pending, SharedLimiter, Window};
use store_redis::RedisLimiter;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

mod common;

const TIMEOUT: Duration = Duration::from_millis(250);

fn url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

async fn limiter() -> Option<RedisLimiter> {
    common::connect_or_skip(|url| async move { RedisLimiter::connect(&url, TIMEOUT).await }).await
}

/// A hash tag of the test's own: keys of parallel tests never meet.
fn tag() -> String {
    format!("{{sluice-test-{}}}", uuid::Uuid::now_v7())
}

struct Redis {
    limiter: RedisLimiter,
    tag: String,
}

#[async_trait::async_trait]
impl Harness for Redis {
    fn limiter(&self) -> &dyn SharedLimiter {
        &self.limiter
    }

    fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.tag)
    }

    async fn advance(&self, ms: u64) {
        // Redis's clock cannot be moved: the time passes.
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

async fn redis() -> Option<Redis> {
    Some(Redis {
        limiter: limiter().await?,
        tag: tag(),
    })
}

mod contract {
    use super::redis;

    store::limiter_contract_tests!(redis);
}

async fn raw() -> redis::aio::MultiplexedConnection {
    redis::Client::open(url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

fn rpm(key: &str, limit: u64) -> Counter {
    Counter {
        key: key.into(),
        window: Window::Sliding { span_ms: 3_600_000 },
        limit,
        take: 1,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_admit_exactly_the_limit_between_them() {
    if limiter().await.is_none() {
        return;
    }
    // Three connections, each its own node; with a wider timeout than the default, since
    // 3000 calls at once on two cores may queue past 250 ms.
    let mut nodes = Vec::new();
    for _ in 0..3 {
        nodes.push(
            RedisLimiter::connect(&url(), Duration::from_secs(2))
                .await
                .unwrap(),
        );
    }
    let key = format!("{}:rpm", tag());
    let admitted = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for task in 0..30 {
        let node = nodes[task % 3].clone();
        let key = key.clone();
        let (admitted, refused) = (admitted.clone(), refused.clone());
        tasks.push(tokio::spawn(async move {
            for call in 0..100 {
                let counters = [rpm(&key, 1_000)];
                let res = node
                    .admit(&[], &counters, &format!("{task}-{call}"))
                    .await
                    .unwrap();
                if res.is_admitted() {
                    admitted.fetch_add(1, Ordering::Relaxed);
                } else {
                    refused.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(admitted.load(Ordering::Relaxed), 1_000, "exactly the limit");
    assert_eq!(refused.load(Ordering::Relaxed), 2_000);
    let check = Counter {
        take: 0,
        ..rpm(&key, 1_000)
    };
    let state = nodes[1].admit(&[], &[check], "check").await.unwrap();
    assert_eq!(state.counters[0].used, 1_000);
}

#[tokio::test]
async fn each_admission_carrying_settlements_is_one_round_trip() {
    let Some(limiter) = limiter().await else {
        return;
    };
    let key = format!("{}:tpm", tag());
    let calls = 50u64;
    let before = limiter.round_trips();
    let mut pending = Vec::new();
    for call in 0..calls {
        let counters = [Counter {
            take: 100,
            ..rpm(&key, 1_000_000)
        }];
        let res = limiter
            .admit(&pending, &counters, &format!("call-{call}"))
            .await
            .unwrap();
        assert!(res.is_admitted());
        // The previous call used 40 tokens fewer than it reserved.
        pending = vec![Pending::Settle {
            key: key.as_str().into(),
            bucket: res.counters[0].bucket.clone().unwrap(),
            delta: -40,
        }];
    }
    assert_eq!(
        limiter.round_trips() - before,
        calls,
        "one EVALSHA per call"
    );
    let check = Counter {
        take: 0,
        ..rpm(&key, 1_000_000)
    };
    let res = limiter.admit(&pending, &[check], "check").await.unwrap();
    assert_eq!(res.counters[0].used, calls * 60, "every settlement landed");
}

#[tokio::test]
async fn a_server_that_lost_the_script_gets_it_again() {
    let Some(limiter) = limiter().await else {
        return;
    };
    let mut conn = raw().await;
    let _: () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut conn)
        .await
        .unwrap();
    let key = format!("{}:rpm", tag());
    let res = limiter.admit(&[], &[rpm(&key, 5)], "c").await.unwrap();
    assert!(res.is_admitted());
    assert_eq!(res.counters[0].used, 1);
}

/// Calls the script with raw arguments, as a caller with a bug would.
async fn eval(keys: &[&str], args: &[&str]) -> redis::RedisResult<redis::Value> {
    let mut conn = raw().await;
    redis::cmd("EVAL")
        .arg(store_redis::limits::SCRIPT)
        .arg(keys.len())
        .arg(keys)
        .arg(args)
        .query_async(&mut conn)
        .await
}

#[tokio::test]
async fn malformed_script_input_is_an_error_and_writes_nothing() {
    if limiter().await.is_none() {
        return;
    }
    let tag = tag();
    let (settled, counted) = (format!("{tag}:settled"), format!("{tag}:counted"));
    let keys = [settled.as_str(), counted.as_str()];
    let good = [
        "1", "1", "1", "call", // Layout, one adjustment, one counter.
        "s", "3600000", "0", "5", // Adjustment (a bucket long gone: ignored).
        "s", "10", "1", "3600000", // Counter.
    ];
    eval(&keys, &good).await.unwrap();
    let bad_values = [
        (9, "ten"),
        (9, "1e3"),
        (9, "0x10"),
        (9, ""),
        (9, "-1"),
        (9, "1.5"),
        (9, " 5"),
        (10, "-1"),
        (11, "0"),
        (11, "1234567890123456"),
        (7, "--5"),
        (7, "5-"),
        (5, "3600000.0"),
        (4, "x"),
        (8, "q"),
        (0, "2"),
        (1, "2"),
        (2, "x"),
    ];
    for (at, value) in bad_values {
        let mut args = good;
        args[at] = value;
        let res = eval(&keys, &args).await;
        assert!(
            res.is_err(),
            "argument {at} = {value:?} must be refused: {res:?}"
        );
    }
    assert!(
        eval(&keys, &good[..11]).await.is_err(),
        "an argument missing"
    );
    assert!(eval(&keys[..1], &good).await.is_err(), "a key missing");
    let mut extra = good.to_vec();
    extra.push("1");
    assert!(eval(&keys, &extra).await.is_err(), "an argument too many");

    // The only admitted call above took 1: nothing else was written.
    let mut conn = raw().await;
    let counts: std::collections::HashMap<String, u64> = redis::cmd("HGETALL")
        .arg(&counted)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(counts.values().sum::<u64>(), 1);

    // The port refuses what the script cannot hold exactly rather than admitting it.
    let limiter = limiter().await.unwrap();
    let huge = Counter {
        limit: 1 << 60,
        ..rpm(&counted, 0)
    };
    assert!(matches!(
        limiter.admit(&[], &[huge], "c").await,
        Err(store::Error::Other(_))
    ));
}

#[tokio::test]
async fn every_key_the_counters_write_expires() {
    let Some(limiter) = limiter().await else {
        return;
    };
    let tag = tag();
    let now = limiter.admit(&[], &[], "").await.unwrap().now_ms;
    let windows = [
        Window::Sliding { span_ms: 60_000 },
        Window::Period {
            id: "2026-12".into(),
            ends_at_ms: now + 3_600_000,
        },
        Window::Rolling { days: 30 },
        Window::InFlight { lease_ms: 60_000 },
    ];
    for (i, window) in windows.into_iter().enumerate() {
        let key = format!("{tag}:w{i}");
        let counter = Counter {
            key: key.as_str().into(),
            window,
            limit: 100,
            take: 3,
        };
        let res = limiter.admit(&[], &[counter], "c").await.unwrap();
        if let Some(bucket) = res.counters[0].bucket.clone() {
            let settle = |delta| Pending::Settle {
                key: key.as_str().into(),
                bucket: bucket.clone(),
                delta,
            };
            limiter.settle(&[settle(5), settle(-100)]).await.unwrap();
        }
    }
    // Settlements into live buckets of counters that do not exist yet create them, with an
    // expiry.
    let index = now / 60_000;
    limiter
        .settle(&[
            Pending::Settle {
                key: format!("{tag}:new-sliding").into(),
                bucket: Bucket::Sliding {
                    span_ms: 60_000,
                    index,
                },
                delta: 7,
            },
            Pending::Settle {
                key: format!("{tag}:new-rolling").into(),
                bucket: Bucket::Rolling {
                    days: 7,
                    day: now / 86_400_000,
                },
                delta: 7,
            },
        ])
        .await
        .unwrap();

    let mut conn = raw().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{tag}*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(keys.len() >= 6, "{keys:?}");
    for key in keys {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(ttl > 0, "`{key}` has no expiry ({ttl})");
    }
}

/// A TCP proxy in front of Redis that can go silent: connections stay open and nothing
/// passes, which is what a Redis behind a dead network path looks like (every call hangs).
async fn silent_proxy(target: SocketAddr) -> (SocketAddr, watch::Sender<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (open, watching) = watch::channel(true);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(relay(client, target, watching.clone()));
        }
    });
    (addr, open)
}

async fn relay(mut client: TcpStream, target: SocketAddr, mut open: watch::Receiver<bool>) {
    let Ok(mut server) = TcpStream::connect(target).await else {
        return;
    };
    let (mut from_client, mut to_client) = client.split();
    let (mut from_server, mut to_server) = server.split();
    let (mut up, mut down) = ([0u8; 16 * 1024], [0u8; 16 * 1024]);
    while *open.borrow_and_update() {
        tokio::select! {
            read = from_client.read(&mut up) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => if to_server.write_all(&up[..n]).await.is_err() { return },
            },
            read = from_server.read(&mut down) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => if to_client.write_all(&down[..n]).await.is_err() { return },
            },
            changed = open.changed() => if changed.is_err() { return },
        }
    }
    // Silent, connections held, until the test ends.
    std::future::pending::<()>().await;
}

#[tokio::test]
async fn a_redis_that_stops_answering_is_unavailable_within_the_timeout() {
    if limiter().await.is_none() {
        return;
    }
    let target: SocketAddr = {
        let url = url();
        let authority = url.trim_start_matches("redis://");
        let host_port = authority.split('/').next().unwrap();
        tokio::net::lookup_host(host_port)
            .await
            .unwrap()
            .next()
            .unwrap()
    };
    let (addr, open) = silent_proxy(target).await;
    let limiter = RedisLimiter::connect(&format!("redis://{addr}"), TIMEOUT)
        .await
        .unwrap();
    let key = format!("{}:rpm", tag());
    assert!(
        limiter
            .admit(&[], &[rpm(&key, 5)], "a")
            .await
            .unwrap()
            .is_admitted()
    );

    open.send_replace(false);
    for _ in 0..3 {
        let started = Instant::now();
        let res = limiter.admit(&[], &[rpm(&key, 5)], "b").await;
        assert!(matches!(res, Err(store::Error::Unavailable(_))), "{res:?}");
        assert!(
            started.elapsed() < TIMEOUT * 3,
            "bounded by the timeout: {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn a_redis_that_is_not_there_fails_to_connect_quickly() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let started = Instant::now();
    let res = RedisLimiter::connect(&format!("redis://{closed}"), TIMEOUT).await;
    assert!(res.is_err());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_lazy_limiter_uses_redis_once_it_answers() {
    if limiter().await.is_none() {
        return;
    }
    let target: SocketAddr = {
        let url = url();
        let authority = url.trim_start_matches("redis://");
        let host_port = authority.split('/').next().unwrap();
        tokio::net::lookup_host(host_port)
            .await
            .unwrap()
            .next()
            .unwrap()
    };
    // A port where nothing listens yet: Redis is down when the node starts.
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let limiter = RedisLimiter::lazy(&format!("redis://{addr}"), TIMEOUT).unwrap();
    let key = format!("{}:rpm", tag());
    for _ in 0..2 {
        let res = limiter.admit(&[], &[rpm(&key, 5)], "a").await;
        assert!(matches!(res, Err(store::Error::Unavailable(_))), "{res:?}");
    }
    // Redis comes up there: after the pause between attempts, the limiter connects.
    let listener = TcpListener::bind(addr).await.unwrap();
    let (open, watching) = watch::channel(true);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(relay(client, target, watching.clone()));
        }
    });
    let mut admitted = false;
    for _ in 0..40 {
        if let Ok(admission) = limiter.admit(&[], &[rpm(&key, 5)], "b").await {
            admitted = admission.is_admitted();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(admitted, "connected once Redis answered");
    drop(open);
}

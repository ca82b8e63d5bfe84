//! What callers were told against what the ledger holds (`bench/reliability.sh`).
//!
//! `bench-ledger load URL KEY PLAIN STREAMS SECONDS OUT [RATE]`: `PLAIN` clients send plain chat
//! calls (`RATE` a second between them, or as fast as answers come) and `STREAMS` clients
//! streamed ones (asking for the final usage chunk) for `SECONDS`, each
//! noting every call answered with its request id and the price it was told (`x-request-cost`;
//! a stream's final chunk's `usage.cost`), into `OUT` (JSON). Connection errors (a gateway
//! stopping or stopped) are counted and retried after a pause.
//!
//! `bench-ledger check DATABASE_URL OUT WAIT_SECS`: waits up to `WAIT_SECS` for the ledger to
//! hold every call `OUT` lists, then prints the comparison (JSON) and fails unless every
//! answered call is in the ledger once, at the price it was told, and the ledger holds no call
//! nobody made.

#![expect(clippy::print_stdout, reason = "the result is the program's output")]
#![expect(
    clippy::disallowed_methods,
    reason = "a load generator spawns its clients; nothing to drain"
)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use domain::pricing::Money;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use server::settings::DatabaseSettings;

/// What the clients saw.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Seen {
    /// Calls answered completely with 200, by request id: the price told (nanos), if any.
    answered: BTreeMap<String, Option<i64>>,
    /// How many of `answered` were streams.
    streams_answered: u64,
    /// Streams answered 200 whose final usage chunk never came (ended by an error event).
    cut_streams: Vec<String>,
    /// Answers other than 200, by status.
    refused: BTreeMap<u16, u64>,
    /// Calls that got no HTTP answer (connection refused or reset).
    connection_errors: u64,
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    server::init_tls();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [_, "load", url, key, plain, streams, seconds, out, rest @ ..] => {
            let rate = match rest {
                [] => None,
                [rate] => Some(rate.parse::<f64>()?),
                _ => anyhow::bail!("one rate at most"),
            };
            let seen = runtime.block_on(load(
                url,
                key,
                (plain.parse()?, rate),
                streams.parse()?,
                Duration::from_secs_f64(seconds.parse()?),
            ))?;
            std::fs::write(out, serde_json::to_vec(&seen)?)?;
            println!("{}", serde_json::to_string(&summary(&seen))?);
            Ok(())
        }
        [_, "check", database, out, wait] => {
            let seen: Seen = serde_json::from_slice(&std::fs::read(out)?)?;
            let report =
                runtime.block_on(check(database, &seen, Duration::from_secs(wait.parse()?)))?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            if report["ok"] == true {
                Ok(())
            } else {
                anyhow::bail!("the ledger does not match what callers were told")
            }
        }
        _ => anyhow::bail!(
            "usage: bench-ledger load URL KEY PLAIN STREAMS SECONDS OUT [RATE] | bench-ledger check DATABASE_URL OUT WAIT_SECS"
        ),
    }
}

fn summary(seen: &Seen) -> serde_json::Value {
    let told: Vec<i64> = seen.answered.values().filter_map(|it| *it).collect();
    serde_json::json!({
        "answered": seen.answered.len(),
        "streams_answered": seen.streams_answered,
        "told_a_price": told.len(),
        "told_nanos": told.iter().sum::<i64>(),
        "cut_streams": seen.cut_streams.len(),
        "refused": seen.refused,
        "connection_errors": seen.connection_errors,
    })
}

async fn load(
    url: &str,
    key: &str,
    (plain, rate): (usize, Option<f64>),
    streams: usize,
    duration: Duration,
) -> anyhow::Result<Seen> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(plain + streams)
        .build()?;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let until = Instant::now() + duration;
    let mut tasks = Vec::new();
    for stream in std::iter::repeat_n(false, plain).chain(std::iter::repeat_n(true, streams)) {
        let (client, seen) = (client.clone(), seen.clone());
        let url = format!("{url}/v1/chat/completions");
        let key = key.to_owned();
        let interval = rate
            .filter(|_| !stream)
            .map(|rate| Duration::from_secs_f64(plain as f64 / rate));
        tasks.push(tokio::spawn(async move {
            let mut next = Instant::now();
            while Instant::now() < until {
                if let Some(interval) = interval {
                    next += interval;
                    tokio::time::sleep_until(next.into()).await;
                }
                let outcome = call(&client, &url, &key, stream).await;
                let no_answer = matches!(outcome, Outcome::NoAnswer);
                {
                    let mut seen = seen
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    match outcome {
                        Outcome::Answered(id, told) => {
                            seen.answered.insert(id, told);
                            seen.streams_answered += u64::from(stream);
                        }
                        Outcome::Cut(id) => seen.cut_streams.push(id),
                        Outcome::Refused(status) => *seen.refused.entry(status).or_default() += 1,
                        Outcome::NoAnswer => seen.connection_errors += 1,
                    }
                }
                if no_answer {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let seen = std::mem::take(
        &mut *seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    Ok(seen)
}

enum Outcome {
    Answered(String, Option<i64>),
    Cut(String),
    Refused(u16),
    NoAnswer,
}

async fn call(client: &reqwest::Client, url: &str, key: &str, stream: bool) -> Outcome {
    let mut body = serde_json::json!({
        "model": "bench",
        "messages": [{"role": "user", "content": "Hello, how are you?"}],
    });
    if stream {
        body["stream"] = true.into();
        body["stream_options"] = serde_json::json!({"include_usage": true});
    }
    let Ok(res) = client.post(url).bearer_auth(key).json(&body).send().await else {
        return Outcome::NoAnswer;
    };
    let status = res.status().as_u16();
    let id = res
        .headers()
        .get("x-request-id")
        .and_then(|it| it.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if status != 200 {
        return Outcome::Refused(status);
    }
    if !stream {
        let told = res
            .headers()
            .get("x-request-cost")
            .and_then(|it| it.to_str().ok())
            .and_then(|it| Money::parse(it).ok())
            .map(Money::nanos);
        return match res.bytes().await {
            Ok(_) => Outcome::Answered(id, told),
            Err(_) => Outcome::Cut(id),
        };
    }
    let mut text = Vec::new();
    let mut chunks = res.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        match chunk {
            Ok(bytes) => text.extend_from_slice(&bytes),
            Err(_) => return Outcome::Cut(id),
        }
    }
    let text = String::from_utf8_lossy(&text);
    // The price as written (a JSON number parsed as a float would lose digits).
    let told = text
        .split("\n\n")
        .filter(|event| event.contains("\"usage\""))
        .find_map(|event| {
            let after = &event[event.rfind("\"cost\":")? + "\"cost\":".len()..];
            let end = after.find([',', '}'])?;
            Money::parse(after[..end].trim().trim_matches('"')).ok()
        });
    match told {
        Some(told) => Outcome::Answered(id, Some(told.nanos())),
        None if text.contains("[DONE]") => Outcome::Answered(id, None),
        None => Outcome::Cut(id),
    }
}

/// The ledger's records by request id: (price in nanos, status).
async fn read_ledger(
    database: &str,
) -> anyhow::Result<HashMap<String, Vec<(Option<i64>, String)>>> {
    let store = server::stores::open(&DatabaseSettings {
        url: database.to_owned(),
        max_connections: 2,
    })
    .await?
    .store;
    let mut by_request: HashMap<String, Vec<(Option<i64>, String)>> = HashMap::new();
    for tenant in store.list_tenants().await? {
        for record in store.list_usage(tenant.id, u32::MAX).await? {
            by_request
                .entry(record.request_id.to_string())
                .or_default()
                .push((
                    record.price.map(Money::nanos),
                    record.status.as_str().to_owned(),
                ));
        }
    }
    Ok(by_request)
}

async fn check(database: &str, seen: &Seen, wait: Duration) -> anyhow::Result<serde_json::Value> {
    let until = Instant::now() + wait;
    let started = Instant::now();
    let mut ledger = read_ledger(database).await?;
    while Instant::now() < until && !seen.answered.keys().all(|id| ledger.contains_key(id)) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        ledger = read_ledger(database).await?;
    }
    let missing = seen
        .answered
        .keys()
        .filter(|id| !ledger.contains_key(*id))
        .count();
    let doubled = ledger.values().filter(|it| it.len() > 1).count();
    let mispriced = seen
        .answered
        .iter()
        .filter(|(id, told)| {
            ledger
                .get(*id)
                .is_some_and(|rows| told.is_some() && rows[0].0 != **told)
        })
        .count();
    let cut_billed = seen
        .cut_streams
        .iter()
        .filter(|id| ledger.contains_key(*id))
        .count();
    let unknown = ledger
        .keys()
        .filter(|id| !seen.answered.contains_key(*id) && !seen.cut_streams.contains(*id))
        .count();
    let told_nanos: i64 = seen.answered.values().filter_map(|it| *it).sum();
    let ledger_nanos_of_answered: i64 = seen
        .answered
        .keys()
        .filter_map(|id| ledger.get(id).and_then(|rows| rows[0].0))
        .sum();
    let mut statuses: BTreeMap<&str, u64> = BTreeMap::new();
    for rows in ledger.values() {
        for (_, status) in rows {
            *statuses.entry(status.as_str()).or_default() += 1;
        }
    }
    let rows: usize = ledger.values().map(Vec::len).sum();
    let ok = missing == 0
        && doubled == 0
        && mispriced == 0
        && told_nanos == ledger_nanos_of_answered
        && cut_billed == seen.cut_streams.len();
    Ok(serde_json::json!({
        "ok": ok,
        "calls_answered": seen.answered.len(),
        "streams_answered": seen.streams_answered,
        "calls_told_a_price": seen.answered.values().filter(|it| it.is_some()).count(),
        "streams_cut": seen.cut_streams.len(),
        "refused": seen.refused,
        "connection_errors": seen.connection_errors,
        "ledger_rows": rows,
        "ledger_statuses": statuses,
        "answered_missing_from_ledger": missing,
        "billed_twice": doubled,
        "billed_at_another_price": mispriced,
        "cut_streams_billed": cut_billed,
        "ledger_rows_nobody_saw": unknown,
        "told_total": Money::from_nanos(told_nanos).to_string(),
        "ledger_total_of_answered": Money::from_nanos(ledger_nanos_of_answered).to_string(),
        "waited_for_the_ledger_secs": started.elapsed().as_secs(),
    }))
}

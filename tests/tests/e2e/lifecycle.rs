//! The gateway as a process, stopped the ways processes stop: `SIGKILL` under load, `SIGTERM`
//! while its database is a black hole, `SIGTERM` with streams open. Whatever happens, every
//! call a client was answered is billed exactly once, after a restart if need be.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use domain::{UsageRecord, UsageStatus};
use futures_util::StreamExt;
use it::fixtures;
use it::mock_upstream::{MockUpstream, Reply};
use it::process::Node;
use it::tcp_proxy::TcpProxy;
use server::settings::DatabaseSettings;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

const NODE: &str = env!("CARGO_BIN_EXE_sluice-node");

fn config(upstream: &str) -> String {
    config_with_grace(upstream, 4)
}

fn config_with_grace(upstream: &str, grace_secs: u64) -> String {
    format!(
        r#"
[server]
shutdown_timeout_secs = {grace_secs}

[providers.upstream]
kind = "openai_compatible"
flavor = "vllm"
base_url = "{upstream}/v1"

[[models]]
alias = "m"
provider = "upstream"
model = "gpt-4o-mini"

[[pricing.cost]]
provider = "upstream"
model = "gpt-4o-mini"
input = "0.15"
output = "0.6"
"#
    )
}

/// Answers plain calls at once and streams slowly (ten seconds, a chunk every 50 ms), so that
/// streams are open whenever the test stops the gateway.
async fn upstream() -> MockUpstream {
    let frames = fixtures::sse_frames("openai/stream_ok.sse");
    let mut slow = vec![frames[0].clone()];
    slow.extend(std::iter::repeat_n(frames[1].clone(), 200));
    slow.extend(frames[4..].iter().cloned());
    MockUpstream::start(move |req| {
        if req.json()["stream"] == true {
            Reply::sse(slow.clone()).gap(Duration::from_millis(50))
        } else {
            Reply::json(fixtures::text("openai/chat_ok.json"))
        }
    })
    .await
}

fn scratch() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("sluice-process-{}", uuid::Uuid::now_v7()))
}

/// What the clients saw.
#[derive(Debug, Default)]
struct Seen {
    /// Request ids of plain calls answered completely with 200.
    answered: HashSet<String>,
    /// Request ids of streams whose response had started.
    streams: HashSet<String>,
    /// The price each answered plain call was told (`x-request-cost`), by request id.
    told: HashMap<String, String>,
}

/// Calls the gateway until `stop` fires: `plain` clients in a loop, and `streams` streams.
async fn load(
    url: String,
    key: String,
    plain: usize,
    streams: usize,
    stop: CancellationToken,
) -> Seen {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let call = move |stream: bool| {
        client
            .post(format!("{url}/v1/chat/completions"))
            .bearer_auth(&key)
            .json(&serde_json::json!({
                "model": "m",
                "stream": stream,
                "messages": [{"role": "user", "content": "Hello there"}]
            }))
            .send()
    };
    let tasks = TaskTracker::new();
    for _ in 0..plain {
        let (seen, stop, call) = (seen.clone(), stop.clone(), call.clone());
        tasks.spawn(async move {
            while !stop.is_cancelled() {
                let Ok(res) = call(false).await else { continue };
                let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
                let told = res
                    .headers()
                    .get("x-request-cost")
                    .map(|it| it.to_str().unwrap().to_owned());
                if res.status() == 200 && res.bytes().await.is_ok() {
                    let mut seen = seen.lock().unwrap();
                    seen.answered.insert(id.clone());
                    if let Some(told) = told {
                        seen.told.insert(id, told);
                    }
                }
            }
        });
    }
    for _ in 0..streams {
        let (seen, stop) = (seen.clone(), stop.clone());
        let res = call(true).await.unwrap();
        assert_eq!(res.status(), 200);
        seen.lock()
            .unwrap()
            .streams
            .insert(res.headers()["x-request-id"].to_str().unwrap().to_owned());
        tasks.spawn(async move {
            let mut body = res.bytes_stream();
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    chunk = body.next() => if !matches!(chunk, Some(Ok(_))) { return },
                }
            }
        });
    }
    stop.cancelled().await;
    tasks.close();
    tasks.wait().await;
    Arc::into_inner(seen).unwrap().into_inner().unwrap()
}

/// The records a stopped node spilled to its data directory (billed at its next start).
fn spilled(data_dir: &Path) -> Vec<UsageRecord> {
    std::fs::read_to_string(data_dir.join("usage-spill.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The store of the database at `url`, as a node opens it.
async fn store_at(url: &str) -> std::sync::Arc<dyn store::Store> {
    server::stores::open(&DatabaseSettings {
        url: url.to_owned(),
        max_connections: 2,
    })
    .await
    .unwrap()
    .store
}

/// Every usage record of the database at `url`, all tenants.
async fn usage(url: &str) -> Vec<UsageRecord> {
    let store = store_at(url).await;
    let mut all = Vec::new();
    for tenant in store.list_tenants().await.unwrap() {
        all.extend(store.list_usage(tenant.id, 1_000_000).await.unwrap());
    }
    all
}

fn by_request(records: &[UsageRecord]) -> HashMap<String, Vec<&UsageRecord>> {
    let mut map: HashMap<String, Vec<&UsageRecord>> = HashMap::new();
    for record in records {
        map.entry(record.request_id.to_string())
            .or_default()
            .push(record);
    }
    map
}

/// Waits until the database holds a record for every id in `ids`.
async fn eventually_billed(
    url: &str,
    ids: impl Iterator<Item = &String> + Clone,
) -> Vec<UsageRecord> {
    for _ in 0..200 {
        let records = usage(url).await;
        let billed = by_request(&records);
        if ids.clone().all(|id| billed.contains_key(id)) {
            return records;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    usage(url).await
}

/// Each call answered once, billed once: duplicates and missing ids fail.
fn assert_billed_once(records: &[UsageRecord], seen: &Seen) {
    let billed = by_request(records);
    let missing: Vec<&String> = seen
        .answered
        .iter()
        .chain(&seen.streams)
        .filter(|id| !billed.contains_key(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} answered calls and {} streams were never billed: {missing:?}",
        missing.len(),
        seen.answered.len(),
        seen.streams.len()
    );
    let doubled: Vec<_> = billed.iter().filter(|(_, it)| it.len() > 1).collect();
    assert!(doubled.is_empty(), "billed twice: {doubled:?}");
}

/// Every answered call is billed at the price it was told, and the rollups (what statements
/// read) hold exactly the ledger's sums: the replayed spill included, once.
async fn assert_told_prices_billed(url: &str, records: &[UsageRecord], seen: &Seen) {
    use domain::pricing::Money;
    assert_eq!(
        seen.told.len(),
        seen.answered.len(),
        "every call was told a price"
    );
    let billed = by_request(records);
    let mut told_sum = Money::ZERO;
    for (id, told) in &seen.told {
        let told = Money::parse(told).unwrap();
        assert_eq!(billed[id][0].price, Some(told), "{id}");
        told_sum = told_sum.saturating_add(told);
    }
    assert!(told_sum > Money::ZERO);
    let store = store_at(url).await;
    let (from, to) = (
        time::OffsetDateTime::UNIX_EPOCH,
        time::OffsetDateTime::now_utc() + time::Duration::days(1),
    );
    for tenant in store.list_tenants().await.unwrap() {
        let ledger: Vec<&UsageRecord> = records
            .iter()
            .filter(|it| it.tenant_id == tenant.id)
            .collect();
        let ledger_price = ledger
            .iter()
            .filter_map(|it| it.price)
            .fold(Money::ZERO, Money::saturating_add);
        let sums = store
            .rollup_sums(tenant.id, domain::rollup::Grain::Minute, from, to)
            .await
            .unwrap();
        let rolled_price = sums
            .iter()
            .fold(Money::ZERO, |sum, (_, it)| sum.saturating_add(it.price));
        let rolled_requests: u64 = sums.iter().map(|(_, it)| it.requests).sum();
        assert_eq!(rolled_requests, ledger.len() as u64, "{}", tenant.name);
        assert_eq!(rolled_price, ledger_price, "{}", tenant.name);
    }
}

fn sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("sluice.db").display())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sigkill_under_load_loses_no_answered_call_and_no_open_stream() {
    let upstream = upstream().await;
    let data_dir = scratch();
    let mut node = Node::start(NODE, &data_dir, &config(&upstream.url), &[]).await;
    let key = node.first_key();
    let stop = CancellationToken::new();
    let clients = TaskTracker::new().spawn({
        let (url, key, stop) = (node.url.clone(), key.clone(), stop.clone());
        async move { load(url, key, 8, 4, stop).await }
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    node.kill();
    stop.cancel();
    let seen = clients.await.unwrap();
    assert!(seen.answered.len() > 50, "the load ran: {seen:?}");

    // The next start on the same data directory bills what the killed one had not stored:
    // calls answered moments before the kill, and the streams it cut.
    let restarted = Node::start(NODE, &data_dir, &config(&upstream.url), &[]).await;
    let records = eventually_billed(
        &sqlite_url(&data_dir),
        seen.answered.iter().chain(&seen.streams),
    )
    .await;
    assert_billed_once(&records, &seen);
    assert_told_prices_billed(&sqlite_url(&data_dir), &records, &seen).await;
    let billed = by_request(&records);
    for id in &seen.streams {
        let stream = billed[id][0];
        assert_eq!(
            (stream.status, stream.estimated),
            (UsageStatus::ServerClosed, true),
            "a stream the kill cut is billed as estimated: {stream:?}"
        );
        assert!(stream.prompt_tokens > 0, "{stream:?}");
    }
    assert!(
        restarted.log().contains("recovered usage from the journal"),
        "{}",
        restarted.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_cuts_open_streams_with_an_error_event_and_bills_them() {
    let upstream = upstream().await;
    let data_dir = scratch();
    // Eight seconds of grace against a stream of ten: streams are cut two seconds before the
    // end, which leaves the usage flush the rest.
    let mut node = Node::start(NODE, &data_dir, &config_with_grace(&upstream.url, 8), &[]).await;
    let key = node.first_key();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let res = client
        .post(format!("{}/v1/chat/completions", node.url))
        .bearer_auth(&key)
        .json(&serde_json::json!({"model": "m", "stream": true,
            "messages": [{"role": "user", "content": "Hello"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    node.terminate();
    // The stream outlives the grace period: it is ended before the grace period ends, with an
    // error event, not cut off mid-frame.
    let body = tokio::time::timeout(Duration::from_secs(9), res.text())
        .await
        .expect("the stream ended within the grace period")
        .unwrap();
    let last = body.trim_end().rsplit("\n\n").next().unwrap();
    assert!(
        last.starts_with("data: {\"error\"") && last.contains("shutting down"),
        "the last event says why: {last}"
    );
    let status = node.exit_status(Duration::from_secs(10)).await;
    assert!(status.success(), "{status:?}\n{}", node.log());
    // Stored, or spilled if the deadline came first: either way billed, once.
    let mut records = usage(&sqlite_url(&data_dir)).await;
    records.extend(spilled(&data_dir));
    let billed = by_request(&records);
    assert_eq!(billed.get(&id).map(Vec::len), Some(1), "{records:?}");
    let record = billed
        .get(&id)
        .unwrap_or_else(|| panic!("the cut stream was not billed: {records:?}\n{}", node.log()))[0];
    assert_eq!(record.status, UsageStatus::ServerClosed, "{record:?}");
    assert_eq!(record.error_code.as_deref(), Some("service_unavailable"));
    assert!(
        record.completion_tokens > 0,
        "what was delivered is billed: {record:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_during_a_database_outage_spills_everything_and_a_restart_replays_it_once() {
    let Some(database) = store_pg::testing::fresh_database_url().await else {
        return;
    };
    let mut url = reqwest::Url::parse(&database).unwrap();
    let target = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let proxy = TcpProxy::start(
        tokio::net::lookup_host(target)
            .await
            .unwrap()
            .next()
            .unwrap(),
    )
    .await;
    url.set_host(Some("127.0.0.1")).unwrap();
    url.set_port(Some(proxy.addr.port())).unwrap();
    let through_proxy = url.to_string();
    let env = [("SLUICE_DATABASE_URL", through_proxy.as_str())];

    let upstream = upstream().await;
    let data_dir = scratch();
    let mut node = Node::start(NODE, &data_dir, &config(&upstream.url), &env).await;
    let key = node.first_key();
    let stop = CancellationToken::new();
    let clients = TaskTracker::new().spawn({
        let (url, key, stop) = (node.url.clone(), key.clone(), stop.clone());
        async move { load(url, key, 8, 0, stop).await }
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    // The database vanishes: every query hangs. Calls keep being served from memory.
    proxy.black_hole();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    node.terminate();
    stop.cancel();
    let seen = clients.await.unwrap();
    assert!(seen.answered.len() > 50, "the load ran: {seen:?}");
    // Within the grace period (four seconds) and with success: everything was saved.
    let status = node.exit_status(Duration::from_secs(6)).await;
    assert!(status.success(), "{status:?}\n{}", node.log());
    let spilled = std::fs::read_to_string(data_dir.join("usage-spill.jsonl")).unwrap();
    assert!(!spilled.is_empty(), "the outage's records were spilled");
    let log = node.log();
    let spill_warnings = log.matches("spilled to disk").count();
    assert!(
        spill_warnings <= 2,
        "the spill is summarised, not logged per record ({spill_warnings} lines)"
    );

    // The database is back; a restart replays the spill file, each record once.
    proxy.restore();
    let mut restarted = Node::start(NODE, &data_dir, &config(&upstream.url), &env).await;
    let records = eventually_billed(&database, seen.answered.iter()).await;
    assert_billed_once(&records, &seen);
    assert_told_prices_billed(&database, &records, &seen).await;
    restarted.terminate();
    let status = restarted.exit_status(Duration::from_secs(6)).await;
    assert!(status.success(), "{status:?}\n{}", restarted.log());
    assert!(
        !data_dir.join("usage-spill.jsonl").exists(),
        "the spill file was replayed"
    );
}

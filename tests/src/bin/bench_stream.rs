//! A streaming load generator for the benchmark: `concurrency` clients send streamed chat
//! requests for `seconds` and measure time to the first chunk and to the end of the stream.
//!
//! Usage: bench-stream URL KEY CONCURRENCY SECONDS [RATE]  (prints one JSON object)
//!
//! With RATE (requests per second, all clients together) each client paces itself, so that
//! latency is measured without queueing; without it the clients send as fast as answers come.

#![expect(clippy::print_stdout, reason = "the result is the program's output")]
#![expect(
    clippy::disallowed_methods,
    reason = "a load generator spawns its clients; nothing to drain"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::Mutex;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (url, key, concurrency, seconds, rate) = match args.as_slice() {
        [_, url, key, concurrency, seconds] => (url, key, concurrency, seconds, None),
        [_, url, key, concurrency, seconds, rate] => {
            (url, key, concurrency, seconds, Some(rate.parse::<f64>()?))
        }
        _ => anyhow::bail!("usage: bench-stream URL KEY CONCURRENCY SECONDS [RATE]"),
    };
    let concurrency: usize = concurrency.parse()?;
    server::init_tls();
    let duration = Duration::from_secs_f64(seconds.parse()?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let client = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(concurrency)
            .build()?;
        let body = r#"{"model":"bench","stream":true,"messages":[{"role":"user","content":"Hello, how are you?"}]}"#;
        let samples = Arc::new(Mutex::new((Vec::new(), Vec::new())));
        let errors = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..concurrency {
            let (client, samples, errors, stop) = (client.clone(), samples.clone(), errors.clone(), stop.clone());
            let (url, key) = (url.clone(), key.clone());
            let interval = rate.map(|rate| Duration::from_secs_f64(concurrency as f64 / rate));
            tasks.push(tokio::spawn(async move {
                let (mut ttfts, mut totals) = (Vec::new(), Vec::new());
                let mut next = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    if let Some(interval) = interval {
                        next += interval;
                        tokio::time::sleep_until(next.into()).await;
                    }
                    let sent = Instant::now();
                    let res = client
                        .post(&url)
                        .bearer_auth(&key)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await;
                    let Ok(res) = res.and_then(reqwest::Response::error_for_status) else {
                        errors.fetch_add(1, Ordering::Relaxed);
                        continue;
                    };
                    let mut stream = res.bytes_stream();
                    let mut first = None;
                    let mut ok = true;
                    while let Some(chunk) = stream.next().await {
                        match chunk {
                            Ok(bytes) if first.is_none() && bytes.windows(5).any(|w| w == b"data:") => {
                                first = Some(sent.elapsed());
                            }
                            Ok(_) => {}
                            Err(_) => ok = false,
                        }
                    }
                    match (ok, first) {
                        (true, Some(first)) => {
                            ttfts.push(first.as_secs_f64() * 1000.0);
                            totals.push(sent.elapsed().as_secs_f64() * 1000.0);
                        }
                        _ => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                let mut samples = samples.lock().await;
                samples.0.extend(ttfts);
                samples.1.extend(totals);
            }));
        }
        tokio::time::sleep(duration).await;
        stop.store(true, Ordering::Relaxed);
        for task in tasks {
            task.await?;
        }
        let elapsed = started.elapsed().as_secs_f64();
        let (mut ttfts, mut totals) = std::mem::take(&mut *samples.lock().await);
        ttfts.sort_by(f64::total_cmp);
        totals.sort_by(f64::total_cmp);
        println!(
            "{}",
            serde_json::json!({
                "requests": totals.len(),
                "errors": errors.load(Ordering::Relaxed),
                "rps": totals.len() as f64 / elapsed,
                "ttft_p50_ms": percentile(&ttfts, 50.0),
                "ttft_p99_ms": percentile(&ttfts, 99.0),
                "total_p50_ms": percentile(&totals, 50.0),
                "total_p99_ms": percentile(&totals, 99.0),
            })
        );
        Ok(())
    })
}

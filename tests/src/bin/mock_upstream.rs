//! A fast OpenAI-compatible upstream for the benchmark: fixed chat completion, stream and
//! embeddings answers, on the address given as the first argument.
//!
//! `MOCK_STREAM_SECONDS=S` makes every stream slow (its content chunk repeated, one every
//! 50 ms, for about S seconds), so that streams are open whenever a test stops the gateway
//! (`bench/reliability.sh`).

use std::time::Duration;

use it::mock_upstream::{MockUpstream, Reply};

fn main() -> anyhow::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9100".into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&address).await?;
        let chat = it::fixtures::text("openai/chat_ok.json");
        let stream = slow(it::fixtures::sse_frames("openai/stream_ok.sse"));
        let gap = Duration::from_millis(if stream.len() > 8 { 50 } else { 0 });
        let embeddings = it::fixtures::text("openai/embeddings_ok.json");
        let _upstream = MockUpstream::serve(listener, move |request| {
            if request.path.ends_with("/embeddings") {
                Reply::json(embeddings.clone())
            } else if request.json()["stream"] == true {
                Reply::sse(stream.clone()).gap(gap)
            } else {
                Reply::json(chat.clone())
            }
        });
        loop {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    })
}

/// The stream's frames, its content chunk repeated to last `MOCK_STREAM_SECONDS` at one chunk
/// every 50 ms (unchanged without it).
fn slow(frames: Vec<String>) -> Vec<String> {
    let seconds: u64 = std::env::var("MOCK_STREAM_SECONDS")
        .ok()
        .and_then(|it| it.parse().ok())
        .unwrap_or(0);
    if seconds == 0 || frames.len() < 3 {
        return frames;
    }
    let mut slow = vec![frames[0].clone()];
    slow.extend(std::iter::repeat_n(
        frames[1].clone(),
        (seconds * 20) as usize,
    ));
    slow.extend(frames[2..].iter().cloned());
    slow
}

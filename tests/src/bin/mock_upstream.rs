//! A fast OpenAI-compatible upstream for the benchmark: fixed chat completion, stream and
//! embeddings answers, on the address given as the first argument.

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
        let stream = it::fixtures::sse_frames("openai/stream_ok.sse");
        let embeddings = it::fixtures::text("openai/embeddings_ok.json");
        let _upstream = MockUpstream::serve(listener, move |request| {
            if request.path.ends_with("/embeddings") {
                Reply::json(embeddings.clone())
            } else if request.json()["stream"] == true {
                Reply::sse(stream.clone())
            } else {
                Reply::json(chat.clone())
            }
        });
        loop {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    })
}

//! Clients that send their bodies slowly, on purpose: a trickling body gets 408 and its
//! connection closed, one address gets only a few requests in flight on the endpoints that
//! need no credentials, and thousands of trickling connections do not stop the gateway from
//! answering.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use it::harness::TestApp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// One second of grace and 100 bytes a second: a body of 1,000 bytes may take 11 seconds.
const CONFIG: &str = r#"
[server]
body_read_timeout_secs = 1
body_min_bytes_per_sec = 100
max_unauthenticated_per_client = 4

[providers.mock]
kind = "mock"

[[models]]
alias = "mock"
provider = "mock"
"#;

async fn app() -> TestApp {
    server::open_files::raise_limit();
    TestApp::builder().config(CONFIG).spawn().await
}

fn address(app: &TestApp) -> SocketAddr {
    app.url.trim_start_matches("http://").parse().unwrap()
}

/// A connection from `from` (any 127/8 address is this machine's loopback, and a distinct
/// client to the gateway) that has sent a request's head and the first byte of its body.
async fn trickle_start(app: &TestApp, from: Ipv4Addr, head: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(IpAddr::V4(from), 0)).unwrap();
    let mut stream = socket.connect(address(app)).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(b"{").await.unwrap();
    stream
}

fn login_head() -> String {
    "POST /api/v1/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n"
        .to_owned()
}

/// Sends a byte every `every` until the server answers; returns the answer and whether the
/// server then closed the connection.
async fn trickle_until_answered(mut stream: TcpStream, every: Duration) -> (String, bool) {
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            },
            () = tokio::time::sleep(every) => {
                // The server may have stopped reading; a failed write is part of the answer.
                let _ = stream.write_all(b" ").await;
            }
        }
        if answer.windows(4).any(|it| it == b"\r\n\r\n") {
            // The head arrived; what follows is the body, then the end of the connection.
            let closed = tokio::time::timeout(Duration::from_secs(5), async {
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return true,
                        Ok(n) => answer.extend_from_slice(&buf[..n]),
                    }
                }
            })
            .await
            .unwrap_or(false);
            return (String::from_utf8_lossy(&answer).into_owned(), closed);
        }
    }
    (String::from_utf8_lossy(&answer).into_owned(), true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickling_body_gets_408_and_its_connection_closed_on_every_endpoint() {
    let app = app().await;
    let heads = [
        login_head(),
        format!(
            "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n",
            app.key
        ),
        "POST /oauth/token HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 1000\r\n\r\n".to_owned(),
    ];
    for head in heads {
        let started = Instant::now();
        let stream = trickle_start(&app, Ipv4Addr::LOCALHOST, &head).await;
        // A byte every two seconds, as the attack did.
        let (answer, closed) = trickle_until_answered(stream, Duration::from_secs(2)).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{head}\n{answer}");
        assert!(answer.contains("too slowly"), "{answer}");
        assert!(closed, "the connection was closed: {answer}");
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "answered after the grace period, not after the body"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_gets_only_a_few_unauthenticated_requests_in_flight() {
    let app = app().await;
    let from = Ipv4Addr::new(127, 0, 0, 1);
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(trickle_start(&app, from, &login_head()).await);
    }
    // Let the four reach their handlers.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let fifth = trickle_start(&app, from, &login_head()).await;
    let (answer, closed) = trickle_until_answered(fifth, Duration::from_millis(100)).await;
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );
    assert!(closed, "the refused connection was closed");
    // The token endpoint refuses in its own shape.
    let token = trickle_start(
        &app,
        from,
        "POST /oauth/token HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 10\r\n\r\n",
    );
    let (answer, _) = trickle_until_answered(token.await, Duration::from_millis(100)).await;
    assert!(answer.contains("\"error\":\"slow_down\""), "{answer}");
    // Another address is not affected, and neither is anyone with credentials.
    let other = trickle_start(&app, Ipv4Addr::new(127, 0, 0, 2), &login_head()).await;
    let mut other = other;
    other.write_all(&[b' '; 999]).await.unwrap();
    let (answer, _) = trickle_until_answered(other, Duration::from_secs(1)).await;
    assert!(
        answer.starts_with("HTTP/1.1 400"),
        "a whole (bad) body is judged: {answer}"
    );
    let (status, _) = app
        .chat(
            &serde_json::json!({"model": "mock", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(status, 200);
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_gateway_keeps_answering_under_two_thousand_trickling_connections() {
    let app = app().await;
    // 2,000 connections from 500 addresses (four each, the most one address may have on
    // these endpoints), opened a hundred at a time so the listen backlog keeps up.
    let mut streams = Vec::with_capacity(2000);
    let head = login_head();
    for batch in 0..20u16 {
        let opening = (0..100u16).map(|i| {
            let n = batch * 100 + i;
            let from = Ipv4Addr::new(
                127,
                1,
                u8::try_from(n / 4 / 250).unwrap(),
                u8::try_from(n / 4 % 250 + 1).unwrap(),
            );
            trickle_start(&app, from, &head)
        });
        streams.extend(futures_util::future::join_all(opening).await);
    }
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    for _ in 0..5 {
        let started = Instant::now();
        let res = client
            .get(format!("{}/healthz", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "/healthz took {:?} under the trickle",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Every one of them is answered 408 and closed once its grace is over.
    let answers = futures_util::future::join_all(
        streams
            .into_iter()
            .map(|it| trickle_until_answered(it, Duration::from_secs(2))),
    )
    .await;
    let timed_out = answers
        .iter()
        .filter(|(answer, closed)| answer.starts_with("HTTP/1.1 408") && *closed)
        .count();
    assert_eq!(
        timed_out,
        2000,
        "{:?}",
        answers.iter().find(|(a, _)| !a.starts_with("HTTP/1.1 408"))
    );
}

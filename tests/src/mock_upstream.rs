//! A scriptable upstream provider over real HTTP/1.1, written on raw TCP so that tests control
//! exactly what goes on the wire: status and headers, SSE frames split across TCP writes,
//! delays before the first byte and between chunks, streams cut mid-way, and connections that
//! hang. It records every request and notices when the gateway hangs up.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

/// One request as the upstream received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How a streamed body is cut into TCP writes.
#[derive(Debug, Clone, Copy)]
pub enum Writes {
    /// Each SSE frame in one write.
    PerFrame,
    /// Every `n` bytes in their own write (splitting frames, lines and UTF-8 characters).
    Every(usize),
}

/// How a stream ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The terminating chunk: a clean end.
    Clean,
    /// The connection is dropped without the terminating chunk.
    Drop,
    /// Nothing more is sent, and the connection stays open.
    Hang,
}

/// What the upstream answers.
#[derive(Debug, Clone)]
pub enum Reply {
    Json {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    Sse {
        frames: Vec<String>,
        writes: Writes,
        gap: Duration,
        /// Frames sent before `end` applies (all when `None`).
        cut_after: Option<usize>,
        end: End,
    },
    /// Waits before answering (a slow first byte).
    Delayed(Duration, Box<Reply>),
    /// Closes the connection without answering.
    Close,
}

impl Reply {
    pub fn json(body: impl Into<String>) -> Self {
        Reply::Json {
            status: 200,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub fn status(status: u16, body: impl Into<String>) -> Self {
        Reply::Json {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        if let Reply::Json { headers, .. } = &mut self {
            headers.push((name.to_owned(), value.to_owned()));
        }
        self
    }

    pub fn sse(frames: Vec<String>) -> Self {
        Reply::Sse {
            frames,
            writes: Writes::PerFrame,
            gap: Duration::ZERO,
            cut_after: None,
            end: End::Clean,
        }
    }

    /// Streams the frames in `n`-byte TCP writes.
    pub fn split_every(mut self, n: usize) -> Self {
        if let Reply::Sse { writes, .. } = &mut self {
            *writes = Writes::Every(n.max(1));
        }
        self
    }

    /// Sends `n` frames, then ends as `end` says.
    pub fn cut_after(mut self, n: usize, how: End) -> Self {
        if let Reply::Sse { cut_after, end, .. } = &mut self {
            *cut_after = Some(n);
            *end = how;
        }
        self
    }

    pub fn gap(mut self, between: Duration) -> Self {
        if let Reply::Sse { gap, .. } = &mut self {
            *gap = between;
        }
        self
    }

    pub fn delayed(self, by: Duration) -> Self {
        Reply::Delayed(by, Box::new(self))
    }
}

type Script = dyn Fn(&Recorded) -> Reply + Send + Sync;

struct State {
    requests: Mutex<Vec<Recorded>>,
    record: bool,
    script: Box<Script>,
    hang_ups: AtomicUsize,
}

/// A running mock upstream on `127.0.0.1:<random port>`.
#[derive(Clone)]
pub struct MockUpstream {
    pub url: String,
    state: Arc<State>,
}

impl std::fmt::Debug for MockUpstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockUpstream")
            .field("url", &self.url)
            .finish()
    }
}

impl MockUpstream {
    /// Starts an upstream that answers every request with `script(request)`.
    pub async fn start(script: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve_with(listener, true, script)
    }

    /// Serves on an existing listener without recording requests (the benchmark's upstream:
    /// memory must not grow with the number of requests).
    pub fn serve(
        listener: TcpListener,
        script: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
    ) -> Self {
        Self::serve_with(listener, false, script)
    }

    fn serve_with(
        listener: TcpListener,
        record: bool,
        script: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(State {
            requests: Mutex::new(Vec::new()),
            record,
            script: Box::new(script),
            hang_ups: AtomicUsize::new(0),
        });
        let accept_state = state.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let _ = socket.set_nodelay(true);
                tokio::spawn(connection(socket, accept_state.clone()));
            }
        });
        MockUpstream { url, state }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    /// The last request received.
    pub fn last(&self) -> Recorded {
        self.requests()
            .last()
            .cloned()
            .expect("the upstream received a request")
    }

    /// How many times the gateway closed a connection while a response was still going.
    pub fn hang_ups(&self) -> usize {
        self.state.hang_ups.load(Ordering::SeqCst)
    }
}

/// Reads one request; `None` when the peer closed the connection.
async fn read_request(reader: &mut OwnedReadHalf, buf: &mut Vec<u8>) -> Option<Recorded> {
    let header_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let mut chunk = [0u8; 8192];
        let n = reader.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let target = request_line.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let body_start = header_end + 4;
    while buf.len() < body_start + length {
        let mut chunk = [0u8; 8192];
        let n = reader.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf[body_start..body_start + length].to_vec();
    buf.drain(..body_start + length);
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
        None => (target, None),
    };
    Some(Recorded {
        method,
        path,
        query,
        headers,
        body,
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        529 => "Overloaded",
        _ => "Status",
    }
}

/// Waits until the peer closes its side (or sends anything, which a proxy would not).
async fn peer_gone(reader: &mut OwnedReadHalf) {
    let mut byte = [0u8; 1];
    loop {
        match reader.read(&mut byte).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

async fn connection(socket: TcpStream, state: Arc<State>) {
    let (mut reader, mut writer) = socket.into_split();
    let mut buf = Vec::new();
    while let Some(request) = read_request(&mut reader, &mut buf).await {
        let reply = (state.script)(&request);
        if state.record {
            state.requests.lock().unwrap().push(request);
        }
        let keep_going = respond(reply, &mut reader, &mut writer, &state).await;
        if !keep_going {
            return;
        }
    }
}

/// Writes a reply; false when the connection must close.
async fn respond(
    mut reply: Reply,
    reader: &mut OwnedReadHalf,
    writer: &mut OwnedWriteHalf,
    state: &State,
) -> bool {
    loop {
        match reply {
            Reply::Delayed(by, inner) => {
                tokio::select! {
                    () = tokio::time::sleep(by) => reply = *inner,
                    () = peer_gone(reader) => {
                        state.hang_ups.fetch_add(1, Ordering::SeqCst);
                        return false;
                    }
                }
            }
            Reply::Close => return false,
            Reply::Json {
                status,
                headers,
                body,
            } => {
                let mut head = format!(
                    "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
                    reason(status),
                    body.len()
                );
                for (k, v) in headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                head.push_str(&body);
                return writer.write_all(head.as_bytes()).await.is_ok();
            }
            Reply::Sse {
                frames,
                writes,
                gap,
                cut_after,
                end,
            } => {
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n";
                if writer.write_all(head.as_bytes()).await.is_err() {
                    return false;
                }
                let count = cut_after.unwrap_or(frames.len()).min(frames.len());
                let (sent, end) = if cut_after.is_some() {
                    (count, end)
                } else {
                    (frames.len(), End::Clean)
                };
                let streaming = async {
                    for (i, frame) in frames.iter().take(sent).enumerate() {
                        if i > 0 && !gap.is_zero() {
                            tokio::time::sleep(gap).await;
                        }
                        let mut chunk = format!("{:x}\r\n", frame.len()).into_bytes();
                        chunk.extend_from_slice(frame.as_bytes());
                        chunk.extend_from_slice(b"\r\n");
                        match writes {
                            Writes::PerFrame => writer.write_all(&chunk).await?,
                            Writes::Every(n) => {
                                for piece in chunk.chunks(n) {
                                    writer.write_all(piece).await?;
                                    writer.flush().await?;
                                    // Let each piece leave as its own segment.
                                    tokio::time::sleep(Duration::from_micros(200)).await;
                                }
                            }
                        }
                    }
                    match end {
                        End::Clean => writer.write_all(b"0\r\n\r\n").await?,
                        End::Drop => {}
                        End::Hang => std::future::pending::<()>().await,
                    }
                    Ok::<(), std::io::Error>(())
                };
                tokio::select! {
                    result = streaming => return result.is_ok() && end == End::Clean,
                    () = peer_gone(reader) => {
                        state.hang_ups.fetch_add(1, Ordering::SeqCst);
                        return false;
                    }
                }
            }
        }
    }
}

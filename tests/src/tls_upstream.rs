//! An upstream behind TLS, its certificate for `localhost` issued by a private CA, speaking
//! HTTP/2 or HTTP/1.1 as ALPN settles: what an internal vLLM behind a TLS terminator looks
//! like. It answers with `mock_upstream`'s scripts (JSON, SSE, delays, streams cut or stalled),
//! on hyper's server, so the gateway's HTTP/2 client meets a real HTTP/2 peer. (How a script
//! splits its TCP writes does not apply: HTTP/2 frames the data itself.)

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode, Version};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;

use crate::mock_upstream::{End, Recorded, Reply};

const TESTDATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../backend/providers/src/http/testdata"
);

/// The private CA that issued the upstream's certificate: what a provider's `ca_file` names.
pub fn ca_file() -> String {
    format!("{TESTDATA}/ca.pem")
}

/// Which protocols the upstream offers in ALPN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offers {
    /// `h2` first, then `http/1.1`: a modern TLS terminator.
    H2,
    /// `http/1.1` only.
    Http1,
}

type Script = dyn Fn(&Recorded) -> Reply + Send + Sync;

struct State {
    script: Box<Script>,
    requests: Mutex<Vec<(Version, Recorded)>>,
    connections: AtomicUsize,
    cancelled: AtomicUsize,
}

/// A running TLS upstream on `https://localhost:<random port>`.
#[derive(Clone)]
pub struct TlsUpstream {
    pub url: String,
    state: Arc<State>,
}

impl TlsUpstream {
    /// Starts an upstream that answers every request with `script(request)`.
    pub async fn start(
        offers: Offers,
        script: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "https://localhost:{}",
            listener.local_addr().unwrap().port()
        );
        let state = Arc::new(State {
            script: Box::new(script),
            requests: Mutex::new(Vec::new()),
            connections: AtomicUsize::new(0),
            cancelled: AtomicUsize::new(0),
        });
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config(offers)));
        let accepting = state.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                accepting.connections.fetch_add(1, Ordering::SeqCst);
                let acceptor = acceptor.clone();
                let state = accepting.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(socket).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(move |request| {
                        let state = state.clone();
                        async move { answer(request, state).await }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        TlsUpstream { url, state }
    }

    /// Every request received so far, with the HTTP version it came over.
    pub fn requests(&self) -> Vec<(Version, Recorded)> {
        self.state.requests.lock().unwrap().clone()
    }

    /// How many TCP connections were accepted (a pooled client opens one for many calls).
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// How many streamed answers ended before their last frame: abandoned by the gateway (over
    /// HTTP/2, a reset of that stream alone), or cut by the script.
    pub fn cancelled(&self) -> usize {
        self.state.cancelled.load(Ordering::SeqCst)
    }
}

/// Counts a streamed answer dropped before its last frame.
struct Unfinished {
    state: Arc<State>,
    finished: bool,
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        if !self.finished {
            self.state.cancelled.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn server_config(offers: Offers) -> rustls::ServerConfig {
    let cert = CertificateDer::from_pem_file(format!("{TESTDATA}/localhost.pem")).unwrap();
    let key = PrivateKeyDer::from_pem_file(format!("{TESTDATA}/localhost.key")).unwrap();
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .unwrap();
    config.alpn_protocols = match offers {
        Offers::H2 => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        Offers::Http1 => vec![b"http/1.1".to_vec()],
    };
    config
}

type Body = UnsyncBoxBody<Bytes, std::io::Error>;

async fn answer(
    request: Request<Incoming>,
    state: Arc<State>,
) -> Result<Response<Body>, Infallible> {
    let version = request.version();
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|it| it.to_bytes().to_vec())
        .unwrap_or_default();
    let recorded = Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
    };
    let mut reply = (state.script)(&recorded);
    state.requests.lock().unwrap().push((version, recorded));
    loop {
        match reply {
            Reply::Delayed(by, inner) => {
                tokio::time::sleep(by).await;
                reply = *inner;
            }
            Reply::Json {
                status,
                headers,
                body,
            } => {
                let mut response = Response::new(
                    Full::new(Bytes::from(body))
                        .map_err(|never| match never {})
                        .boxed_unsync(),
                );
                *response.status_mut() = StatusCode::from_u16(status).unwrap();
                response.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/json"),
                );
                for (name, value) in headers {
                    response.headers_mut().insert(
                        http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                        http::HeaderValue::from_str(&value).unwrap(),
                    );
                }
                return Ok(response);
            }
            Reply::Sse {
                frames,
                gap,
                cut_after,
                end,
                ..
            } => {
                let sent = cut_after.unwrap_or(frames.len()).min(frames.len());
                let unfinished = Unfinished {
                    state: state.clone(),
                    finished: false,
                };
                let frames = futures_util::stream::unfold(
                    (frames.into_iter().take(sent), unfinished),
                    move |(mut frames, mut unfinished)| async move {
                        let Some(frame) = frames.next() else {
                            match end {
                                End::Clean => {}
                                // Over HTTP/2 a failed body resets its stream alone
                                // (RST_STREAM); the connection stays up.
                                End::Drop => {
                                    // A reset discards DATA frames still queued to send:
                                    // let the frames before it leave first.
                                    tokio::time::sleep(Duration::from_millis(50)).await;
                                    let reset = Err(std::io::Error::other("cut by the script"));
                                    return Some((reset, (frames, unfinished)));
                                }
                                End::Hang => std::future::pending::<()>().await,
                            }
                            unfinished.finished = true;
                            drop(unfinished);
                            return None;
                        };
                        tokio::time::sleep(gap).await;
                        let frame = Ok::<_, std::io::Error>(Frame::data(Bytes::from(frame)));
                        Some((frame, (frames, unfinished)))
                    },
                );
                let mut response = Response::new(StreamBody::new(frames).boxed_unsync());
                response.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("text/event-stream"),
                );
                return Ok(response);
            }
            Reply::Close => {
                // Over HTTP/2 a closed stream is a reset, which hyper sends for a failed body.
                let failing = futures_util::stream::once(async {
                    Err::<Frame<Bytes>, _>(std::io::Error::other("closed by the script"))
                });
                return Ok(Response::new(StreamBody::new(failing).boxed_unsync()));
            }
        }
    }
}

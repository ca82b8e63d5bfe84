//! Shared HTTP plumbing: clients with the configured timeouts, sending with a first-byte
//! deadline, and turning upstream error responses into `ProviderError`s.

mod connect;

use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue};
use http::{Method, Request, Uri};
use http_body_util::{BodyDataStream, BodyExt as _, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client as Pool;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use percent_encoding::percent_decode_str;
use serde::Deserialize;
use time::OffsetDateTime;

pub(crate) use connect::ConnectTimeout;
pub use connect::{Roots, Trust};

use crate::error::{ProviderError, ProviderErrorKind};

/// Timeouts for one upstream.
///
/// `connect` is enforced by the connector, once per new connection; the others by the adapters
/// (`Client::send`, `read_body`, the stream wrapper), not by the HTTP client, which would arm a
/// timer on every socket read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP (and TLS) connection set-up.
    pub connect: Duration,
    /// From sending the request to the response headers, and for streams to the first event.
    pub first_byte: Duration,
    /// Longest silence between two reads of a body.
    pub idle: Duration,
    /// The whole call, streams included.
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            first_byte: Duration::from_secs(60),
            idle: Duration::from_secs(120),
            total: Duration::from_secs(600),
        }
    }
}

/// Which addresses a client may connect to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Operator-configured upstreams: anywhere, including a local vLLM or Ollama.
    Any,
    /// Tenant-supplied URLs: names that resolve to private, loopback or link-local addresses
    /// are refused at connection time, so a DNS answer cannot smuggle a request inside.
    PublicOnly,
}

/// The pooled client for one upstream: hyper's connection pool over [`connect`]'s connector,
/// and the upstream's fixed headers (credentials, content type).
///
/// The data plane calls hyper directly, not through reqwest: reqwest wraps every call in
/// redirect and retry layers that re-parse its URL twice and clone its headers, about 15 % of
/// the gateway's work per request (BENCHMARKS.md), for features an upstream call must not use
/// (an upstream's redirect would carry credentials elsewhere; failover decides retries). There
/// is no proxy either: the gateway's outbound traffic goes where it is configured.
#[derive(Clone)]
pub struct Client {
    pool: Pool<connect::Connector, Full<Bytes>>,
    headers: HeaderMap,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

/// An upstream's answer, its body not read yet.
pub type Response = http::Response<Incoming>;

/// Builds a client for one upstream: pooled keep-alive connections (HTTP/1.1, or h2 when TLS
/// negotiates it), the connect timeout, the upstream's fixed headers.
///
/// # Errors
/// When the TLS backend cannot be initialised.
pub fn client(
    timeouts: &Timeouts,
    mut headers: HeaderMap,
    reach: Reach,
    trust: &Trust,
) -> Result<Client, ProviderError> {
    // What reqwest, curl and most clients send; some upstreams' front doors expect it.
    headers
        .entry(http::header::ACCEPT)
        .or_insert(HeaderValue::from_static("*/*"));
    let connector = connect::connector(timeouts.connect, reach, trust)
        .map_err(|e| ProviderError::new(ProviderErrorKind::Connect, format!("http client: {e}")))?;
    let pool = Pool::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(256)
        .build(connector);
    Ok(Client { pool, headers })
}

impl Client {
    /// A POST of `body` to `uri` with the upstream's fixed headers; the caller may add more.
    pub fn post(&self, uri: &Uri, body: Vec<u8>) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(Bytes::from(body)));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = uri.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }

    /// Sends `request` and waits for response headers within `first_byte`; a non-2xx answer
    /// is read and classified.
    ///
    /// # Errors
    /// Timeouts, connection failures and every non-2xx response.
    pub async fn send(
        &self,
        request: Request<Full<Bytes>>,
        first_byte: Duration,
    ) -> Result<Response, ProviderError> {
        let response = match tokio::time::timeout(first_byte, self.pool.request(request)).await {
            Err(_) => {
                return Err(ProviderError::timeout(
                    "waiting for response headers",
                    first_byte,
                ));
            }
            Ok(Err(e)) => return Err(e.into()),
            Ok(Ok(response)) => response,
        };
        if response.status().is_success() {
            return Ok(response);
        }
        Err(error_from_response(response).await)
    }
}

/// Removes the basic credentials a URL carries (`http://user:pass@…`) and returns them as an
/// `authorization` header value, so they are never sent in the request line. Called once per
/// upstream, on its base URL.
///
/// # Errors
/// Credentials that make no header value.
pub fn take_credentials(url: &mut url::Url) -> Result<Option<HeaderValue>, ProviderError> {
    if url.username().is_empty() && url.password().is_none() {
        return Ok(None);
    }
    let decoded = |it: &str| percent_decode_str(it).decode_utf8_lossy().into_owned();
    let user = decoded(url.username());
    let password = url.password().map(decoded).unwrap_or_default();
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let mut value = HeaderValue::from_str(&format!("Basic {encoded}"))
        .map_err(|_| ProviderError::decode("invalid credentials in the upstream URL"))?;
    value.set_sensitive(true);
    // Infallible on http(s) URLs; a URL that cannot have credentials has none to strip.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    Ok(Some(value))
}

/// The request target for `url`.
///
/// # Errors
/// When `url` is not an http or https request target.
pub fn uri(url: &url::Url) -> Result<Uri, ProviderError> {
    let uri = Uri::try_from(url.as_str())
        .map_err(|e| ProviderError::decode(format!("invalid upstream URL: {e}")))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(ProviderError::decode(format!(
            "upstream URL `{url}` is not http or https"
        )));
    }
    Ok(uri)
}

/// Reads a whole (non-streamed) body, bounded by what is left of the total deadline.
///
/// # Errors
/// Timeouts and broken connections.
pub async fn read_body(response: Response, remaining: Duration) -> Result<Bytes, ProviderError> {
    match tokio::time::timeout(remaining, response.into_body().collect()).await {
        Err(_) => Err(ProviderError::timeout(
            "reading the response body",
            remaining,
        )),
        Ok(Err(e)) => Err(e.into()),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

/// The body's bytes as they arrive, for streams.
pub fn body_stream(response: Response) -> BodyDataStream<Incoming> {
    BodyDataStream::new(response.into_body())
}

/// How long the upstream asked us to wait, from `retry-after-ms`, `retry-after` (seconds or an
/// HTTP date).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|it| it.to_str().ok())
        .and_then(|it| it.trim().parse::<f64>().ok())
        .filter(|it| it.is_finite() && *it >= 0.0)
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let value = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let at = OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    let wait = at - OffsetDateTime::now_utc();
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// The error envelope of OpenAI (`{"error":{...}}`) and Anthropic (`{"type":"error","error":{...}}`).
#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorDetail,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorDetail {
    Object {
        #[serde(default)]
        message: Option<String>,
        #[serde(default, rename = "type")]
        kind: Option<String>,
        #[serde(default)]
        code: Option<serde_json::Value>,
        #[serde(default)]
        param: Option<String>,
    },
    Text(String),
}

/// What an upstream error body said, in the fields we use.
#[derive(Debug, Default)]
pub(crate) struct UpstreamErrorInfo {
    pub message: Option<String>,
    pub kind: Option<String>,
    pub code: Option<String>,
    pub param: Option<String>,
}

pub(crate) fn parse_error_body(body: &[u8]) -> UpstreamErrorInfo {
    match serde_json::from_slice::<ErrorEnvelope>(body) {
        Ok(ErrorEnvelope {
            error:
                ErrorDetail::Object {
                    message,
                    kind,
                    code,
                    param,
                },
        }) => UpstreamErrorInfo {
            message,
            kind,
            code: code.map(|it| match it {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            }),
            param,
        },
        Ok(ErrorEnvelope {
            error: ErrorDetail::Text(message),
        }) => UpstreamErrorInfo {
            message: Some(message),
            ..UpstreamErrorInfo::default()
        },
        Err(_) => UpstreamErrorInfo::default(),
    }
}

/// An error body longer than this is not read (nor shown).
const MAX_ERROR_BODY: usize = 64 * 1024;
/// Upstream bodies are kept for logs, but never more than this.
const MAX_DEBUG_BODY: usize = 2048;
/// An upstream message longer than this is not shown to clients.
const MAX_CLIENT_MESSAGE: usize = 1000;

fn truncated(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.chars().take(MAX_DEBUG_BODY).collect()
}

/// Classifies a non-2xx upstream response.
async fn error_from_response(response: Response) -> ProviderError {
    let status = response.status().as_u16();
    let retry_after = retry_after(response.headers());
    // An error body is small; a bounded wait (and size) keeps a slow or huge one from holding
    // the request.
    let body = http_body_util::Limited::new(response.into_body(), MAX_ERROR_BODY).collect();
    let body = tokio::time::timeout(Duration::from_secs(10), body)
        .await
        .ok()
        .and_then(Result::ok)
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    classify(status, retry_after, &body)
}

/// The classification rules, separate from IO so they can be unit-tested.
pub(crate) fn classify(status: u16, retry_after: Option<Duration>, body: &[u8]) -> ProviderError {
    let info = parse_error_body(body);
    let upstream_kind = info.kind.as_deref().unwrap_or_default();
    let upstream_code = info.code.as_deref().unwrap_or_default();
    let upstream_message = info
        .message
        .clone()
        .filter(|it| !it.is_empty() && it.len() <= MAX_CLIENT_MESSAGE);
    let is_context = upstream_code == "context_length_exceeded"
        || upstream_message.as_deref().is_some_and(|it| {
            let lower = it.to_lowercase();
            lower.contains("context length")
                || lower.contains("context window")
                || lower.contains("prompt is too long")
                || lower.contains("maximum context")
        });
    let (kind, message) = match status {
        400 | 409 | 413 | 422 if is_context => (
            ProviderErrorKind::ContextLengthExceeded,
            upstream_message.unwrap_or_else(|| "the prompt is too long for this model".into()),
        ),
        400 | 409 | 413 | 422 => (
            ProviderErrorKind::InvalidRequest,
            upstream_message.unwrap_or_else(|| {
                format!("the upstream provider rejected the request (status {status})")
            }),
        ),
        401 | 403 => (
            ProviderErrorKind::Auth,
            "the upstream provider refused the gateway's credentials".to_owned(),
        ),
        404 => (
            ProviderErrorKind::NotFound,
            "the upstream provider does not know the configured model or endpoint".to_owned(),
        ),
        429 => (
            ProviderErrorKind::RateLimited,
            "the upstream provider is rate-limiting requests; retry later".to_owned(),
        ),
        503 | 529 => (
            ProviderErrorKind::Overloaded,
            format!("the upstream provider is overloaded (status {status})"),
        ),
        _ if upstream_kind == "overloaded_error" => (
            ProviderErrorKind::Overloaded,
            format!("the upstream provider is overloaded (status {status})"),
        ),
        500..=599 => (
            ProviderErrorKind::Upstream5xx,
            format!("the upstream provider failed (status {status})"),
        ),
        _ => (
            ProviderErrorKind::Decode,
            format!("the upstream provider answered with unexpected status {status}"),
        ),
    };
    let caller_fault = matches!(
        kind,
        ProviderErrorKind::InvalidRequest | ProviderErrorKind::ContextLengthExceeded
    );
    ProviderError {
        kind,
        upstream_status: Some(status),
        retry_after,
        message,
        param: if caller_fault { info.param } else { None },
        debug_body: (!body.is_empty()).then(|| truncated(body)),
    }
}

/// Classifies an error event sent inside a stream (OpenAI `{"error":...}`, Anthropic `error`).
pub(crate) fn classify_stream_error(body: &[u8]) -> ProviderError {
    let info = parse_error_body(body);
    let status = match info.kind.as_deref().unwrap_or_default() {
        "overloaded_error" => 529,
        "rate_limit_error" | "rate_limit_exceeded" => 429,
        "invalid_request_error" => 400,
        "authentication_error" | "permission_error" => 401,
        "not_found_error" => 404,
        "timeout_error" => 504,
        _ => 500,
    };
    if status == 504 {
        let mut res =
            ProviderError::new(ProviderErrorKind::Timeout, "upstream timed out mid-stream");
        res.debug_body = Some(truncated(body));
        return res;
    }
    let mut res = classify(status, None, body);
    res.upstream_status = None;
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to(text: &str) -> Uri {
        uri(&url::Url::parse(text).unwrap()).unwrap()
    }

    /// A client with default timeouts and no fixed headers.
    fn plain_client(reach: Reach, trust: &Trust) -> Client {
        client(&Timeouts::default(), HeaderMap::new(), reach, trust).unwrap()
    }

    /// Reads one request from `stream` and answers `200 ok`; hands the stream back open.
    async fn answer_ok<S>(mut stream: S) -> S
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut buf = [0u8; 4096];
        let _ = stream.read(&mut buf).await.unwrap();
        stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            .await
            .unwrap();
        stream.flush().await.unwrap();
        stream
    }

    /// Sends an empty POST through `client` while `serve` answers, and checks the body is `ok`.
    async fn assert_ok_through<S>(
        client: &Client,
        to: &Uri,
        serve: impl std::future::Future<Output = S>,
    ) {
        let (response, _open) = tokio::join!(
            client.send(client.post(to, Vec::new()), Duration::from_secs(5)),
            serve
        );
        let body = read_body(response.unwrap(), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(&body[..], b"ok");
    }

    #[tokio::test]
    async fn public_only_clients_refuse_names_that_resolve_inside() {
        // A listening local port is unreachable through a name, but reachable for operators.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let guarded = plain_client(Reach::PublicOnly, &Trust::System);
        let to = to(&format!("http://localhost:{port}/"));
        let err = guarded
            .send(guarded.post(&to, Vec::new()), Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ProviderErrorKind::Connect);
        let why = err.debug_body.unwrap_or_default();
        assert!(why.contains("private, loopback"), "{why}");

        let open = plain_client(Reach::Any, &Trust::System);
        let serve = async { answer_ok(listener.accept().await.unwrap().0).await };
        assert_ok_through(&open, &to, serve).await;
    }

    #[tokio::test]
    async fn public_only_clients_never_dial_a_literal_internal_address() {
        // Whatever spelling put it there, a target naming a loopback address is refused before
        // a connection is opened: the canary must never see one.
        let canary = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = canary.local_addr().unwrap().port();
        let guarded = plain_client(Reach::PublicOnly, &Trust::System);
        for url in [
            format!("http://127.0.0.1:{port}/v1"),
            format!("http://①②⑦.0.0.1:{port}/v1"),
            format!("http://2130706433:{port}/"),
            format!("http://[::ffff:127.0.0.1]:{port}/"),
        ] {
            let err = guarded
                .send(guarded.post(&to(&url), Vec::new()), Duration::from_secs(5))
                .await
                .unwrap_err();
            assert_eq!(err.kind, ProviderErrorKind::Connect, "{url}");
            let why = err.debug_body.unwrap_or_default();
            assert!(why.contains("non-public address"), "{url}: {why}");
        }
        let reached = tokio::time::timeout(Duration::from_millis(200), canary.accept()).await;
        assert!(reached.is_err(), "the canary was reached");
    }

    #[tokio::test]
    async fn connecting_is_bounded_by_the_connect_timeout_tls_handshake_included() {
        // The TCP connection is accepted, the TLS handshake never answered.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hold = async {
            let (socket, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(socket);
        };
        let timeouts = Timeouts {
            connect: Duration::from_millis(200),
            ..Timeouts::default()
        };
        let client = client(&timeouts, HeaderMap::new(), Reach::Any, &Trust::System).unwrap();
        let to = to(&format!("https://127.0.0.1:{port}/v1/chat/completions"));
        let err = tokio::select! {
            sent = client.send(client.post(&to, Vec::new()), Duration::from_secs(30)) => sent.unwrap_err(),
            () = hold => unreachable!("the handshake outlasted the test"),
        };
        assert_eq!(err.kind, ProviderErrorKind::Timeout, "{err:?}");
        let why = err.debug_body.unwrap_or_default();
        assert!(why.contains("no connection within 200 ms"), "{why}");
    }

    const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http/testdata");

    /// A TLS server for `localhost`, its certificate issued by `testdata/ca.pem`.
    fn tls_acceptor() -> tokio_rustls::TlsAcceptor {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let cert =
            CertificateDer::from_pem_slice(include_bytes!("http/testdata/localhost.pem")).unwrap();
        let key =
            PrivateKeyDer::from_pem_slice(include_bytes!("http/testdata/localhost.key")).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
        tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config))
    }

    #[tokio::test]
    async fn tls_upstreams_must_present_a_certificate_the_provider_trusts() {
        let acceptor = tls_acceptor();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let to = to(&format!("https://localhost:{port}/v1/chat/completions"));

        // The system's roots do not know the private CA.
        let system = plain_client(Reach::Any, &Trust::System);
        let serve = async {
            let (socket, _) = listener.accept().await.unwrap();
            acceptor.accept(socket).await.is_ok()
        };
        let (sent, handshake_done) = tokio::join!(
            system.send(system.post(&to, Vec::new()), Duration::from_secs(5)),
            serve
        );
        assert!(
            !handshake_done,
            "a certificate of an unknown CA was accepted"
        );
        let err = sent.unwrap_err();
        assert_eq!(err.kind, ProviderErrorKind::Connect);
        let why = err.debug_body.unwrap_or_default();
        assert!(why.contains("certificate"), "{why}");

        // A provider given that CA connects.
        let trust =
            Trust::from_pem_file(std::path::Path::new(&format!("{TESTDATA}/ca.pem"))).unwrap();
        let private = plain_client(Reach::Any, &trust);
        let serve = async {
            let (socket, _) = listener.accept().await.unwrap();
            answer_ok(acceptor.accept(socket).await.unwrap()).await
        };
        assert_ok_through(&private, &to, serve).await;
    }

    #[test]
    fn a_ca_file_must_hold_pem_certificates() {
        let dir = std::env::temp_dir().join(format!("sluice-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pem");
        let err = Trust::from_pem_file(&missing).unwrap_err();
        assert!(
            err.contains("cannot read") && err.contains("missing.pem"),
            "{err}"
        );

        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = Trust::from_pem_file(&empty).unwrap_err();
        assert!(err.contains("holds no PEM certificate"), "{err}");

        let broken = dir.join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let err = Trust::from_pem_file(&broken).unwrap_err();
        assert!(err.contains("certificate 1"), "{err}");

        // A key is skipped, the certificates beside it are read.
        let mixed = dir.join("mixed.pem");
        let mut text = std::fs::read(format!("{TESTDATA}/localhost.key")).unwrap();
        text.extend(std::fs::read(format!("{TESTDATA}/ca.pem")).unwrap());
        std::fs::write(&mixed, text).unwrap();
        assert!(matches!(Trust::from_pem_file(&mixed), Ok(Trust::Roots(_))));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn urls_become_targets_and_their_credentials_a_basic_header() {
        let mut plain = url::Url::parse("https://api.example.com/v1/chat/completions").unwrap();
        assert!(take_credentials(&mut plain).unwrap().is_none());
        assert_eq!(
            uri(&plain).unwrap().to_string(),
            "https://api.example.com/v1/chat/completions"
        );

        let mut with = url::Url::parse("http://us%40r:p%3Ass@vllm.internal:8000/v1").unwrap();
        let credentials = take_credentials(&mut with).unwrap().unwrap();
        assert_eq!(
            uri(&with).unwrap().to_string(),
            "http://vllm.internal:8000/v1"
        );
        assert!(credentials.is_sensitive());
        // base64("us@r:p:ss")
        assert_eq!(credentials.to_str().unwrap(), "Basic dXNAcjpwOnNz");

        let err = uri(&url::Url::parse("ftp://files.example.com/").unwrap()).unwrap_err();
        assert!(err.message.contains("not http"), "{}", err.message);
    }

    #[test]
    fn statuses_map_to_kinds_and_caller_errors_keep_upstream_message() {
        let openai_400 = br#"{"error":{"message":"Invalid value for 'temperature'","type":"invalid_request_error","param":"temperature","code":null}}"#;
        let e = classify(400, None, openai_400);
        assert_eq!(e.kind, ProviderErrorKind::InvalidRequest);
        assert_eq!(e.message, "Invalid value for 'temperature'");
        assert_eq!(e.param.as_deref(), Some("temperature"));

        let context = br#"{"error":{"message":"This model's maximum context length is 8192 tokens","code":"context_length_exceeded"}}"#;
        assert_eq!(
            classify(400, None, context).kind,
            ProviderErrorKind::ContextLengthExceeded
        );

        let auth = br#"{"error":{"message":"Incorrect API key provided: sk-abc***xyz"}}"#;
        let e = classify(401, None, auth);
        assert_eq!(e.kind, ProviderErrorKind::Auth);
        assert!(
            !e.message.contains("sk-abc"),
            "credentials hints never reach clients"
        );

        let anthropic =
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        assert_eq!(
            classify(529, None, anthropic).kind,
            ProviderErrorKind::Overloaded
        );
        assert_eq!(
            classify(500, None, b"<html>oops</html>").kind,
            ProviderErrorKind::Upstream5xx
        );
        assert_eq!(
            classify(502, None, b"").kind,
            ProviderErrorKind::Upstream5xx
        );
        assert_eq!(classify(404, None, b"").kind, ProviderErrorKind::NotFound);
        let e = classify(429, Some(Duration::from_secs(3)), b"{}");
        assert_eq!(e.kind, ProviderErrorKind::RateLimited);
        assert_eq!(e.retry_after, Some(Duration::from_secs(3)));
        assert!(e.kind.is_retryable());
        assert!(!ProviderErrorKind::InvalidRequest.is_retryable());
    }

    #[test]
    fn retry_after_reads_ms_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert("retry-after-ms", "1500".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(1500)));
        let mut headers = HeaderMap::new();
        headers.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        headers.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn stream_errors_are_classified_by_type() {
        let e = classify_stream_error(
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        );
        assert_eq!(e.kind, ProviderErrorKind::Overloaded);
        let e = classify_stream_error(br#"{"error":{"message":"boom","type":"server_error"}}"#);
        assert_eq!(e.kind, ProviderErrorKind::Upstream5xx);
    }
}

//! How upstream connections are opened: name resolution that can refuse internal addresses,
//! TCP with keep-alive and no Nagle delay, TLS with the platform's roots and ALPN (h2 or
//! HTTP/1.1), all within one connect timeout.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioIo;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tower_service::Service;

use super::Reach;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The connector every upstream pool uses.
pub(super) type Connector = Timed<HttpsConnector<Guarded<HttpConnector<Resolver>>>>;

/// Which certificate authorities an upstream's TLS certificate must chain to.
#[derive(Debug, Clone, Default)]
pub enum Trust {
    /// The system's roots, through the platform verifier (what public providers need).
    #[default]
    System,
    /// Only the CAs of one PEM file: an internal upstream behind a private CA, trusted for that
    /// provider alone rather than for the whole process (`SSL_CERT_FILE`).
    Roots(Arc<Roots>),
}

/// A provider's own certificate authorities, ready to verify with.
pub struct Roots {
    /// Where they came from, for logs.
    file: PathBuf,
    config: ClientConfig,
}

impl std::fmt::Debug for Roots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Roots").field("file", &self.file).finish()
    }
}

impl Trust {
    /// Reads the CA certificates of a PEM file.
    ///
    /// # Errors
    /// When the file cannot be read, holds no certificate, or holds one that is not a valid CA
    /// certificate.
    pub fn from_pem_file(file: &Path) -> Result<Trust, String> {
        let text =
            std::fs::read(file).map_err(|e| format!("cannot read `{}`: {e}", file.display()))?;
        let mut roots = RootCertStore::empty();
        for (index, certificate) in CertificateDer::pem_slice_iter(&text).enumerate() {
            let certificate = certificate.map_err(|e| {
                format!(
                    "`{}`: certificate {} is not valid PEM: {e}",
                    file.display(),
                    index + 1
                )
            })?;
            roots.add(certificate).map_err(|e| {
                format!(
                    "`{}`: certificate {} cannot be a root: {e}",
                    file.display(),
                    index + 1
                )
            })?;
        }
        if roots.is_empty() {
            return Err(format!("`{}` holds no PEM certificate", file.display()));
        }
        let config = ClientConfig::builder_with_provider(crypto_provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS versions: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Trust::Roots(Arc::new(Roots {
            file: file.to_owned(),
            config,
        })))
    }

    fn client_config(&self) -> Result<ClientConfig, String> {
        match self {
            Trust::System => system_tls_config(),
            Trust::Roots(roots) => Ok(roots.config.clone()),
        }
    }
}

/// Builds the connector for one upstream.
///
/// # Errors
/// When no TLS configuration can be made (the platform's certificate verifier failed).
pub(super) fn connector(
    connect_timeout: Duration,
    reach: Reach,
    trust: &Trust,
) -> Result<Connector, String> {
    let mut tcp = HttpConnector::new_with_resolver(Resolver { reach });
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp.set_keepalive(Some(Duration::from_secs(15)));
    tcp.set_keepalive_interval(Some(Duration::from_secs(15)));
    let tls = HttpsConnectorBuilder::new()
        .with_tls_config(trust.client_config()?)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(Guarded { inner: tcp, reach });
    Ok(Timed {
        inner: tls,
        timeout: connect_timeout,
    })
}

/// The process's crypto provider when one was installed, ring otherwise.
fn crypto_provider() -> Arc<CryptoProvider> {
    CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()))
}

/// One TLS configuration for the process: the platform verifier loads the system's roots once.
fn system_tls_config() -> Result<ClientConfig, String> {
    static CONFIG: OnceLock<Result<ClientConfig, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let provider = crypto_provider();
            let verifier = rustls_platform_verifier::Verifier::new(provider.clone())
                .map_err(|e| format!("TLS certificate verifier: {e}"))?;
            Ok(ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| format!("TLS versions: {e}"))?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth())
        })
        .clone()
}

/// Resolves names with the system resolver; for tenants' URLs, drops internal addresses.
///
/// Literal IP addresses never reach a resolver: [`Guarded`] judges those.
#[derive(Debug, Clone, Copy)]
pub(super) struct Resolver {
    reach: Reach,
}

impl Service<Name> for Resolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = std::io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let reach = self.reach;
        Box::pin(async move {
            let host = name.as_str();
            let resolved = tokio::net::lookup_host((host, 0)).await?;
            let addrs: Vec<SocketAddr> = match reach {
                Reach::Any => resolved.collect(),
                Reach::PublicOnly => resolved
                    .filter(|it| !domain::outbound::is_internal(it.ip()))
                    .collect(),
            };
            if addrs.is_empty() {
                let why = match reach {
                    Reach::Any => format!("`{host}` has no address"),
                    Reach::PublicOnly => format!(
                        "`{host}` resolves only to private, loopback or link-local addresses, which tenant upstreams may not reach"
                    ),
                };
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    why,
                ));
            }
            Ok(addrs.into_iter())
        })
    }
}

fn refused(why: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::PermissionDenied, why)
}

/// The address a target names literally, parsed as hyper's connector parses it (brackets
/// stripped, then IPv4 or IPv6), so that what is judged is what would be dialled.
fn literal_address(uri: &Uri) -> Option<std::net::IpAddr> {
    let host = uri.host()?;
    let host = host
        .strip_prefix('[')
        .and_then(|it| it.strip_suffix(']'))
        .unwrap_or(host);
    host.parse().ok()
}

/// Keeps tenants' connections on the public internet whatever their URL says: a literal
/// internal address is refused before anything is dialled, and the address a connection
/// actually reached is checked before a byte is sent on it (names were already filtered by
/// [`Resolver`]; this is the last word, for every path to a socket).
#[derive(Debug, Clone)]
pub(super) struct Guarded<C> {
    inner: C,
    reach: Reach,
}

impl<C> Service<Uri> for Guarded<C>
where
    C: Service<Uri, Response = TokioIo<TcpStream>>,
    C::Error: Into<BoxError>,
    C::Future: Send + 'static,
{
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let public_only = self.reach == Reach::PublicOnly;
        if public_only
            && let Some(ip) = literal_address(&uri)
            && domain::outbound::is_internal(ip)
        {
            return Box::pin(async move {
                Err(refused(format!(
                    "`{ip}` is a private, loopback, link-local or otherwise non-public address, which tenant upstreams may not reach"
                ))
                .into())
            });
        }
        let connecting = self.inner.call(uri);
        Box::pin(async move {
            let stream = connecting.await.map_err(Into::into)?;
            if public_only {
                let peer = stream.inner().peer_addr()?;
                if domain::outbound::is_internal(peer.ip()) {
                    return Err(refused(format!(
                        "the connection reached `{}`, a non-public address, which tenant upstreams may not reach",
                        peer.ip()
                    ))
                    .into());
                }
            }
            Ok(stream)
        })
    }
}

/// A connection that was not set up (TCP and TLS) within the connect timeout.
#[derive(Debug, thiserror::Error)]
#[error("no connection within {} ms", .0.as_millis())]
pub(crate) struct ConnectTimeout(pub(crate) Duration);

/// Bounds a connector's whole set-up, TLS handshake included (hyper's own timeout covers TCP
/// only).
#[derive(Debug, Clone)]
pub(super) struct Timed<C> {
    inner: C,
    timeout: Duration,
}

impl<C> Service<Uri> for Timed<C>
where
    C: Service<Uri>,
    C::Error: Into<BoxError>,
    C::Future: Send + 'static,
    C::Response: Send + 'static,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<C::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let timeout = self.timeout;
        let connecting = self.inner.call(uri);
        Box::pin(async move {
            match tokio::time::timeout(timeout, connecting).await {
                Ok(connected) => connected.map_err(Into::into),
                Err(_) => Err(ConnectTimeout(timeout).into()),
            }
        })
    }
}

//! The self-service portal's bundle, compiled in by `build.rs` from `portal/dist`, served at
//! `/` as a single-page app: a known file is served as it is (content-hashed `/assets/*`
//! cached for a year, the rest revalidated), any other page path gets `index.html` so the
//! portal's router can answer it. API, data-plane and operations paths never fall back: they
//! keep their JSON 404s, as do missing files.

use actix_web::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY,
};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse};

use crate::error::ApiError;

/// One file of the bundle.
pub(crate) struct Asset {
    /// Relative to the bundle's root, without a leading `/`.
    pub(crate) path: &'static str,
    pub(crate) body: &'static [u8],
    pub(crate) gzip: Option<&'static [u8]>,
    pub(crate) brotli: Option<&'static [u8]>,
    pub(crate) etag: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/portal_assets.rs"));

/// Paths that belong to the API and operations, never to the portal.
const RESERVED: &[&str] = &[
    "/api",
    "/v1",
    "/oauth",
    "/proxy",
    "/healthz",
    "/readyz",
    "/metrics",
    "/.well-known",
];

/// The portal's page itself: scripts only from here, no framing, nothing sent elsewhere.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

fn reserved(path: &str) -> bool {
    RESERVED.iter().any(|prefix| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|it| it.path == path)
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Whether the client accepts `encoding` (`q=0` refuses it).
fn accepts(req: &HttpRequest, encoding: &str) -> bool {
    let Some(header) = req
        .headers()
        .get(ACCEPT_ENCODING)
        .and_then(|it| it.to_str().ok())
    else {
        return false;
    };
    header.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        parts
            .next()
            .is_some_and(|name| name.eq_ignore_ascii_case(encoding))
            && !parts.any(|param| matches!(param, "q=0" | "q=0.0" | "q=0.00" | "q=0.000"))
    })
}

fn respond(req: &HttpRequest, asset: &'static Asset) -> HttpResponse {
    let cache = if asset.path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut res = HttpResponse::Ok();
    res.insert_header((CONTENT_TYPE, content_type(asset.path)))
        .insert_header((CACHE_CONTROL, cache))
        .insert_header((ETAG, asset.etag))
        .insert_header(("x-content-type-options", "nosniff"));
    if asset.path.ends_with(".html") {
        res.insert_header(("content-security-policy", CONTENT_SECURITY_POLICY))
            .insert_header(("x-frame-options", "DENY"))
            .insert_header(("referrer-policy", "same-origin"));
    }
    if asset.gzip.is_some() || asset.brotli.is_some() {
        res.insert_header((VARY, "accept-encoding"));
    }
    let fresh = req
        .headers()
        .get(IF_NONE_MATCH)
        .and_then(|it| it.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == asset.etag));
    if fresh {
        return res.status(StatusCode::NOT_MODIFIED).finish();
    }
    match (asset.brotli, asset.gzip) {
        (Some(body), _) if accepts(req, "br") => {
            res.insert_header((CONTENT_ENCODING, "br")).body(body)
        }
        (_, Some(body)) if accepts(req, "gzip") => {
            res.insert_header((CONTENT_ENCODING, "gzip")).body(body)
        }
        _ => res.body(asset.body),
    }
}

/// Shown at `/` by a binary compiled without the bundle.
fn not_built() -> HttpResponse {
    HttpResponse::ServiceUnavailable()
        .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(
            "<!doctype html><meta charset=utf-8><title>Portal not built</title>\
             <h1>The portal is not built</h1>\
             <p>This binary was compiled without the portal. Run <code>scripts/build-portal.sh</code>, \
             then rebuild (or use <code>scripts/serve.sh</code>, which does both).</p>\
             <p>The API works regardless: see <a href=\"/api/docs/\">the API reference</a>.</p>",
        )
}

/// The app's fallback: portal files and pages, else the JSON 404 (or 405) it had before.
pub(crate) async fn serve(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let path = req.path();
    if !matches!(*req.method(), Method::GET | Method::HEAD) || reserved(path) {
        return crate::not_found(&req);
    }
    if let Some(asset) = find(path.trim_start_matches('/')) {
        return Ok(respond(&req, asset));
    }
    // A missing file (an old hashed asset, `/favicon.ico`) is a 404, not the app's page.
    let last = path.rsplit('/').next().unwrap_or_default();
    if last.contains('.') || path.starts_with("/assets/") {
        return crate::not_found(&req);
    }
    match find("index.html") {
        Some(index) => Ok(respond(&req, index)),
        None if !BUILT => Ok(not_built()),
        None => crate::not_found(&req),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn api_and_operations_paths_never_become_pages() {
        for path in [
            "/api",
            "/api/v1/nope",
            "/v1/x",
            "/healthz",
            "/metrics",
            "/.well-known/openid-configuration",
            "/oauth/token",
        ] {
            assert!(reserved(path), "{path}");
        }
        for path in ["/", "/keys", "/apis", "/v1x", "/audit"] {
            assert!(!reserved(path), "{path}");
        }
    }

    #[test]
    fn content_types_cover_the_bundle() {
        assert_eq!(content_type("assets/portal-1.wasm"), "application/wasm");
        assert_eq!(
            content_type("assets/portal-1.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
    }

    #[test]
    fn encodings_honour_q_zero() {
        let req = TestRequest::default()
            .insert_header((ACCEPT_ENCODING, "gzip, deflate, br;q=0"))
            .to_http_request();
        assert!(accepts(&req, "gzip"));
        assert!(!accepts(&req, "br"));
        let none = TestRequest::default().to_http_request();
        assert!(!accepts(&none, "gzip"));
    }
}

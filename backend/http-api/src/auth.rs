//! Where a data-plane caller's key comes from: `Authorization: Bearer`, `x-api-key`
//! (Anthropic's SDKs) or `api-key` (Azure's).

use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;

use crate::AppState;

/// The presented key, if any header carries one. A non-Bearer `Authorization` counts as none.
pub(crate) fn presented_key(req: &HttpRequest) -> Option<&str> {
    let headers = req.headers();
    if let Some(value) = headers.get(AUTHORIZATION).and_then(|it| it.to_str().ok()) {
        let value = value.trim();
        if value.len() > 7 && value[..7].eq_ignore_ascii_case("bearer ") {
            return Some(value[7..].trim());
        }
    }
    ["x-api-key", "api-key"]
        .iter()
        .find_map(|name| headers.get(*name).and_then(|it| it.to_str().ok()))
        .map(str::trim)
}

/// The client's address, for keys' IP allow-lists: the TCP peer, or the client a trusted
/// proxy reports (see [`crate::origin`]).
pub(crate) fn client_ip(req: &HttpRequest, state: &AppState) -> Option<std::net::IpAddr> {
    crate::origin::client_ip(req, &state.trusted_proxies)
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn keys_come_from_any_supported_header() {
        let req = TestRequest::default()
            .insert_header(("authorization", "Bearer sk-1"))
            .to_http_request();
        assert_eq!(presented_key(&req), Some("sk-1"));
        let req = TestRequest::default()
            .insert_header(("authorization", "bearer  sk-2 "))
            .to_http_request();
        assert_eq!(presented_key(&req), Some("sk-2"));
        let req = TestRequest::default()
            .insert_header(("x-api-key", "sk-3"))
            .to_http_request();
        assert_eq!(presented_key(&req), Some("sk-3"));
        let req = TestRequest::default()
            .insert_header(("api-key", "sk-4"))
            .to_http_request();
        assert_eq!(presented_key(&req), Some("sk-4"));
        let req = TestRequest::default()
            .insert_header(("authorization", "Basic abc"))
            .to_http_request();
        assert_eq!(presented_key(&req), None);
        assert_eq!(
            presented_key(&TestRequest::default().to_http_request()),
            None
        );
    }
}

//! Who is calling the management API: a personal access token (`Authorization: Bearer`) or a
//! portal session (HttpOnly cookie), and the CSRF check that session-authenticated changes
//! must pass.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::Method;
use actix_web::http::header::AUTHORIZATION;
use management::{Credential, Error, Identity};

use super::problem::ApiProblem;
use crate::AppState;

/// The session cookie's name; neutral, so white-labelled portals do not show ours.
pub const SESSION_COOKIE: &str = "session";
/// The cookie the portal reads its CSRF token from (not HttpOnly, by design).
pub const CSRF_COOKIE: &str = "csrf_token";
/// The header that must echo the CSRF token on mutating requests.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The host name the request came through, normalised: `Host`, or what a trusted proxy
/// reports (see [`crate::origin`]).
pub(crate) fn request_host(req: &HttpRequest, state: &AppState) -> Option<String> {
    crate::origin::origin(req, &state.trusted_proxies).host_name()
}

/// The client's address, for throttling and the audit trail: the peer, or the client a
/// trusted proxy reports.
pub(crate) fn client_ip(req: &HttpRequest, state: &AppState) -> Option<String> {
    crate::origin::origin(req, &state.trusted_proxies)
        .ip
        .map(|it| it.to_string())
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?.trim();
    (value.len() > 7 && value[..7].eq_ignore_ascii_case("bearer ")).then(|| value[7..].trim())
}

/// Constant-time comparison, so the CSRF token cannot be guessed byte by byte.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Authenticates the caller; for session callers on mutating methods, checks the CSRF token.
///
/// # Errors
/// `Unauthenticated` without credentials, `CsrfMismatch` for a session change without its token.
pub(crate) async fn caller(req: &HttpRequest, state: &AppState) -> Result<Identity, ApiProblem> {
    let ip = client_ip(req, state);
    if let Some(token) = bearer(req) {
        return Ok(state.manager.authenticate_token(token, ip).await?);
    }
    let session = req.cookie(SESSION_COOKIE).ok_or_else(|| {
        Error::Unauthenticated(
            "sign in, or send a personal access token as `Authorization: Bearer <token>`".into(),
        )
    })?;
    let identity = state
        .manager
        .authenticate_session(session.value(), ip)
        .await?;
    let mutating = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if mutating {
        let Credential::Session { csrf_token } = &identity.credential else {
            return Ok(identity);
        };
        let sent = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|it| it.to_str().ok())
            .unwrap_or_default();
        if !same(sent, csrf_token) {
            return Err(Error::CsrfMismatch.into());
        }
    }
    Ok(identity)
}

/// The session cookie: HttpOnly, SameSite=Lax, Secure unless the portal runs on plain HTTP.
pub(crate) fn session_cookie(
    value: &str,
    secure: bool,
    max_age: time::Duration,
) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, value.to_owned())
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(max_age)
        .finish()
}

/// The CSRF cookie: readable by the portal's script, sent only to this site.
pub(crate) fn csrf_cookie(value: &str, secure: bool, max_age: time::Duration) -> Cookie<'static> {
    Cookie::build(CSRF_COOKIE, value.to_owned())
        .path("/")
        .http_only(false)
        .secure(secure)
        .same_site(SameSite::Strict)
        .max_age(max_age)
        .finish()
}

/// Expired copies of both cookies, to sign out.
pub(crate) fn cleared_cookies(secure: bool) -> [Cookie<'static>; 2] {
    [
        session_cookie("", secure, time::Duration::ZERO),
        csrf_cookie("", secure, time::Duration::ZERO),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_comparison_needs_equal_tokens() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
        assert!(!same("", "a"));
    }

    #[test]
    fn session_cookies_are_httponly_and_samesite() {
        let cookie = session_cookie("v", true, time::Duration::days(1)).to_string();
        assert!(
            cookie.contains("HttpOnly")
                && cookie.contains("Secure")
                && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        let csrf = csrf_cookie("v", false, time::Duration::days(1)).to_string();
        assert!(
            !csrf.contains("HttpOnly") && csrf.contains("SameSite=Strict"),
            "{csrf}"
        );
    }
}

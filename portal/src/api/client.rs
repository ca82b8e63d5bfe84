//! The HTTP plumbing under `endpoints`: same-origin `fetch` (the session cookie goes along by
//! itself), the CSRF header on changes, and problem documents decoded into `ApiError`.

use std::cell::RefCell;

use api_types::manage::Problem;
use gloo_net::http::{Method, RequestBuilder};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast;

use super::ApiError;

/// The cookie the backend puts the session's CSRF token in (readable by scripts on purpose).
const CSRF_COOKIE: &str = "csrf_token";
/// The header mutating requests echo it in.
const CSRF_HEADER: &str = "x-csrf-token";

thread_local! {
    static ON_UNAUTHENTICATED: RefCell<Option<Box<dyn Fn()>>> = const { RefCell::new(None) };
}

/// Registers what happens when a call finds the session gone (the app signs the person out
/// and shows the sign-in page). Calls to `/auth/*` do not trigger it: there a 401 is an answer.
pub fn on_unauthenticated(hook: impl Fn() + 'static) {
    ON_UNAUTHENTICATED.with(|it| *it.borrow_mut() = Some(Box::new(hook)));
}

fn cookie(name: &str) -> Option<String> {
    let document = web_sys::window()?
        .document()?
        .dyn_into::<web_sys::HtmlDocument>()
        .ok()?;
    let cookies = document.cookie().ok()?;
    cookies.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name && !value.is_empty()).then(|| value.to_owned())
    })
}

/// Whether the browser holds a session's CSRF cookie. Without it there is no session, and the
/// portal skips asking `/me` (which would only answer 401).
pub(crate) fn may_have_session() -> bool {
    cookie(CSRF_COOKIE).is_some()
}

async fn call(method: Method, url: &str, body: Option<String>) -> Result<String, ApiError> {
    let mutating = !matches!(method, Method::GET | Method::HEAD);
    let mut builder = RequestBuilder::new(url)
        .method(method)
        .header("accept", "application/json, application/problem+json");
    if mutating && let Some(token) = cookie(CSRF_COOKIE) {
        builder = builder.header(CSRF_HEADER, &token);
    }
    let request = match body {
        Some(json) => builder
            .header("content-type", "application/json")
            .body(json),
        None => builder.build(),
    }
    .map_err(|e| ApiError::network(e.to_string()))?;
    let response = request
        .send()
        .await
        .map_err(|e| ApiError::network(e.to_string()))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if (200..300).contains(&status) {
        return Ok(text);
    }
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|it| it.trim().parse().ok());
    let error = match serde_json::from_str::<Problem>(&text) {
        Ok(problem) => ApiError::from_problem(problem, retry_after),
        Err(_) => ApiError::unexpected(status, text.chars().take(200).collect::<String>()),
    };
    if error.is_unauthenticated() && !url.contains("/auth/") {
        ON_UNAUTHENTICATED.with(|it| {
            if let Some(hook) = it.borrow().as_ref() {
                hook();
            }
        });
    }
    Err(error)
}

fn decode<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    serde_json::from_str(text)
        .map_err(|e| ApiError::unexpected(200, format!("an answer the portal cannot read: {e}")))
}

fn encode<B: Serialize>(body: &B) -> Result<String, ApiError> {
    serde_json::to_string(body).map_err(|e| ApiError::unexpected(0, e.to_string()))
}

pub(crate) async fn get<T: DeserializeOwned>(url: &str) -> Result<T, ApiError> {
    decode(&call(Method::GET, url, None).await?)
}

pub(crate) async fn post<B: Serialize, T: DeserializeOwned>(
    url: &str,
    body: &B,
) -> Result<T, ApiError> {
    decode(&call(Method::POST, url, Some(encode(body)?)).await?)
}

/// A POST without a body whose answer has one (rotating a secret).
pub(crate) async fn post_empty<T: DeserializeOwned>(url: &str) -> Result<T, ApiError> {
    decode(&call(Method::POST, url, None).await?)
}

pub(crate) async fn put<B: Serialize, T: DeserializeOwned>(
    url: &str,
    body: &B,
) -> Result<T, ApiError> {
    decode(&call(Method::PUT, url, Some(encode(body)?)).await?)
}

/// A POST whose answer has no body (202, 204).
pub(crate) async fn post_quiet<B: Serialize>(url: &str, body: Option<&B>) -> Result<(), ApiError> {
    let body = body.map(encode).transpose()?;
    call(Method::POST, url, body).await.map(drop)
}

pub(crate) async fn patch<B: Serialize, T: DeserializeOwned>(
    url: &str,
    body: &B,
) -> Result<T, ApiError> {
    decode(&call(Method::PATCH, url, Some(encode(body)?)).await?)
}

/// A PATCH whose answer has no body (204).
pub(crate) async fn patch_quiet<B: Serialize>(url: &str, body: &B) -> Result<(), ApiError> {
    call(Method::PATCH, url, Some(encode(body)?))
        .await
        .map(drop)
}

pub(crate) async fn delete(url: &str) -> Result<(), ApiError> {
    call(Method::DELETE, url, None).await.map(drop)
}

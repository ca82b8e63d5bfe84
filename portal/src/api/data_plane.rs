//! The API explorer's calls to the data plane (`/v1/*` on this origin), authenticated with a
//! short-lived token minted for the signed-in user, so nobody pastes a secret into the page.
//!
//! The token lives in memory only (never in storage, where any script of the origin could read
//! it later); a new one is minted a minute before it expires, when the tenant changes, and once
//! when a call answers 401.

use std::cell::RefCell;

use gloo_net::http::{RequestBuilder, Response};
use serde::Deserialize;
use uuid::Uuid;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::{ApiError, endpoints, paths};
use crate::model::token_freshness;

struct CachedToken {
    tenant: Uuid,
    access_token: String,
    expires_at: time::OffsetDateTime,
}

thread_local! {
    static TOKEN: RefCell<Option<CachedToken>> = const { RefCell::new(None) };
}

/// A usable token for `tenant`: the cached one, or a new one.
async fn token(tenant: Uuid) -> Result<String, ApiError> {
    let now = crate::state::ui::now();
    let cached = TOKEN.with(|it| {
        it.borrow()
            .as_ref()
            .filter(|t| t.tenant == tenant && token_freshness::usable(t.expires_at, now))
            .map(|t| t.access_token.clone())
    });
    if let Some(token) = cached {
        return Ok(token);
    }
    let minted = endpoints::explorer_token(tenant).await?;
    let access_token = minted.access_token.clone();
    TOKEN.with(|it| {
        *it.borrow_mut() = Some(CachedToken {
            tenant,
            access_token: minted.access_token,
            expires_at: minted.expires_at,
        });
    });
    Ok(access_token)
}

/// Drops the cached token (on sign-out, so the next person in this tab gets their own).
pub fn forget_token() {
    TOKEN.with(|it| *it.borrow_mut() = None);
}

/// Sends one data-plane request with the token, minting a new token and trying once more when
/// the first answers 401 (it expired, or the server restarted with new signing keys).
async fn send(
    tenant: Uuid,
    build: impl Fn(&str) -> Result<gloo_net::http::Request, gloo_net::Error>,
) -> Result<Response, ApiError> {
    let response = send_once(tenant, &build).await?;
    if response.status() != 401 {
        return Ok(response);
    }
    forget_token();
    send_once(tenant, &build).await
}

async fn send_once(
    tenant: Uuid,
    build: &impl Fn(&str) -> Result<gloo_net::http::Request, gloo_net::Error>,
) -> Result<Response, ApiError> {
    let bearer = format!("Bearer {}", token(tenant).await?);
    build(&bearer)
        .map_err(network)?
        .send()
        .await
        .map_err(network)
}

fn network(e: gloo_net::Error) -> ApiError {
    ApiError::network(e.to_string())
}

#[derive(Deserialize)]
struct ModelList {
    data: Vec<ModelObject>,
}

#[derive(Deserialize)]
struct ModelObject {
    id: String,
}

/// The models this tenant's explorer may call (`GET /v1/models`), sorted.
pub async fn models(tenant: Uuid) -> Result<Vec<String>, ApiError> {
    let response = send(tenant, |bearer| {
        RequestBuilder::new(paths::DATA_PLANE_MODELS)
            .header("authorization", bearer)
            .build()
    })
    .await?;
    let status = response.status();
    let text = response.text().await.map_err(network)?;
    if !(200..300).contains(&status) {
        return Err(ApiError::from_openai_text(status, &text));
    }
    let list: ModelList = serde_json::from_str(&text)
        .map_err(|e| ApiError::unexpected(status, format!("an unreadable model list: {e}")))?;
    let mut ids: Vec<String> = list.data.into_iter().map(|it| it.id).collect();
    ids.sort();
    Ok(ids)
}

/// Sends a chat completions request (`body` is its JSON); the answer's body is read by the
/// caller, whole (`text`) or as it arrives (`BodyReader`). `signal` stops it.
pub async fn chat(
    tenant: Uuid,
    body: &str,
    signal: &web_sys::AbortSignal,
) -> Result<Response, ApiError> {
    send(tenant, |bearer| {
        RequestBuilder::new(paths::DATA_PLANE_CHAT)
            .method(gloo_net::http::Method::POST)
            .header("authorization", bearer)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .abort_signal(Some(signal))
            .body(body.to_owned())
    })
    .await
}

/// The whole body as text.
pub async fn text(response: &Response) -> Result<String, ApiError> {
    response.text().await.map_err(network)
}

/// Reads a response body as it arrives.
pub struct BodyReader {
    reader: web_sys::ReadableStreamDefaultReader,
}

impl BodyReader {
    /// `None` when the response has no body.
    pub fn of(response: &Response) -> Option<Self> {
        let reader = response.body()?.get_reader();
        Some(BodyReader {
            reader: reader.unchecked_into(),
        })
    }

    /// The next bytes, or `None` at the end. Fails when the connection breaks or the call is
    /// aborted.
    pub async fn next(&self) -> Result<Option<Vec<u8>>, ApiError> {
        let result: web_sys::ReadableStreamReadResult = JsFuture::from(self.reader.read())
            .await
            .map_err(|e| ApiError::network(format!("{e:?}")))?
            .unchecked_into();
        if result.get_done().unwrap_or(false) {
            return Ok(None);
        }
        let bytes = result
            .get_value()
            .dyn_into::<js_sys::Uint8Array>()
            .map(|it| it.to_vec())
            .unwrap_or_default();
        Ok(Some(bytes))
    }
}

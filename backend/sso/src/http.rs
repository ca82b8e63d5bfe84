//! The `oauth2` crate's HTTP calls, made with our own reqwest client (its `reqwest` feature
//! would pull a second copy).

use oauth2::{HttpRequest, HttpResponse};

/// Why a call to the identity provider failed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct HttpError(String);

pub(crate) async fn send(
    client: &reqwest::Client,
    request: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let (parts, body) = request.into_parts();
    let mut outgoing = client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body);
    outgoing = outgoing.timeout(std::time::Duration::from_secs(15));
    let response = outgoing
        .send()
        .await
        .map_err(|e| HttpError(e.to_string()))?;
    let mut builder = oauth2::http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| HttpError(e.to_string()))?;
    builder
        .body(body.to_vec())
        .map_err(|e| HttpError(e.to_string()))
}

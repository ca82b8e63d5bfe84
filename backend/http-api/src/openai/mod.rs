//! OpenAI-compatible data-plane endpoints. Each handler authenticates, reads and decodes the
//! body, and hands the canonical request to the gateway.

mod models;

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use actix_web::web::{self, Payload};
use actix_web::{HttpRequest, HttpResponse};
use domain::llm::{ChatRequest, CompletionRequest, EmbeddingRequest};
use gateway::{Answer, Outcome, RequestCtx};

use crate::error::ApiError;
use crate::{AppState, auth, body, middleware, sse};

pub(crate) use models::{get_model, list_models};

/// Authenticates the caller and reads the body: the steps every POST endpoint shares.
pub(crate) async fn prepare(
    req: &HttpRequest,
    payload: Payload,
    state: &AppState,
) -> Result<(RequestCtx, bytes::Bytes), ApiError> {
    let principal = state
        .gateway
        .authenticate(auth::presented_key(req), auth::client_ip(req, state))?;
    let mut ctx = RequestCtx::new(middleware::request_id(req), principal);
    if let Some(value) = req
        .headers()
        .get(CACHE_CONTROL)
        .and_then(|it| it.to_str().ok())
    {
        ctx.cache = gateway::cache::CacheDirective::from_header(value);
    }
    let body = body::read_json_body(req, payload, state.max_body_bytes).await?;
    ctx.body_bytes = body.len();
    Ok((ctx, body))
}

fn respond(answer: Answer<Outcome>) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    crate::error::stage_headers(&mut res, &answer.headers);
    match answer.body {
        Outcome::Complete(json) => res
            .insert_header((CONTENT_TYPE, HeaderValue::from_static("application/json")))
            .body(json),
        Outcome::Stream(stream) => res
            .insert_header((CONTENT_TYPE, HeaderValue::from_static("text/event-stream")))
            .insert_header((CACHE_CONTROL, HeaderValue::from_static("no-cache")))
            // Tells nginx-style proxies in front of us not to buffer the stream.
            .insert_header(("x-accel-buffering", HeaderValue::from_static("no")))
            .streaming(sse::body(stream)),
    }
}

/// `POST /v1/chat/completions`
///
/// # Errors
/// Every failure, as an OpenAI error body.
pub(crate) async fn chat_completions(
    req: HttpRequest,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (ctx, body) = prepare(&req, payload, &state).await?;
    let chat: ChatRequest = body::decode(&body)?;
    Ok(respond(state.gateway.chat(&ctx, chat).await?))
}

/// `POST /v1/completions`
///
/// # Errors
/// Every failure, as an OpenAI error body.
pub(crate) async fn completions(
    req: HttpRequest,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (ctx, body) = prepare(&req, payload, &state).await?;
    let completion: CompletionRequest = body::decode(&body)?;
    Ok(respond(state.gateway.completion(&ctx, completion).await?))
}

/// `POST /v1/embeddings`
///
/// # Errors
/// Every failure, as an OpenAI error body.
pub(crate) async fn embeddings(
    req: HttpRequest,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (ctx, body) = prepare(&req, payload, &state).await?;
    let embedding: EmbeddingRequest = body::decode(&body)?;
    let answer = state.gateway.embeddings(&ctx, embedding).await?;
    Ok(respond(Answer {
        body: Outcome::Complete(answer.body),
        headers: answer.headers,
    }))
}

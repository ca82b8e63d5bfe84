//! The HTTP edge: the actix-web app, OpenAI-compatible endpoints, SSE framing, operations
//! endpoints, and the mapping of gateway errors to HTTP. The only crate that knows HTTP.

mod anthropic;
mod auth;
pub mod body;
pub mod error;
pub mod manage;
pub mod middleware;
mod oauth;
mod openai;
mod ops;
pub mod origin;
mod portal;
mod sse;

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, HttpRequest, HttpResponse, web};
use gateway::{Error, ErrorKind, Gateway};

use crate::error::ApiError;

/// What every handler can reach.
pub struct AppState {
    pub gateway: Arc<Gateway>,
    pub manager: Arc<management::Manager>,
    /// Whether cookies carry `Secure` (off only for plain-HTTP local installs).
    pub secure_cookies: bool,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Renders the Prometheus exposition.
    pub render_metrics: Arc<dyn Fn() -> String + Send + Sync>,
    /// Peers whose forwarded headers are believed (parsed once, at start).
    pub trusted_proxies: origin::TrustedProxies,
}

/// The whole application: data plane, operations endpoints, and errors for everything else.
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(state)
        .wrap(actix_web::middleware::from_fn(middleware::observe))
        .service(post("/v1/chat/completions", openai::chat_completions))
        .service(post("/v1/completions", openai::completions))
        .service(post("/v1/embeddings", openai::embeddings))
        .service(
            web::resource("/v1/messages")
                .route(web::post().to(anthropic::messages))
                .default_service(web::to(anthropic::method_not_allowed)),
        )
        .service(
            web::resource("/v1/messages/count_tokens")
                .route(web::post().to(anthropic::count_tokens))
                .default_service(web::to(anthropic::method_not_allowed)),
        )
        .service(
            web::resource("/v1/models")
                .route(web::get().to(openai::list_models))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource("/v1/models/{id:.+}")
                .route(web::get().to(openai::get_model))
                .default_service(web::to(method_not_allowed)),
        )
        .route("/healthz", web::get().to(ops::healthz))
        .route("/readyz", web::get().to(ops::readyz))
        .route("/metrics", web::get().to(ops::metrics))
        .service(
            web::resource("/oauth/token")
                .route(web::post().to(oauth::token))
                .default_service(web::to(method_not_allowed)),
        )
        .route("/.well-known/jwks.json", web::get().to(oauth::jwks))
        .route(
            "/.well-known/oauth-authorization-server",
            web::get().to(oauth::metadata),
        )
        .configure(manage::configure)
        .service(manage::reference_page())
        // The portal at `/` (a single-page app); API paths keep their JSON 404s.
        .default_service(web::to(portal::serve))
}

fn post<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    web::resource(path)
        .route(web::post().to(handler))
        .default_service(web::to(method_not_allowed))
}

async fn method_not_allowed(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(Error::new(
        ErrorKind::MethodNotAllowed,
        format!("`{}` is not allowed on `{}`", req.method(), req.path()),
    )
    .into())
}

/// The JSON 404 of unknown API paths (the portal's fallback answers every other path).
fn not_found(req: &HttpRequest) -> Result<HttpResponse, ApiError> {
    let path: String = req.path().chars().take(200).collect();
    Err(Error::new(
        ErrorKind::NotFound,
        format!("there is no endpoint `{path}`"),
    )
    .into())
}

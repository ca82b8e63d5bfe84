//! The HTTP edge: the actix-web app, OpenAI-compatible endpoints, SSE framing, operations
//! endpoints, and the mapping of gateway errors to HTTP. The only crate that knows HTTP.

/// A resource that routes each of its methods to a handler and answers any other method with
/// 405 and an `Allow` header listing them, in the error shape `refuse` renders (each family of
/// paths has its own). The methods are written once, so `Allow` cannot drift from the routes.
///
/// `resource!("/path", refuse = module::method_not_allowed, get => handler, post => other)`
macro_rules! resource {
    ($path:expr, refuse = $refuse:path, $($method:ident => $handler:expr),+ $(,)?) => {
        ::actix_web::web::resource($path)
            $(.route(::actix_web::web::$method().to($handler)))+
            .default_service(::actix_web::web::to(|req: ::actix_web::HttpRequest| {
                $refuse(req, &[$(stringify!($method)),+])
            }))
    };
}

mod anthropic;
mod auth;
pub mod body;
pub mod client_slots;
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
use actix_web::http::header::{ALLOW, HeaderValue};
use actix_web::{App, HttpRequest, HttpResponse, ResponseError, web};
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
    /// How fast request bodies must arrive.
    pub body_pace: body::BodyPace,
    /// Requests in flight per client on the endpoints that need no credentials.
    pub client_slots: Arc<client_slots::ClientSlots>,
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
        .service(resource!("/v1/chat/completions", refuse = method_not_allowed, post => openai::chat_completions))
        .service(resource!("/v1/completions", refuse = method_not_allowed, post => openai::completions))
        .service(resource!("/v1/embeddings", refuse = method_not_allowed, post => openai::embeddings))
        .service(resource!("/v1/messages", refuse = anthropic::method_not_allowed, post => anthropic::messages))
        .service(resource!(
            "/v1/messages/count_tokens",
            refuse = anthropic::method_not_allowed,
            post => anthropic::count_tokens,
        ))
        .service(resource!("/v1/models", refuse = method_not_allowed, get => openai::list_models))
        .service(resource!("/v1/models/{id:.+}", refuse = method_not_allowed, get => openai::get_model))
        .service(resource!("/healthz", refuse = method_not_allowed, get => ops::healthz))
        .service(resource!("/readyz", refuse = method_not_allowed, get => ops::readyz))
        .service(resource!("/metrics", refuse = method_not_allowed, get => ops::metrics))
        .service(
            resource!("/oauth/token", refuse = oauth::method_not_allowed, post => oauth::token)
                .wrap(actix_web::middleware::from_fn(client_slots::limit)),
        )
        .service(resource!(
            "/.well-known/jwks.json",
            refuse = oauth::method_not_allowed,
            get => oauth::jwks,
        ))
        .service(resource!(
            "/.well-known/oauth-authorization-server",
            refuse = oauth::method_not_allowed,
            get => oauth::metadata,
        ))
        .configure(manage::configure)
        .service(manage::reference_page())
        // The portal at `/` (a single-page app); API paths keep their JSON 404s.
        .default_service(web::to(portal::serve))
}

/// The value of `Allow` for a resource's methods, as `resource!` names them (`get`, `post`).
fn allow(methods: &[&str]) -> String {
    methods
        .iter()
        .map(|it| it.to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Adds `Allow` to a 405 answer.
fn with_allow(mut res: HttpResponse, methods: &[&str]) -> HttpResponse {
    if let Ok(value) = HeaderValue::from_str(&allow(methods)) {
        res.headers_mut().insert(ALLOW, value);
    }
    res
}

/// The error of a method a resource does not answer, naming the ones it does.
fn method_error(req: &HttpRequest, methods: &[&str]) -> Error {
    let path: String = req.path().chars().take(200).collect();
    Error::new(
        ErrorKind::MethodNotAllowed,
        format!(
            "`{}` is not allowed on `{path}`; it answers {}",
            req.method(),
            allow(methods)
        ),
    )
}

/// 405 in OpenAI's envelope, for the data plane and the operations endpoints.
async fn method_not_allowed(req: HttpRequest, methods: &'static [&'static str]) -> HttpResponse {
    with_allow(
        ApiError(method_error(&req, methods)).error_response(),
        methods,
    )
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

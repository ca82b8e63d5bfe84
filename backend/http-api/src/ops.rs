//! Operations endpoints: liveness, readiness (the store answers) and Prometheus metrics.

use actix_web::HttpResponse;
use actix_web::http::header::{CONTENT_TYPE, HeaderValue};
use actix_web::web::{self, Json};
use serde_json::json;

use crate::AppState;

/// `GET /healthz`: the process is up.
pub(crate) async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`: the process can serve, its store answers. `limits` says where calls are
/// counted: `shared`, `local` (no Redis configured) or `unreachable` (Redis configured but not
/// answering: tenants whose policy fails open are counted by this node alone). An unreachable
/// Redis does not make the node unready: taking it out of rotation would not bring Redis back.
pub(crate) async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let limits = state.gateway.limits_state();
    match state.gateway.ready().await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ready", "limits": limits})),
        Err(e) => {
            tracing::warn!(detail = ?e.detail, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .json(json!({"status": "unavailable", "reason": e.message}))
        }
    }
}

/// `GET /metrics` in Prometheus text format.
pub(crate) async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        ))
        .body((state.render_metrics)())
}

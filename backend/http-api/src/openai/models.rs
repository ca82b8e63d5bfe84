//! `GET /v1/models` and `GET /v1/models/{id}`: only the models the caller's key may use.
//! Anthropic's SDKs (which send `anthropic-version`) get Anthropic's shape of the same list.

use actix_web::HttpRequest;
use actix_web::web::{self, Json};
use gateway::Route;
use serde::Serialize;

use crate::error::ApiError;
use crate::{AppState, auth};

#[derive(Serialize)]
pub(crate) struct ModelObject<'a> {
    id: &'a str,
    object: &'static str,
    created: i64,
    owned_by: &'a str,
}

#[derive(Serialize)]
pub(crate) struct ModelList<'a> {
    object: &'static str,
    data: Vec<ModelObject<'a>>,
}

/// Whether the caller speaks Anthropic's API: its SDKs send `anthropic-version` on every call.
fn wants_anthropic(req: &HttpRequest) -> bool {
    req.headers().contains_key("anthropic-version")
}

/// A model in Anthropic's shape: `type`, `id`, `display_name`, `created_at` (RFC 3339).
fn anthropic_model(route: &Route) -> serde_json::Value {
    let created_at = time::OffsetDateTime::from_unix_timestamp(route.created)
        .ok()
        .and_then(|it| {
            it.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    serde_json::json!({
        "type": "model",
        "id": &*route.alias,
        "display_name": &*route.alias,
        "created_at": created_at,
    })
}

fn model_object(route: &Route) -> ModelObject<'_> {
    ModelObject {
        id: &route.alias,
        object: "model",
        created: route.created,
        owned_by: &route.owned_by,
    }
}

/// `GET /v1/models`
///
/// # Errors
/// Authentication failures.
pub(crate) async fn list_models(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let principal = state
        .gateway
        .authenticate(auth::presented_key(&req), auth::client_ip(&req, &state))?;
    gateway::Gateway::check_models_endpoint(&principal)?;
    if wants_anthropic(&req) {
        let data: Vec<serde_json::Value> = state
            .gateway
            .models(&principal)
            .map(anthropic_model)
            .collect();
        let id = |it: Option<&serde_json::Value>| it.map(|it| it["id"].clone());
        return Ok(Json(serde_json::json!({
            "data": data,
            "has_more": false,
            "first_id": id(data.first()),
            "last_id": id(data.last()),
        })));
    }
    let list = ModelList {
        object: "list",
        data: state.gateway.models(&principal).map(model_object).collect(),
    };
    Ok(Json(
        serde_json::to_value(list).map_err(gateway::Error::internal)?,
    ))
}

/// `GET /v1/models/{id}`; ids may contain `/` (`meta-llama/Llama-3.1-8B`).
///
/// # Errors
/// Authentication failures and unknown (or out-of-scope) models.
pub(crate) async fn get_model(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let principal = state
        .gateway
        .authenticate(auth::presented_key(&req), auth::client_ip(&req, &state))?;
    gateway::Gateway::check_models_endpoint(&principal)?;
    let route = state.gateway.model(&principal, &id)?;
    if wants_anthropic(&req) {
        return Ok(Json(anthropic_model(route)));
    }
    Ok(Json(
        serde_json::to_value(model_object(route)).map_err(gateway::Error::internal)?,
    ))
}

//! `GET /v1/models` and `GET /v1/models/{id}`: only the models the caller's key may use.

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
        .authenticate(auth::presented_key(&req), auth::client_ip(&req))?;
    gateway::Gateway::check_models_endpoint(&principal)?;
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
        .authenticate(auth::presented_key(&req), auth::client_ip(&req))?;
    gateway::Gateway::check_models_endpoint(&principal)?;
    let route = state.gateway.model(&principal, &id)?;
    Ok(Json(
        serde_json::to_value(model_object(route)).map_err(gateway::Error::internal)?,
    ))
}

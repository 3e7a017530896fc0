//! Routes: `GET /v1/models` and `GET /v1/models/{id}`, from the configured catalogue.

use super::access::RequestFacts;
use super::auth;
use super::errors::ApiError;
use super::state::AppState;
use crate::config::ModelEntry;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use std::sync::Arc;

fn model_json(m: &ModelEntry) -> Value {
    json!({"id": m.id, "object": "model", "created": 0, "owned_by": m.owned_by})
}

fn req_id(req: &HttpRequest) -> String {
    req.extensions()
        .get::<Arc<RequestFacts>>()
        .map(|f| f.ids.req_id.clone())
        .unwrap_or_default()
}

fn fail(req: &HttpRequest, e: ApiError) -> HttpResponse {
    if let Some(f) = req.extensions().get::<Arc<RequestFacts>>() {
        f.set_error(&e, false);
    }
    e.response(&req_id(req))
}

fn allowed(req: &HttpRequest, state: &AppState) -> bool {
    !state.api.protect_models || auth::api_allowed(req, &state.api.api_keys)
}

pub async fn list(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !allowed(&req, &state) {
        return fail(&req, ApiError::Unauthorized);
    }
    let data: Vec<Value> = state.api.models.iter().map(model_json).collect();
    HttpResponse::Ok().json(json!({"object": "list", "data": data}))
}

pub async fn get(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !allowed(&req, &state) {
        return fail(&req, ApiError::Unauthorized);
    }
    let id = req.match_info().get("id").unwrap_or("");
    match state.api.model(id) {
        Some(m) => HttpResponse::Ok().json(model_json(m)),
        None => fail(&req, ApiError::ModelNotFound),
    }
}

/// Everything that matches no route: a JSON 404.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    fail(&req, ApiError::NotFound)
}

//! Routes: `GET /livez`, `/readyz`, `/healthz` (no auth, never counted as API traffic) and
//! `GET /metrics` (loopback, or the metrics token).

use super::auth;
use super::errors::ApiError;
use super::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use codexd_actors::health::{GetHealth, GetLiveness, GetReadiness};
use codexd_actors::metrics::RenderMetrics;
use serde_json::json;
use std::time::Duration;

const ASK: Duration = Duration::from_secs(2);

pub async fn livez(state: web::Data<AppState>) -> HttpResponse {
    match tokio::time::timeout(ASK, state.health.send(GetLiveness)).await {
        Ok(Ok(())) => HttpResponse::Ok().json(json!({"live": true})),
        _ => HttpResponse::ServiceUnavailable().json(json!({"live": false})),
    }
}

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match tokio::time::timeout(ASK, state.health.send(GetReadiness)).await {
        Ok(Ok((true, _))) => HttpResponse::Ok().json(json!({"ready": true})),
        Ok(Ok((false, reason))) => HttpResponse::ServiceUnavailable()
            .json(json!({"ready": false, "reason": reason.as_str()})),
        _ => HttpResponse::ServiceUnavailable().json(json!({"ready": false, "reason": "starting"})),
    }
}

pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    match tokio::time::timeout(ASK, state.health.send(GetHealth)).await {
        Ok(Ok(snapshot)) => HttpResponse::Ok().json(snapshot),
        _ => {
            HttpResponse::ServiceUnavailable().json(json!({"status": "unavailable", "live": false}))
        }
    }
}

pub async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !auth::metrics_allowed(&req, state.api.metrics_token.as_deref()) {
        return ApiError::Forbidden.response("");
    }
    match tokio::time::timeout(ASK, state.metrics_actor.send(RenderMetrics)).await {
        Ok(Ok(text)) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(text),
        _ => HttpResponse::ServiceUnavailable().finish(),
    }
}

//! Route: `OPTIONS` on any path — the CORS preflight — and the JSON 404 for everything else. With `server.cors_allow_origin` set it
//! answers 204 with the allowed methods and headers (browsers send it before a POST that
//! carries `Authorization`); without it, a JSON 404 like any unknown route.

use super::models;
use super::state::AppState;
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};

/// How long a browser may cache the preflight answer.
const MAX_AGE_S: &str = "600";

/// Everything no route matched: a CORS preflight when CORS is configured, else a JSON 404.
pub async fn fallback(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match (&state.cors_origin, req.method() == Method::OPTIONS) {
        (Some(_), true) => HttpResponse::NoContent()
            .insert_header(("Access-Control-Allow-Methods", "GET, POST, OPTIONS"))
            .insert_header((
                "Access-Control-Allow-Headers",
                "Authorization, Content-Type, X-Request-Id, traceparent, tracestate",
            ))
            .insert_header(("Access-Control-Max-Age", MAX_AGE_S))
            .finish(),
        _ => models::not_found(req).await,
    }
}

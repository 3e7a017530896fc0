//! The authenticated key of a request: inserted into the request's extensions by the auth
//! check (`access.rs`, through `auth::authenticate`) on every authenticated request. Handlers
//! and the limiter read it; the id (never the secret) goes on the request's log lines and spans.

use crate::config::{ApiKey, KeyLimits};
use actix_web::{HttpMessage, HttpRequest};
use std::sync::Arc;

/// Who a request authenticated as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthedKey {
    pub id: Arc<str>,
    /// May read `/v1/usage`.
    pub admin: bool,
    /// The key's own limits (unset ones fall back to the `[limits]` defaults).
    pub limits: KeyLimits,
}

impl AuthedKey {
    pub fn of(key: &ApiKey) -> Self {
        Self {
            id: key.id.clone(),
            admin: key.admin,
            limits: key.limits,
        }
    }

    /// The key a request authenticated with, if any.
    pub fn from_request(req: &HttpRequest) -> Option<AuthedKey> {
        req.extensions().get::<AuthedKey>().cloned()
    }
}

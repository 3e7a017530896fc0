//! The per-key limit check of an API request (after auth, before the body is read or any
//! work is queued) and the `x-ratelimit-*` headers every response of a limited key carries.

use super::access::RequestFacts;
use super::authed_key::AuthedKey;
use super::errors::ApiError;
use super::state::AppState;
use crate::limits::{headers, Snapshot, Verdict};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::HttpRequest;

/// Admits the request under its key's limits, or says why not. The permit (the slot) is held
/// by the request's facts until the request completes.
pub async fn admit(
    req: &HttpRequest,
    state: &AppState,
    facts: &RequestFacts,
) -> Result<(), ApiError> {
    let Some(key) = AuthedKey::from_request(req) else {
        return Ok(());
    };
    match state.limiter.admit(&key.id).await {
        Verdict::Unlimited => Ok(()),
        Verdict::Admitted(p) => {
            facts.set_limits(p.snapshot, Some(p));
            Ok(())
        }
        Verdict::Rejected(r) => {
            facts.set_limits(Some(r.snapshot), None);
            Err(ApiError::KeyLimited(Box::new(r)))
        }
        Verdict::Unavailable(_) => Err(ApiError::LimitsUnavailable),
    }
}

/// Adds the `x-ratelimit-*` headers of a snapshot.
pub fn insert_headers(h: &mut HeaderMap, s: &Snapshot) {
    for (name, value) in headers::pairs(s) {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(HeaderName::from_static(name), v);
        }
    }
}

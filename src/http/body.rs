//! Reading a request body under its two bounds: `server.max_body_bytes` (413) and
//! `server.body_timeout_ms` (408: the whole body must arrive in time, so a trickle does not
//! hold a connection). A body cut short because the client went away (FIN or RST before
//! `Content-Length` bytes, or a hang-up the socket probe sees) is a client abort (499), not
//! a malformed request.

use super::access::RequestFacts;
use super::errors::ApiError;
use super::peer::PeerSocket;
use actix_web::error::PayloadError;
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::HttpRequest;
use codexd_actors::outcome::StreamOutcome;
use futures_util::StreamExt;
use std::rc::Rc;
use std::time::Duration;

/// The bounds of one body read.
#[derive(Clone, Copy)]
pub struct BodyLimits {
    pub max_bytes: u64,
    pub timeout: Duration,
}

/// The whole body, or the error the client gets (a hang-up also marks `facts`).
pub async fn read(
    req: &HttpRequest,
    payload: web::Payload,
    limits: BodyLimits,
    facts: &RequestFacts,
) -> Result<Bytes, ApiError> {
    let result = match tokio::time::timeout(limits.timeout, collect(req, payload, limits)).await {
        Ok(r) => r,
        Err(_) => Err(Failure::Api(ApiError::BodyTimeout {
            limit_ms: u64::try_from(limits.timeout.as_millis()).unwrap_or(u64::MAX),
        })),
    };
    result.map_err(|e| match e {
        Failure::Api(e) => e,
        Failure::Payload(p) => {
            let peer = req.conn_data::<Rc<PeerSocket>>();
            if matches!(p, PayloadError::Incomplete(_)) || peer.is_some_and(|p| p.hung_up()) {
                facts.set_client_gone();
                ApiError::Stream(StreamOutcome::ClientAbort)
            } else {
                ApiError::InvalidJson
            }
        }
    })
}

enum Failure {
    Api(ApiError),
    Payload(PayloadError),
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure::Api(e)
    }
}

async fn collect(
    req: &HttpRequest,
    mut payload: web::Payload,
    limits: BodyLimits,
) -> Result<Bytes, Failure> {
    let max = limits.max_bytes;
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(ApiError::PayloadTooLarge { limit: max }.into());
    }
    let mut buf = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(Failure::Payload)?;
        if (buf.len() + chunk.len()) as u64 > max {
            return Err(ApiError::PayloadTooLarge { limit: max }.into());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

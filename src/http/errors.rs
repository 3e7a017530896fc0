//! The API error type and its one exhaustive mapping onto status, OpenAI error type, code and
//! log level (`ApiError::class`), plus `param` and the client message. A stream's failure is
//! its `StreamOutcome`: the code is the outcome's own where docs/api.md publishes no other.
//! The client message never carries internal detail; `detail` goes to the log.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, HttpResponseBuilder};
use codexd_actors::labels::{RejectReason, UpstreamErrorKind};
use codexd_actors::outcome::StreamOutcome;
use serde_json::json;

/// Every error a client can see.
#[derive(Debug, Clone)]
pub enum ApiError {
    InvalidJson,
    InvalidField {
        param: String,
        message: String,
    },
    Unauthorized,
    Forbidden,
    NotFound,
    ModelNotFound,
    PayloadTooLarge {
        limit: u64,
    },
    /// The body did not arrive in full within `server.body_timeout_ms`.
    BodyTimeout {
        limit_ms: u64,
    },
    Rejected {
        reason: RejectReason,
        retry_after_s: u32,
    },
    /// A per-key limit refused the request (`limits/`).
    KeyLimited(Box<crate::limits::Rejection>),
    /// The shared limits backend failed and `limits.redis_failure` is `closed`.
    LimitsUnavailable,
    /// The stream ended without completing (never `Completed` in practice: the mapping
    /// covers it only to stay exhaustive).
    Stream(StreamOutcome),
    /// The usage ledger is disabled or could not be read.
    UsageUnavailable,
    /// `previous_response_id` names no stored response (OpenAI's 400).
    PreviousResponseNotFound {
        id: String,
    },
}

/// Where an error sits: its status, OpenAI error type, code and log level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorClass {
    pub status: StatusCode,
    pub error_type: &'static str,
    pub code: &'static str,
    pub level: slog::Level,
}

/// 499: the client closed the request (nginx's convention, also the access log's).
fn client_closed() -> StatusCode {
    StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST)
}

const fn class(
    status: StatusCode,
    error_type: &'static str,
    code: &'static str,
    level: slog::Level,
) -> ErrorClass {
    ErrorClass {
        status,
        error_type,
        code,
        level,
    }
}

/// The log-side detail: status, code and the offending field; never client content.
impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status().as_u16(), self.code())?;
        match self {
            ApiError::InvalidField { param, .. } => write!(f, " (param {param})"),
            ApiError::PayloadTooLarge { limit } => write!(f, " (limit {limit} bytes)"),
            ApiError::BodyTimeout { limit_ms } => write!(f, " (limit {limit_ms} ms)"),
            ApiError::Rejected { reason, .. } => write!(f, " (admission {reason})"),
            ApiError::KeyLimited(r) => write!(f, " (key limit {})", r.kind),
            ApiError::Stream(StreamOutcome::WorkerError {
                upstream: Some(kind),
            }) => write!(f, " (upstream {kind})"),
            _ => Ok(()),
        }
    }
}

impl ApiError {
    pub fn field(param: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::InvalidField {
            param: param.into(),
            message: message.into(),
        }
    }

    /// The one mapping: status, OpenAI error type, code and log level of every error.
    pub fn class(&self) -> ErrorClass {
        use slog::Level::{Error, Info, Warning};
        const INVALID: &str = "invalid_request_error";
        const UNAVAILABLE: &str = "service_unavailable";
        const UPSTREAM: &str = "upstream_error";
        const RATE: &str = "rate_limit_exceeded";
        match self {
            ApiError::InvalidJson => class(StatusCode::BAD_REQUEST, INVALID, "invalid_json", Info),
            ApiError::InvalidField { .. } => {
                class(StatusCode::BAD_REQUEST, INVALID, "invalid_value", Info)
            }
            ApiError::PreviousResponseNotFound { .. } => class(
                StatusCode::BAD_REQUEST,
                INVALID,
                "previous_response_not_found",
                Info,
            ),
            ApiError::Unauthorized => class(
                StatusCode::UNAUTHORIZED,
                "authentication_error",
                "invalid_api_key",
                Info,
            ),
            ApiError::Forbidden => {
                class(StatusCode::FORBIDDEN, "permission_error", "forbidden", Info)
            }
            ApiError::NotFound => class(StatusCode::NOT_FOUND, INVALID, "not_found", Info),
            ApiError::ModelNotFound => {
                class(StatusCode::NOT_FOUND, INVALID, "model_not_found", Info)
            }
            ApiError::PayloadTooLarge { .. } => class(
                StatusCode::PAYLOAD_TOO_LARGE,
                INVALID,
                "request_too_large",
                Info,
            ),
            ApiError::BodyTimeout { .. } => class(
                StatusCode::REQUEST_TIMEOUT,
                INVALID,
                "request_timeout",
                Info,
            ),
            ApiError::UsageUnavailable => class(
                StatusCode::SERVICE_UNAVAILABLE,
                UNAVAILABLE,
                "usage_unavailable",
                Error,
            ),
            ApiError::Rejected { reason, .. } => match reason {
                RejectReason::RateLimit
                | RejectReason::Concurrency
                | RejectReason::QueueFull
                | RejectReason::QuotaExhausted => {
                    class(StatusCode::TOO_MANY_REQUESTS, RATE, RATE, Warning)
                }
                RejectReason::Draining => class(
                    StatusCode::SERVICE_UNAVAILABLE,
                    UNAVAILABLE,
                    "draining",
                    Info,
                ),
                RejectReason::QueueTimeout | RejectReason::NoWorker => class(
                    StatusCode::SERVICE_UNAVAILABLE,
                    UNAVAILABLE,
                    UNAVAILABLE,
                    Warning,
                ),
            },
            // OpenAI's own rate-limit errors carry the limit kind as `type`.
            ApiError::KeyLimited(r) => class(
                StatusCode::TOO_MANY_REQUESTS,
                match r.kind {
                    crate::limits::LimitKind::Tokens => "tokens",
                    crate::limits::LimitKind::Requests | crate::limits::LimitKind::Concurrency => {
                        "requests"
                    }
                },
                RATE,
                Info,
            ),
            ApiError::LimitsUnavailable => class(
                StatusCode::SERVICE_UNAVAILABLE,
                UNAVAILABLE,
                "limits_unavailable",
                Warning,
            ),
            ApiError::Stream(outcome) => match *outcome {
                StreamOutcome::WorkerError {
                    upstream: Some(UpstreamErrorKind::RateLimited),
                } => class(StatusCode::TOO_MANY_REQUESTS, RATE, RATE, Warning),
                StreamOutcome::WorkerError {
                    upstream: Some(UpstreamErrorKind::ContextLength),
                } => class(
                    StatusCode::BAD_REQUEST,
                    INVALID,
                    "context_length_exceeded",
                    Info,
                ),
                StreamOutcome::WorkerError {
                    upstream:
                        Some(
                            UpstreamErrorKind::Unauthorized
                            | UpstreamErrorKind::ServerError
                            | UpstreamErrorKind::Other,
                        ),
                } => class(StatusCode::BAD_GATEWAY, UPSTREAM, UPSTREAM, Error),
                o @ (StreamOutcome::WorkerError { upstream: None } | StreamOutcome::WorkerLost) => {
                    class(StatusCode::BAD_GATEWAY, UPSTREAM, o.as_str(), Error)
                }
                o @ (StreamOutcome::TimeoutFirstToken | StreamOutcome::TimeoutIdle) => {
                    class(StatusCode::GATEWAY_TIMEOUT, "timeout", o.as_str(), Warning)
                }
                // docs/api.md publishes `shutting_down` for the outcome `shutdown`.
                StreamOutcome::Shutdown => class(
                    StatusCode::SERVICE_UNAVAILABLE,
                    UNAVAILABLE,
                    "shutting_down",
                    Warning,
                ),
                o @ StreamOutcome::ClientAbort => class(client_closed(), INVALID, o.as_str(), Info),
                o @ StreamOutcome::Completed => class(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    UPSTREAM,
                    o.as_str(),
                    Error,
                ),
            },
        }
    }

    pub fn status(&self) -> StatusCode {
        self.class().status
    }

    pub fn error_type(&self) -> &'static str {
        self.class().error_type
    }

    /// The closed-set code, also logged as `error_code`.
    pub fn code(&self) -> &'static str {
        self.class().code
    }

    /// The level an error of this kind deserves in the log: `info` for the client's own
    /// mistakes, `warn` for load and timeouts, `error` for failures of the worker or provider.
    pub fn level(&self) -> slog::Level {
        self.class().level
    }

    pub fn param(&self) -> Option<&str> {
        match self {
            ApiError::InvalidField { param, .. } => Some(param),
            ApiError::ModelNotFound => Some("model"),
            ApiError::PreviousResponseNotFound { .. } => Some("previous_response_id"),
            ApiError::Stream(StreamOutcome::WorkerError {
                upstream: Some(UpstreamErrorKind::ContextLength),
            }) => Some("messages"),
            _ => None,
        }
    }

    /// The message a client sees: fixed phrases, plus the request id on 5xx.
    pub fn message(&self, req_id: &str) -> String {
        let base: String = match self {
            ApiError::InvalidJson => "The request body is not valid JSON.".into(),
            ApiError::InvalidField { message, .. } => message.clone(),
            ApiError::Unauthorized => "Incorrect or missing API key.".into(),
            ApiError::Forbidden => "Access to this endpoint is not allowed.".into(),
            ApiError::NotFound => "Not found.".into(),
            ApiError::UsageUnavailable => "The usage ledger is not available.".into(),
            ApiError::ModelNotFound => "The requested model does not exist.".into(),
            ApiError::PreviousResponseNotFound { id } => {
                format!("Previous response with id '{id}' not found.")
            }
            ApiError::PayloadTooLarge { limit } => {
                format!("The request body exceeds the limit of {limit} bytes.")
            }
            ApiError::BodyTimeout { limit_ms } => {
                format!("The request body did not arrive within {limit_ms} ms.")
            }
            ApiError::Rejected { reason, .. } => match reason {
                RejectReason::Draining => {
                    "The server is shutting down; retry on another instance.".into()
                }
                RejectReason::NoWorker => "No worker is available to serve the request.".into(),
                RejectReason::QueueTimeout => "Timed out waiting for a free worker.".into(),
                RejectReason::QuotaExhausted => {
                    "Every Codex account is out of quota; retry after the reset.".into()
                }
                RejectReason::RateLimit | RejectReason::Concurrency | RejectReason::QueueFull => {
                    "Too many concurrent requests; retry later.".into()
                }
            },
            ApiError::KeyLimited(r) => crate::limits::message(r),
            ApiError::LimitsUnavailable => {
                "The rate limit service is unavailable; retry later.".into()
            }
            ApiError::Stream(outcome) => match outcome {
                StreamOutcome::WorkerError {
                    upstream: Some(UpstreamErrorKind::RateLimited),
                } => "The model provider is rate limiting requests.".into(),
                StreamOutcome::WorkerError {
                    upstream: Some(UpstreamErrorKind::ContextLength),
                } => "The input exceeds the model's context window.".into(),
                StreamOutcome::WorkerError { upstream: Some(_) } => {
                    "The model provider returned an error.".into()
                }
                StreamOutcome::WorkerError { upstream: None } | StreamOutcome::Completed => {
                    "The worker failed to complete the request.".into()
                }
                StreamOutcome::WorkerLost => "The worker stopped while serving the request.".into(),
                StreamOutcome::TimeoutFirstToken => {
                    "The model did not start answering in time.".into()
                }
                StreamOutcome::TimeoutIdle => "The model stopped producing output.".into(),
                StreamOutcome::Shutdown => "The server is shutting down.".into(),
                StreamOutcome::ClientAbort => "The client closed the request.".into(),
            },
        };
        if self.status().is_server_error() {
            format!("{base} (request id: {req_id})")
        } else {
            base
        }
    }

    fn retry_after(&self) -> Option<u32> {
        match self {
            ApiError::Rejected { retry_after_s, .. } => Some(*retry_after_s),
            ApiError::KeyLimited(r) => Some(u32::try_from(r.retry_after_s).unwrap_or(u32::MAX)),
            ApiError::LimitsUnavailable => Some(1),
            ApiError::Stream(StreamOutcome::WorkerError {
                upstream: Some(UpstreamErrorKind::RateLimited),
            })
            | ApiError::Stream(StreamOutcome::Shutdown) => Some(1),
            _ => None,
        }
    }

    /// The `{"error":{...}}` envelope.
    pub fn body(&self, req_id: &str) -> serde_json::Value {
        json!({"error": {
            "message": self.message(req_id),
            "type": self.error_type(),
            "param": self.param(),
            "code": self.code(),
        }})
    }

    /// The full HTTP response.
    pub fn response(&self, req_id: &str) -> HttpResponse {
        let mut b = HttpResponseBuilder::new(self.status());
        if let Some(s) = self.retry_after() {
            b.insert_header((header::RETRY_AFTER, s.to_string()));
        }
        if matches!(self, ApiError::Unauthorized) {
            b.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        // The rest of a late body is never read: the connection cannot carry another request.
        if matches!(self, ApiError::BodyTimeout { .. }) {
            b.force_close();
        }
        b.content_type("application/json")
            .body(self.body(req_id).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_spelled_as_their_outcome() {
        for o in [StreamOutcome::TimeoutFirstToken, StreamOutcome::TimeoutIdle] {
            let e = ApiError::Stream(o);
            assert_eq!(e.status(), StatusCode::GATEWAY_TIMEOUT);
            assert_eq!(e.error_type(), "timeout");
            assert_eq!(e.code(), o.as_str());
        }
    }

    #[test]
    fn a_late_body_is_a_408_that_closes_the_connection() {
        let e = ApiError::BodyTimeout { limit_ms: 1500 };
        assert_eq!(
            (e.status().as_u16(), e.error_type(), e.code()),
            (408, "invalid_request_error", "request_timeout")
        );
        assert!(!e.response("r1").head().keep_alive());
    }

    #[test]
    fn published_codes_stay() {
        let shutdown = ApiError::Stream(StreamOutcome::Shutdown);
        assert_eq!(
            (shutdown.status().as_u16(), shutdown.code()),
            (503, "shutting_down")
        );
        let rate = ApiError::Stream(StreamOutcome::worker_error(Some(
            UpstreamErrorKind::RateLimited,
        )));
        assert_eq!(
            (rate.status().as_u16(), rate.code()),
            (429, "rate_limit_exceeded")
        );
        let lost = ApiError::Stream(StreamOutcome::WorkerLost);
        assert_eq!(
            (lost.status().as_u16(), lost.error_type()),
            (502, "upstream_error")
        );
        assert!(lost.message("r1").ends_with("(request id: r1)"));
    }
}

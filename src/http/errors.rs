//! The API error type and its exhaustive mapping onto status, OpenAI error type, code and
//! `param`. The client message never carries internal detail; `detail` goes to the log.

use actix_web::http::header;
use actix_web::{HttpResponse, HttpResponseBuilder};
use codexd_actors::labels::{RejectReason, UpstreamErrorKind};
use codexd_actors::turn::StreamFailure;
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
    Rejected {
        reason: RejectReason,
        retry_after_s: u32,
    },
    Upstream(StreamFailure),
}

/// The log-side detail: status, code and the offending field; never client content.
impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status(), self.code())?;
        match self {
            ApiError::InvalidField { param, .. } => write!(f, " (param {param})"),
            ApiError::PayloadTooLarge { limit } => write!(f, " (limit {limit} bytes)"),
            ApiError::Rejected { reason, .. } => write!(f, " (admission {reason})"),
            ApiError::Upstream(StreamFailure::Upstream(kind)) => write!(f, " (upstream {kind})"),
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

    pub fn status(&self) -> u16 {
        match self {
            ApiError::InvalidJson | ApiError::InvalidField { .. } => 400,
            ApiError::Unauthorized => 401,
            ApiError::Forbidden => 403,
            ApiError::NotFound | ApiError::ModelNotFound => 404,
            ApiError::PayloadTooLarge { .. } => 413,
            ApiError::Rejected { reason, .. } => match reason {
                RejectReason::RateLimit | RejectReason::Concurrency | RejectReason::QueueFull => {
                    429
                }
                RejectReason::QueueTimeout | RejectReason::Draining | RejectReason::NoWorker => 503,
            },
            ApiError::Upstream(f) => match f {
                StreamFailure::Upstream(UpstreamErrorKind::RateLimited) => 429,
                StreamFailure::Upstream(UpstreamErrorKind::ContextLength) => 400,
                StreamFailure::Upstream(_)
                | StreamFailure::WorkerError
                | StreamFailure::WorkerLost => 502,
                StreamFailure::FirstTokenTimeout | StreamFailure::IdleTimeout => 504,
                StreamFailure::Shutdown => 503,
            },
        }
    }

    pub fn error_type(&self) -> &'static str {
        match self.status() {
            400 | 404 | 413 => "invalid_request_error",
            401 => "authentication_error",
            403 => "permission_error",
            429 => "rate_limit_exceeded",
            503 => "service_unavailable",
            504 => "timeout",
            _ => "upstream_error",
        }
    }

    /// The closed-set code, also logged as `error_code`.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidJson => "invalid_json",
            ApiError::InvalidField { .. } => "invalid_value",
            ApiError::Unauthorized => "invalid_api_key",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::ModelNotFound => "model_not_found",
            ApiError::PayloadTooLarge { .. } => "request_too_large",
            ApiError::Rejected { reason, .. } => match reason {
                RejectReason::RateLimit | RejectReason::Concurrency | RejectReason::QueueFull => {
                    "rate_limit_exceeded"
                }
                RejectReason::Draining => "draining",
                RejectReason::QueueTimeout | RejectReason::NoWorker => "service_unavailable",
            },
            ApiError::Upstream(f) => match f {
                StreamFailure::Upstream(UpstreamErrorKind::RateLimited) => "rate_limit_exceeded",
                StreamFailure::Upstream(UpstreamErrorKind::ContextLength) => {
                    "context_length_exceeded"
                }
                StreamFailure::Upstream(_) => "upstream_error",
                StreamFailure::WorkerError => "worker_error",
                StreamFailure::WorkerLost => "worker_lost",
                StreamFailure::FirstTokenTimeout => "first_token_timeout",
                StreamFailure::IdleTimeout => "idle_timeout",
                StreamFailure::Shutdown => "shutting_down",
            },
        }
    }

    pub fn param(&self) -> Option<&str> {
        match self {
            ApiError::InvalidField { param, .. } => Some(param),
            ApiError::ModelNotFound => Some("model"),
            ApiError::Upstream(StreamFailure::Upstream(UpstreamErrorKind::ContextLength)) => {
                Some("messages")
            }
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
            ApiError::ModelNotFound => "The requested model does not exist.".into(),
            ApiError::PayloadTooLarge { limit } => {
                format!("The request body exceeds the limit of {limit} bytes.")
            }
            ApiError::Rejected { reason, .. } => match reason {
                RejectReason::Draining => {
                    "The server is shutting down; retry on another instance.".into()
                }
                RejectReason::NoWorker => "No worker is available to serve the request.".into(),
                RejectReason::QueueTimeout => "Timed out waiting for a free worker.".into(),
                _ => "Too many concurrent requests; retry later.".into(),
            },
            ApiError::Upstream(f) => match f {
                StreamFailure::Upstream(UpstreamErrorKind::RateLimited) => {
                    "The model provider is rate limiting requests.".into()
                }
                StreamFailure::Upstream(UpstreamErrorKind::ContextLength) => {
                    "The input exceeds the model's context window.".into()
                }
                StreamFailure::Upstream(_) => "The model provider returned an error.".into(),
                StreamFailure::WorkerError => "The worker failed to complete the request.".into(),
                StreamFailure::WorkerLost => "The worker stopped while serving the request.".into(),
                StreamFailure::FirstTokenTimeout => {
                    "The model did not start answering in time.".into()
                }
                StreamFailure::IdleTimeout => "The model stopped producing output.".into(),
                StreamFailure::Shutdown => "The server is shutting down.".into(),
            },
        };
        if self.status() >= 500 {
            format!("{base} (request id: {req_id})")
        } else {
            base
        }
    }

    fn retry_after(&self) -> Option<u32> {
        match self {
            ApiError::Rejected { retry_after_s, .. } => Some(*retry_after_s),
            ApiError::Upstream(StreamFailure::Upstream(UpstreamErrorKind::RateLimited)) => Some(1),
            ApiError::Upstream(StreamFailure::Shutdown) => Some(1),
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
        let status = actix_web::http::StatusCode::from_u16(self.status())
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
        let mut b = HttpResponseBuilder::new(status);
        if let Some(s) = self.retry_after() {
            b.insert_header((header::RETRY_AFTER, s.to_string()));
        }
        if matches!(self, ApiError::Unauthorized) {
            b.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        b.content_type("application/json")
            .body(self.body(req_id).to_string())
    }
}

//! The state every HTTP handler shares: actor addresses, hot-path metric handles and the
//! API settings derived from the validated config.

use crate::config::{ApiKey, Config, ModelEntry};
use actix::Addr;
use actix_web::http::header::HeaderValue;
use codexd_actors::health::HealthAggregator;
use codexd_actors::metrics::{MetricsCollector, MetricsHandles};
use codexd_actors::stream::StreamSettings;
use codexd_actors::worker::WorkerSupervisor;
use codexd_actors::BusHandle;
use std::sync::Arc;
use std::time::Duration;

/// API settings derived once from the config.
pub struct ApiSettings {
    /// Every accepted key (legacy ones as id `default`); empty means the API is open.
    pub api_keys: Arc<Vec<ApiKey>>,
    pub protect_models: bool,
    pub metrics_token: Option<Vec<u8>>,
    pub max_body_bytes: u64,
    pub body_timeout: Duration,
    pub queue_timeout: Duration,
    pub retry_after_s: u32,
    pub header_hold: Duration,
    pub allow_system_prompt: bool,
    /// `codex.max_image_bytes`.
    pub max_image_bytes: usize,
    pub models: Vec<ModelEntry>,
    /// Share of traces starting here that are sampled (inbound parents are honoured).
    pub trace_sample_ratio: f64,
}

impl ApiSettings {
    pub fn from_config(c: &Config, trace_sample_ratio: f64) -> Self {
        Self {
            api_keys: c.resolved_keys.clone(),
            protect_models: c.auth.protect_models,
            metrics_token: (!c.metrics.token.is_empty())
                .then(|| c.metrics.token.clone().into_bytes()),
            max_body_bytes: c.server.max_body_bytes,
            body_timeout: Duration::from_millis(c.server.body_timeout_ms),
            queue_timeout: Duration::from_millis(c.admission.queue_timeout_ms),
            retry_after_s: c.admission.retry_after_s,
            header_hold: Duration::from_millis(c.streaming.header_hold_ms),
            allow_system_prompt: c.codex.allow_client_system_prompt,
            max_image_bytes: c.codex.max_image_bytes as usize,
            models: c.models.clone(),
            trace_sample_ratio,
        }
    }

    pub fn body_limits(&self) -> super::body::BodyLimits {
        super::body::BodyLimits {
            max_bytes: self.max_body_bytes,
            timeout: self.body_timeout,
        }
    }

    pub fn model(&self, id: &str) -> Option<&ModelEntry> {
        self.models.iter().find(|m| m.id == id)
    }
}

/// Shared by every handler (cheap to clone).
#[derive(Clone)]
pub struct AppState {
    pub bus: BusHandle,
    pub supervisor: Addr<WorkerSupervisor>,
    pub health: Addr<HealthAggregator>,
    pub metrics_actor: Addr<MetricsCollector>,
    pub metrics: MetricsHandles,
    pub api: Arc<ApiSettings>,
    pub streams: StreamSettings,
    /// The usage ledger, when enabled (`GET /v1/usage` reads it).
    pub usage: Option<Arc<crate::usage::ledger::Ledger>>,
    pub cors_origin: Option<HeaderValue>,
    /// The per-key limits engine.
    pub limiter: Arc<crate::limits::Limiter>,
    /// Client tools: parked turns and the `previous_response_id` store.
    pub tools: Arc<super::followup::ToolState>,
    /// Reasoning efforts per Codex model, learnt from the workers' `model/list`.
    pub efforts: Arc<codexd_actors::worker::models::ModelTable>,
    /// The pool's accounts (a 429 `quota_exhausted` carries the soonest reset).
    pub accounts: Arc<codexd_actors::accounts::AccountBook>,
    /// Where stream actors run: the arbiter of the worker connections, so that a turn's
    /// updates never cross a thread between its connection and its stream (only the
    /// stream's outputs reach the HTTP worker, through its channel).
    pub stream_home: actix::ArbiterHandle,
}

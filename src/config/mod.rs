//! The daemon's configuration: typed sections with defaults, loaded from TOML plus
//! `CODEXD__SECTION__KEY` environment overrides, and validated across fields.

mod accounts;
mod keys;
mod limits;
mod load;
mod tools;
mod validate;

pub use accounts::{AccountEntry, PoolAccount, Quota, Recycle};
pub use keys::{valid_key_id, ApiKey, KeyEntry, KeyLimits, Secret, LEGACY_KEY_ID};
pub use limits::{Limits, LimitsBackend, RedisFailure};
pub use tools::{HostedTools, Tools};

pub use validate::backoff_policy;

pub use load::{load, load_without_secrets, ConfigError};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: Server,
    pub auth: Auth,
    pub metrics: MetricsConfig,
    pub log: Log,
    pub workers: Workers,
    pub admission: Admission,
    pub streaming: Streaming,
    pub codex: Codex,
    pub health: Health,
    pub tracing: Tracing,
    pub limits: Limits,
    pub usage: Usage,
    pub tools: Tools,
    pub quota: Quota,
    pub accounts: Vec<AccountEntry>,
    pub models: Vec<ModelEntry>,
    /// Every accepted API key, resolved and validated by [`load`] (never serialized).
    #[serde(skip)]
    pub resolved_keys: std::sync::Arc<Vec<ApiKey>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Server {
    pub listen: SocketAddr,
    pub max_body_bytes: u64,
    pub drain_timeout_ms: u64,
    pub http_workers: usize,
    pub cors_allow_origin: String,
    /// The listen(2) backlog of the API and metrics listeners (the kernel caps it at
    /// `net.core.somaxconn`).
    pub backlog: u32,
    /// The whole request body must arrive within this time after the headers (408 beyond).
    pub body_timeout_ms: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Auth {
    /// Legacy single key (id `default`).
    pub api_key: String,
    /// Legacy list of keys (all id `default`).
    pub api_keys: Vec<String>,
    pub protect_models: bool,
    /// Named keys (`[[auth.keys]]`).
    pub keys: Vec<KeyEntry>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    pub listen: Option<SocketAddr>,
    pub token: String,
    /// Adds a `key` label (a configured key id) to the per-key families.
    pub key_label: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Log {
    pub level: LogLevel,
    pub format: LogFormat,
    pub capture_content: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Workers {
    pub count: u32,
    pub command: String,
    pub args: Vec<String>,
    pub codex_home: String,
    pub cwd: String,
    pub env: BTreeMap<String, String>,
    pub env_allowlist: Vec<String>,
    pub max_turns_per_worker: u32,
    pub handshake_timeout_ms: u64,
    pub ping_interval_ms: u64,
    pub ping_timeout_ms: u64,
    pub max_line_bytes: u64,
    pub stop_grace_ms: u64,
    pub failed_retry_ms: u64,
    pub backoff: Backoff,
    pub recycle: Recycle,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Backoff {
    pub initial_ms: u64,
    pub max_ms: u64,
    pub multiplier: f64,
    pub stable_after_ms: u64,
    pub max_restarts: u32,
    pub window_ms: u64,
    pub jitter: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Admission {
    pub queue_size: u32,
    pub queue_timeout_ms: u64,
    pub retry_after_s: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Streaming {
    pub first_token_timeout_ms: u64,
    pub idle_timeout_ms: u64,
    pub keepalive_ms: u64,
    pub header_hold_ms: u64,
    pub interrupt_grace_ms: u64,
    /// Retry a turn once on another slot when it fails before its first generated delta.
    pub retry_before_first_byte: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalAnswer {
    Decline,
    Accept,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Codex {
    pub approval_policy: String,
    pub sandbox: String,
    pub approvals: ApprovalAnswer,
    pub allow_client_system_prompt: bool,
    /// Largest accepted image (decoded bytes of one `data:` URL).
    pub max_image_bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Health {
    pub min_ready_workers: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tracing {
    pub endpoint: String,
    pub service_name: String,
    pub sample_ratio: f64,
    pub queue_size: u32,
    pub export_timeout_ms: u64,
}

/// The usage ledger (`[usage]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Usage {
    /// The embedded SQLite file; empty (with no `postgres_url`) disables the ledger.
    pub path: String,
    /// A PostgreSQL URL: the ledger is shared by every replica pointing at it.
    pub postgres_url: String,
    pub flush_interval_ms: u64,
    /// Days kept, today included; 0 keeps everything.
    pub retention_days: u32,
}

impl Default for Usage {
    fn default() -> Self {
        Self {
            path: "codexd-usage.sqlite3".into(),
            postgres_url: String::new(),
            flush_interval_ms: 1_000,
            retention_days: 400,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    pub id: String,
    pub codex_model: String,
    #[serde(default)]
    pub reasoning_effort: Option<String>,
    #[serde(default = "default_owner")]
    pub owned_by: String,
}

fn default_owner() -> String {
    "codexd".into()
}

impl Default for Config {
    fn default() -> Self {
        Self {
            server: Server::default(),
            auth: Auth::default(),
            metrics: MetricsConfig::default(),
            log: Log::default(),
            workers: Workers::default(),
            admission: Admission::default(),
            streaming: Streaming::default(),
            codex: Codex::default(),
            health: Health::default(),
            tracing: Tracing::default(),
            limits: Limits::default(),
            usage: Usage::default(),
            tools: Tools::default(),
            quota: Quota::default(),
            accounts: Vec::new(),
            models: vec![ModelEntry {
                id: "gpt-5-codex".into(),
                codex_model: "gpt-5-codex".into(),
                reasoning_effort: Some("medium".into()),
                owned_by: default_owner(),
            }],
            resolved_keys: std::sync::Arc::default(),
        }
    }
}

impl Default for Server {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 11435)),
            max_body_bytes: 1024 * 1024,
            drain_timeout_ms: 60_000,
            http_workers: 2,
            cors_allow_origin: String::new(),
            backlog: 2048,
            body_timeout_ms: 30_000,
        }
    }
}

impl Default for Log {
    fn default() -> Self {
        Self {
            level: LogLevel::Info,
            format: LogFormat::Json,
            capture_content: false,
        }
    }
}

impl Default for Workers {
    fn default() -> Self {
        Self {
            count: 2,
            command: "codex".into(),
            args: vec!["app-server".into(), "--strict-config".into()],
            codex_home: String::new(),
            cwd: String::new(),
            env: BTreeMap::new(),
            env_allowlist: [
                "PATH",
                "HOME",
                "LANG",
                "LC_ALL",
                "TZ",
                "SSL_CERT_FILE",
                "SSL_CERT_DIR",
            ]
            .map(String::from)
            .to_vec(),
            max_turns_per_worker: 4,
            handshake_timeout_ms: 10_000,
            ping_interval_ms: 5_000,
            ping_timeout_ms: 3_000,
            max_line_bytes: 8 * 1024 * 1024,
            stop_grace_ms: 5_000,
            failed_retry_ms: 300_000,
            backoff: Backoff::default(),
            recycle: Recycle::default(),
        }
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial_ms: 200,
            max_ms: 30_000,
            multiplier: 2.0,
            stable_after_ms: 60_000,
            max_restarts: 5,
            window_ms: 60_000,
            jitter: true,
        }
    }
}

impl Default for Admission {
    fn default() -> Self {
        Self {
            queue_size: 64,
            queue_timeout_ms: 10_000,
            retry_after_s: 1,
        }
    }
}

impl Default for Streaming {
    fn default() -> Self {
        Self {
            first_token_timeout_ms: 120_000,
            idle_timeout_ms: 300_000,
            keepalive_ms: 15_000,
            header_hold_ms: 1_000,
            interrupt_grace_ms: 2_000,
            retry_before_first_byte: true,
        }
    }
}

impl Default for Codex {
    fn default() -> Self {
        Self {
            approval_policy: "never".into(),
            sandbox: "read-only".into(),
            approvals: ApprovalAnswer::Decline,
            allow_client_system_prompt: false,
            max_image_bytes: 4 * 1024 * 1024,
        }
    }
}

impl Default for Health {
    fn default() -> Self {
        Self {
            min_ready_workers: 1,
        }
    }
}

impl Default for Tracing {
    fn default() -> Self {
        Self {
            endpoint: String::new(),
            service_name: "codexd".into(),
            sample_ratio: 1.0,
            queue_size: 2048,
            export_timeout_ms: 5_000,
        }
    }
}

impl Config {
    /// The legacy keys (`auth.api_key`, `auth.api_keys`), id `default`.
    pub fn legacy_api_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .auth
            .api_keys
            .iter()
            .filter(|k| !k.is_empty())
            .cloned()
            .collect();
        if !self.auth.api_key.is_empty() {
            keys.push(self.auth.api_key.clone());
        }
        keys
    }

    /// True when at least one API key is configured (legacy or named).
    pub fn has_api_keys(&self) -> bool {
        !self.legacy_api_keys().is_empty() || !self.auth.keys.is_empty()
    }

    /// The configured key ids, in order, each once (the bounded `key` label set).
    pub fn key_ids(&self) -> Vec<std::sync::Arc<str>> {
        let mut ids: Vec<std::sync::Arc<str>> = Vec::new();
        for k in self.resolved_keys.iter() {
            if !ids.contains(&k.id) {
                ids.push(k.id.clone());
            }
        }
        ids
    }

    /// A copy with every secret replaced, for `check-config`: plain secrets and digests are
    /// hidden; the variable *name* and the file *path* are shown.
    pub fn redacted(&self) -> Config {
        let mut c = self.clone();
        let hide = |s: &mut String| {
            if !s.is_empty() {
                *s = "<redacted>".into();
            }
        };
        hide(&mut c.auth.api_key);
        c.auth.api_keys.iter_mut().for_each(hide);
        hide(&mut c.metrics.token);
        c.limits.redis_url = limits::redact_url(&c.limits.redis_url);
        for k in &mut c.auth.keys {
            if let Some(d) = &mut k.secret_sha256 {
                hide(d);
            }
        }
        c.resolved_keys = std::sync::Arc::default();
        // A PostgreSQL URL may carry a password: shown only when it has none.
        let has_password = c
            .usage
            .postgres_url
            .parse::<postgres::Config>()
            .map_or(true, |p| p.get_password().is_some());
        if has_password {
            hide(&mut c.usage.postgres_url);
        }
        c.workers.env.values_mut().for_each(hide);
        for a in &mut c.accounts {
            a.env.values_mut().for_each(hide);
        }
        c
    }
}

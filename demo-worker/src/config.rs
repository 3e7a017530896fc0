//! The demo worker's settings: timing and fault modes, one field per `CODEXD_DEMO_*` variable.
//! Built from the environment by [`Config::from_env`], or from code (`Config { .., ..Default }`).

use std::time::Duration;

/// Canary written to stderr when `CODEXD_DEMO_STDERR_CANARY` is unset.
pub const DEFAULT_CANARY: &str = "demo-stderr-canary-7f3a91";

/// How the worker answers `initialize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handshake {
    Ok,
    Delay(Duration),
    Hang,
    Error,
}

/// Which upstream failure every turn reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamError {
    RateLimited,
    Unauthorized,
    ServerError,
    ContextLength,
    Other,
    /// Codex's usage-limit error (`usageLimitExceeded`), after a rate-limit update putting
    /// the primary window at 100 % until `USAGE_LIMIT_RESET_S` from now.
    UsageLimit,
    /// `httpConnectionFailed` with this status, as Codex reports e.g. a 401 from a custom provider.
    HttpStatus(u16),
}

/// Which server→client request every turn sends before its first delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalKind {
    Command,
    FileChange,
    UserInput,
    Unknown,
}

/// The validated configuration. Zero durations are `None` so the hot path never sleeps.
///
/// Each field is the variable of the same name in `docs/demo-worker.md`; `Default` is the
/// worker with no variable set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub reply: Option<String>,
    pub chunks: usize,
    pub chunk_interval: Option<Duration>,
    pub first_token_delay: Option<Duration>,
    pub handshake: Handshake,
    pub exit_on_start: Option<i32>,
    pub exit_after_turns: Option<u64>,
    pub crash_after_chunks: Option<usize>,
    pub stall_after_requests: Option<u64>,
    pub garbage_line: bool,
    pub oversized_line_bytes: Option<usize>,
    pub stderr_flood_lines: u64,
    pub stderr_canary: String,
    pub upstream_error: Option<UpstreamError>,
    pub upstream_error_after_chunks: usize,
    pub approval: Option<ApprovalKind>,
    pub cached_tokens: u64,
    pub reasoning_tokens: u64,
    pub extra_notifications: bool,
    /// `RATE_LIMITS`: the primary and secondary windows' used percent.
    pub rate_limits: Option<(u32, u32)>,
    /// `RATE_LIMITS_RESET_S`: seconds from start-up until the primary window resets.
    pub rate_limits_reset_s: u64,
    /// `RATE_LIMITS_STEP`: percent added to the primary window after each completed turn,
    /// sent as a sparse `account/rateLimits/updated`.
    pub rate_limits_step: Option<u32>,
    /// `USAGE_LIMIT_RESET_S`: when the usage-limit error's window resets, from now.
    pub usage_limit_reset_s: u64,
    /// `LOGGED_OUT`: `account/read` says no account is logged in.
    pub logged_out: bool,
    /// `ACCOUNT_EMAIL`: `account/read` answers a ChatGPT account with this e-mail.
    pub account_email: Option<String>,
    /// `GROW_BYTES_PER_TURN`: memory each turn allocates and keeps.
    pub grow_bytes_per_turn: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            reply: None,
            chunks: 5,
            chunk_interval: None,
            first_token_delay: None,
            handshake: Handshake::Ok,
            exit_on_start: None,
            exit_after_turns: None,
            crash_after_chunks: None,
            stall_after_requests: None,
            garbage_line: false,
            oversized_line_bytes: None,
            stderr_flood_lines: 0,
            stderr_canary: DEFAULT_CANARY.to_owned(),
            upstream_error: None,
            upstream_error_after_chunks: 0,
            approval: None,
            cached_tokens: 0,
            reasoning_tokens: 0,
            extra_notifications: false,
            rate_limits: None,
            rate_limits_reset_s: 3_600,
            rate_limits_step: None,
            usage_limit_reset_s: 60,
            logged_out: false,
            account_email: None,
            grow_bytes_per_turn: 0,
        }
    }
}

//! Cross-field validation and the exposure refusal rules. Errors carry the key path.

use super::{Config, ConfigError};
use codexd_actors::worker::backoff::BackoffPolicy;
use std::collections::HashSet;
use std::time::Duration;

const EFFORTS: &[&str] = &["none", "minimal", "low", "medium", "high", "xhigh"];
const APPROVAL_POLICIES: &[&str] = &["never", "on-request", "untrusted"];
/// The largest `server.backlog` accepted (the kernel caps it at `net.core.somaxconn` anyway).
const MAX_BACKLOG: u32 = 65_535;
const SANDBOXES: &[&str] = &["read-only", "workspace-write", "danger-full-access"];

fn check(ok: bool, key: &str, reason: &str) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(key, reason))
    }
}

/// Builds the restart policy, naming the failing key.
pub fn backoff_policy(c: &Config) -> Result<BackoffPolicy, ConfigError> {
    let b = &c.workers.backoff;
    BackoffPolicy::try_new(
        Duration::from_millis(b.initial_ms),
        Duration::from_millis(b.max_ms),
        b.multiplier,
        Duration::from_millis(b.stable_after_ms),
        b.max_restarts,
        Duration::from_millis(b.window_ms),
    )
    .map(|p| if b.jitter { p } else { p.without_jitter() })
    .map_err(|e| ConfigError::new(format!("workers.backoff.{}", e.key), e.reason))
}

/// Checks everything serde cannot.
pub fn validate(c: &Config) -> Result<(), ConfigError> {
    c.limits.validate()?;
    super::accounts::validate(c)?;
    let w = &c.workers;
    check(
        (1..=64).contains(&w.count),
        "workers.count",
        "must be between 1 and 64",
    )?;
    check(
        !w.command.trim().is_empty(),
        "workers.command",
        "must not be empty",
    )?;
    check(
        w.max_turns_per_worker >= 1,
        "workers.max_turns_per_worker",
        "must be at least 1",
    )?;
    check(
        w.handshake_timeout_ms > 0,
        "workers.handshake_timeout_ms",
        "must be greater than 0",
    )?;
    check(
        w.ping_interval_ms > 0,
        "workers.ping_interval_ms",
        "must be greater than 0",
    )?;
    check(
        w.ping_timeout_ms > 0,
        "workers.ping_timeout_ms",
        "must be greater than 0",
    )?;
    check(
        w.max_line_bytes >= 1024,
        "workers.max_line_bytes",
        "must be at least 1024",
    )?;
    check(
        w.failed_retry_ms > 0,
        "workers.failed_retry_ms",
        "must be greater than 0",
    )?;
    backoff_policy(c)?;
    check(
        (1..=w.count).contains(&c.health.min_ready_workers),
        "health.min_ready_workers",
        "must be between 1 and workers.count",
    )?;
    check(
        c.server.max_body_bytes >= 1024,
        "server.max_body_bytes",
        "must be at least 1024",
    )?;
    check(
        (1..=64).contains(&c.server.http_workers),
        "server.http_workers",
        "must be between 1 and 64",
    )?;
    check(
        (1..=MAX_BACKLOG).contains(&c.server.backlog),
        "server.backlog",
        "must be between 1 and 65535",
    )?;
    check(
        c.server.body_timeout_ms > 0,
        "server.body_timeout_ms",
        "must be greater than 0",
    )?;
    let s = &c.streaming;
    check(
        s.first_token_timeout_ms > 0,
        "streaming.first_token_timeout_ms",
        "must be greater than 0",
    )?;
    check(
        s.idle_timeout_ms > 0,
        "streaming.idle_timeout_ms",
        "must be greater than 0",
    )?;
    check(
        s.interrupt_grace_ms > 0,
        "streaming.interrupt_grace_ms",
        "must be greater than 0",
    )?;
    check(
        APPROVAL_POLICIES.contains(&c.codex.approval_policy.as_str()),
        "codex.approval_policy",
        "must be one of never, on-request, untrusted",
    )?;
    check(
        SANDBOXES.contains(&c.codex.sandbox.as_str()),
        "codex.sandbox",
        "must be one of read-only, workspace-write, danger-full-access",
    )?;
    check(
        (0.0..=1.0).contains(&c.tracing.sample_ratio),
        "tracing.sample_ratio",
        "must be between 0.0 and 1.0",
    )?;
    validate_usage(c)?;
    validate_models(c)?;
    validate_exposure(c)
}

fn validate_models(c: &Config) -> Result<(), ConfigError> {
    check(
        !c.models.is_empty(),
        "models",
        "at least one model must be configured",
    )?;
    let mut seen = HashSet::new();
    for (i, m) in c.models.iter().enumerate() {
        let valid_id = !m.id.is_empty()
            && m.id.len() <= 128
            && m.id
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "._:-/".contains(ch));
        check(
            valid_id,
            &format!("models[{i}].id"),
            "must be 1-128 characters of [A-Za-z0-9._:/-]",
        )?;
        check(
            seen.insert(m.id.as_str()),
            &format!("models[{i}].id"),
            "duplicate model id",
        )?;
        check(
            !m.codex_model.is_empty(),
            &format!("models[{i}].codex_model"),
            "must not be empty",
        )?;
        if let Some(e) = &m.reasoning_effort {
            check(
                EFFORTS.contains(&e.as_str()),
                &format!("models[{i}].reasoning_effort"),
                "must be one of none, minimal, low, medium, high, xhigh",
            )?;
        }
    }
    Ok(())
}

fn validate_exposure(c: &Config) -> Result<(), ConfigError> {
    let api_public = !c.server.listen.ip().is_loopback();
    if api_public {
        check(
            c.has_api_keys(),
            "auth.api_key",
            "required when server.listen is not a loopback address",
        )?;
    }
    let metrics_public = match c.metrics.listen {
        Some(addr) => !addr.ip().is_loopback(),
        None => api_public,
    };
    if metrics_public {
        check(
            !c.metrics.token.is_empty(),
            "metrics.token",
            "required when /metrics is reachable from non-loopback addresses",
        )?;
    }
    if c.log.capture_content {
        check(
            !api_public && !metrics_public,
            "log.capture_content",
            "refused: content capture is only allowed with loopback listeners",
        )?;
    }
    Ok(())
}

fn validate_usage(c: &Config) -> Result<(), ConfigError> {
    let u = &c.usage;
    check(
        (10..=60_000).contains(&u.flush_interval_ms),
        "usage.flush_interval_ms",
        "must be between 10 and 60000",
    )?;
    if !u.postgres_url.is_empty() {
        // The parser's message never repeats the URL (it may hold a password).
        u.postgres_url
            .parse::<postgres::Config>()
            .map_err(|e| ConfigError::new("usage.postgres_url", format!("invalid: {e}")))?;
    }
    Ok(())
}

//! Maps the validated config onto the settings structs the actors crate defines, and
//! resolves the worker command (`@self` means this very binary, for the demo worker).

use crate::config::{ApprovalAnswer, Config};
use crate::logging::VERSION;
use codexd_actors::accounts::AccountBook;
use codexd_actors::health::HealthSettings;
use codexd_actors::metrics::{MetricsHandles, MetricsSettings};
use codexd_actors::worker::connection::{ConnectionSettings, ToolSettings};
use codexd_actors::worker::SupervisorSettings;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Resolves `workers.command` to an executable path, or says why it cannot.
pub fn resolve_command(command: &str) -> Result<PathBuf, String> {
    if command == "@self" {
        return std::env::current_exe()
            .map_err(|e| format!("cannot locate the codexd binary: {e}"));
    }
    let is_exec = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if command.contains('/') {
        let p = PathBuf::from(command);
        return if is_exec(&p) {
            Ok(p)
        } else {
            Err(format!(
                "worker command {command} is not an executable file"
            ))
        };
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(command))
        .find(|p| is_exec(p))
        .ok_or_else(|| format!("worker command {command} was not found on PATH"))
}

pub fn metrics_settings(c: &Config) -> MetricsSettings {
    MetricsSettings {
        version: VERSION.into(),
        revision: option_env!("CODEXD_REVISION").unwrap_or("unknown").into(),
        models: c.models.iter().map(|m| m.id.clone()).collect(),
        slots: c.pool_size(),
        routes: crate::http::routes::labels(),
    }
}

pub fn health_settings(c: &Config) -> HealthSettings {
    HealthSettings {
        slots: c.pool_size(),
        min_ready_workers: c.health.min_ready_workers,
        version: VERSION.into(),
        unready_when_exhausted: c.quota.unready_when_exhausted,
    }
}

pub fn supervisor_settings(
    c: &Config,
    program: PathBuf,
    handles: &MetricsHandles,
) -> Result<SupervisorSettings, crate::config::ConfigError> {
    let w = &c.workers;
    let ms = Duration::from_millis;
    let parked = Arc::new(codexd_actors::parked::ParkedTurns::default());
    let accounts = Arc::new(AccountBook::new(&c.account_specs(), c.account_policy()));
    Ok(SupervisorSettings {
        count: c.pool_size(),
        launch: Arc::new(crate::pool_launch::PoolLaunch::new(c, &program)),
        backoff: crate::config::backoff_policy(c)?,
        failed_retry: ms(w.failed_retry_ms),
        max_turns_per_worker: w.max_turns_per_worker,
        queue_size: c.admission.queue_size as usize,
        stop_grace: ms(w.stop_grace_ms),
        connection: Arc::new(ConnectionSettings {
            handshake_timeout: ms(w.handshake_timeout_ms),
            ping_interval: ms(w.ping_interval_ms),
            ping_timeout: ms(w.ping_timeout_ms),
            max_line_bytes: w.max_line_bytes as usize,
            accept_approvals: c.codex.approvals == ApprovalAnswer::Accept,
            client_version: VERSION.into(),
            approval_policy: c.codex.approval_policy.clone(),
            sandbox: c.codex.sandbox.clone(),
            cwd: (!w.cwd.is_empty()).then(|| w.cwd.clone()),
            unknown_notifications: Some(handles.unknown_notifications.clone()),
            tools: ToolSettings {
                parked: parked.clone(),
                park_ttl: ms(c.tools.parked_ttl_ms),
                max_parked: c.tools.max_parked_per_worker as usize,
            },
            models: Arc::default(),
            accounts,
        }),
        queue_depth: Some(handles.queue_depth.clone()),
        pool: crate::pool_launch::pool_settings(c),
    })
}

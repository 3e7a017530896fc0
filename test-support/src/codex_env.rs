//! Command line and environment for running the pinned native Codex CLI as an app-server worker
//! against the mock model provider.
//!
//! Verified with `@openai/codex@0.171.0`:
//! - `--strict-config` makes an unknown `-c` key fatal (exit 1 before any output on stdout);
//!   without it Codex only emits a `configWarning` and ignores the key.
//! - `request_max_retries` / `stream_max_retries` exist only per provider
//!   (`model_providers.<id>.*`); as top-level keys `--strict-config` rejects them.
//! - `CODEX_HOME` must be outside the system temp folder, otherwise Codex refuses to create its
//!   sandbox helper binaries (plain turns still work, sandboxed commands do not).
//! - OTLP/HTTP trace export: `otel.trace_exporter={otlp-http={endpoint=..,protocol="binary"}}`;
//!   the endpoint is used verbatim (include `/v1/traces`). Spans carry
//!   `service.name = "codex-app-server"`. Only when this exporter is configured does Codex join
//!   the JSON-RPC `trace.traceparent` and forward `traceparent` to the model provider.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// The Codex CLI version the tests are pinned to (bump deliberately, with the install script).
pub const CODEX_VERSION: &str = "0.171.0";
/// The model name the worker is configured with by default.
pub const MOCK_MODEL: &str = "mock-model";
/// The provider id used in `model_provider` / `model_providers.<id>`.
pub const MOCK_PROVIDER_ID: &str = "mock";
/// The environment variable the mock provider's API key is read from.
pub const MOCK_API_KEY_ENV: &str = "MOCK_API_KEY";
/// The API key value; Codex sends it as `Authorization: Bearer <key>`.
pub const MOCK_API_KEY: &str = "sk-mock-codexd-tests";

pub use crate::paths::repo_root;

/// Runs `<repo>/scripts/install-codex.sh` (idempotent) and returns the native binary path it
/// prints on its last stdout line.
pub fn install_codex(repo: &Path) -> io::Result<PathBuf> {
    let script = repo.join("scripts").join("install-codex.sh");
    let output = std::process::Command::new("bash")
        .arg(&script)
        .current_dir(repo)
        .stdin(Stdio::null())
        .output()?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "{} failed ({}): {}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let path = stdout
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| io::Error::other("install-codex.sh printed no path"))?;
    if !path.is_file() {
        return Err(io::Error::other(format!(
            "install-codex.sh printed {}, which is not a file",
            path.display()
        )));
    }
    Ok(path)
}

/// The native Codex binary: `$CODEXD_CODEX_BIN` (as exported by `scripts/test-deps.sh`) or
/// `$CODEX_BIN` when set, else installed (once per process) by `scripts/install-codex.sh`.
pub fn codex_bin() -> io::Result<PathBuf> {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BIN.get_or_init(|| {
        let from_env = ["CODEXD_CODEX_BIN", "CODEX_BIN"]
            .iter()
            .filter_map(std::env::var_os)
            .find(|v| !v.is_empty());
        match from_env {
            Some(bin) => Ok(PathBuf::from(bin)),
            None => install_codex(&repo_root()).map_err(|e| e.to_string()),
        }
    })
    .clone()
    .map_err(io::Error::other)
}

/// A fresh, empty directory `<repo>/target/codex-home/<label>-<pid>-<n>-<nanos>` for use as
/// `CODEX_HOME`. Codex refuses to set up its sandbox helper under the system temp folder, so
/// when the checkout itself lives there (a CI clone in /tmp, say) the directory goes under
/// `$HOME/.cache/codexd-tests` instead.
pub fn fresh_codex_home(label: &str) -> io::Result<PathBuf> {
    let repo = repo_root();
    let temp = std::env::temp_dir();
    if repo.starts_with(&temp) || repo.starts_with("/tmp") {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/root"));
        return fresh_codex_home_in(&home.join(".cache").join("codexd-tests"), label);
    }
    fresh_codex_home_in(&repo, label)
}

/// Like [`fresh_codex_home`] under `<root>/target/codex-home`.
pub fn fresh_codex_home_in(root: &Path, label: &str) -> io::Result<PathBuf> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = root
        .join("target")
        .join("codex-home")
        .join(format!("{label}-{}-{n}-{nanos}", std::process::id()));
    let temp = std::env::temp_dir();
    if dir.starts_with(&temp) || dir.starts_with("/tmp") {
        return Err(io::Error::other(format!(
            "CODEX_HOME {} would be under the temp folder {}",
            dir.display(),
            temp.display()
        )));
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Quotes `s` as a TOML basic string (for `-c key=value` values).
pub fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The `key=value` config overrides (each to be passed after `-c`) that point Codex at the
/// mock provider at `base_url` (`http://127.0.0.1:PORT/v1`), with no retries, no approvals and
/// a read-only sandbox.
pub fn mock_config_overrides(base_url: &str, model: &str) -> Vec<String> {
    vec![
        format!("model={}", toml_string(model)),
        format!("model_provider={}", toml_string(MOCK_PROVIDER_ID)),
        format!(
            "model_providers.{MOCK_PROVIDER_ID}={{name=\"Mock\",base_url={},env_key={},\
             wire_api=\"responses\",request_max_retries=0,stream_max_retries=0}}",
            toml_string(base_url),
            toml_string(MOCK_API_KEY_ENV)
        ),
        "approval_policy=\"never\"".to_owned(),
        "sandbox_mode=\"read-only\"".to_owned(),
        "analytics.enabled=false".to_owned(),
    ]
}

/// `["-c", "otel.trace_exporter=..."]`: makes Codex export its own spans over OTLP/HTTP
/// (protobuf) to `endpoint`, which is used verbatim, e.g. `http://127.0.0.1:PORT/v1/traces`.
/// Codex batches: spans arrive every ~5 s and are flushed when the worker exits (stdin EOF).
pub fn otel_trace_args(endpoint: &str) -> Vec<String> {
    vec![
        "-c".to_owned(),
        format!(
            "otel.trace_exporter={{otlp-http={{endpoint={},protocol=\"binary\"}}}}",
            toml_string(endpoint)
        ),
    ]
}

/// `["app-server", "--strict-config", "-c", k=v, ...]` for a worker using the mock provider.
pub fn worker_args(base_url: &str, model: &str) -> Vec<String> {
    let mut args = vec!["app-server".to_owned(), "--strict-config".to_owned()];
    for kv in mock_config_overrides(base_url, model) {
        args.push("-c".to_owned());
        args.push(kv);
    }
    args
}

/// The environment a worker needs: `CODEX_HOME` and the mock provider's API key.
pub fn worker_env(codex_home: &Path) -> Vec<(String, String)> {
    vec![
        (
            "CODEX_HOME".to_owned(),
            codex_home.to_string_lossy().into_owned(),
        ),
        (MOCK_API_KEY_ENV.to_owned(), MOCK_API_KEY.to_owned()),
    ]
}

/// Everything needed to spawn one app-server worker against the mock provider.
#[derive(Clone, Debug)]
pub struct WorkerCommand {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub codex_home: PathBuf,
}

impl WorkerCommand {
    /// `program app-server --strict-config -c ...` with `CODEX_HOME=codex_home`, using the
    /// default [`MOCK_MODEL`].
    pub fn new(program: &Path, base_url: &str, codex_home: &Path) -> Self {
        Self::with_model(program, base_url, codex_home, MOCK_MODEL)
    }

    /// Like [`WorkerCommand::new`] with another configured model name.
    pub fn with_model(program: &Path, base_url: &str, codex_home: &Path, model: &str) -> Self {
        Self {
            program: program.to_path_buf(),
            args: worker_args(base_url, model),
            env: worker_env(codex_home),
            codex_home: codex_home.to_path_buf(),
        }
    }

    /// Adds the OTLP/HTTP trace export to `endpoint` (see [`otel_trace_args`]).
    pub fn with_otel_traces(mut self, endpoint: &str) -> Self {
        self.args.extend(otel_trace_args(endpoint));
        self
    }

    /// Adds one more `-c key=value` override.
    pub fn with_override(mut self, key_value: &str) -> Self {
        self.args.push("-c".to_owned());
        self.args.push(key_value.to_owned());
        self
    }

    /// A `std::process::Command` with piped stdio.
    pub fn std_command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(&self.program);
        cmd.args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// A `tokio::process::Command` with piped stdio, killed on drop.
    pub fn tokio_command(&self) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }
}

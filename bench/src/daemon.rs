//! One codexd process under test: started by the shared launcher from the release binary
//! with the demo config and `CODEXD__*` overrides on port 0 (the address read from its
//! `listener_bound` line, or from its listening socket when it logs below `info`), its logs
//! in a file, probed over awc.

use crate::procfs;
use awc::Client;
use codexd_test_support::launch::{Launch, Launched};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub type Res<T> = Result<T, String>;

/// How to run one daemon.
pub struct Spec {
    pub name: &'static str,
    /// `info` (full telemetry) or `error` (minimal).
    pub log_level: &'static str,
    /// Further `CODEXD__*` and `CODEXD_DEMO_*` variables.
    pub env: Vec<(&'static str, String)>,
}

/// Variables given with `--env`, set on every daemon after its own.
pub static EXTRA_ENV: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();

/// A running daemon.
pub struct Daemon {
    pub name: &'static str,
    pub pid: u32,
    pub base: String,
    proc: Launched,
    log: PathBuf,
    control: Client,
}

/// The API key of config/bench.toml (and config/demo.toml).
pub const API_KEY: &str = "Bearer sk-demo";

/// A small client for probes and scrapes, apart from the load clients.
pub fn control_client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(5))
        .disable_redirects()
        .finish()
}

impl Daemon {
    /// Starts the daemon and waits until `/readyz` answers 200.
    pub async fn start(codexd: &Path, config: &Path, logs: &Path, spec: Spec) -> Res<Daemon> {
        let log = logs.join(format!("{}.log", spec.name));
        let mut launch = Launch::serve(codexd, config)
            .env_clear_keep(&["PATH", "HOME", "LANG"])
            .log_to_file(&log)
            .env("CODEXD__SERVER__LISTEN", "127.0.0.1:0")
            .env("CODEXD__LOG__LEVEL", spec.log_level);
        // `--env CODEXD__LOG__LEVEL=...` overrides the spec's level (e.g. a soak at `warn`).
        let level = EXTRA_ENV
            .get()
            .into_iter()
            .flatten()
            .rev()
            .find(|(k, _)| k == "CODEXD__LOG__LEVEL")
            .map_or(spec.log_level, |(_, v)| v.as_str());
        if !matches!(level, "info" | "debug") {
            // `listener_bound` is an info line: read the port from the socket instead.
            launch = launch.addr_from_proc();
        }
        for (k, v) in &spec.env {
            launch = launch.env(k, v);
        }
        for (k, v) in EXTRA_ENV.get().into_iter().flatten() {
            launch = launch.env(k, v);
        }
        let mut proc = launch.spawn()?;
        let deadline = Instant::now() + Duration::from_secs(20);
        let listening = loop {
            if let Some(found) = proc.check_listening()? {
                break found;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{} not listening after 20 s; see {}",
                    spec.name,
                    log.display()
                ));
            }
            actix_rt::time::sleep(Duration::from_millis(10)).await;
        };
        let mut d = Daemon {
            name: spec.name,
            pid: proc.pid(),
            base: format!("http://{}", listening.api),
            proc,
            log,
            control: control_client(),
        };
        d.wait_ready(Duration::from_secs(20)).await?;
        Ok(d)
    }

    /// Polls `/readyz` until 200.
    pub async fn wait_ready(&mut self, within: Duration) -> Res<()> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.proc.try_wait() {
                return Err(format!(
                    "{} exited during start-up ({status}); see {}",
                    self.name,
                    self.log.display()
                ));
            }
            if self.readyz().await == Some(200) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("{} not ready after {within:?}", self.name));
            }
            actix_rt::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The status of `GET /readyz`, or `None` when the request failed.
    pub async fn readyz(&self) -> Option<u16> {
        let url = format!("{}/readyz", self.base);
        let mut resp = self.control.get(url).send().await.ok()?;
        let status = resp.status().as_u16();
        let _ = resp.body().await;
        Some(status)
    }

    /// Worker pids from `/healthz`.
    pub async fn worker_pids(&self) -> Vec<u32> {
        let url = format!("{}/healthz", self.base);
        let Ok(mut resp) = self.control.get(url).send().await else {
            return Vec::new();
        };
        let Ok(v) = resp.json::<serde_json::Value>().await else {
            return Vec::new();
        };
        v.get("workers")
            .and_then(|w| w.as_array())
            .map(|ws| {
                ws.iter()
                    .filter_map(|w| w.get("pid")?.as_u64())
                    .filter_map(|p| u32::try_from(p).ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The `/metrics` text.
    pub async fn scrape(&self) -> Res<String> {
        let url = format!("{}/metrics", self.base);
        let mut resp = self
            .control
            .get(url)
            .send()
            .await
            .map_err(|e| format!("scrape: {e}"))?;
        let body = resp
            .body()
            .limit(16 << 20)
            .await
            .map_err(|e| format!("scrape body: {e}"))?;
        String::from_utf8(body.to_vec()).map_err(|e| format!("scrape utf-8: {e}"))
    }

    pub fn rss_kib(&self) -> u64 {
        procfs::rss_kib(self.pid).unwrap_or(0)
    }

    /// Bytes of log written so far.
    pub fn log_bytes(&self) -> u64 {
        std::fs::metadata(&self.log).map_or(0, |m| m.len())
    }

    /// SIGTERM, then a bounded wait; SIGKILL if it does not exit. Removes the log unless kept.
    pub async fn stop(mut self, keep_log: bool) -> Res<()> {
        procfs::term(self.pid);
        let deadline = Instant::now() + Duration::from_secs(15);
        let exited = loop {
            if let Some(status) = self.proc.try_wait() {
                break Some(status);
            }
            if Instant::now() > deadline {
                break None;
            }
            actix_rt::time::sleep(Duration::from_millis(10)).await;
        };
        if exited.is_none() {
            self.proc.kill();
        }
        if !keep_log {
            let _ = std::fs::remove_file(&self.log);
        }
        match exited {
            Some(s) if s.success() => Ok(()),
            Some(s) => Err(format!("{} exited with {s}", self.name)),
            None => Err(format!("{} did not stop within 15 s", self.name)),
        }
    }
}

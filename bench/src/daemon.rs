//! One codexd process under test: started from the release binary with the demo config and
//! `CODEXD__*` overrides on a free loopback port, its logs in a file, probed over awc.

use crate::procfs;
use awc::Client;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

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
    child: Child,
    log: PathBuf,
    control: Client,
}

/// The API key of config/demo.toml.
pub const API_KEY: &str = "Bearer sk-demo";

fn free_port() -> Res<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("local_addr: {e}"))
}

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
        let port = free_port()?;
        let log = logs.join(format!("{}.log", spec.name));
        let out = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| format!("log file: {e}"))?;
        let mut cmd = Command::new(codexd);
        cmd.arg("serve")
            .arg("--config")
            .arg(config)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true);
        for key in ["PATH", "HOME", "LANG"] {
            if let Ok(v) = std::env::var(key) {
                cmd.env(key, v);
            }
        }
        cmd.env("CODEXD__SERVER__LISTEN", format!("127.0.0.1:{port}"))
            .env("CODEXD__LOG__LEVEL", spec.log_level);
        for (k, v) in &spec.env {
            cmd.env(k, v);
        }
        for (k, v) in EXTRA_ENV.get().into_iter().flatten() {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", codexd.display()))?;
        let pid = child.id().ok_or("daemon exited at once")?;
        let mut d = Daemon {
            name: spec.name,
            pid,
            base: format!("http://127.0.0.1:{port}"),
            child,
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
            if let Ok(Some(status)) = self.child.try_wait() {
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
        let exited = actix_rt::time::timeout(Duration::from_secs(15), self.child.wait()).await;
        if exited.is_err() {
            let _ = self.child.kill().await;
        }
        if !keep_log {
            let _ = std::fs::remove_file(&self.log);
        }
        match exited {
            Ok(Ok(s)) if s.success() => Ok(()),
            Ok(Ok(s)) => Err(format!("{} exited with {s}", self.name)),
            Ok(Err(e)) => Err(format!("{}: wait: {e}", self.name)),
            Err(_) => Err(format!("{} did not stop within 15 s", self.name)),
        }
    }
}

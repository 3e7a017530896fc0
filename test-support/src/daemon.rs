//! A daemon under test: started from a generated config on port 0 (address from its
//! `listener_bound` line), its JSON log lines read back, probed over raw HTTP, stopped.

use crate::config::Config;
use crate::launch::{Launch, Launched};
use crate::paths::{codexd_bin, scratch_dir};
use crate::{eventually, http, signal};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

pub use crate::config::KEY;

/// A running daemon.
pub struct Daemon {
    proc: Launched,
    pub addr: SocketAddr,
    pub metrics_addr: Option<SocketAddr>,
    pub dir: PathBuf,
    pub exit: Option<ExitStatus>,
}

impl Daemon {
    /// Starts the daemon and waits until its API listener is bound.
    pub fn start(config: Config) -> Daemon {
        let dir = scratch_dir("daemon");
        // Each daemon gets its own usage ledger unless the test chose one.
        let config = if config.get("usage.path").is_some() {
            config
        } else {
            let ledger = dir.join("usage.sqlite3");
            config.set("usage.path", &format!("{:?}", ledger.display().to_string()))
        };
        let path = dir.join("codexd.toml");
        std::fs::write(&path, config.text()).expect("write config");
        let env: Vec<(&str, &str)> = config
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Daemon::start_with_file(&path, &env)
    }

    /// Starts a daemon and waits until `/readyz` answers 200.
    pub fn start_ready(config: Config) -> Daemon {
        let d = Daemon::start(config);
        d.wait_ready();
        d
    }

    /// Starts the daemon from an existing config file, with extra environment for the daemon
    /// (`CODEXD__SERVER__LISTEN=127.0.0.1:0`, ...), and waits until its API listener is bound.
    pub fn start_with_file(path: &std::path::Path, env: &[(&str, &str)]) -> Daemon {
        Daemon::start_launch(path, env, |l| l)
    }

    /// Starts the daemon from `config` with the launch adjusted by `adjust` (e.g. a lower
    /// descriptor limit), and waits until its API listener is bound.
    pub fn start_adjusted(config: Config, adjust: impl FnOnce(Launch) -> Launch) -> Daemon {
        let dir = scratch_dir("daemon");
        let path = dir.join("codexd.toml");
        std::fs::write(&path, config.text()).expect("write config");
        let env: Vec<(&str, &str)> = config
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Daemon::start_launch(&path, &env, adjust)
    }

    fn start_launch(
        path: &std::path::Path,
        env: &[(&str, &str)],
        adjust: impl FnOnce(Launch) -> Launch,
    ) -> Daemon {
        let mut launch = adjust(Launch::serve(&codexd_bin(), path));
        for (k, v) in env {
            launch = launch.env(k, v);
        }
        let dir = path
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_else(|| scratch_dir("daemon"));
        let mut proc = launch
            .spawn()
            .unwrap_or_else(|e| panic!("spawn codexd: {e}"));
        let listening = proc
            .wait_listening(Duration::from_secs(15))
            .unwrap_or_else(|e| panic!("{e}"));
        Daemon {
            proc,
            addr: listening.api,
            metrics_addr: listening.metrics,
            dir,
            exit: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    pub fn wait_ready(&self) {
        eventually(Duration::from_secs(15), "/readyz 200", || {
            (http::get(self.addr, "/readyz").status == 200).then_some(())
        });
    }

    /// Every stdout line so far.
    pub fn lines(&self) -> Vec<String> {
        self.proc.lines()
    }

    /// Everything the daemon wrote on stderr.
    pub fn stderr(&self) -> String {
        self.proc.stderr()
    }

    /// Every stdout line parsed as JSON (panics on a line that is not JSON).
    pub fn events(&self) -> Vec<Value> {
        self.lines()
            .iter()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {l}"))
            })
            .collect()
    }

    /// Events with the given name.
    pub fn events_named(&self, name: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| e["event"] == name)
            .collect()
    }

    /// Waits for the first event matching `pred`.
    pub fn wait_event(
        &self,
        timeout: Duration,
        what: &str,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(e) = self
                .lines()
                .iter()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .find(|e| pred(e))
            {
                return e;
            }
            if Instant::now() >= deadline {
                panic!(
                    "timed out waiting for {what}; log:\n{}\nstderr:\n{}",
                    self.lines().join("\n"),
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn healthz(&self) -> Value {
        http::get(self.addr, "/healthz").json()
    }

    /// The pids of the live worker processes, from `/healthz`.
    pub fn worker_pids(&self) -> Vec<u32> {
        self.healthz()["workers"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|w| w["pid"].as_u64())
            .map(|p| p as u32)
            .collect()
    }

    /// The current `/metrics` text.
    pub fn metrics(&self) -> String {
        let r = http::get(self.metrics_addr.unwrap_or(self.addr), "/metrics");
        assert_eq!(r.status, 200, "scrape failed");
        r.text()
    }

    /// Sends SIGTERM and waits for the exit status (bounded).
    pub fn terminate(&mut self) -> ExitStatus {
        signal(self.pid(), 15);
        self.wait_exit(Duration::from_secs(20))
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let status = eventually(timeout, "daemon exit", || self.proc.try_wait());
        self.exit = Some(status);
        // Let the reader threads drain the pipes.
        std::thread::sleep(Duration::from_millis(50));
        status
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.proc.kill();
        if std::thread::panicking() {
            eprintln!(
                "---- daemon log ----\n{}\n---- stderr ----\n{}",
                self.lines().join("\n"),
                self.stderr()
            );
        }
    }
}

/// Runs `codexd serve` on `config` to completion (for start-ups that must fail) and returns
/// its exit status and output.
pub fn serve_to_exit(config: Config) -> std::process::Output {
    let dir = scratch_dir("serve-exit");
    let path = dir.join("codexd.toml");
    std::fs::write(&path, config.text()).expect("write config");
    Command::new(codexd_bin())
        .args(["serve", "--config"])
        .arg(&path)
        .envs(config.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .expect("run codexd serve")
}

//! Starting the real daemon with a generated config, reading its log lines, and stopping it.

use super::{eventually, http, process_alive, signal};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_codexd");
pub const KEY: &str = "sk-test";

/// The base config every test starts from: the demo worker, loopback, port 0, fast timers.
const BASE: &str = r#"
[server]
listen = "127.0.0.1:0"
drain_timeout_ms = 5000
http_workers = 2
[auth]
api_key = "sk-test"
[log]
level = "debug"
[workers]
count = 2
command = "@self"
args = ["demo-worker"]
env_allowlist = ["PATH", "HOME"]
max_turns_per_worker = 8
handshake_timeout_ms = 2000
ping_interval_ms = 500
ping_timeout_ms = 500
stop_grace_ms = 1000
[workers.backoff]
initial_ms = 50
max_ms = 400
multiplier = 2.0
stable_after_ms = 5000
max_restarts = 20
window_ms = 10000
[admission]
queue_size = 16
queue_timeout_ms = 2000
[streaming]
first_token_timeout_ms = 5000
idle_timeout_ms = 5000
keepalive_ms = 1000
header_hold_ms = 300
interrupt_grace_ms = 1000
[codex]
allow_client_system_prompt = true
[[models]]
id = "codex-demo"
codex_model = "demo"
reasoning_effort = "medium"
"#;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A scratch directory under the target dir, unique per call.
pub fn scratch_dir(name: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// A config under construction: the base plus dotted-path overrides.
pub struct Config {
    table: toml::Table,
    env: Vec<(String, String)>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            table: BASE.parse().expect("base config"),
            env: Vec::new(),
        }
    }
}

impl Config {
    /// Sets `a.b.c` to a TOML value given as text (`"4"`, `"\"x\""`, `"[1, 2]"`).
    pub fn set(mut self, path: &str, value: &str) -> Self {
        let v: toml::Value = format!("v = {value}")
            .parse::<toml::Table>()
            .expect("toml value")["v"]
            .clone();
        let keys: Vec<&str> = path.split('.').collect();
        let (last, parents) = keys.split_last().expect("path");
        let mut t = &mut self.table;
        for k in parents {
            t = t
                .entry(k.to_string())
                .or_insert_with(|| toml::Value::Table(Default::default()))
                .as_table_mut()
                .expect("table");
        }
        t.insert(last.to_string(), v);
        self
    }

    /// Sets an environment variable for every worker (`workers.env`).
    pub fn worker_env(self, key: &str, value: &str) -> Self {
        self.set(&format!("workers.env.{key}"), &format!("{value:?}"))
    }

    /// Sets an environment variable for the daemon process.
    pub fn daemon_env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn text(&self) -> String {
        toml::to_string(&self.table).expect("render config")
    }
}

/// A running daemon.
pub struct Daemon {
    child: Child,
    pub addr: SocketAddr,
    pub metrics_addr: Option<SocketAddr>,
    lines: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    pub dir: PathBuf,
    pub exit: Option<ExitStatus>,
}

impl Daemon {
    /// Starts the daemon and waits until its API listener is bound.
    pub fn start(config: Config) -> Daemon {
        let dir = scratch_dir("daemon");
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

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn wait_ready(&self) {
        eventually(Duration::from_secs(15), "/readyz 200", || {
            (http::get(self.addr, "/readyz").status == 200).then_some(())
        });
    }

    /// Every stdout line so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Everything the daemon wrote on stderr.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
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
        signal(self.child.id(), 15);
        self.wait_exit(Duration::from_secs(20))
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let status = eventually(timeout, "daemon exit", || self.child.try_wait().unwrap());
        self.exit = Some(status);
        // Let the reader threads drain the pipes.
        std::thread::sleep(Duration::from_millis(50));
        status
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.exit.is_none() && process_alive(self.child.id()) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "---- daemon log ----\n{}\n---- stderr ----\n{}",
                self.lines().join("\n"),
                self.stderr()
            );
        }
    }
}

impl Daemon {
    /// Starts the daemon from an existing config file, with extra environment for the daemon
    /// (`CODEXD__SERVER__LISTEN=127.0.0.1:0`, ...), and waits until its API listener is bound.
    pub fn start_with_file(path: &std::path::Path, env: &[(&str, &str)]) -> Daemon {
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .arg("--config")
            .arg(path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let dir = path
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_else(|| scratch_dir("daemon"));
        Daemon::launch(cmd, dir)
    }

    /// Spawns a prepared `codexd serve` command, collects its output and waits for the API
    /// listener.
    fn launch(mut cmd: Command, dir: PathBuf) -> Daemon {
        let mut child = cmd.spawn().expect("spawn codexd");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("stdout");
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut err = child.stderr.take().expect("stderr");
        let esink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                esink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let mut d = Daemon {
            child,
            addr: "127.0.0.1:1".parse().unwrap(),
            metrics_addr: None,
            lines,
            stderr,
            dir,
            exit: None,
        };
        let bound = d.wait_event(Duration::from_secs(15), "listener_bound api", |e| {
            e["event"] == "listener_bound" && e["role"] == "api"
        });
        d.addr = bound["addr"].as_str().unwrap().parse().unwrap();
        d.metrics_addr = d
            .events()
            .into_iter()
            .find(|e| e["event"] == "listener_bound" && e["role"] == "metrics")
            .and_then(|e| e["addr"].as_str().and_then(|a| a.parse().ok()));
        d
    }
}

/// Runs `codexd serve` on `config` to completion (for start-ups that must fail) and returns
/// its exit status and output.
pub fn serve_to_exit(config: Config) -> std::process::Output {
    let dir = scratch_dir("serve-exit");
    let path = dir.join("codexd.toml");
    std::fs::write(&path, config.text()).expect("write config");
    Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&path)
        .envs(config.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .expect("run codexd serve")
}

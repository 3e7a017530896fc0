//! The config a test daemon starts from (the demo worker, loopback, port 0, fast timers)
//! and the dotted-path overrides and environment a test puts on top of it.

/// The API key of [`BASE`].
pub const KEY: &str = "sk-test";

/// The base config every test starts from: the demo worker, loopback, port 0, fast timers.
pub const BASE: &str = r#"
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

/// A config under construction: the base plus dotted-path overrides.
#[derive(Clone)]
pub struct Config {
    table: toml::Table,
    pub(crate) env: Vec<(String, String)>,
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

    /// The value at `a.b.c`, if set.
    pub fn get(&self, path: &str) -> Option<&toml::Value> {
        let mut keys = path.split('.');
        let first = keys.next()?;
        keys.try_fold(self.table.get(first)?, |v, k| v.get(k))
    }

    pub fn text(&self) -> String {
        toml::to_string(&self.table).expect("render config")
    }
}

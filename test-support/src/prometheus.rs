//! A real Prometheus server for tests: started on a free loopback port with a generated
//! config that scrapes the given targets every second, queried over its HTTP API, and killed
//! when dropped. Binaries come from `CODEXD_PROMETHEUS` / `CODEXD_PROMTOOL` (set by
//! `make test`); a missing tool fails the test with a message, never skips it.

use crate::paths::scratch_dir;
use crate::{eventually, http};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The path of a required tool, from its environment variable.
pub fn tool(var: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => panic!("{var} is not set: run `make test` (scripts/test-deps.sh installs Prometheus and promtool and exports it)"),
    }
}

/// Runs `promtool` with `args`; returns (success, combined output).
pub fn promtool(args: &[&str]) -> (bool, String) {
    let out = Command::new(tool("CODEXD_PROMTOOL"))
        .args(args)
        .output()
        .expect("run promtool");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A running Prometheus server.
pub struct Prometheus {
    child: Child,
    pub addr: SocketAddr,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Prometheus {
    /// Starts a server scraping `targets` (host:port, path /metrics) every second; `rule_files`
    /// are loaded as rules.
    pub fn start(targets: &[SocketAddr], rule_files: &[PathBuf]) -> Prometheus {
        let dir = scratch_dir("prometheus");
        let targets: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
        let rules: Vec<String> = rule_files
            .iter()
            .map(|r| format!("  - '{}'", r.display()))
            .collect();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n{}\nscrape_configs:\n  - job_name: codexd\n    static_configs:\n      - targets: [{}]\n",
            if rules.is_empty() { "  []".to_owned() } else { rules.join("\n") },
            targets.join(", ")
        );
        let config = config.replace("rule_files:\n  []", "rule_files: []");
        std::fs::write(dir.join("prometheus.yml"), config).unwrap();
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let child = Command::new(tool("CODEXD_PROMETHEUS"))
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
            .spawn()
            .expect("start prometheus");
        let p = Prometheus { child, addr };
        eventually(Duration::from_secs(30), "prometheus ready", || {
            std::net::TcpStream::connect(addr)
                .ok()
                .and_then(|_| (http::get(addr, "/-/ready").status == 200).then_some(()))
        });
        p
    }

    /// Runs an instant query; returns the `data` object, or the error text.
    pub fn query(&self, expr: &str) -> Result<Value, String> {
        let q: String = expr
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        let r = http::get(self.addr, &format!("/api/v1/query?query={q}"));
        let v = r.json();
        if v["status"] == "success" {
            Ok(v["data"].clone())
        } else {
            Err(format!("{}: {}", v["errorType"], v["error"]))
        }
    }

    /// The first sample value of an instant query, if any.
    pub fn value(&self, expr: &str) -> Option<f64> {
        let data = self.query(expr).ok()?;
        data["result"].as_array()?.first()?["value"][1]
            .as_str()?
            .parse()
            .ok()
    }

    /// The result vector of an instant query (empty on error).
    pub fn vector(&self, expr: &str) -> Vec<Value> {
        self.query(expr)
            .ok()
            .and_then(|d| d["result"].as_array().cloned())
            .unwrap_or_default()
    }

    /// Polls `expr` until its first value equals `expected` (bounded); returns the last value
    /// seen so the caller's assertion shows it.
    pub fn wait_for(&self, expr: &str, expected: f64, timeout: Duration) -> Option<f64> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let v = self.value(expr);
            if v == Some(expected) || std::time::Instant::now() >= deadline {
                return v;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits until the codexd target has been scraped successfully.
    pub fn wait_scraped(&self) {
        eventually(
            Duration::from_secs(30),
            "a successful scrape (up == 1)",
            || (self.value("up") == Some(1.0)).then_some(()),
        );
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

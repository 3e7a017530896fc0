//! The minimal-proxy baseline as the harness runs it: `codexd-min-proxy` (found next to the
//! harness, or `--proxy`) over demo workers of the same codexd binary, its address and
//! worker pids read from its one stdout line, stopped by closing its stdin.

use crate::daemon::{Res, API_KEY};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running `codexd-min-proxy`.
pub struct MinProxy {
    pub pid: u32,
    pub base: String,
    pub workers: Vec<u32>,
    child: Child,
}

/// The proxy binary: `--proxy` when given, else `codexd-min-proxy` beside the harness.
pub fn locate(flag: Option<&Path>) -> Res<PathBuf> {
    let path = match flag {
        Some(p) => p.to_path_buf(),
        None => std::env::current_exe()
            .map_err(|e| format!("current exe: {e}"))?
            .with_file_name("codexd-min-proxy"),
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found: build it with `cargo build --release -p codexd-bench`, or pass --proxy",
            path.display()
        ))
    }
}

/// Parses the proxy's line: `ADDR PID PID...`.
pub fn parse_line(line: &str) -> Res<(String, Vec<u32>)> {
    let mut parts = line.split_whitespace();
    let addr = parts.next().ok_or("codexd-min-proxy printed nothing")?;
    let pids = parts
        .map(|p| p.parse().map_err(|_| format!("bad worker pid {p}")))
        .collect::<Res<Vec<u32>>>()?;
    Ok((format!("http://{addr}"), pids))
}

impl MinProxy {
    /// Starts the proxy with `workers` demo workers of `codexd` (the `CODEXD_DEMO_*` and
    /// `--env` variables go to it and on to them) and waits for its address.
    pub async fn start(
        bin: &Path,
        codexd: &Path,
        workers: usize,
        max_turns: usize,
        env: &[(&'static str, String)],
    ) -> Res<MinProxy> {
        let mut cmd = Command::new(bin);
        cmd.arg("--codexd").arg(codexd);
        cmd.args(["--workers", &workers.to_string()]);
        cmd.args(["--max-turns", &max_turns.to_string()]);
        cmd.args(["--api-key", API_KEY.trim_start_matches("Bearer ")]);
        cmd.env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for key in ["PATH", "HOME", "LANG"] {
            if let Ok(v) = std::env::var(key) {
                cmd.env(key, v);
            }
        }
        for (k, v) in env.iter().filter(|(k, _)| k.starts_with("CODEXD_DEMO_")) {
            cmd.env(k, v);
        }
        for (k, v) in crate::daemon::EXTRA_ENV.get().into_iter().flatten() {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", bin.display()))?;
        let pid = child.id().ok_or("codexd-min-proxy exited at once")?;
        let stdout = child.stdout.take().ok_or("codexd-min-proxy stdout")?;
        let mut line = String::new();
        let mut stdout = BufReader::new(stdout);
        let read = stdout.read_line(&mut line);
        match actix_rt::time::timeout(Duration::from_secs(20), read).await {
            Ok(Ok(n)) if n > 0 => {}
            _ => return Err("codexd-min-proxy did not print its address within 20 s".into()),
        }
        let (base, workers) = parse_line(&line)?;
        Ok(MinProxy {
            pid,
            base,
            workers,
            child,
        })
    }

    /// Closes its stdin (it kills its workers and exits), then waits; SIGKILL after 10 s.
    pub async fn stop(mut self) -> Res<()> {
        drop(self.child.stdin.take());
        let waited = actix_rt::time::timeout(Duration::from_secs(10), self.child.wait()).await;
        match waited {
            Ok(Ok(s)) if s.success() => Ok(()),
            Ok(Ok(s)) => Err(format!("codexd-min-proxy exited with {s}")),
            _ => {
                let _ = self.child.kill().await;
                Err("codexd-min-proxy did not stop within 10 s".into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_address_and_the_worker_pids() {
        let (base, pids) = parse_line("127.0.0.1:4321 10 11\n").unwrap();
        assert_eq!(base, "http://127.0.0.1:4321");
        assert_eq!(pids, vec![10, 11]);
        assert!(parse_line("").is_err());
        assert!(parse_line("127.0.0.1:1 x").is_err());
    }
}

//! Starting a `codexd serve` process and learning where it listens: the config asks for port
//! 0, and the address is read from the daemon's own `listener_bound` log line (or, for a
//! daemon logging below `info`, from the listening socket it owns in `/proc`), so no port is
//! ever picked ahead and raced for. Output goes to memory (tests read every line) or to a
//! file (the benchmark measures log bytes and must not buffer millions of lines).

use serde_json::Value;
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where a launched daemon's stdout and stderr go.
enum Sink {
    /// Each stdout line and the stderr bytes, kept in memory.
    Memory,
    /// Both streams appended to one file.
    File(PathBuf),
}

/// How the API address is learnt.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AddrSource {
    /// From the `listener_bound` lines (`role` `api`, and `metrics` when there is one).
    Log,
    /// From the one listening TCP socket the process owns (`/proc/PID/net/tcp`).
    Proc,
}

/// A `codexd serve` command being prepared.
pub struct Launch {
    cmd: Command,
    sink: Sink,
    addr: AddrSource,
}

/// The addresses a started daemon listens on.
#[derive(Clone, Copy, Debug)]
pub struct Listening {
    pub api: SocketAddr,
    pub metrics: Option<SocketAddr>,
}

enum Output {
    Memory {
        lines: Arc<Mutex<Vec<String>>>,
        stderr: Arc<Mutex<Vec<u8>>>,
    },
    File(PathBuf),
}

/// A spawned daemon process with its output. Dropping it kills the process if it still runs.
pub struct Launched {
    child: Child,
    output: Output,
    addr: AddrSource,
    exit: Option<ExitStatus>,
}

impl Launch {
    /// `BIN serve --config CONFIG`, stdin closed, output kept in memory, the address from the
    /// log.
    pub fn serve(bin: &Path, config: &Path) -> Launch {
        let mut cmd = Command::new(bin);
        cmd.arg("serve").arg("--config").arg(config);
        Launch {
            cmd,
            sink: Sink::Memory,
            addr: AddrSource::Log,
        }
    }

    /// Sets an environment variable for the daemon.
    pub fn env(mut self, key: &str, value: &str) -> Launch {
        self.cmd.env(key, value);
        self
    }

    /// Starts from an empty environment, keeping only `keep` from this process's own.
    pub fn env_clear_keep(mut self, keep: &[&str]) -> Launch {
        self.cmd.env_clear();
        for key in keep {
            if let Some(v) = std::env::var_os(key) {
                self.cmd.env(key, v);
            }
        }
        self
    }

    /// Starts the daemon with its soft `RLIMIT_NOFILE` lowered to `soft` (the hard limit is
    /// kept), as a bare `ulimit -Sn` would.
    pub fn soft_nofile(mut self, soft: u64) -> Launch {
        use std::os::unix::process::CommandExt;
        #[expect(
            unsafe_code,
            reason = "setrlimit(2) between fork and exec is only reachable through libc"
        )]
        // SAFETY: the closure only calls getrlimit/setrlimit, which are async-signal-safe,
        // on a stack-local struct.
        unsafe {
            self.cmd.pre_exec(move || {
                let mut lim = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                lim.rlim_cur = soft.min(lim.rlim_max);
                if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        self
    }

    /// Sends stdout and stderr to `path` (created or truncated) instead of memory.
    pub fn log_to_file(mut self, path: &Path) -> Launch {
        self.sink = Sink::File(path.to_path_buf());
        self
    }

    /// Learns the API address from the listening socket in `/proc` rather than the log, for
    /// a daemon whose log level hides `listener_bound` (`info`). Only for daemons with one
    /// listener.
    pub fn addr_from_proc(mut self) -> Launch {
        self.addr = AddrSource::Proc;
        self
    }

    /// Spawns the process and starts collecting its output (does not wait for anything).
    pub fn spawn(mut self) -> Result<Launched, String> {
        self.cmd.stdin(Stdio::null());
        let program = self.cmd.get_program().to_string_lossy().into_owned();
        match self.sink {
            Sink::Memory => {
                self.cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
                let mut child = self
                    .cmd
                    .spawn()
                    .map_err(|e| format!("spawn {program}: {e}"))?;
                let lines = Arc::new(Mutex::new(Vec::new()));
                let stderr = Arc::new(Mutex::new(Vec::new()));
                if let Some(out) = child.stdout.take() {
                    let sink = lines.clone();
                    std::thread::spawn(move || {
                        for line in BufReader::new(out).lines().map_while(Result::ok) {
                            sink.lock().unwrap().push(line);
                        }
                    });
                }
                if let Some(mut err) = child.stderr.take() {
                    let sink = stderr.clone();
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 4096];
                        while let Ok(n) = err.read(&mut buf) {
                            if n == 0 {
                                break;
                            }
                            sink.lock().unwrap().extend_from_slice(&buf[..n]);
                        }
                    });
                }
                Ok(Launched {
                    child,
                    output: Output::Memory { lines, stderr },
                    addr: self.addr,
                    exit: None,
                })
            }
            Sink::File(path) => {
                let out =
                    std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                let err = out.try_clone().map_err(|e| format!("log file: {e}"))?;
                self.cmd.stdout(out).stderr(err);
                let child = self
                    .cmd
                    .spawn()
                    .map_err(|e| format!("spawn {program}: {e}"))?;
                Ok(Launched {
                    child,
                    output: Output::File(path),
                    addr: self.addr,
                    exit: None,
                })
            }
        }
    }
}

impl Launched {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every stdout line so far (for a file sink: every line of the file).
    pub fn lines(&self) -> Vec<String> {
        match &self.output {
            Output::Memory { lines, .. } => lines.lock().unwrap().clone(),
            Output::File(path) => std::fs::read_to_string(path)
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect(),
        }
    }

    /// Everything written on stderr (empty for a file sink, where it is mixed into the file).
    pub fn stderr(&self) -> String {
        match &self.output {
            Output::Memory { stderr, .. } => {
                String::from_utf8_lossy(&stderr.lock().unwrap()).into_owned()
            }
            Output::File(_) => String::new(),
        }
    }

    /// The log file, for a file sink.
    pub fn log_path(&self) -> Option<&Path> {
        match &self.output {
            Output::File(path) => Some(path),
            Output::Memory { .. } => None,
        }
    }

    /// The exit status, once the process has been seen to exit.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.exit
    }

    /// Polls for the exit status without blocking.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit
    }

    /// SIGKILL (when still running) and reap.
    pub fn kill(&mut self) {
        if self.try_wait().is_none() {
            let _ = self.child.kill();
            self.exit = self.child.wait().ok();
        }
    }

    /// Looks once for the bound API listener: `Ok(None)` while it is not there yet, an error
    /// (with what the process wrote) when the process has exited.
    pub fn check_listening(&mut self) -> Result<Option<Listening>, String> {
        let found = match self.addr {
            AddrSource::Log => listening_from_log(&self.lines()),
            AddrSource::Proc => {
                proc_listening(self.pid()).map(|api| Listening { api, metrics: None })
            }
        };
        if found.is_some() {
            return Ok(found);
        }
        match self.try_wait() {
            Some(status) => Err(self.failure(&format!(
                "daemon exited ({status}) before listener_bound api"
            ))),
            None => Ok(None),
        }
    }

    /// Waits until the API listener is bound and returns the addresses; fails when the
    /// process exits first or `timeout` passes, with what it wrote.
    pub fn wait_listening(&mut self, timeout: Duration) -> Result<Listening, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(found) = self.check_listening()? {
                return Ok(found);
            }
            if Instant::now() >= deadline {
                return Err(self.failure("timed out waiting for listener_bound api"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn failure(&self, what: &str) -> String {
        format!(
            "{what}; log:\n{}\nstderr:\n{}",
            self.lines().join("\n"),
            self.stderr()
        )
    }
}

impl Drop for Launched {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The addresses of the `listener_bound` lines, once the API one is there.
fn listening_from_log(lines: &[String]) -> Option<Listening> {
    let bound: Vec<Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"] == "listener_bound")
        .collect();
    let addr_of = |role: &str| {
        bound
            .iter()
            .find(|e| e["role"] == role)
            .and_then(|e| e["addr"].as_str()?.parse().ok())
    };
    Some(Listening {
        api: addr_of("api")?,
        metrics: addr_of("metrics"),
    })
}

/// The one IPv4 socket in `LISTEN` state among the process's open files.
fn proc_listening(pid: u32) -> Option<SocketAddr> {
    let inodes: HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()?
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| {
            let l = l.to_string_lossy().into_owned();
            Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
        })
        .collect();
    let table = std::fs::read_to_string(format!("/proc/{pid}/net/tcp")).ok()?;
    table.lines().skip(1).find_map(|row| {
        let cols: Vec<&str> = row.split_whitespace().collect();
        // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
        let (local, state, inode) = (cols.get(1)?, cols.get(3)?, cols.get(9)?);
        if *state != "0A" || !inodes.contains(*inode) {
            return None;
        }
        let (ip, port) = local.split_once(':')?;
        let ip = u32::from_str_radix(ip, 16).ok()?;
        let port = u16::from_str_radix(port, 16).ok()?;
        // The kernel prints the address in host byte order of the network-order word.
        Some(SocketAddr::from((Ipv4Addr::from(u32::from_be(ip)), port)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listening_socket_of_a_process_is_found_in_proc() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        assert_eq!(proc_listening(std::process::id()), Some(addr));
    }

    #[test]
    fn listener_bound_lines_give_the_api_and_metrics_addresses() {
        let lines = [
            r#"{"event":"listener_bound","role":"metrics","addr":"127.0.0.1:9"}"#.to_owned(),
            "not json".to_owned(),
        ];
        assert!(listening_from_log(&lines).is_none(), "no api line yet");
        let mut lines = lines.to_vec();
        lines.push(r#"{"event":"listener_bound","role":"api","addr":"127.0.0.1:8"}"#.into());
        let l = listening_from_log(&lines).unwrap();
        assert_eq!(l.api, "127.0.0.1:8".parse().unwrap());
        assert_eq!(l.metrics, Some("127.0.0.1:9".parse().unwrap()));
    }
}

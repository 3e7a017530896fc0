//! Launching a worker: the `Launch` seam (a real process, or an in-process worker in the
//! actor tests), spawning a process with an explicit environment, and the task that owns
//! the child: it reaps the exit status and delivers signals, so a pid is never signalled
//! after it was reaped.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};

/// How to start a worker.
#[derive(Debug, Clone)]
pub struct SpawnSpec {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Variables copied from the daemon's own environment when present; `PREFIX*` copies
    /// every variable with that prefix.
    pub env_allowlist: Vec<String>,
    /// Variables set explicitly (after the allowlist).
    pub env: BTreeMap<String, String>,
    pub codex_home: Option<PathBuf>,
    pub cwd: Option<PathBuf>,
}

/// The worker's input: JSON-RPC lines we write.
pub type WorkerInput = Box<dyn AsyncWrite + Send + Unpin>;
/// One of the worker's outputs: JSON-RPC lines (stdout) or diagnostics (stderr).
pub type WorkerOutput = Box<dyn AsyncRead + Send + Unpin>;

/// Starts one worker for a slot. The daemon launches processes (`SpawnSpec`); the actor
/// tests launch scripted or in-process workers on in-memory pipes.
pub trait Launch: Send + Sync + 'static {
    /// Starts a worker. Runs inside the supervisor's tokio runtime.
    fn launch(&self) -> std::io::Result<Spawned>;

    /// Starts the worker of one slot (a pool of several accounts starts each slot with its
    /// account's `CODEX_HOME`); by default every slot starts the same way.
    fn launch_slot(&self, slot: usize) -> std::io::Result<Spawned> {
        let _ = slot;
        self.launch()
    }
}

impl Launch for SpawnSpec {
    fn launch(&self) -> std::io::Result<Spawned> {
        spawn(self)
    }
}

/// A freshly started worker's pipes and control handle. Whoever launched it reports the
/// exit on `exited` and obeys `control`.
pub struct Spawned {
    pub pid: u32,
    pub stdin: WorkerInput,
    pub stdout: WorkerOutput,
    pub stderr: WorkerOutput,
    pub control: mpsc::UnboundedSender<Signal>,
    pub exited: oneshot::Receiver<ExitInfo>,
}

/// Signals the owner task can deliver.
#[derive(Debug, Clone, Copy)]
pub enum Signal {
    Terminate,
    Kill,
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitInfo {
    pub code: Option<i32>,
    pub signal: Option<i32>,
}

impl From<ExitStatus> for ExitInfo {
    fn from(s: ExitStatus) -> Self {
        use std::os::unix::process::ExitStatusExt;
        Self {
            code: s.code(),
            signal: s.signal(),
        }
    }
}

/// Spawns the worker. Must run inside a tokio runtime.
pub fn spawn(spec: &SpawnSpec) -> std::io::Result<Spawned> {
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for key in &spec.env_allowlist {
        match key.strip_suffix('*') {
            Some(prefix) => {
                for (k, v) in std::env::vars_os() {
                    if k.to_str().is_some_and(|k| k.starts_with(prefix)) {
                        cmd.env(k, v);
                    }
                }
            }
            None => {
                if let Some(v) = std::env::var_os(key) {
                    cmd.env(key, v);
                }
            }
        }
    }
    cmd.envs(&spec.env);
    if let Some(home) = &spec.codex_home {
        std::fs::create_dir_all(home)?;
        cmd.env("CODEX_HOME", home);
    }
    if let Some(cwd) = &spec.cwd {
        cmd.current_dir(cwd);
    }
    die_with_parent(&mut cmd);
    let mut child = cmd.spawn()?;
    let pid = child.id().unwrap_or(0);
    let missing = || std::io::Error::other("worker pipes missing");
    let stdin = child.stdin.take().ok_or_else(missing)?;
    let stdout = child.stdout.take().ok_or_else(missing)?;
    let stderr = child.stderr.take().ok_or_else(missing)?;
    let (control, rx) = mpsc::unbounded_channel();
    let (done, exited) = oneshot::channel();
    // The child's one owner: the task ends when the child is reaped, and a dropped `control`
    // (its connection is gone) kills the child first.
    #[expect(
        clippy::disallowed_methods,
        reason = "the child-owner task is owned by the child: it lives exactly until the reap"
    )]
    tokio::spawn(own_child(child, rx, done));
    Ok(Spawned {
        pid,
        stdin: Box::new(stdin),
        stdout: Box::new(stdout),
        stderr: Box::new(stderr),
        control,
        exited,
    })
}

async fn own_child(
    mut child: Child,
    mut control: mpsc::UnboundedReceiver<Signal>,
    done: oneshot::Sender<ExitInfo>,
) {
    loop {
        tokio::select! {
            status = child.wait() => {
                let info = match status {
                    Ok(s) => ExitInfo::from(s),
                    Err(_) => ExitInfo { code: None, signal: None },
                };
                let _ = done.send(info);
                return;
            }
            sig = control.recv() => match sig {
                Some(Signal::Terminate) => {
                    if let Some(pid) = child.id() {
                        terminate(pid);
                    }
                }
                // A dropped control channel means the owner is gone: kill.
                Some(Signal::Kill) | None => {
                    let _ = child.start_kill();
                    if let Ok(s) = child.wait().await {
                        let _ = done.send(ExitInfo::from(s));
                    }
                    return;
                }
            },
        }
    }
}

/// Sends SIGTERM to a child we have not reaped yet.
#[expect(unsafe_code, reason = "kill(2) is only reachable through libc")]
fn terminate(pid: u32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill(2) has no memory-safety preconditions; the pid belongs to a child that
    // this task owns and has not reaped, so it cannot have been reused.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
}

/// Asks the kernel to SIGKILL the worker if the daemon's spawning thread dies, so a killed
/// daemon never leaves orphans.
#[expect(
    unsafe_code,
    reason = "pre_exec and prctl(2) are only reachable unsafely"
)]
fn die_with_parent(cmd: &mut Command) {
    // SAFETY: the closure runs between fork and exec and only calls prctl(2), which is
    // async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

//! An in-process worker launcher: each launch runs the demo worker library on
//! `tokio::io::duplex` pipes, on a thread of its own with a current-thread runtime (as a
//! process would have its own), obeys `Signal::Terminate` (the worker's SIGTERM: it exits 0)
//! and `Signal::Kill`, and reports how it ended on `exited`.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use codexd_actors::worker::process::{ExitInfo, Launch, Signal, Spawned};
use codexd_demo_worker::{serve, Config, Pipes};
use tokio::io::duplex;
use tokio::sync::{mpsc, oneshot};

/// Pids handed to in-process workers: `FIRST_PID + launch index`. Nothing ever signals them
/// (signals go through `control`), so they only have to be distinct.
pub const FIRST_PID: u32 = 4_000_000;

/// How an in-process worker ended when it was killed (SIGKILL).
pub const KILLED: ExitInfo = ExitInfo {
    code: None,
    signal: Some(9),
};

const PIPE_BYTES: usize = 64 * 1024;

type Configs = Box<dyn Fn(usize) -> Config + Send + Sync>;

/// Launches demo workers in-process; the test picks each launch's settings.
pub struct DemoLauncher {
    configs: Configs,
    launches: AtomicUsize,
    /// One "kill -9 from outside" switch per launched worker, by launch index.
    kills: Mutex<Vec<Option<oneshot::Sender<()>>>>,
}

impl DemoLauncher {
    /// Every launch gets `config`.
    pub fn new(config: Config) -> Arc<DemoLauncher> {
        DemoLauncher::per_launch(move |_| config.clone())
    }

    /// Launch `n` (0-based, counting restarts) gets `configs(n)`.
    pub fn per_launch(configs: impl Fn(usize) -> Config + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(DemoLauncher {
            configs: Box::new(configs),
            launches: AtomicUsize::new(0),
            kills: Mutex::new(Vec::new()),
        })
    }

    /// How many workers have been launched so far.
    pub fn launches(&self) -> usize {
        self.launches.load(Ordering::SeqCst)
    }

    /// Kills the most recently launched worker from outside (as `kill -9` would); returns
    /// whether it was still running.
    pub fn kill_latest(&self) -> bool {
        let mut kills = self.kills.lock().unwrap();
        let Some(kill) = kills.last_mut().and_then(Option::take) else {
            return false;
        };
        kill.send(()).is_ok()
    }
}

impl Launch for DemoLauncher {
    fn launch(&self) -> io::Result<Spawned> {
        let index = self.launches.fetch_add(1, Ordering::SeqCst);
        let config = (self.configs)(index);
        let (stdin, worker_stdin) = duplex(PIPE_BYTES);
        let (worker_stdout, stdout) = duplex(PIPE_BYTES);
        let (worker_stderr, stderr) = duplex(PIPE_BYTES);
        let pipes = Pipes {
            stdin: worker_stdin,
            stdout: worker_stdout,
            stderr: worker_stderr,
        };
        let (control, signals) = mpsc::unbounded_channel();
        let (done, exited) = oneshot::channel();
        let (kill, killed) = oneshot::channel();
        self.kills.lock().unwrap().push(Some(kill));
        let pid = FIRST_PID + index as u32;
        std::thread::Builder::new()
            .name(format!("demo-worker-{pid}"))
            .spawn(move || {
                let _ = done.send(run_worker(config, pipes, signals, killed));
            })?;
        Ok(Spawned {
            pid,
            stdin: Box::new(stdin),
            stdout: Box::new(stdout),
            stderr: Box::new(stderr),
            control,
            exited,
        })
    }
}

/// The worker's "process": serves until it ends by itself, is told to, or is killed.
fn run_worker(
    config: Config,
    pipes: Pipes<tokio::io::DuplexStream, tokio::io::DuplexStream, tokio::io::DuplexStream>,
    mut signals: mpsc::UnboundedReceiver<Signal>,
    killed: oneshot::Receiver<()>,
) -> ExitInfo {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the in-process worker");
    runtime.block_on(async move {
        let (terminate, terminated) = oneshot::channel::<()>();
        // Terminate: the worker's SIGTERM handler (it stops and exits 0). Kill, or the owner
        // dropping the channel (as `own_child` treats it): the process dies on the spot.
        let signalled = async move {
            let mut terminate = Some(terminate);
            loop {
                match signals.recv().await {
                    Some(Signal::Terminate) => {
                        if let Some(tx) = terminate.take() {
                            let _ = tx.send(());
                        }
                    }
                    Some(Signal::Kill) | None => return,
                }
            }
        };
        tokio::select! {
            code = serve(config, pipes, terminated) => ExitInfo { code: Some(code), signal: None },
            () = signalled => KILLED,
            Ok(()) = killed => KILLED,
        }
    })
}

//! The demo worker: a deterministic, fast fake of `codex app-server` (Codex 0.171.0).
//!
//! It speaks the subset of the JSON-RPC protocol codexd uses, one JSON object per line, with
//! configurable timing and faults ([`Config`], read from `CODEXD_DEMO_*` variables by
//! [`Config::from_env`]; see `docs/demo-worker.md`). One current-thread runtime runs the input
//! loop and one local task per turn; all client output goes through one line writer.
//!
//! Two entry points, both returning the exit code:
//! - [`run_stdio`] serves the process's stdin and stdout (the `codexd-demo-worker` binary and
//!   `codexd demo-worker`);
//! - [`serve`] serves any async reader and writers (in-memory pipes in the actor tests).
//!
//! A fault that simulates a crash or an exit (`CRASH_AFTER_CHUNKS`, `EXIT_AFTER_TURNS`) ends the
//! run with its code, as if the process had died at that line; it never ends the process itself.

mod client_messages;
mod client_tools;
mod clock;
mod config;
mod dispatch;
mod env;
mod env_values;
mod extra_notifications;
mod fault_payloads;
mod handshake;
mod ids;
mod jsonrpc;
mod lines;
mod models;
mod output;
mod rate_limits;
mod raw_reasoning;
mod reply_text;
mod run;
mod server_requests;
mod session;
mod sink;
mod stdin_thread;
mod structured;
mod thread_messages;
mod thread_requests;
mod turn_messages;
mod turn_options;
mod turn_requests;
mod turn_task;

use std::future::Future;
use std::rc::Rc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::signal::unix::{signal, SignalKind};
use tokio::task::LocalSet;

pub use config::{ApprovalKind, Config, Handshake, UpstreamError, DEFAULT_CANARY};
pub use env::{ConfigError, PREFIX};
pub use turn_task::{CRASH_EXIT_CODE, RETIRE_EXIT_CODE};

use run::{ReaderInput, ThreadInput};
use session::Session;
use sink::Sink;

/// The Codex version whose wire format the worker reproduces.
pub const CODEX_VERSION: &str = "0.171.0";

/// Exit code when the input closed or a stop (SIGTERM, SIGINT) was asked for.
pub const EXIT_CLEAN: i32 = 0;
/// Exit code when the runtime or stdio cannot be set up, or the output broke.
pub const EXIT_IO: i32 = 1;
/// Exit code for an unusable `CODEXD_DEMO_*` value.
pub const EXIT_CONFIG: i32 = 2;

/// The pipes of a worker run as a library: what the client writes, and where the worker's
/// JSON-RPC lines and diagnostics go.
pub struct Pipes<R, W, E> {
    pub stdin: R,
    pub stdout: W,
    pub stderr: E,
}

/// Serves stdin/stdout until stdin closes, SIGTERM/SIGINT arrives or a fault ends the run, and
/// returns the exit code. Reads its settings from the environment.
pub fn run_stdio() -> i32 {
    let stderr = Sink::stderr();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            stderr.write(format!("codexd demo-worker: {error}\n").as_bytes());
            return EXIT_CONFIG;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            stderr.write(format!("codexd demo-worker: no runtime: {error}\n").as_bytes());
            return EXIT_IO;
        }
    };
    let local = LocalSet::new();
    let code = local.block_on(&runtime, serve_stdio(config, Rc::new(stderr)));
    drop(local);
    runtime.shutdown_background();
    code
}

async fn serve_stdio(config: Config, stderr: Rc<Sink>) -> i32 {
    let (mut term, mut int) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(term), Ok(int)) => (term, int),
        (Err(error), _) | (_, Err(error)) => {
            stderr.write(format!("codexd demo-worker: no signal handler: {error}\n").as_bytes());
            return EXIT_IO;
        }
    };
    let session = Rc::new(Session::new(
        config,
        Rc::new(Sink::stdout()),
        Rc::clone(&stderr),
    ));
    if let Some(code) = run::start(&session) {
        return code;
    }
    let stdin = match stdin_thread::spawn() {
        Ok(stdin) => stdin,
        Err(error) => {
            stderr.write(format!("codexd demo-worker: no stdin reader: {error}\n").as_bytes());
            return EXIT_IO;
        }
    };
    let stop = async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    };
    run::run(&session, ThreadInput::new(stdin), stop).await
}

/// Serves `pipes` with `config` until the client closes `stdin`, `stop` resolves (the library's
/// SIGTERM), the client stops reading `stdout` or a fault ends the run, and returns the exit
/// code the process would have had. Every line written before the end is delivered, then both
/// writers are shut down (the client sees EOF). Runs its turns on a [`LocalSet`] of its own, so
/// it needs a tokio runtime with time enabled but no particular task context; the future is not
/// `Send` (drive it on a current-thread runtime or a local task).
pub async fn serve<R, W, E>(config: Config, pipes: Pipes<R, W, E>, stop: impl Future) -> i32
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
    E: AsyncWrite + Unpin,
{
    let stdout = Rc::new(Sink::pipe());
    let stderr = Rc::new(Sink::pipe());
    let session = Rc::new(Session::new(config, Rc::clone(&stdout), Rc::clone(&stderr)));
    let local = LocalSet::new();
    let served = async {
        let code = match run::start(&session) {
            Some(code) => code,
            None => run::run(&session, ReaderInput::new(pipes.stdin), stop).await,
        };
        session.out.mute();
        stdout.close();
        stderr.close();
        code
    };
    let (code, (), ()) = local
        .run_until(async {
            tokio::join!(
                served,
                stdout.drain(pipes.stdout),
                stderr.drain(pipes.stderr)
            )
        })
        .await;
    // Dropping the set cancels the turns still running, as the end of a process would.
    drop(local);
    code
}

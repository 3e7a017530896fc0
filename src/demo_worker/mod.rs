//! The demo worker: a deterministic, fast fake of `codex app-server` (Codex 0.171.0) on stdio.
//!
//! It speaks the subset of the protocol codexd uses, with configurable timing and faults read
//! from `CODEXD_DEMO_*` variables (see `docs/demo-worker.md`). One current-thread runtime runs
//! the stdin loop and one task per turn; all output goes through [`out::Out`].

mod approval;
mod config;
mod extras;
mod handlers;
mod incoming;
mod input;
mod out;
mod state;
mod text;
mod threads;
mod turn;
mod turn_wire;
mod values;
mod wire;

use std::rc::Rc;

use tokio::signal::unix::{signal, SignalKind};

use config::Config;
use state::Ctx;

/// Exit code for an unusable `CODEXD_DEMO_*` value.
const CONFIG_EXIT_CODE: i32 = 2;
/// Exit code when the runtime or stdio cannot be set up, or stdout breaks.
const IO_EXIT_CODE: i32 = 1;

/// Serves stdin/stdout until stdin closes or SIGTERM/SIGINT arrives, and returns the exit code.
///
/// Faults that simulate a crash (`CRASH_AFTER_CHUNKS`, `EXIT_AFTER_TURNS`) end the process
/// directly from the turn instead of returning.
pub fn run() -> i32 {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            out::stderr(&format!("codexd demo-worker: {error}\n"));
            return CONFIG_EXIT_CODE;
        }
    };
    out::stderr(&format!(
        "codexd demo-worker: starting, pid {} ({})\n",
        std::process::id(),
        config.stderr_canary
    ));
    if let Some(code) = config.exit_on_start {
        return code;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            out::stderr(&format!("codexd demo-worker: no runtime: {error}\n"));
            return IO_EXIT_CODE;
        }
    };
    let local = tokio::task::LocalSet::new();
    let code = local.block_on(&runtime, serve(Rc::new(Ctx::new(config))));
    drop(local);
    runtime.shutdown_background();
    code
}

async fn serve(ctx: Rc<Ctx>) -> i32 {
    let (mut term, mut int) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(term), Ok(int)) => (term, int),
        (Err(error), _) | (_, Err(error)) => {
            out::stderr(&format!("codexd demo-worker: no signal handler: {error}\n"));
            return IO_EXIT_CODE;
        }
    };
    let mut stdin = match input::spawn() {
        Ok(stdin) => stdin,
        Err(error) => {
            out::stderr(&format!("codexd demo-worker: no stdin reader: {error}\n"));
            return IO_EXIT_CODE;
        }
    };
    let mut lines = input::Lines::default();
    loop {
        tokio::select! {
            chunk = stdin.filled.recv() => match chunk {
                Some(chunk) => {
                    lines.feed(&chunk, |line| handlers::dispatch(&ctx, line));
                    let _ = stdin.recycle.send(chunk);
                }
                None => {
                    if let Some(line) = lines.finish() {
                        handlers::dispatch(&ctx, line);
                    }
                    return 0;
                }
            },
            _ = term.recv() => return 0,
            _ = int.recv() => return 0,
            () = ctx.out.broken() => return IO_EXIT_CODE,
        }
    }
}

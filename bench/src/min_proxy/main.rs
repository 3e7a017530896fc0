//! codexd-min-proxy: the bench's minimal-proxy baseline. An actix-web server (2 HTTP
//! workers, `POST /v1/chat/completions` only, no logging, no metrics) over a pool of demo
//! workers driven as codexd drives them. Prints `ADDR PID...` (its address and its workers'
//! pids) on one stdout line; exits when stdin closes or on SIGTERM/SIGINT, killing the workers.

mod http;
mod pool;

use actix_web::{web, App, HttpServer};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use tokio::signal::unix::{signal, SignalKind};

const USAGE: &str =
    "usage: codexd-min-proxy --codexd PATH [--workers N] [--max-turns N] [--api-key KEY]";

struct Args {
    codexd: PathBuf,
    workers: usize,
    max_turns: usize,
    api_key: Option<String>,
}

fn parse(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut a = Args {
        codexd: PathBuf::new(),
        workers: 2,
        max_turns: 32,
        api_key: None,
    };
    while let Some(arg) = it.next() {
        let v = it.next().ok_or(format!("{arg} needs a value"))?;
        let num = |v: &str| v.parse::<usize>().map_err(|_| format!("bad {arg} {v}"));
        match arg.as_str() {
            "--codexd" => a.codexd = v.into(),
            "--workers" => a.workers = num(&v)?.max(1),
            "--max-turns" => a.max_turns = num(&v)?.max(1),
            "--api-key" => a.api_key = Some(v),
            _ => return Err(format!("unknown argument {arg}")),
        }
    }
    if a.codexd.as_os_str().is_empty() {
        return Err("--codexd is required".into());
    }
    Ok(a)
}

/// Resolves when stdin reaches its end or a SIGTERM or SIGINT arrives.
async fn stop_requested() {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    // A plain thread: std's stdin blocks, and nothing here needs it after EOF.
    let _ = std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            let mut buf = [0u8; 256];
            while matches!(std::io::stdin().read(&mut buf), Ok(n) if n > 0) {}
            let _ = tx.send(());
        });
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return;
    };
    tokio::select! {
        _ = rx => {}
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

async fn serve(a: &Args, pool: &pool::Handle) -> Result<(), String> {
    let state = web::Data::new(http::State {
        jobs: pool.jobs.clone(),
        auth: a.api_key.as_ref().map(|k| format!("Bearer {k}")),
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/v1/chat/completions", web::post().to(http::chat))
    })
    .workers(2)
    .backlog(2048)
    .disable_signals()
    // As codexd: without it a stream's small frames wait out Nagle and the delayed ACK.
    .on_connect(|conn, _| {
        if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
            let _ = tcp.set_nodelay(true);
        }
    })
    .bind(("127.0.0.1", 0))
    .map_err(|e| format!("bind: {e}"))?;
    let addr = server.addrs().first().copied().ok_or("no address")?;
    let pids: Vec<String> = pool.pids.iter().map(u32::to_string).collect();
    let mut out = std::io::stdout();
    writeln!(out, "{addr} {}", pids.join(" ")).map_err(|e| format!("stdout: {e}"))?;
    out.flush().map_err(|e| format!("stdout: {e}"))?;
    let server = server.run();
    let handle = server.handle();
    let mut server = std::pin::pin!(server);
    tokio::select! {
        r = &mut server => return r.map_err(|e| format!("server: {e}")),
        () = stop_requested() => {}
    }
    // The server future answers the stop command, so it is polled alongside it.
    let (_, r) = futures_util::future::join(handle.stop(false), server).await;
    r.map_err(|e| format!("server: {e}"))
}

fn main() -> ExitCode {
    let a = match parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "codexd-min-proxy: {e}\n{USAGE}");
            return ExitCode::from(64);
        }
    };
    let pool = match pool::start(a.codexd.clone(), a.workers, a.max_turns) {
        Ok(p) => p,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "codexd-min-proxy: {e}");
            return ExitCode::FAILURE;
        }
    };
    let r = actix_rt::System::new().block_on(serve(&a, &pool));
    pool.stop();
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "codexd-min-proxy: {e}");
            ExitCode::FAILURE
        }
    }
}

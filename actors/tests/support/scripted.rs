//! A scripted worker for what the demo worker cannot express: test code answers each JSON
//! line itself, and the worker may be stubborn (it ignores SIGTERM and stdin EOF, so only a
//! SIGKILL ends it).

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use codexd_actors::worker::process::{ExitInfo, Launch, Signal, Spawned};
use serde_json::{json, Value};
use tokio::io::{duplex, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use super::launcher::KILLED;

/// Answers one line from the daemon with the lines to write back (possibly none).
pub type Script = dyn Fn(&Value) -> Vec<Value> + Send + Sync;

/// Pids of scripted workers: `SCRIPTED_PID + launch index`.
pub const SCRIPTED_PID: u32 = 5_000_000;

pub struct ScriptedLauncher {
    script: Arc<Script>,
    stubborn: bool,
    launches: AtomicUsize,
}

impl ScriptedLauncher {
    /// Workers that answer with `script` and exit 0 on SIGTERM or stdin EOF.
    pub fn new(script: impl Fn(&Value) -> Vec<Value> + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(ScriptedLauncher {
            script: Arc::new(script),
            stubborn: false,
            launches: AtomicUsize::new(0),
        })
    }

    /// Workers that answer with `script` and ignore SIGTERM and stdin EOF.
    pub fn stubborn(script: impl Fn(&Value) -> Vec<Value> + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(ScriptedLauncher {
            script: Arc::new(script),
            stubborn: true,
            launches: AtomicUsize::new(0),
        })
    }
}

impl ScriptedLauncher {
    /// How many workers have been launched so far.
    pub fn launches(&self) -> usize {
        self.launches.load(Ordering::SeqCst)
    }
}

impl Launch for ScriptedLauncher {
    fn launch(&self) -> io::Result<Spawned> {
        let index = self.launches.fetch_add(1, Ordering::SeqCst);
        let (stdin, worker_stdin) = duplex(64 * 1024);
        let (mut worker_stdout, stdout) = duplex(64 * 1024);
        let (worker_stderr, stderr) = duplex(1024);
        let (control, mut signals) = mpsc::unbounded_channel();
        let (done, exited) = tokio::sync::oneshot::channel();
        let (script, stubborn) = (self.script.clone(), self.stubborn);
        let pid = SCRIPTED_PID + index as u32;
        std::thread::Builder::new()
            .name(format!("scripted-worker-{pid}"))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime for the scripted worker");
                let info = runtime.block_on(async move {
                    let _stderr = worker_stderr;
                    let mut lines = BufReader::new(worker_stdin).lines();
                    let mut eof = false;
                    loop {
                        tokio::select! {
                            line = lines.next_line(), if !eof => match line {
                                Ok(Some(line)) => {
                                    let Ok(message) = serde_json::from_str::<Value>(&line) else {
                                        continue;
                                    };
                                    for reply in script(&message) {
                                        let mut bytes = reply.to_string().into_bytes();
                                        bytes.push(b'\n');
                                        if worker_stdout.write_all(&bytes).await.is_err() {
                                            return ExitInfo { code: Some(1), signal: None };
                                        }
                                    }
                                }
                                _ if stubborn => eof = true,
                                _ => return ExitInfo { code: Some(0), signal: None },
                            },
                            signal = signals.recv() => match signal {
                                Some(Signal::Terminate) if stubborn => {}
                                Some(Signal::Terminate) => return ExitInfo { code: Some(0), signal: None },
                                Some(Signal::Kill) | None => return KILLED,
                            },
                        }
                    }
                });
                let _ = done.send(info);
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

/// The answers of a well-behaved worker to the handshake, pings and `thread/start`; `None`
/// for anything else, so a script can decide the rest.
pub fn basics(message: &Value) -> Option<Vec<Value>> {
    let id = message.get("id")?;
    let answer = match message.get("method")?.as_str()? {
        "initialize" => json!({"id": id, "result": {"userAgent": "scripted"}}),
        "account/read" => json!({"id": id, "result": {"account": null}}),
        "thread/start" => json!({"id": id, "result": {"thread": {"id": "thr_1"}}}),
        _ => return None,
    };
    Some(vec![answer])
}

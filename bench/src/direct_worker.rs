//! The baseline: demo workers driven directly over their stdio pipes, no HTTP and no daemon.
//! Each turn is the same JSON-RPC sequence codexd sends (`thread/start` on an ephemeral
//! thread, then `turn/start`), timed from the first write to the first
//! `item/agentMessage/delta` and to `turn/completed`.

use crate::daemon::Res;
use crate::load_loops::Outcome;
use serde::Deserialize;
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::rc::Rc;
use std::time::Instant;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};
use tokio::sync::{mpsc, oneshot};

enum Note {
    Delta(Instant),
    Completed(Instant, bool),
}

#[derive(Default)]
struct Routes {
    pending: HashMap<u64, oneshot::Sender<Option<String>>>,
    turns: HashMap<String, mpsc::UnboundedSender<Note>>,
}

/// One demo worker process and the harness's end of its pipes.
pub struct DirectWorker {
    pub pid: u32,
    tx: Option<mpsc::UnboundedSender<Vec<u8>>>,
    routes: Rc<RefCell<Routes>>,
    next_id: Cell<u64>,
    child: Child,
}

#[derive(Deserialize)]
struct Line<'a> {
    id: Option<u64>,
    #[serde(borrow)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow)]
    params: Option<Params<'a>>,
    result: Option<RpcResult>,
}

#[derive(Deserialize)]
struct Params<'a> {
    #[serde(rename = "threadId", borrow)]
    thread_id: Option<Cow<'a, str>>,
    turn: Option<TurnStatus>,
}

#[derive(Deserialize)]
struct TurnStatus {
    status: Option<String>,
}

#[derive(Deserialize)]
struct RpcResult {
    thread: Option<Thread>,
}

#[derive(Deserialize)]
struct Thread {
    id: String,
}

fn route(line: &[u8], routes: &RefCell<Routes>) {
    let at = Instant::now();
    let Ok(l) = serde_json::from_slice::<Line<'_>>(line) else {
        return;
    };
    let mut r = routes.borrow_mut();
    match (l.id, l.method.as_deref()) {
        (Some(id), None) => {
            if let Some(tx) = r.pending.remove(&id) {
                let _ = tx.send(l.result.and_then(|x| x.thread).map(|t| t.id));
            }
        }
        (None, Some(m @ ("item/agentMessage/delta" | "turn/completed"))) => {
            let Some(p) = l.params else { return };
            let Some(th) = p.thread_id else { return };
            if m == "turn/completed" {
                let ok = p.turn.and_then(|t| t.status).as_deref() == Some("completed");
                if let Some(tx) = r.turns.remove(th.as_ref()) {
                    let _ = tx.send(Note::Completed(at, ok));
                }
            } else if let Some(tx) = r.turns.get(th.as_ref()) {
                let _ = tx.send(Note::Delta(at));
            }
        }
        _ => {}
    }
}

async fn read_lines(stdout: ChildStdout, routes: Rc<RefCell<Routes>>) {
    let mut reader = BufReader::with_capacity(64 * 1024, stdout);
    let mut line = Vec::with_capacity(4096);
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => route(&line, &routes),
        }
    }
    // The worker is gone: fail whatever waits.
    let mut r = routes.borrow_mut();
    r.pending.clear();
    r.turns.clear();
}

impl DirectWorker {
    /// Spawns `codexd demo-worker` with the given demo variables and completes the handshake.
    pub async fn spawn(codexd: &Path, env: &[(&'static str, String)]) -> Res<DirectWorker> {
        let mut cmd = Command::new(codexd);
        cmd.arg("demo-worker")
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        for key in ["PATH", "HOME", "LANG"] {
            if let Ok(v) = std::env::var(key) {
                cmd.env(key, v);
            }
        }
        for (k, v) in env.iter().filter(|(k, _)| k.starts_with("CODEXD_DEMO_")) {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().map_err(|e| format!("spawn demo-worker: {e}"))?;
        let pid = child.id().ok_or("demo-worker exited at once")?;
        let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("demo-worker pipes".into());
        };
        let routes = Rc::new(RefCell::new(Routes::default()));
        #[expect(
            clippy::disallowed_methods,
            reason = "benchmark harness: the direct worker's pipe tasks live for one run"
        )]
        actix_rt::spawn(read_lines(stdout, routes.clone()));
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
        #[expect(
            clippy::disallowed_methods,
            reason = "benchmark harness: the direct worker's pipe tasks live for one run"
        )]
        actix_rt::spawn(async move {
            let mut buf = Vec::with_capacity(64 * 1024);
            while let Some(first) = rx.recv().await {
                buf.clear();
                buf.extend_from_slice(&first);
                while let Ok(more) = rx.try_recv() {
                    buf.extend_from_slice(&more);
                }
                if stdin.write_all(&buf).await.is_err() {
                    break;
                }
            }
        });
        let w = DirectWorker {
            pid,
            tx: Some(tx),
            routes,
            next_id: Cell::new(1),
            child,
        };
        let init = w.call(|id| {
            format!(
                "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"initialize\",\"params\":{{\"clientInfo\":{{\"name\":\"codexd-bench\",\"version\":\"0.1.0\"}}}}}}\n"
            )
        });
        init.await
            .map_err(|_| "demo-worker: no answer to initialize")?;
        w.send(b"{\"jsonrpc\":\"2.0\",\"method\":\"initialized\"}\n".to_vec());
        Ok(w)
    }

    fn send(&self, line: Vec<u8>) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(line);
        }
    }

    fn call(&self, line: impl FnOnce(u64) -> String) -> oneshot::Receiver<Option<String>> {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let (tx, rx) = oneshot::channel();
        self.routes.borrow_mut().pending.insert(id, tx);
        self.send(line(id).into_bytes());
        rx
    }

    /// One turn on a fresh ephemeral thread, as codexd runs it.
    pub async fn turn(&self) -> Outcome {
        let thread = self.call(|id| {
            format!(
                "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"thread/start\",\"params\":{{\"approvalPolicy\":\"never\",\"ephemeral\":true,\"model\":\"demo\",\"sandbox\":\"read-only\"}}}}\n"
            )
        });
        let Ok(Some(thread_id)) = thread.await else {
            return Outcome::failed("thread/start failed".into());
        };
        let (ntx, mut nrx) = mpsc::unbounded_channel();
        self.routes
            .borrow_mut()
            .turns
            .insert(thread_id.clone(), ntx);
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        self.send(
            format!(
                "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"turn/start\",\"params\":{{\"effort\":\"medium\",\"input\":[{{\"text\":\"Say hello.\",\"type\":\"text\"}}],\"threadId\":\"{thread_id}\"}}}}\n"
            )
            .into_bytes(),
        );
        let mut content = Vec::with_capacity(8);
        while let Some(note) = nrx.recv().await {
            match note {
                Note::Delta(at) => content.push(at),
                Note::Completed(at, ok) => {
                    return Outcome {
                        ok,
                        content,
                        end: at,
                        error: (!ok).then(|| "turn did not complete".to_owned()),
                    }
                }
            }
        }
        Outcome::failed("worker went away mid-turn".into())
    }

    /// Closes stdin (the worker exits 0) and waits for it.
    pub async fn stop(mut self) {
        self.tx = None;
        let _ = actix_rt::time::timeout(std::time::Duration::from_secs(5), self.child.wait()).await;
        let _ = self.child.kill().await;
    }
}

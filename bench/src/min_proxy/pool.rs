//! The minimal proxy's worker pool: N demo workers on one thread of their own, one reader and
//! one batching writer task per worker, least-loaded leasing under a per-worker turn cap, and
//! routing of `item/agentMessage/delta` and `turn/completed` to the request by threadId.

use serde::Deserialize;
use serde_json::value::RawValue;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::process::Stdio;
use std::rc::Rc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

/// What a request hears back. Text stays JSON-escaped as the worker wrote it (quotes off), so
/// it goes into the response without being unescaped and escaped again.
pub enum Event {
    Delta(String),
    Done {
        text: String,
        usage: Usage,
        ok: bool,
    },
}

/// `tokenUsage.total` of `thread/tokenUsage/updated`.
#[derive(Default, Clone, Copy, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cached_input_tokens: u64,
    pub reasoning_output_tokens: u64,
    pub total_tokens: u64,
}

/// One turn to run: the user text as a JSON string literal, and whether deltas are wanted.
pub struct Job {
    pub input: String,
    pub stream: bool,
    pub reply: mpsc::UnboundedSender<Event>,
}

struct Turn {
    job: Job,
    text: String,
    usage: Usage,
}

struct Worker {
    tx: mpsc::UnboundedSender<Vec<u8>>,
    load: usize,
    alive: bool,
    next_id: u64,
    starting: HashMap<u64, Job>,
    turns: HashMap<String, Turn>,
}

struct Pool {
    workers: Vec<Worker>,
    queue: VecDeque<Job>,
    max_turns: usize,
}

#[derive(Deserialize)]
struct Line<'a> {
    id: Option<u64>,
    #[serde(borrow)]
    method: Option<&'a str>,
    #[serde(borrow)]
    params: Option<Params<'a>>,
    #[serde(borrow)]
    result: Option<RpcResult<'a>>,
}

#[derive(Deserialize)]
struct Params<'a> {
    #[serde(rename = "threadId", borrow)]
    thread_id: Option<&'a str>,
    #[serde(borrow)]
    delta: Option<&'a RawValue>,
    #[serde(borrow)]
    turn: Option<TurnStatus<'a>>,
    #[serde(rename = "tokenUsage")]
    token_usage: Option<TokenUsage>,
}

#[derive(Deserialize)]
struct TurnStatus<'a> {
    #[serde(borrow)]
    status: Option<&'a str>,
}

#[derive(Deserialize)]
struct TokenUsage {
    total: Option<Usage>,
}

#[derive(Deserialize)]
struct RpcResult<'a> {
    #[serde(borrow)]
    thread: Option<ThreadRef<'a>>,
}

#[derive(Deserialize)]
struct ThreadRef<'a> {
    id: &'a str,
}

impl Worker {
    fn send(&mut self, line: impl FnOnce(u64) -> String) {
        let id = self.next_id;
        self.next_id += 1;
        let _ = self.tx.send(line(id).into_bytes());
    }
}

impl Pool {
    /// Starts the job on the least-loaded live worker with room, or queues it.
    fn lease(&mut self, job: Job) {
        let max = self.max_turns;
        let best =
            (self.workers.iter_mut().filter(|w| w.alive && w.load < max)).min_by_key(|w| w.load);
        let Some(w) = best else {
            if self.workers.iter().any(|w| w.alive) {
                self.queue.push_back(job);
            }
            return; // No worker left: dropping the job fails the request.
        };
        w.load += 1;
        let id = w.next_id;
        w.send(|id| format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"thread/start\",\"params\":{{\"approvalPolicy\":\"never\",\"ephemeral\":true,\"model\":\"demo\",\"sandbox\":\"read-only\"}}}}\n"));
        w.starting.insert(id, job);
    }

    fn finish(&mut self, w: usize, t: Turn, ok: bool) {
        let (text, usage) = (t.text, t.usage);
        let _ = t.job.reply.send(Event::Done { text, usage, ok });
        if let Some(w) = self.workers.get_mut(w) {
            w.load = w.load.saturating_sub(1);
        }
        if let Some(job) = self.queue.pop_front() {
            self.lease(job);
        }
    }

    fn on_line(&mut self, w: usize, line: &[u8]) {
        let Ok(l) = serde_json::from_slice::<Line<'_>>(line) else {
            return;
        };
        let Some(wk) = self.workers.get_mut(w) else {
            return;
        };
        if let (Some(id), None) = (l.id, l.method) {
            let Some(job) = wk.starting.remove(&id) else {
                return; // turn/start and thread/unsubscribe answers: nothing to do.
            };
            let Some(th) = l.result.and_then(|r| r.thread) else {
                let t = Turn {
                    job,
                    text: String::new(),
                    usage: Usage::default(),
                };
                return self.finish(w, t, false);
            };
            // A borrowed &str has no escapes, so it can be written between quotes as is.
            let (th, input) = (th.id, &job.input);
            wk.send(|id| format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"turn/start\",\"params\":{{\"effort\":\"medium\",\"input\":[{{\"text\":{input},\"type\":\"text\"}}],\"threadId\":\"{th}\"}}}}\n"));
            let t = Turn {
                job,
                text: String::with_capacity(64),
                usage: Usage::default(),
            };
            wk.turns.insert(th.to_owned(), t);
            return;
        }
        let (Some(method), Some(p)) = (l.method, l.params) else {
            return;
        };
        let Some(th) = p.thread_id else { return };
        match method {
            "item/agentMessage/delta" => {
                let (Some(t), Some(d)) = (wk.turns.get_mut(th), p.delta) else {
                    return;
                };
                let inner = d.get().trim_start_matches('"').trim_end_matches('"');
                if t.job.stream {
                    let _ = t.job.reply.send(Event::Delta(inner.to_owned()));
                } else {
                    t.text.push_str(inner);
                }
            }
            "thread/tokenUsage/updated" => {
                if let (Some(t), Some(u)) = (wk.turns.get_mut(th), p.token_usage) {
                    t.usage = u.total.unwrap_or_default();
                }
            }
            "turn/completed" => {
                let Some(t) = wk.turns.remove(th) else { return };
                // Release the thread as codexd does, so the worker does the same work.
                wk.send(|id| format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"thread/unsubscribe\",\"params\":{{\"threadId\":\"{th}\"}}}}\n"));
                let ok = p.turn.and_then(|t| t.status) == Some("completed");
                self.finish(w, t, ok);
            }
            _ => {}
        }
    }

    /// The worker is gone: its requests fail (their reply senders drop), queued ones move on.
    fn lost(&mut self, w: usize) {
        if let Some(wk) = self.workers.get_mut(w) {
            (wk.alive, wk.load) = (false, 0);
            wk.starting.clear();
            wk.turns.clear();
        }
        for job in std::mem::take(&mut self.queue) {
            self.lease(job);
        }
    }
}

async fn read_lines(mut out: BufReader<ChildStdout>, pool: Rc<RefCell<Pool>>, w: usize) {
    let mut line = Vec::with_capacity(4096);
    loop {
        line.clear();
        match out.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => pool.borrow_mut().on_line(w, &line),
        }
    }
    pool.borrow_mut().lost(w);
}

/// Coalesces every line queued since the last wake-up into one write.
async fn write_lines(
    mut stdin: tokio::process::ChildStdin,
    mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
) {
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
}

/// Spawns one `codexd demo-worker` (environment as the bench's direct baseline: PATH, HOME,
/// LANG and the `CODEXD_DEMO_*` variables) and completes `initialize`/`initialized`.
async fn spawn(codexd: &PathBuf) -> Result<(Child, BufReader<ChildStdout>), String> {
    let mut cmd = Command::new(codexd);
    cmd.arg("demo-worker").env_clear().kill_on_drop(true);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in std::env::vars() {
        if matches!(k.as_str(), "PATH" | "HOME" | "LANG") || k.starts_with("CODEXD_DEMO_") {
            cmd.env(k, v);
        }
    }
    let mut child = cmd.spawn().map_err(|e| format!("spawn demo-worker: {e}"))?;
    let (Some(stdin), Some(stdout)) = (child.stdin.as_mut(), child.stdout.take()) else {
        return Err("demo-worker pipes".into());
    };
    let init = "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"clientInfo\":{\"name\":\"codexd-min-proxy\",\"version\":\"0.1.0\"}}}\n";
    stdin
        .write_all(init.as_bytes())
        .await
        .map_err(|e| format!("initialize: {e}"))?;
    let mut out = BufReader::with_capacity(64 * 1024, stdout);
    let mut line = String::new();
    while !line.starts_with("{\"id\":0,") {
        line.clear();
        match out.read_line(&mut line).await {
            Ok(0) | Err(_) => return Err("demo-worker: no answer to initialize".into()),
            Ok(_) => {}
        }
    }
    let initialized = b"{\"jsonrpc\":\"2.0\",\"method\":\"initialized\"}\n";
    stdin
        .write_all(initialized)
        .await
        .map_err(|e| format!("initialized: {e}"))?;
    Ok((child, out))
}

/// The running pool, seen from the HTTP side.
pub struct Handle {
    pub jobs: mpsc::UnboundedSender<Job>,
    pub pids: Vec<u32>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Handle {
    /// Stops the dispatcher and kills the workers (SIGKILL and reap), then joins the thread.
    pub fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn run(
    codexd: PathBuf,
    n: usize,
    max_turns: usize,
    ready: std::sync::mpsc::Sender<Result<Handle, String>>,
) {
    let (jobs, mut rx) = mpsc::unbounded_channel::<Job>();
    let (stop, mut stopped) = oneshot::channel();
    let pool = Rc::new(RefCell::new(Pool {
        workers: Vec::new(),
        queue: VecDeque::new(),
        max_turns,
    }));
    let (mut tasks, mut children, mut pids) = (JoinSet::new(), Vec::new(), Vec::new());
    for w in 0..n {
        let (mut child, out) = match spawn(&codexd).await {
            Ok(x) => x,
            Err(e) => return drop(ready.send(Err(e))),
        };
        let (Some(stdin), Some(pid)) = (child.stdin.take(), child.id()) else {
            return drop(ready.send(Err("demo-worker exited at once".into())));
        };
        let (tx, lines) = mpsc::unbounded_channel();
        let worker = Worker {
            tx,
            load: 0,
            alive: true,
            next_id: 1,
            starting: HashMap::new(),
            turns: HashMap::new(),
        };
        pool.borrow_mut().workers.push(worker);
        tasks.spawn_local(write_lines(stdin, lines));
        tasks.spawn_local(read_lines(out, pool.clone(), w));
        children.push(child);
        pids.push(pid);
    }
    let handle = Handle {
        jobs,
        pids,
        stop: Some(stop),
        thread: None,
    };
    if ready.send(Ok(handle)).is_err() {
        return;
    }
    loop {
        tokio::select! {
            job = rx.recv() => match job {
                Some(job) => pool.borrow_mut().lease(job),
                None => break,
            },
            _ = &mut stopped => break,
        }
    }
    tasks.abort_all();
    for mut c in children {
        let _ = c.kill().await;
    }
}

/// Starts the pool thread and waits until every worker has answered `initialize`.
pub fn start(codexd: PathBuf, n: usize, max_turns: usize) -> Result<Handle, String> {
    let (ready, rx) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("pool".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            let fail = ready.clone();
            match rt {
                Ok(rt) => {
                    tokio::task::LocalSet::new().block_on(&rt, run(codexd, n, max_turns, ready))
                }
                Err(e) => drop(fail.send(Err(format!("pool runtime: {e}")))),
            }
        })
        .map_err(|e| format!("pool thread: {e}"))?;
    let mut handle = rx.recv().map_err(|_| "pool thread died".to_owned())??;
    handle.thread = Some(thread);
    Ok(handle)
}

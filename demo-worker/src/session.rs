//! One run's shared state: configuration, outputs, id counters, live threads, turns, pending
//! server→client requests, and the exit a fault asked for.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::time::Instant;

use std::rc::Rc;

use tokio::sync::{oneshot, Notify};
use tokio::task::AbortHandle;

use crate::config::Config;
use crate::fault_payloads::{oversized_line, stderr_flood};
use crate::jsonrpc::INVALID_REQUEST;
use crate::output::Out;
use crate::sink::Sink;
use crate::turn_messages::Usage;

/// How the client answered a server→client request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A result carrying a `decision` (a string, or the key of an object decision).
    Decision(String),
    /// A result without a decision (user input, tool call).
    Answered,
    /// A JSON-RPC error.
    Error,
}

/// A turn that has started and not yet ended; removed by whoever ends it (the turn task on
/// completion or failure, `turn/interrupt` otherwise), so a turn ends exactly once.
pub struct ActiveTurn {
    pub at: TurnRef,
    pub abort: AbortHandle,
}

/// Which turn, and when it started.
#[derive(Clone, Copy)]
pub struct TurnRef {
    pub thread: u64,
    pub turn: u64,
    pub started: Instant,
    /// Unix seconds, as `startedAt` reports it.
    pub started_at: u64,
}

/// Everything a turn task needs to know about its turn.
pub struct TurnSpec {
    pub at: TurnRef,
    pub input: String,
    /// Output schema, images, effort and summary (`turn_options.rs`).
    pub options: crate::turn_options::TurnOptions,
}

pub struct Session {
    pub config: Config,
    pub out: Out,
    /// Diagnostics; never read by the client's protocol.
    pub stderr: Rc<Sink>,
    /// Set once `initialize` has been answered.
    pub initialized: Cell<bool>,
    /// Set when `initialize` arrived (answered or not); a second one is refused.
    pub initialize_seen: Cell<bool>,
    pub client_name: RefCell<String>,
    pub codex_home: String,
    pub cwd: String,
    next_thread: Cell<u64>,
    next_turn: Cell<u64>,
    next_request: Cell<u64>,
    /// Live threads and their cumulative token usage.
    pub threads: RefCell<HashMap<u64, Usage>>,
    pub turns: RefCell<HashMap<u64, ActiveTurn>>,
    /// Server→client requests awaiting the client's response, by request id.
    pub pending: RefCell<HashMap<u64, oneshot::Sender<Answer>>>,
    /// Client tools and injected history per thread (`client_tools.rs`).
    pub tool_threads: RefCell<crate::client_tools::ToolThreads>,
    /// `item/tool/call` requests awaiting the client's result, by request id.
    pub tool_pending: RefCell<HashMap<u64, oneshot::Sender<serde_json::Value>>>,
    pub completed_turns: Cell<u64>,
    /// The line `OVERSIZED_LINE_BYTES` writes, built once.
    pub oversized_line: Option<Vec<u8>>,
    /// The stderr text `STDERR_FLOOD_LINES` writes per turn, built once.
    pub stderr_flood: Option<String>,
    /// The exit code a fault asked for (`CRASH_AFTER_CHUNKS`, `EXIT_AFTER_TURNS`); first wins.
    exit: Cell<Option<i32>>,
    exit_notify: Notify,
    /// The account's windows and grown memory (`rate_limits.rs`).
    pub account: crate::rate_limits::AccountSim,
}

impl Session {
    pub fn new(config: Config, stdout: Rc<Sink>, stderr: Rc<Sink>) -> Session {
        let cwd = std::env::current_dir()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "/".to_owned());
        let codex_home = std::env::var("CODEX_HOME").unwrap_or_else(|_| cwd.clone());
        let oversized_line = config.oversized_line_bytes.map(oversized_line);
        let stderr_flood = (config.stderr_flood_lines > 0)
            .then(|| stderr_flood(config.stderr_flood_lines, &config.stderr_canary));
        Session {
            out: Out::new(stdout, config.stall_after_requests),
            stderr,
            account: crate::rate_limits::AccountSim::new(&config),
            config,
            initialized: Cell::new(false),
            initialize_seen: Cell::new(false),
            client_name: RefCell::new("codexd".to_owned()),
            codex_home,
            cwd,
            next_thread: Cell::new(1),
            next_turn: Cell::new(1),
            next_request: Cell::new(0),
            threads: RefCell::new(HashMap::new()),
            turns: RefCell::new(HashMap::new()),
            pending: RefCell::new(HashMap::new()),
            tool_threads: RefCell::new(HashMap::new()),
            tool_pending: RefCell::new(HashMap::new()),
            completed_turns: Cell::new(0),
            oversized_line,
            stderr_flood,
            exit: Cell::new(None),
            exit_notify: Notify::new(),
        }
    }

    /// Ends the run with `code`, as if the process exited here: from now on nothing reaches
    /// the client, and [`Session::exited`] resolves.
    pub fn exit(&self, code: i32) {
        self.out.mute();
        if self.exit.get().is_none() {
            self.exit.set(Some(code));
        }
        self.exit_notify.notify_one();
    }

    /// Resolves with the code once [`Session::exit`] was called.
    pub async fn exited(&self) -> i32 {
        loop {
            if let Some(code) = self.exit.get() {
                return code;
            }
            self.exit_notify.notified().await;
        }
    }

    pub fn new_thread(&self) -> u64 {
        bump(&self.next_thread)
    }

    pub fn new_turn(&self) -> u64 {
        bump(&self.next_turn)
    }

    /// Server→client request ids count from 0, independently of the client's ids.
    pub fn new_request(&self) -> u64 {
        bump(&self.next_request)
    }
}

fn bump(counter: &Cell<u64>) -> u64 {
    let n = counter.get();
    counter.set(n + 1);
    n
}

impl Session {
    /// Refuses a request that lacks a required field, as Codex does.
    pub fn missing(&self, id: &serde_json::Value, field: &str) {
        let message = format!("Invalid request: missing field `{field}`");
        self.out.err(id, INVALID_REQUEST, &message);
    }
}

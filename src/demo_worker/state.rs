//! The worker's shared state: configuration, output, id counters, live threads, turns and requests.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::time::Instant;

use tokio::sync::oneshot;
use tokio::task::AbortHandle;

use super::config::Config;
use super::out::Out;
use super::turn_wire::Usage;

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
}

pub struct Ctx {
    pub config: Config,
    pub out: Out,
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
    pub completed_turns: Cell<u64>,
    /// The line `OVERSIZED_LINE_BYTES` writes, built once.
    pub oversized_line: Option<Vec<u8>>,
    /// The stderr text `STDERR_FLOOD_LINES` writes per turn, built once.
    pub stderr_flood: Option<String>,
}

impl Ctx {
    pub fn new(config: Config) -> Ctx {
        let cwd = std::env::current_dir()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "/".to_owned());
        let codex_home = std::env::var("CODEX_HOME").unwrap_or_else(|_| cwd.clone());
        let oversized_line = config.oversized_line_bytes.map(oversized_line);
        let stderr_flood = (config.stderr_flood_lines > 0)
            .then(|| stderr_flood(config.stderr_flood_lines, &config.stderr_canary));
        Ctx {
            out: Out::new(config.stall_after_requests),
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
            completed_turns: Cell::new(0),
            oversized_line,
            stderr_flood,
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

/// A line of exactly `bytes` bytes (newline excluded): a JSON notification padded with `x`, or
/// bare `x`s when `bytes` is too small to hold the JSON.
pub fn oversized_line(bytes: usize) -> Vec<u8> {
    const HEAD: &[u8] = br#"{"method":"codexd/demo/oversized","params":{"padding":""#;
    const TAIL: &[u8] = br#""}}"#;
    if bytes < HEAD.len() + TAIL.len() {
        return vec![b'x'; bytes];
    }
    let mut line = Vec::with_capacity(bytes + 1);
    line.extend_from_slice(HEAD);
    line.resize(bytes - TAIL.len(), b'x');
    line.extend_from_slice(TAIL);
    line
}

/// `lines` lines shaped like Codex's ANSI tracing output, each carrying the canary.
pub fn stderr_flood(lines: u64, canary: &str) -> String {
    use std::fmt::Write;
    let mut text = String::new();
    for i in 1..=lines {
        let _ = writeln!(
            text,
            "\u{1b}[2m1970-01-01T00:00:00.000000Z\u{1b}[0m \u{1b}[33m WARN\u{1b}[0m \
             codexd_demo_worker: flood line {i}/{lines} {canary}"
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oversized_line_has_exactly_the_requested_length() {
        for bytes in [1, 10, 58, 59, 60, 1000, 1 << 20] {
            let line = oversized_line(bytes);
            assert_eq!(line.len(), bytes);
            assert!(!line.contains(&b'\n'));
        }
        let line = oversized_line(100);
        let value: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(value["method"], "codexd/demo/oversized");
    }

    #[test]
    fn every_flood_line_carries_the_canary() {
        let text = stderr_flood(3, "canary-1");
        assert_eq!(text.lines().count(), 3);
        assert!(text.lines().all(|l| l.ends_with("canary-1")));
    }
}

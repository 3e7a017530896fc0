//! The only writer of stdout (one whole line per write, flushed) and of stderr; also the clock.

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::Value;
use tokio::sync::Notify;

use super::wire::{ErrorResponse, Notification, Response, RpcError, ServerRequest};

/// JSON-RPC code Codex uses for every request it refuses.
pub const INVALID_REQUEST: i64 = -32600;

/// Serializes messages into one reused buffer and writes each as a single line.
///
/// Invariant: the worker runs on one thread and no borrow of `buf` is held across an `.await`,
/// so lines can never interleave.
pub struct Out {
    buf: RefCell<Vec<u8>>,
    answered: Cell<u64>,
    stall_after: Option<u64>,
    stalled: Cell<bool>,
    broken: Cell<bool>,
    broken_notify: Notify,
}

impl Out {
    pub fn new(stall_after: Option<u64>) -> Out {
        Out {
            buf: RefCell::new(Vec::with_capacity(4096)),
            answered: Cell::new(0),
            stall_after,
            stalled: Cell::new(stall_after == Some(0)),
            broken: Cell::new(false),
            broken_notify: Notify::new(),
        }
    }

    /// Whether anything written from now on reaches stdout.
    pub fn silent(&self) -> bool {
        self.stalled.get() || self.broken.get()
    }

    /// Writes a notification stamped with `emittedAtMs`.
    pub fn notify<P: Serialize>(&self, method: &str, params: P) {
        self.message(&Notification {
            method,
            params,
            emitted_at_ms: now_ms(),
        });
    }

    /// Writes a server→client request.
    pub fn request<P: Serialize>(&self, method: &str, id: u64, params: P) {
        self.message(&ServerRequest { method, id, params });
    }

    /// Answers a request with a result; counts towards `STALL_AFTER_REQUESTS`.
    pub fn ok<R: Serialize>(&self, id: &Value, result: R) {
        self.message(&Response { id, result });
        self.count_answer();
    }

    /// Answers a request with a JSON-RPC error; counts towards `STALL_AFTER_REQUESTS`.
    pub fn err(&self, id: &Value, code: i64, message: &str) {
        self.message(&ErrorResponse {
            error: RpcError { code, message },
            id,
        });
        self.count_answer();
    }

    /// Writes `bytes` followed by a newline, as is.
    pub fn raw_line(&self, bytes: &[u8]) {
        if self.silent() {
            return;
        }
        let mut buf = self.buf.borrow_mut();
        buf.clear();
        buf.extend_from_slice(bytes);
        buf.push(b'\n');
        self.write(&buf);
    }

    /// Resolves once stdout has failed (the reader went away).
    pub async fn broken(&self) {
        while !self.broken.get() {
            self.broken_notify.notified().await;
        }
    }

    fn message<T: Serialize>(&self, message: &T) {
        if self.silent() {
            return;
        }
        let mut buf = self.buf.borrow_mut();
        buf.clear();
        if serde_json::to_writer(&mut *buf, message).is_err() {
            return;
        }
        buf.push(b'\n');
        self.write(&buf);
    }

    fn write(&self, line: &[u8]) {
        let mut stdout = std::io::stdout().lock();
        if stdout
            .write_all(line)
            .and_then(|()| stdout.flush())
            .is_err()
        {
            self.broken.set(true);
            self.broken_notify.notify_one();
        }
    }

    fn count_answer(&self) {
        let answered = self.answered.get() + 1;
        self.answered.set(answered);
        if self.stall_after.is_some_and(|limit| answered >= limit) {
            self.stalled.set(true);
        }
    }
}

/// Writes `text` to stderr in one call; failures are ignored (stderr is best effort).
pub fn stderr(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub fn now_secs() -> u64 {
    now_ms() / 1000
}

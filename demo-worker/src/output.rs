//! The only writer of JSON-RPC lines to the client (one whole line per write, serialized into
//! one reused buffer), with the `STALL_AFTER_REQUESTS` fault and the silence after a run ended.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use serde::Serialize;
use serde_json::Value;

use crate::clock::now_ms;
use crate::jsonrpc::{ErrorResponse, Notification, Response, RpcError, ServerRequest};
use crate::sink::Sink;

/// Serializes messages into one reused buffer and writes each as a single line.
///
/// Invariant: the worker runs on one thread and no borrow of `buf` is held across an `.await`,
/// so lines can never interleave.
pub struct Out {
    sink: Rc<Sink>,
    buf: RefCell<Vec<u8>>,
    answered: Cell<u64>,
    stall_after: Option<u64>,
    stalled: Cell<bool>,
    /// Set when the run ends (a simulated crash or exit): nothing is written any more.
    muted: Cell<bool>,
}

impl Out {
    pub fn new(sink: Rc<Sink>, stall_after: Option<u64>) -> Out {
        Out {
            sink,
            buf: RefCell::new(Vec::with_capacity(4096)),
            answered: Cell::new(0),
            stall_after,
            stalled: Cell::new(stall_after == Some(0)),
            muted: Cell::new(false),
        }
    }

    /// Whether anything written from now on reaches the client.
    pub fn silent(&self) -> bool {
        self.stalled.get() || self.muted.get() || self.sink.has_failed()
    }

    /// Writes nothing more, as if the process had died here.
    pub fn mute(&self) {
        self.muted.set(true);
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

    /// Answers a thread-release request (`thread/unsubscribe`, `thread/loaded/list`) with a
    /// result; does not count towards `STALL_AFTER_REQUESTS`, whose count is about the turn
    /// work the client asked for, not the bookkeeping codexd does after every turn.
    pub fn ok_uncounted<R: Serialize>(&self, id: &Value, result: R) {
        self.message(&Response { id, result });
    }

    /// Answers `account/rateLimits/read` with an error; not counted either (codexd sends it
    /// once after every handshake).
    pub fn err_uncounted(&self, id: &Value, code: i64, message: &str) {
        self.message(&ErrorResponse {
            error: RpcError { code, message },
            id,
        });
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
        self.sink.write(&buf);
    }

    /// Resolves once the output has failed (the reader went away).
    pub async fn broken(&self) {
        self.sink.failed().await;
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
        self.sink.write(&buf);
    }

    fn count_answer(&self) {
        let answered = self.answered.get() + 1;
        self.answered.set(answered);
        if self.stall_after.is_some_and(|limit| answered >= limit) {
            self.stalled.set(true);
        }
    }
}

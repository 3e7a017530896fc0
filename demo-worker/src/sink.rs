//! Where the worker's bytes go: the process's stdout or stderr (written and flushed at once, in
//! the caller), or an async pipe (queued here, written by [`Sink::drain`]) when the worker runs
//! as a library.

use std::cell::{Cell, RefCell};
use std::io::Write;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;

#[derive(Clone, Copy)]
enum Target {
    Stdout,
    Stderr,
    Pipe,
}

/// One output stream. Writes are whole: a line is never split between two writers.
pub struct Sink {
    target: Target,
    /// Bytes queued for [`Sink::drain`] (`Pipe` only).
    pending: RefCell<Vec<u8>>,
    wake: Notify,
    /// No more writes: set at the end of a run; the drain empties the queue and stops.
    closed: Cell<bool>,
    /// A write failed (the reader went away); everything later is dropped.
    failed: Cell<bool>,
    failed_notify: Notify,
}

impl Sink {
    pub fn stdout() -> Sink {
        Sink::new(Target::Stdout)
    }

    /// Best effort: a failed stderr write is ignored and later writes are still tried.
    pub fn stderr() -> Sink {
        Sink::new(Target::Stderr)
    }

    pub fn pipe() -> Sink {
        Sink::new(Target::Pipe)
    }

    fn new(target: Target) -> Sink {
        Sink {
            target,
            pending: RefCell::new(Vec::new()),
            wake: Notify::new(),
            closed: Cell::new(false),
            failed: Cell::new(false),
            failed_notify: Notify::new(),
        }
    }

    /// Writes `bytes` in one piece; dropped once the sink is closed or has failed.
    pub fn write(&self, bytes: &[u8]) {
        if self.closed.get() || self.failed.get() {
            return;
        }
        match self.target {
            Target::Stdout => {
                let mut stdout = std::io::stdout().lock();
                if stdout
                    .write_all(bytes)
                    .and_then(|()| stdout.flush())
                    .is_err()
                {
                    self.fail();
                }
            }
            Target::Stderr => {
                let _ = std::io::stderr().lock().write_all(bytes);
            }
            Target::Pipe => {
                self.pending.borrow_mut().extend_from_slice(bytes);
                self.wake.notify_one();
            }
        }
    }

    pub fn has_failed(&self) -> bool {
        self.failed.get()
    }

    /// Resolves once a write has failed.
    pub async fn failed(&self) {
        while !self.failed.get() {
            self.failed_notify.notified().await;
        }
    }

    /// Refuses further writes; [`Sink::drain`] still delivers what was queued, then returns.
    pub fn close(&self) {
        self.closed.set(true);
        self.wake.notify_one();
    }

    /// Writes the queued bytes of a `Pipe` sink to `writer` until the sink is closed and empty,
    /// then shuts `writer` down. Returns at once for the process's streams.
    pub async fn drain<W: AsyncWrite + Unpin>(&self, mut writer: W) {
        if !matches!(self.target, Target::Pipe) {
            return;
        }
        let mut batch = Vec::new();
        loop {
            // Swap buffers so no borrow is held across the write.
            std::mem::swap(&mut batch, &mut *self.pending.borrow_mut());
            if batch.is_empty() {
                if self.closed.get() {
                    break;
                }
                self.wake.notified().await;
                continue;
            }
            let written = writer.write_all(&batch).await;
            if written.is_err() || writer.flush().await.is_err() {
                self.fail();
                return;
            }
            batch.clear();
        }
        let _ = writer.shutdown().await;
    }

    fn fail(&self) {
        self.failed.set(true);
        self.pending.borrow_mut().clear();
        self.failed_notify.notify_one();
    }
}

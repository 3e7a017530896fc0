//! Buffered stdout for the log thread: lines are batched into one `write(2)` instead of one
//! per line, and flushed at least every [`FLUSH_EVERY`] by a small flusher thread, before a
//! panic's last line, on a forced exit, and when logging shuts down. [`WholeLines`] gathers
//! the many small writes a JSON encoder makes for one line and hands the buffer the whole
//! line under one lock.

use std::io::{BufWriter, Stdout, Write};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// The longest a finished log line waits in the buffer.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);

static SHARED: OnceLock<SharedStdout> = OnceLock::new();

/// A cloneable handle on the one buffered stdout.
#[derive(Clone)]
pub struct SharedStdout(Arc<Mutex<BufWriter<Stdout>>>);

impl SharedStdout {
    /// The process-wide buffer; the first call starts its flusher thread.
    pub fn get() -> SharedStdout {
        SHARED
            .get_or_init(|| {
                let shared = SharedStdout(Arc::new(Mutex::new(BufWriter::with_capacity(
                    64 * 1024,
                    std::io::stdout(),
                ))));
                let flusher = shared.clone();
                let _ = std::thread::Builder::new()
                    .name("codexd-log-flush".into())
                    .spawn(move || loop {
                        std::thread::sleep(FLUSH_EVERY);
                        flusher.flush_now();
                    });
                shared
            })
            .clone()
    }

    /// Writes out whatever is buffered. Never blocks on a lock another thread holds while
    /// panicking: a poisoned lock is still flushed.
    pub fn flush_now(&self) {
        let mut guard = match self.0.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let _ = guard.flush();
    }

    /// Flushes the buffer if it was ever created (panic hook, forced exit).
    pub fn flush_if_started() {
        if let Some(s) = SHARED.get() {
            s.flush_now();
        }
    }
}

impl Write for SharedStdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.lock() {
            Ok(mut g) => g.write(buf),
            Err(poisoned) => poisoned.into_inner().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.flush_now();
        Ok(())
    }
}

/// A writer that collects one line's pieces and passes each finished line (ending in `\n`)
/// to the shared buffer in one locked write; `flush` passes on a partial line too.
pub struct WholeLines {
    line: Vec<u8>,
    out: SharedStdout,
}

impl WholeLines {
    pub fn new(out: SharedStdout) -> Self {
        Self {
            line: Vec::with_capacity(1024),
            out,
        }
    }

    fn pass_on(&mut self) -> std::io::Result<()> {
        if !self.line.is_empty() {
            let r = self.out.write_all(&self.line);
            self.line.clear();
            r?;
        }
        Ok(())
    }
}

impl Write for WholeLines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.line.extend_from_slice(buf);
        if buf.last() == Some(&b'\n') {
            self.pass_on()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.pass_on()?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_of_a_line_stay_until_the_newline_or_a_flush() {
        let mut w = WholeLines::new(SharedStdout::get());
        w.write_all(b"{\"a\":").unwrap();
        w.write_all(b"1}").unwrap();
        assert_eq!(w.line, b"{\"a\":1}");
        w.write_all(b"\n").unwrap();
        assert!(w.line.is_empty(), "a finished line is passed on");
        w.write_all(b"partial").unwrap();
        w.flush().unwrap();
        assert!(w.line.is_empty(), "flush passes a partial line on");
    }
}

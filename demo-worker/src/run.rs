//! One run of the worker: the start-up line, then client lines fed to the dispatcher until the
//! input ends, a stop is asked for, the output breaks or a fault ends the run; with the two
//! sources of client bytes (the stdin thread, any async reader).

use std::future::Future;
use std::io::ErrorKind;
use std::rc::Rc;
use std::sync::mpsc as std_mpsc;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;

use crate::dispatch::dispatch;
use crate::lines::{Lines, READ_SIZE};
use crate::session::Session;
use crate::{EXIT_CLEAN, EXIT_IO};

/// Where client bytes come from.
pub(crate) trait Input {
    /// The next chunk of bytes, or `None` once the input has ended. Cancel-safe.
    async fn chunk(&mut self) -> Option<&[u8]>;
}

/// The process's stdin, read by [`crate::stdin_thread`]; emptied buffers go back for reuse.
pub(crate) struct ThreadInput {
    filled: mpsc::Receiver<Vec<u8>>,
    recycle: std_mpsc::Sender<Vec<u8>>,
    current: Option<Vec<u8>>,
}

impl ThreadInput {
    pub fn new(stdin: crate::stdin_thread::Stdin) -> ThreadInput {
        ThreadInput {
            filled: stdin.filled,
            recycle: stdin.recycle,
            current: None,
        }
    }
}

impl Input for ThreadInput {
    async fn chunk(&mut self) -> Option<&[u8]> {
        if let Some(done) = self.current.take() {
            let _ = self.recycle.send(done);
        }
        self.current = Some(self.filled.recv().await?);
        self.current.as_deref()
    }
}

/// Any async reader (an in-memory pipe when the worker runs as a library).
pub(crate) struct ReaderInput<R> {
    reader: R,
    buf: Vec<u8>,
}

impl<R> ReaderInput<R> {
    pub fn new(reader: R) -> ReaderInput<R> {
        ReaderInput {
            reader,
            buf: vec![0; READ_SIZE],
        }
    }
}

impl<R: AsyncRead + Unpin> Input for ReaderInput<R> {
    async fn chunk(&mut self) -> Option<&[u8]> {
        loop {
            match self.reader.read(&mut self.buf).await {
                Ok(0) => return None,
                Ok(n) => return self.buf.get(..n),
                Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return None,
            }
        }
    }
}

/// Writes the start-up line; returns the exit code if `EXIT_ON_START` ends the run before any
/// input is read.
pub(crate) fn start(session: &Session) -> Option<i32> {
    let hello = format!(
        "codexd demo-worker: starting, pid {} ({})\n",
        std::process::id(),
        session.config.stderr_canary
    );
    session.stderr.write(hello.as_bytes());
    session.config.exit_on_start
}

/// Serves `input` until the run ends; returns the exit code.
pub(crate) async fn run(session: &Rc<Session>, mut input: impl Input, stop: impl Future) -> i32 {
    let mut lines = Lines::default();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            biased;
            code = session.exited() => return code,
            () = session.out.broken() => return EXIT_IO,
            _ = &mut stop => return EXIT_CLEAN,
            chunk = input.chunk() => match chunk {
                Some(chunk) => lines.feed(chunk, |line| dispatch(session, line)),
                None => {
                    if let Some(line) = lines.finish() {
                        dispatch(session, line);
                    }
                    return EXIT_CLEAN;
                }
            },
        }
    }
}

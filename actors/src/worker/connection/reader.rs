//! The worker's stdout, read in the connection's own context: each line is decoded and
//! handled where it lies in the read buffer (no per-line buffer, no stream item), at most
//! 16 lines per poll so that other messages to the connection are not starved (as actix's
//! own stream handling does).

use super::*;
use crate::worker::lines::LineRef;
use crate::worker::process::WorkerOutput;
use crate::worker::protocol::ResultShape;
use std::pin::Pin;
use std::task::Poll;
use tokio::io::BufReader;

/// Lines handled per poll before yielding to the connection's other work.
const LINES_PER_POLL: usize = 16;

/// The stdout reader, spawned into the connection's context.
pub(super) struct StdoutReader {
    lines: LineReader<BufReader<WorkerOutput>>,
}

impl StdoutReader {
    pub(super) fn new(stdout: WorkerOutput, max_line_bytes: usize) -> Self {
        Self {
            lines: LineReader::new(BufReader::with_capacity(64 * 1024, stdout), max_line_bytes),
        }
    }
}

impl ActorFuture<WorkerConnection> for StdoutReader {
    type Output = ();

    fn poll(
        self: Pin<&mut Self>,
        act: &mut WorkerConnection,
        ctx: &mut Context<WorkerConnection>,
        task: &mut std::task::Context<'_>,
    ) -> Poll<()> {
        let this = self.get_mut();
        // The turn updates of this read go out together once it is handled.
        act.outbox.hold();
        let polled = this.lines.poll_lines(task, LINES_PER_POLL, |line| {
            act.on_line(line, ctx);
            !ctx.waiting()
        });
        act.outbox.flush();
        match polled {
            Poll::Ready(Some(_)) => {
                // Stopped for the budget: come back for the rest. (A waiting context polls
                // its futures again when the wait ends.)
                if !ctx.waiting() {
                    task.waker().wake_by_ref();
                }
                Poll::Pending
            }
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                act.on_stdout_closed(ctx);
                Poll::Ready(())
            }
        }
    }
}

impl WorkerConnection {
    /// One line of the worker's stdout.
    fn on_line(&mut self, frame: LineRef<'_>, ctx: &mut Context<Self>) {
        // Once the worker is condemned, nothing more it says is trusted.
        if matches!(self.link, Link::Condemned(_)) {
            return;
        }
        let line = match frame {
            LineRef::Line(l) => l,
            LineRef::TooLong(n) => {
                return self.on_protocol_error(ProtocolErrorKind::LineTooLong, n)
            }
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        // The per-request answers are read for their ids only, in the envelope's pass.
        let pending = &self.pending;
        let shape = |id| match pending.get(&id).map(|p| p.method) {
            Some(RpcMethod::ThreadStart | RpcMethod::TurnStart) => ResultShape::Ids,
            _ => ResultShape::Raw,
        };
        match protocol::decode_with(line, shape) {
            Ok(Incoming::Response { id, outcome }) => self.on_response(id, outcome, ctx),
            Ok(Incoming::Notification { method, params }) => self.on_notification(&method, params),
            Ok(Incoming::ServerRequest { id, method, params }) => {
                self.on_server_request(&id, &method, &params)
            }
            Err(kind) => self.on_protocol_error(kind, line.len() as u64),
        }
    }

    /// stdout closed: the process is exiting; make sure it does.
    fn on_stdout_closed(&mut self, ctx: &mut Context<Self>) {
        ctx.run_later(Duration::from_secs(2), |act, _| {
            let _ = act.control.send(Signal::Kill);
        });
    }
}

//! The body of a streamed answer: the stream actor's outputs encoded as SSE frames, one
//! `Bytes` per output. A plain `MessageBody` instead of a stream adaptor: per output it
//! polls the channel, encodes into one reused buffer and copies the frame out into an
//! exactly-sized `Bytes` (one allocation); the socket probe is one interval for the whole
//! body, not a new timer and a `recv` syscall per output.

use super::access::RequestFacts;
use super::errors::ApiError;
use super::followup::{self, Memo};
use super::openai::chat::ChatSse;
use super::openai::responses::ResponsesSse;
use super::peer::{self, PeerSocket};
use actix_web::body::{BodySize, MessageBody};
use actix_web::web::Bytes;
use codexd_actors::outcome::StreamOutcome;
use codexd_actors::turn::StreamOutput;
use std::convert::Infallible;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// Either API's frame encoder.
pub(super) enum Sse {
    Chat(ChatSse),
    Responses(ResponsesSse),
}

impl Sse {
    pub(super) fn prelude(&mut self, out: &mut Vec<u8>) {
        match self {
            Sse::Chat(c) => c.prelude(out),
            Sse::Responses(r) => r.prelude(out),
        }
    }
    /// Encodes one output; true once the stream is over.
    pub(super) fn encode(&mut self, item: StreamOutput, out: &mut Vec<u8>) -> bool {
        match self {
            Sse::Chat(c) => c.encode(item, out),
            Sse::Responses(r) => r.encode(item, out),
        }
    }
}

/// The streamed body after the headers: `head` first (the prelude, and the first output's
/// frames when it came before the headers), then one chunk per output until the stream is
/// over or the client is gone. A hang-up the probe sees ends the body, which drops the
/// receiver and makes the stream actor interrupt the turn (actix-web itself only notices a
/// vanished client when a write fails).
pub(super) struct SseBody {
    rx: mpsc::UnboundedReceiver<StreamOutput>,
    sse: Sse,
    head: Option<Bytes>,
    done: bool,
    facts: Arc<RequestFacts>,
    peer: Option<Rc<PeerSocket>>,
    probe: Option<tokio::time::Interval>,
    memo: Option<Memo>,
    /// Each frame is encoded here, then copied out at its exact size.
    scratch: Vec<u8>,
}

impl SseBody {
    pub(super) fn new(
        rx: mpsc::UnboundedReceiver<StreamOutput>,
        sse: Sse,
        head: Vec<u8>,
        done: bool,
        facts: Arc<RequestFacts>,
        peer: Option<Rc<PeerSocket>>,
        memo: Option<Memo>,
    ) -> Self {
        let probe = peer.as_ref().map(|_| peer::probe());
        Self {
            rx,
            sse,
            head: Some(Bytes::from(head)),
            done,
            facts,
            peer,
            probe,
            memo,
            scratch: Vec::with_capacity(512),
        }
    }

    /// True when a due probe finds the client gone; registers for the next probe otherwise.
    fn hung_up(&mut self, cx: &mut Context<'_>) -> bool {
        let (Some(probe), Some(peer)) = (self.probe.as_mut(), self.peer.as_deref()) else {
            return false;
        };
        while probe.poll_tick(cx).is_ready() {
            if peer.hung_up() {
                return true;
            }
        }
        false
    }
}

impl MessageBody for SseBody {
    type Error = Infallible;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Infallible>>> {
        let this = self.get_mut();
        if let Some(head) = this.head.take() {
            return Poll::Ready(Some(Ok(head)));
        }
        // An output that encodes to nothing (usage, a reasoning piece chat has no place for)
        // yields no chunk: a zero-length chunk would end a chunked body.
        while !this.done {
            let item = match this.rx.poll_recv(cx) {
                Poll::Ready(item) => item.unwrap_or(StreamOutput::Ended(StreamOutcome::WorkerLost)),
                Poll::Pending => {
                    if this.hung_up(cx) {
                        this.facts.set_client_gone();
                        this.done = true;
                        return Poll::Ready(None);
                    }
                    return Poll::Pending;
                }
            };
            if let StreamOutput::Ended(o) = item {
                if !o.is_completed() {
                    this.facts.set_error(&ApiError::Stream(o), true);
                }
            }
            followup::observe(&mut this.memo, &item);
            this.scratch.clear();
            this.done = this.sse.encode(item, &mut this.scratch);
            if !this.scratch.is_empty() {
                return Poll::Ready(Some(Ok(Bytes::copy_from_slice(&this.scratch))));
            }
        }
        Poll::Ready(None)
    }
}

//! A completion request's admission when the supervisor starts its stream (`AcquireStream`):
//! the handler sends one message and then waits for its stream's outputs; it hears from the
//! supervisor only when the request was queued (granted later, or refused) or refused. A lease
//! granted at once is not answered, so the handler's thread is not woken for it: the gate
//! learns it from `granted` (set by the start, on the supervisor's thread) when it needs to.

use super::access::RequestFacts;
use super::errors::ApiError;
use super::state::AppState;
use codexd_actors::events::{Event, HttpEvent};
use codexd_actors::labels::RejectReason;
use codexd_actors::worker::supervisor::LeaveQueue;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tokio::sync::oneshot;
use tokio::time::Sleep;

/// A refused request: `admission_rejected` is published and the client gets the reason's
/// status (429 or 503) with its `Retry-After`.
pub(super) fn reject(state: &AppState, facts: &RequestFacts, reason: RejectReason) -> ApiError {
    state.bus.publish(Event::Http(HttpEvent::AdmissionRejected {
        ids: facts.ids.clone(),
        reason,
    }));
    ApiError::Rejected {
        reason,
        retry_after_s: super::quota::retry_after_s(state, reason),
    }
}

/// What the gate reports; after either, it reports nothing more.
pub enum Admission {
    /// The stream started at this instant (learnt from the queue's answer, or from the
    /// start's mark at the first wake after a grant at once).
    Granted(Instant),
    /// Refused (at once, or from the queue, or the queue wait ran out).
    Refused(ApiError),
}

/// The handler's side of one admission.
pub struct Gate {
    /// The supervisor's answer, while one may still come.
    reply: Option<oneshot::Receiver<Result<(), RejectReason>>>,
    /// When the stream was started (set by the supervisor's thread).
    granted: Arc<OnceLock<Instant>>,
    /// `admission.queue_timeout_ms` from the request's arrival, while it may still be queued.
    deadline: Option<Pin<Box<Sleep>>>,
}

impl Gate {
    /// A gate whose stream is already started (a follow-up's lease, taken beforehand).
    pub fn settled() -> Self {
        let granted = Arc::new(OnceLock::new());
        let _ = granted.set(Instant::now());
        Self {
            reply: None,
            granted,
            deadline: None,
        }
    }

    /// A gate waiting on the answer to an `AcquireStream`; `granted` is what its start sets.
    pub fn waiting(
        reply: oneshot::Receiver<Result<(), RejectReason>>,
        granted: Arc<OnceLock<Instant>>,
        state: &AppState,
    ) -> Self {
        Self {
            reply: Some(reply),
            granted,
            deadline: Some(Box::pin(tokio::time::sleep(state.api.queue_timeout))),
        }
    }

    /// When the stream started, if it has.
    pub fn granted_at(&self) -> Option<Instant> {
        self.granted.get().copied()
    }

    /// The next admission event; pending for ever once there is none to come. A grant is
    /// reported once, however it is learnt (the answer from the queue, or `granted` seen set);
    /// then the answer is no longer watched, so the stream dropping its sender at its end
    /// does not wake the handler.
    pub async fn event(&mut self, state: &AppState, facts: &RequestFacts) -> Admission {
        loop {
            if let Some(at) = self.granted.get() {
                if self.reply.take().is_some() | self.deadline.take().is_some() {
                    return Admission::Granted(*at);
                }
                return std::future::pending().await;
            }
            let (Some(reply), Some(deadline)) = (self.reply.as_mut(), self.deadline.as_mut())
            else {
                return std::future::pending().await;
            };
            tokio::select! {
                answer = reply => {
                    self.reply = None;
                    self.deadline = None;
                    match answer {
                        Ok(Ok(())) => {
                            return Admission::Granted(self.granted_at().unwrap_or_else(Instant::now))
                        }
                        Ok(Err(reason)) => {
                            return Admission::Refused(reject(state, facts, reason));
                        }
                        // The stream that held the answer ended (only after its end was
                        // sent), or the supervisor dropped the request unanswered.
                        Err(_) if self.granted.get().is_some() => {}
                        Err(_) => {
                            return Admission::Refused(reject(state, facts, RejectReason::NoWorker));
                        }
                    }
                }
                // Granted meanwhile, the loop reports it; else dropping the receiver marks the
                // place as abandoned, and the supervisor frees it.
                () = deadline => {
                    self.deadline = None;
                    if self.granted.get().is_none() {
                        self.reply = None;
                        return Admission::Refused(reject(state, facts, RejectReason::QueueTimeout));
                    }
                }
            }
        }
    }

    /// The stream's outputs ended before anything came: a request that was never granted
    /// was refused (the start, holding the output sender, was dropped unrun), and the
    /// refusal is on its way; `None` when the stream had started.
    pub async fn refusal(&mut self, state: &AppState, facts: &RequestFacts) -> Option<ApiError> {
        if self.granted.get().is_some() || self.reply.is_none() {
            return None;
        }
        match self.event(state, facts).await {
            Admission::Refused(e) => Some(e),
            Admission::Granted(_) => None,
        }
    }

    /// The client hung up: a request still in the queue leaves it now.
    pub fn leave(&mut self, state: &AppState) {
        if self.reply.is_some() && self.granted.get().is_none() {
            self.reply = None;
            state.supervisor.do_send(LeaveQueue);
        }
    }
}

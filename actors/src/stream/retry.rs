//! The stream's half of retry before the first byte (`crate::retry` decides): a turn whose
//! worker was lost, refused, or failed upstream before any generated delta asks the
//! supervisor once for a lease on another slot (another account when the failure was the
//! account's) and starts again there with the same request; the client sees one answer.
//! Without a free slot the stream ends as it would have.

use super::{Phase, UpstreamStream};
use crate::events::StreamEvent;
use crate::outcome::StreamOutcome;
use crate::retry::{decide, Failure, Retry};
use crate::turn::{TurnStatus, TurnUpdate};
use crate::worker::connection::{StartTurn, TurnSink};
use actix::prelude::*;

impl UpstreamStream {
    /// Takes over `msg` when it is a failure worth the one retry: true when a retry started.
    pub(super) fn retry_instead(&mut self, msg: &TurnUpdate, ctx: &mut Context<Self>) -> bool {
        let failure = match msg {
            TurnUpdate::WorkerLost => Failure::WorkerLost,
            TurnUpdate::Refused => Failure::Refused,
            TurnUpdate::Completed(TurnStatus::Failed) => Failure::Upstream(self.upstream_error),
            TurnUpdate::Started { .. }
            | TurnUpdate::Delta { .. }
            | TurnUpdate::Usage(_)
            | TurnUpdate::UpstreamError(_)
            | TurnUpdate::Reasoning(_)
            | TurnUpdate::ToolCall(_)
            | TurnUpdate::Parked
            | TurnUpdate::ReasoningItem(_)
            // Each update of a batch is handed to this check on its own.
            | TurnUpdate::Batch(_)
            | TurnUpdate::Completed(TurnStatus::Completed | TurnStatus::Interrupted) => {
                return false
            }
        };
        if !self.settings.retry_before_first_byte {
            return false;
        }
        let Phase::Running { lease } = &self.phase else {
            return false;
        };
        let Some(retry) = decide(failure, self.last_delta_at.is_some(), self.retried) else {
            return false;
        };
        self.retried = true;
        let next = lease.retry_elsewhere(self.request.ctx.ids.clone(), retry.other_account);
        ctx.spawn(
            next.into_actor(self)
                .map(move |lease, act, ctx| match lease {
                    Some(lease) => act.restart_on(lease, retry, ctx),
                    None => act.end(outcome_of(failure), ctx),
                }),
        );
        true
    }

    fn restart_on(&mut self, lease: crate::worker::Lease, retry: Retry, ctx: &mut Context<Self>) {
        // Aborted (client gone, timer, drain) while the lease was on its way: give it back.
        if !matches!(self.phase, Phase::Running { .. }) {
            return;
        }
        let from_slot = self.slot;
        self.slot = lease.slot;
        self.upstream_error = None;
        lease.conn.do_send(StartTurn {
            key: self.key,
            request: self.request.clone(),
            sink: TurnSink::new(ctx.address().recipient()),
        });
        // The old lease (a dead or failing worker) goes back here.
        self.phase = Phase::Running { lease };
        self.emit(StreamEvent::StreamRetried {
            ids: self.request.ctx.ids.clone(),
            route: self.request.route,
            from_slot,
            slot: self.slot,
            reason: retry.reason,
        });
    }
}

/// The outcome the failure would have ended the stream with, had it not been retried.
fn outcome_of(failure: Failure) -> StreamOutcome {
    match failure {
        Failure::WorkerLost => StreamOutcome::WorkerLost,
        Failure::Refused => StreamOutcome::worker_error(None),
        Failure::Upstream(kind) => StreamOutcome::worker_error(kind),
    }
}

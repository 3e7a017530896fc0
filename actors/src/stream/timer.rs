//! The stream's one timer: it serves the keepalive interval, the first-token deadline (before
//! any generated delta) and the idle deadline (after one), which the old design kept as three
//! timers, the idle one cancelled and re-armed on every delta. A delta now only moves
//! `last_delta_at`; the timer reads it when it fires and sleeps again for what is left.
//! It runs while the turn runs: once the stream is aborting the consumer has its outcome, and
//! nothing a timer could do is seen any more.

use super::{Phase, UpstreamStream};
use crate::outcome::StreamOutcome;
use crate::turn::StreamOutput;
use actix::prelude::*;
use std::time::{Duration, Instant};

/// `base + d`, or about 30 years on for a duration no `Instant` can hold (as tokio's timers
/// treat one): a timeout that large never fires.
fn after(base: Instant, d: Duration) -> Instant {
    base.checked_add(d)
        .or_else(|| base.checked_add(Duration::from_secs(86_400 * 365 * 30)))
        .unwrap_or(base)
}

impl UpstreamStream {
    /// The deadline that ends the turn, and the outcome it ends with: the first token's
    /// before any generated delta, the idle timeout's after one.
    fn deadline(&self) -> (Instant, StreamOutcome) {
        match self.last_delta_at {
            None => (
                after(self.turn_sent_at, self.settings.first_token_timeout),
                StreamOutcome::TimeoutFirstToken,
            ),
            Some(last) => (
                after(last, self.settings.idle_timeout),
                StreamOutcome::TimeoutIdle,
            ),
        }
    }

    /// Starts the timer when the turn is sent.
    pub(super) fn start_timer(&mut self, ctx: &mut Context<Self>) {
        let period = self.settings.keepalive;
        self.next_keepalive = (!period.is_zero()).then(|| after(self.turn_sent_at, period));
        self.arm_timer(ctx);
    }

    fn arm_timer(&mut self, ctx: &mut Context<Self>) {
        let (deadline, _) = self.deadline();
        let wake = self.next_keepalive.map_or(deadline, |k| k.min(deadline));
        let wait = wake.saturating_duration_since(Instant::now());
        ctx.run_later(wait, |act, ctx| act.on_timer(ctx));
    }

    fn on_timer(&mut self, ctx: &mut Context<Self>) {
        if !matches!(self.phase, Phase::Running { .. }) {
            return;
        }
        let now = Instant::now();
        let (deadline, outcome) = self.deadline();
        if now >= deadline {
            return self.abort(outcome, ctx);
        }
        if let Some(k) = self.next_keepalive.filter(|k| now >= *k) {
            let _ = self.out.send(StreamOutput::Keepalive);
            // A late wake-up sends one comment, not one per missed period.
            let period = self.settings.keepalive;
            let mut next = after(k, period);
            while next <= now {
                next = after(next, period);
            }
            self.next_keepalive = Some(next);
        }
        self.arm_timer(ctx);
    }
}

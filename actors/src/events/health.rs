//! The health domain's event (every readiness flip) and its label set, why the daemon is or
//! is not ready.

use super::declare::events;
use crate::label_enum;

label_enum!(
    /// Why the daemon is not ready.
    ReadinessReason {
        Ready => "ready",
        Starting => "starting",
        NoReadyWorkers => "no_ready_workers",
        Draining => "draining",
        NoAuthenticatedAccount => "no_authenticated_account",
        QuotaExhausted => "quota_exhausted",
    }
);

events! {
    /// What the health aggregator announces.
    pub enum HealthEvent {
        /// Logged at warn when the daemon stops being ready.
        ReadinessChanged { ready: bool, reason: ReadinessReason, ready_workers: u32 }
            => if *ready { Info } else { Warning }, Health, "readiness changed";
    }
}

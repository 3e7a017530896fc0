//! The worker slot lifecycle: `SlotPhase`, the phases carrying their data (a serving slot
//! always has its connection, a busy one its turn count), and `SlotState`, the published name
//! of each phase with the legal transitions between them. The supervisor refuses an illegal
//! transition and publishes it (`slot_transition_refused`); it never ignores one.

use super::connection::WorkerConnection;
use actix::Addr;

pub use super::labels::SlotState;

impl SlotState {
    /// A slot that can take turns.
    pub const fn is_serving(self) -> bool {
        matches!(self, SlotState::Ready | SlotState::Busy)
    }

    /// Whether `self → to` is a legal transition.
    pub const fn can_become(self, to: SlotState) -> bool {
        use SlotState::*;
        match (self, to) {
            (Stopped | BackingOff | Failed, Starting) => true,
            (Starting, Handshaking) => true,
            (Handshaking, Ready) => true,
            (Ready, Busy) | (Busy, Ready) => true,
            (Starting | Handshaking | Ready | Busy, BackingOff | Failed) => true,
            (Stopping | Stopped, _) if matches!(to, Stopped) => true,
            (Stopping | Stopped, _) => false,
            (_, Stopping) => true,
            (_, Stopped) => false,
            _ => false,
        }
    }

    /// Moves to `to`, or reports the illegal transition.
    pub fn transition(self, to: SlotState) -> Result<SlotState, InvalidTransition> {
        if self.can_become(to) {
            Ok(to)
        } else {
            Err(InvalidTransition { from: self, to })
        }
    }
}

/// One slot's phase and the data that only exists in it.
#[derive(Debug, Clone)]
pub enum SlotPhase {
    /// No process: before the first spawn and after shutdown.
    Stopped,
    /// The process is being launched.
    Starting,
    /// The process runs; the `initialize` handshake is in flight.
    Handshaking { conn: Addr<WorkerConnection> },
    /// Serving, no turn in flight.
    Ready { conn: Addr<WorkerConnection> },
    /// Serving `in_flight` (at least one) turns.
    Busy {
        conn: Addr<WorkerConnection>,
        in_flight: u32,
    },
    /// Waiting out the restart delay.
    BackingOff,
    /// The restart intensity was exceeded; retried after `workers.failed_retry_ms`.
    Failed,
    /// Shutdown: the process (if any) was asked to stop.
    Stopping {
        conn: Option<Addr<WorkerConnection>>,
    },
}

impl SlotPhase {
    /// The published name of the phase (`/healthz`, `codexd_worker_state`).
    pub const fn state(&self) -> SlotState {
        match self {
            SlotPhase::Stopped => SlotState::Stopped,
            SlotPhase::Starting => SlotState::Starting,
            SlotPhase::Handshaking { .. } => SlotState::Handshaking,
            SlotPhase::Ready { .. } => SlotState::Ready,
            SlotPhase::Busy { .. } => SlotState::Busy,
            SlotPhase::BackingOff => SlotState::BackingOff,
            SlotPhase::Failed => SlotState::Failed,
            SlotPhase::Stopping { .. } => SlotState::Stopping,
        }
    }

    /// The connection of a live process, in any phase that has one.
    pub fn conn(&self) -> Option<&Addr<WorkerConnection>> {
        match self {
            SlotPhase::Handshaking { conn }
            | SlotPhase::Ready { conn }
            | SlotPhase::Busy { conn, .. } => Some(conn),
            SlotPhase::Stopping { conn } => conn.as_ref(),
            SlotPhase::Stopped
            | SlotPhase::Starting
            | SlotPhase::BackingOff
            | SlotPhase::Failed => None,
        }
    }

    /// Turns in flight: only a busy slot has any.
    pub const fn in_flight(&self) -> u32 {
        match self {
            SlotPhase::Busy { in_flight, .. } => *in_flight,
            SlotPhase::Stopped
            | SlotPhase::Starting
            | SlotPhase::Handshaking { .. }
            | SlotPhase::Ready { .. }
            | SlotPhase::BackingOff
            | SlotPhase::Failed
            | SlotPhase::Stopping { .. } => 0,
        }
    }
}

/// An attempted transition the state machine does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidTransition {
    pub from: SlotState,
    pub to: SlotState,
}

impl std::fmt::Display for InvalidTransition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid slot transition {} -> {}", self.from, self.to)
    }
}

#[cfg(test)]
mod tests {
    use super::SlotState::*;
    use super::*;

    #[test]
    fn the_normal_lifecycle_is_allowed() {
        let path = [
            Starting,
            Handshaking,
            Ready,
            Busy,
            Ready,
            BackingOff,
            Starting,
        ];
        let mut s = Stopped;
        for next in path {
            s = s.transition(next).unwrap();
        }
        assert_eq!(s, Starting);
    }

    #[test]
    fn a_worker_cannot_skip_the_handshake() {
        assert_eq!(
            Starting.transition(Ready),
            Err(InvalidTransition {
                from: Starting,
                to: Ready
            })
        );
        assert!(BackingOff.transition(Ready).is_err());
        assert!(Failed.transition(Busy).is_err());
    }

    #[test]
    fn stopping_is_terminal_except_for_stopped() {
        for s in SlotState::ALL {
            assert_eq!(s.can_become(Stopping), !matches!(s, Stopping | Stopped));
        }
        assert!(Stopping.transition(Starting).is_err());
        assert!(Stopping.transition(Stopped).is_ok());
        assert!(Ready.transition(Stopped).is_err());
    }

    #[test]
    fn failed_slots_only_leave_by_restarting() {
        for to in SlotState::ALL {
            let ok = Failed.can_become(*to);
            assert_eq!(ok, matches!(to, Starting | Stopping), "failed -> {to}");
        }
    }
}

//! The worker slot lifecycle as an explicit state machine. Transitions check their
//! predecessor and return an error instead of panicking.

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

//! The registry of parked turns: turns that ended their HTTP response with client tool calls
//! and wait, on their worker, for the outputs. Indexed by call id; shared by the worker
//! connections (which park, expire and discard) and the front end (which claims a parked turn
//! for a follow-up). In memory only: it does not survive a restart and is not shared between
//! replicas (a follow-up that finds nothing here is replayed).

use crate::tools::{ParkedAt, ReplayReason};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// One parked turn, as the front end needs to claim it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedTurn {
    pub at: ParkedAt,
    /// The call ids the turn waits on, in call order.
    pub call_ids: Vec<String>,
    /// The transcript digest (history before the answer plus the calls).
    pub digest: u64,
    pub parked_at: Instant,
    /// `(trace_id, span_id)` of the request that parked the turn.
    pub trace_link: Option<(String, String)>,
}

#[derive(Default)]
struct Inner {
    by_call: HashMap<String, ParkedAt>,
    turns: HashMap<ParkedAt, ParkedTurn>,
}

/// The registry. Whoever removes an entry owns the turn: a follow-up that claimed it
/// continues it; an expiry that removed it interrupts it; the loser of a race finds nothing.
#[derive(Default)]
pub struct ParkedTurns {
    inner: Mutex<Inner>,
    gauge: Option<prometheus::IntGauge>,
}

impl std::fmt::Debug for ParkedTurns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParkedTurns")
            .field("len", &self.len())
            .finish()
    }
}

impl ParkedTurns {
    /// A registry that keeps `gauge` at the number of parked turns.
    pub fn with_gauge(gauge: prometheus::IntGauge) -> Self {
        Self {
            inner: Mutex::default(),
            gauge: Some(gauge),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_gauge(&self, inner: &Inner) {
        if let Some(g) = &self.gauge {
            g.set(inner.turns.len() as i64);
        }
    }

    pub fn len(&self) -> usize {
        self.lock().turns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Parked turns on one worker process.
    pub fn count_on(&self, slot: usize, generation: u64) -> usize {
        self.lock()
            .turns
            .keys()
            .filter(|a| a.slot == slot && a.generation == generation)
            .count()
    }

    pub fn insert(&self, turn: ParkedTurn) {
        let mut inner = self.lock();
        for c in &turn.call_ids {
            inner.by_call.insert(c.clone(), turn.at);
        }
        inner.turns.insert(turn.at, turn);
        self.set_gauge(&inner);
    }

    fn remove_locked(inner: &mut Inner, at: ParkedAt) -> Option<ParkedTurn> {
        let turn = inner.turns.remove(&at)?;
        for c in &turn.call_ids {
            if inner.by_call.get(c) == Some(&at) {
                inner.by_call.remove(c);
            }
        }
        Some(turn)
    }

    /// Removes a turn; `None` if someone else already did.
    pub fn remove(&self, at: ParkedAt) -> Option<ParkedTurn> {
        let mut inner = self.lock();
        let t = Self::remove_locked(&mut inner, at);
        self.set_gauge(&inner);
        t
    }

    /// Claims the parked turn that waits on exactly `call_ids` with this `digest`. A turn that
    /// waits on some of these calls but does not match is removed too (it can never be
    /// continued: the client moved on) and its place returned as the error's second half,
    /// so the caller discards it on its worker.
    pub fn claim(
        &self,
        call_ids: &[String],
        digest: u64,
    ) -> Result<ParkedTurn, (ReplayReason, Option<ParkedAt>)> {
        let mut inner = self.lock();
        let Some(at) = call_ids.iter().find_map(|c| inner.by_call.get(c).copied()) else {
            return Err((ReplayReason::NotParked, None));
        };
        let matches = inner.turns.get(&at).is_some_and(|t| {
            t.digest == digest && {
                let mut a = t.call_ids.clone();
                let mut b = call_ids.to_vec();
                a.sort();
                b.sort();
                a == b
            }
        });
        let turn = Self::remove_locked(&mut inner, at);
        self.set_gauge(&inner);
        match (turn, matches) {
            (Some(t), true) => Ok(t),
            (t, _) => Err((ReplayReason::Mismatch, t.map(|t| t.at))),
        }
    }

    /// Removes every turn parked on one worker process (it exited).
    pub fn remove_worker(&self, slot: usize, generation: u64) -> Vec<ParkedTurn> {
        let mut inner = self.lock();
        let gone: Vec<ParkedAt> = inner
            .turns
            .keys()
            .filter(|a| a.slot == slot && a.generation == generation)
            .copied()
            .collect();
        let out = gone
            .into_iter()
            .filter_map(|a| Self::remove_locked(&mut inner, a))
            .collect();
        self.set_gauge(&inner);
        out
    }

    /// Removes and returns the turns parked before `cutoff` on one worker process.
    pub fn expire(&self, slot: usize, generation: u64, cutoff: Instant) -> Vec<ParkedTurn> {
        let mut inner = self.lock();
        let old: Vec<ParkedAt> = inner
            .turns
            .values()
            .filter(|t| t.at.slot == slot && t.at.generation == generation)
            .filter(|t| t.parked_at <= cutoff)
            .map(|t| t.at)
            .collect();
        let out = old
            .into_iter()
            .filter_map(|a| Self::remove_locked(&mut inner, a))
            .collect();
        self.set_gauge(&inner);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(key: u64, calls: &[&str], digest: u64) -> ParkedTurn {
        ParkedTurn {
            at: ParkedAt {
                slot: 0,
                generation: 1,
                key,
            },
            call_ids: calls.iter().map(|c| (*c).to_owned()).collect(),
            digest,
            parked_at: Instant::now(),
            trace_link: None,
        }
    }

    fn ids(c: &[&str]) -> Vec<String> {
        c.iter().map(|c| (*c).to_owned()).collect()
    }

    #[test]
    fn a_matching_follow_up_claims_the_turn_once() {
        let r = ParkedTurns::default();
        r.insert(turn(1, &["a", "b"], 9));
        assert_eq!(r.claim(&ids(&["b", "a"]), 9).map(|t| t.at.key), Ok(1));
        assert!(matches!(
            r.claim(&ids(&["a", "b"]), 9),
            Err((ReplayReason::NotParked, None))
        ));
    }

    #[test]
    fn a_mismatch_removes_the_turn_and_hands_it_back() {
        let r = ParkedTurns::default();
        r.insert(turn(1, &["a", "b"], 9));
        let e = r.claim(&ids(&["a"]), 9).unwrap_err();
        assert_eq!(e.0, ReplayReason::Mismatch);
        assert_eq!(e.1.map(|a| a.key), Some(1));
        assert!(r.is_empty());
        r.insert(turn(2, &["c"], 9));
        assert_eq!(
            r.claim(&ids(&["c"]), 8).unwrap_err().0,
            ReplayReason::Mismatch
        );
    }

    #[test]
    fn expiry_and_worker_exit_remove_only_their_turns() {
        let r = ParkedTurns::default();
        r.insert(turn(1, &["a"], 1));
        let mut other = turn(2, &["b"], 1);
        other.at.generation = 2;
        r.insert(other);
        assert_eq!(r.count_on(0, 1), 1);
        assert_eq!(r.expire(0, 1, Instant::now()).len(), 1);
        assert_eq!(r.remove_worker(0, 2).len(), 1);
        assert!(r.is_empty());
    }
}

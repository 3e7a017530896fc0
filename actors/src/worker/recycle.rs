//! Worker recycling: when a worker has served enough turns, lived long enough or grown past
//! a resident-memory ceiling, it takes no new lease, finishes the turns it has, and is then
//! restarted with reason `recycled`, outside the restart-intensity window. In-flight work is
//! never killed to recycle. Memory is read from `/proc/<pid>/status` (Linux).

use super::labels::RecycleReason;
use std::time::{Duration, Instant};

/// When to recycle (`None` turns a limit off).
#[derive(Debug, Clone, Default)]
pub struct RecyclePolicy {
    pub max_turns: Option<u64>,
    pub max_age: Option<Duration>,
    pub max_rss_bytes: Option<u64>,
    /// How often age and memory are checked; `None` samples nothing.
    pub check_interval: Option<Duration>,
}

/// One slot's worker as recycling sees it.
#[derive(Debug, Clone, Default)]
pub struct RecycleTrack {
    pub pid: Option<u32>,
    pub spawned_at: Option<Instant>,
    pub turns: u64,
    /// Set once the worker is to be recycled: it takes no new lease.
    pub draining: Option<RecycleReason>,
}

impl RecycleTrack {
    /// A fresh process.
    pub fn spawned(&mut self, pid: u32) {
        *self = RecycleTrack {
            pid: Some(pid),
            spawned_at: Some(Instant::now()),
            turns: 0,
            draining: None,
        };
    }

    /// Why the worker should be recycled now, if it should (turns first, then age, then
    /// memory); `None` once it is already draining.
    pub fn due(&self, p: &RecyclePolicy, rss: Option<u64>, now: Instant) -> Option<RecycleReason> {
        if self.draining.is_some() || self.pid.is_none() {
            return None;
        }
        if p.max_turns.is_some_and(|max| self.turns >= max) {
            return Some(RecycleReason::Turns);
        }
        let age = self.spawned_at.map(|t| now.saturating_duration_since(t));
        if let (Some(max), Some(age)) = (p.max_age, age) {
            if age >= max {
                return Some(RecycleReason::Age);
            }
        }
        match (p.max_rss_bytes, rss) {
            (Some(max), Some(rss)) if rss >= max => Some(RecycleReason::Memory),
            _ => None,
        }
    }
}

/// The resident set of `pid` in bytes, from the `VmRSS` line of `/proc/<pid>/status`
/// (`None` elsewhere or once the process is gone).
pub fn resident_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_is_due_by_turns_age_or_memory_and_only_once() {
        let p = RecyclePolicy {
            max_turns: Some(3),
            max_age: Some(Duration::from_secs(60)),
            max_rss_bytes: Some(1000),
            check_interval: Some(Duration::from_secs(1)),
        };
        let mut t = RecycleTrack::default();
        t.spawned(7);
        let now = Instant::now();
        assert_eq!(t.due(&p, Some(10), now), None);
        assert_eq!(t.due(&p, Some(1000), now), Some(RecycleReason::Memory));
        assert_eq!(
            t.due(&p, None, now + Duration::from_secs(61)),
            Some(RecycleReason::Age)
        );
        t.turns = 3;
        assert_eq!(t.due(&p, None, now), Some(RecycleReason::Turns));
        t.draining = Some(RecycleReason::Turns);
        assert_eq!(t.due(&p, None, now), None);
    }

    #[test]
    fn this_process_has_a_resident_size() {
        assert!(resident_bytes(std::process::id()).unwrap_or(0) > 0);
    }
}

//! The supervisor's pool half: accounts (leases skip slots whose account cannot serve; when
//! no account can, admission answers `quota_exhausted` or `no_worker` instead of queueing),
//! worker recycling (drain, then restart with reason `recycled`, outside the
//! restart-intensity window), the per-worker memory and `CODEX_HOME` samples, and the one
//! retry lease a stream may ask for before its first byte.

use super::{Mode, WorkerSupervisor};
use crate::accounts::{unix_now, AccountBook, Blocked};
use crate::events::{AccountEvent, Event, WorkerEvent};
use crate::labels::{RejectReason, RestartReason};
use crate::worker::connection::StopWorker;
use crate::worker::labels::RecycleReason;
use crate::worker::lease::RetryLease;
use crate::worker::recycle::{resident_bytes, RecyclePolicy, RecycleTrack};
use crate::worker::state::SlotPhase;
use actix::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Recycling and sampling settings.
#[derive(Debug, Clone, Default)]
pub struct PoolSettings {
    pub recycle: RecyclePolicy,
    /// Each account's name and `CODEX_HOME` (`None`: not sampled).
    pub codex_homes: Vec<(Arc<str>, Option<PathBuf>)>,
    /// How often the bytes under each `CODEX_HOME` are counted.
    pub home_sample: Option<Duration>,
}

/// Per-slot recycling state.
pub(super) struct PoolState {
    tracks: Vec<RecycleTrack>,
    /// Slots stopped for a recycle, until their new worker is ready: admission queues for
    /// them rather than answering `no_worker`.
    coming_back: Vec<bool>,
}

impl PoolState {
    pub(super) fn new(slots: usize) -> Self {
        Self {
            tracks: vec![RecycleTrack::default(); slots],
            coming_back: vec![false; slots],
        }
    }

    pub(super) fn spawned(&mut self, slot: usize, pid: u32) {
        if let Some(t) = self.tracks.get_mut(slot) {
            t.spawned(pid);
        }
    }

    /// Whether the slot's worker was being recycled (and forgets it: the process is gone).
    pub(super) fn take_recycle(&mut self, slot: usize) -> bool {
        self.tracks.get_mut(slot).is_some_and(|t| {
            let was = t.draining.is_some();
            *t = RecycleTrack::default();
            was
        })
    }

    /// Whether a recycled slot is on its way back (see `coming_back`).
    pub(super) fn coming_back(&self) -> bool {
        self.coming_back.iter().any(|b| *b)
    }

    fn draining(&self, slot: usize) -> bool {
        self.tracks.get(slot).is_some_and(|t| t.draining.is_some())
    }
}

impl WorkerSupervisor {
    fn accounts(&self) -> &AccountBook {
        &self.settings.connection.accounts
    }

    fn publish_accounts(&self, events: Vec<AccountEvent>) {
        for e in events {
            self.bus.publish(Event::Account(e));
        }
    }

    /// Whether a lease may go to slot `i`: not being recycled, and its account can serve.
    pub(super) fn slot_open(&self, i: usize) -> bool {
        !self.pool.draining(i) && self.accounts().slot_usable(i, unix_now())
    }

    /// Admission's answer when no account can serve at all: `quota_exhausted` (429 with the
    /// soonest reset) or, every account unauthenticated, `no_worker`.
    pub(super) fn accounts_refusal(&self) -> Option<RejectReason> {
        match self.accounts().blocked(unix_now())? {
            Blocked::Exhausted { .. } => Some(RejectReason::QuotaExhausted),
            Blocked::Unauthenticated => Some(RejectReason::NoWorker),
        }
    }

    /// A lease went to slot `i`: counts the turn, and starts recycling when it was the last
    /// one the worker may take.
    pub(super) fn note_granted(&mut self, i: usize, in_flight: u32) {
        let policy = self.settings.pool.recycle.clone();
        let Some(t) = self.pool.tracks.get_mut(i) else {
            return;
        };
        t.turns += 1;
        if let Some(reason) = t.due(&policy, None, Instant::now()) {
            self.begin_recycle(i, reason, in_flight);
        }
    }

    fn begin_recycle(&mut self, i: usize, reason: RecycleReason, in_flight: u32) {
        let Some(t) = self.pool.tracks.get_mut(i) else {
            return;
        };
        t.draining = Some(reason);
        self.emit(WorkerEvent::WorkerRecycleStarted {
            slot: i,
            reason,
            in_flight,
        });
        if in_flight == 0 {
            self.stop_for_recycle(i);
        }
    }

    /// A lease came back: a recycling worker with no turn left is stopped now.
    pub(super) fn after_release(&mut self, i: usize, in_flight: u32) {
        if in_flight == 0 && self.pool.draining(i) {
            self.stop_for_recycle(i);
        }
    }

    fn stop_for_recycle(&mut self, i: usize) {
        let Some(SlotPhase::Ready { conn }) = self.slots.get(i).map(|s| &s.phase) else {
            return;
        };
        let conn = conn.clone();
        conn.do_send(StopWorker {
            grace: self.settings.stop_grace,
        });
        if let Some(b) = self.pool.coming_back.get_mut(i) {
            *b = true;
        }
        self.transition(i, SlotPhase::Stopping { conn: Some(conn) });
    }

    /// A recycled worker exited: start the next one now, spending no restart budget.
    pub(super) fn restart_recycled(&mut self, i: usize, ctx: &mut Context<Self>) {
        if !matches!(self.mode, Mode::Serving) {
            return;
        }
        self.emit(WorkerEvent::RestartScheduled {
            slot: i,
            attempt: 0,
            delay_ms: 0,
            reason: RestartReason::Recycled,
        });
        self.spawn_slot(i, ctx);
    }

    pub(super) fn start_pool_timers(&mut self, ctx: &mut Context<Self>) {
        // Cool-downs end at their reset time: announce it, and serve whoever waits.
        ctx.run_interval(Duration::from_secs(1), |act, ctx| {
            let events = act.accounts().tick(unix_now());
            if !events.is_empty() {
                act.publish_accounts(events);
                act.dispatch_queue(ctx);
            }
        });
        if let Some(every) = self.settings.pool.recycle.check_interval {
            ctx.run_interval(every, |act, _| act.check_workers());
        }
        if let Some(every) = self.settings.pool.home_sample {
            self.sample_homes(ctx);
            ctx.run_interval(every, |act, ctx| act.sample_homes(ctx));
        }
    }

    /// Samples every serving worker's memory and recycles those past their age or ceiling.
    fn check_workers(&mut self) {
        let policy = self.settings.pool.recycle.clone();
        let now = Instant::now();
        for i in 0..self.slots.len() {
            let Some(slot) = self.slots.get(i) else {
                continue;
            };
            if !slot.phase.state().is_serving() {
                continue;
            }
            let in_flight = slot.phase.in_flight();
            let Some(track) = self.pool.tracks.get(i) else {
                continue;
            };
            let rss = track.pid.and_then(resident_bytes);
            if let Some(rss_bytes) = rss {
                self.emit(WorkerEvent::WorkerMemorySampled { slot: i, rss_bytes });
            }
            if let Some(reason) = track.due(&policy, rss, now) {
                self.begin_recycle(i, reason, in_flight);
            }
        }
    }

    /// Slot `i`'s worker is ready: back from a recycle, and its first memory sample.
    pub(super) fn on_ready(&mut self, i: usize) {
        if let Some(b) = self.pool.coming_back.get_mut(i) {
            *b = false;
        }
        self.sample_memory(i);
    }

    fn sample_memory(&self, i: usize) {
        let pid = self.pool.tracks.get(i).and_then(|t| t.pid);
        if let Some(rss_bytes) = pid.and_then(resident_bytes) {
            self.emit(WorkerEvent::WorkerMemorySampled { slot: i, rss_bytes });
        }
    }

    fn sample_homes(&mut self, ctx: &mut Context<Self>) {
        let homes = self.settings.pool.codex_homes.clone();
        let task = tokio::task::spawn_blocking(move || {
            homes
                .into_iter()
                .filter_map(|(name, home)| Some((name, tree_bytes(&home?))))
                .collect::<Vec<_>>()
        });
        ctx.spawn(
            actix::fut::wrap_future(task).map(|sizes, act: &mut Self, _| {
                for (account, bytes) in sizes.unwrap_or_default() {
                    act.publish_accounts(vec![AccountEvent::CodexHomeSampled {
                        account: account.to_string(),
                        bytes,
                    }]);
                }
            }),
        );
    }

    /// The next free slot other than `slot` (of another account when asked), least loaded
    /// first, as admission picks.
    fn pick_other(&self, slot: usize, other_account: bool) -> Option<usize> {
        let max = self.settings.max_turns_per_worker;
        self.slots
            .iter()
            .enumerate()
            .filter(|(i, s)| {
                let free = match s.phase {
                    SlotPhase::Ready { .. } => max > 0,
                    SlotPhase::Busy { in_flight, .. } => in_flight < max,
                    _ => false,
                };
                free && *i != slot
                    && self.slot_open(*i)
                    && !(other_account && self.accounts().same_account(*i, slot))
            })
            .min_by_key(|(i, s)| (s.phase.in_flight(), *i))
            .map(|(i, _)| i)
    }
}

/// Bytes of every file under `root` (symlinks not followed); unreadable entries count 0.
fn tree_bytes(root: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

impl Handler<RetryLease> for WorkerSupervisor {
    type Result = ();
    fn handle(&mut self, msg: RetryLease, ctx: &mut Self::Context) {
        if !matches!(self.mode, Mode::Serving) {
            let _ = msg.reply.send(None);
            return;
        }
        let lease = self
            .pick_other(msg.slot, msg.other_account)
            .and_then(|i| self.grant(i, msg.ids, Duration::ZERO, ctx));
        let _ = msg.reply.send(lease);
    }
}

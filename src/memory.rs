//! Giving memory back after a burst: glibc keeps the heap pages freed by thousands of ended
//! streams mapped, so resident memory stays at its peak. Once the daemon has no stream in
//! flight again, `malloc_trim` returns the free pages to the system. `IdleTrim` is a small
//! actor: its once-a-second check lives and ends with the actor system.

use actix::{Actor, AsyncContext, Context};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Watches the active-stream count and trims the heap each time it falls back to zero
/// (checked once a second, so a steady trickle of requests does not trim after each one).
pub struct IdleTrim {
    active: Arc<AtomicUsize>,
    was_busy: bool,
}

impl IdleTrim {
    pub fn new(active: Arc<AtomicUsize>) -> Self {
        Self {
            active,
            was_busy: false,
        }
    }
}

impl Actor for IdleTrim {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(CHECK_EVERY, |act, _| {
            let busy = act.active.load(Ordering::Relaxed) > 0;
            if act.was_busy && !busy {
                trim();
            }
            act.was_busy = busy;
        });
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(unsafe_code, reason = "malloc_trim(3) is only reachable through libc")]
fn trim() {
    // SAFETY: malloc_trim(3) only releases free heap memory; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}

/// No fastbins (`M_MXFAST = 0`): with them, every allocation of a large chunk (a request
/// handler's future is one, several KB) first consolidates the fastbins, which profiled at
/// 2–3 % of the daemon; small blocks are still served from glibc's per-thread cache.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(unsafe_code, reason = "mallopt(3) is only reachable through libc")]
pub fn tune_allocator() {
    // SAFETY: mallopt(3) with M_MXFAST only changes a malloc parameter; 0 is a valid value.
    unsafe {
        libc::mallopt(libc::M_MXFAST, 0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune_allocator() {}

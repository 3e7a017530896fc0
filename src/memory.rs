//! Giving memory back after a burst: the allocators keep the heap pages freed by thousands of
//! ended streams, so resident memory stays at its peak. Once the daemon has no stream in
//! flight again, `mi_collect` (mimalloc, the daemon's allocator: `src/main.rs`) and
//! `malloc_trim` (glibc, which the C libraries still use) return the free pages to the system. `IdleTrim` is a small
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

#[expect(
    unsafe_code,
    reason = "mi_collect is only reachable through mimalloc's C API"
)]
fn trim() {
    // SAFETY: mi_collect only returns mimalloc's free pages; it has no preconditions.
    unsafe {
        libmimalloc_sys::mi_collect(true);
    }
    trim_glibc();
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(unsafe_code, reason = "malloc_trim(3) is only reachable through libc")]
fn trim_glibc() {
    // SAFETY: malloc_trim(3) only releases free heap memory; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim_glibc() {}

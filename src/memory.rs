//! Giving memory back after a burst: glibc keeps the heap pages freed by thousands of ended
//! streams mapped, so resident memory stays at its peak. Once the daemon has no stream in
//! flight again, `malloc_trim` returns the free pages to the system.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Watches the active-stream count and trims the heap each time it falls back to zero.
pub fn trim_when_idle(active: Arc<AtomicUsize>) {
    actix_rt::spawn(async move {
        let mut tick = tokio::time::interval(CHECK_EVERY);
        let mut was_busy = false;
        loop {
            tick.tick().await;
            let busy = active.load(Ordering::Relaxed) > 0;
            if was_busy && !busy {
                trim();
            }
            was_busy = busy;
        }
    });
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn trim() {
    // SAFETY: malloc_trim(3) only releases free heap memory; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}

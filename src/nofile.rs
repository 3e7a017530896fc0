//! The descriptor limit: at start-up the soft `RLIMIT_NOFILE` is raised to the hard one (as
//! Go's runtime and nginx do), since every client connection costs descriptors
//! (docs/operations.md, "Descriptors"). Workers inherit the raised limit.

/// The soft and hard limits before and after the raise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NofileLimit {
    pub previous_soft: u64,
    pub soft: u64,
    pub hard: u64,
}

#[expect(
    unsafe_code,
    reason = "getrlimit(2)/setrlimit(2) are only reachable through libc"
)]
fn get() -> Option<libc::rlimit> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit for the duration of the call.
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0).then_some(lim)
}

#[expect(
    unsafe_code,
    reason = "getrlimit(2)/setrlimit(2) are only reachable through libc"
)]
fn set(lim: &libc::rlimit) -> bool {
    // SAFETY: `lim` points to a valid rlimit for the duration of the call.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, lim) == 0 }
}

/// Raises the soft limit to the hard one; `None` when the limits cannot be read. When the
/// raise is refused the soft limit stays where it was (and `soft < hard` says so).
pub fn raise() -> Option<NofileLimit> {
    let before = get()?;
    if before.rlim_cur < before.rlim_max {
        set(&libc::rlimit {
            rlim_cur: before.rlim_max,
            rlim_max: before.rlim_max,
        });
    }
    let after = get().unwrap_or(before);
    Some(NofileLimit {
        previous_soft: before.rlim_cur,
        soft: after.rlim_cur,
        hard: after.rlim_max,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_soft_limit_ends_at_the_hard_one() {
        let l = super::raise();
        assert!(l.is_some_and(|l| l.soft == l.hard && l.previous_soft <= l.soft));
    }
}

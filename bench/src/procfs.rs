//! What `/proc` says about a process: CPU time (utime + stime, per process and per thread),
//! resident memory, and the machine; plus the two syscalls the harness needs (kill, rlimit).

use serde::Serialize;
use std::collections::BTreeMap;
use std::fs;

/// Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`; 100 on Linux).
fn ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// Converts stat ticks to microseconds.
#[derive(Clone, Copy)]
pub struct Clock {
    us_per_tick: f64,
}

impl Clock {
    pub fn new() -> Self {
        Self {
            us_per_tick: 1e6 / ticks_per_second(),
        }
    }

    pub fn us(self, ticks: u64) -> f64 {
        ticks as f64 * self.us_per_tick
    }
}

/// `(comm, utime + stime)` of a `stat` file. `comm` may hold spaces and parentheses, so the
/// fields are counted from the last `)`.
fn parse_stat(text: &str) -> Option<(String, u64)> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_owned();
    let rest: Vec<&str> = text.get(close + 2..)?.split_whitespace().collect();
    // After the comm: state(3) ppid(4) ... utime is field 14, stime 15 (1-based).
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    Some((comm, utime + stime))
}

/// CPU ticks (user + system) of a whole process, all threads.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text).map(|(_, t)| t)
}

/// CPU ticks per thread name (threads of one name summed: `actix-rt|system:0`, …).
pub fn thread_ticks(pid: u32) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let Ok(dir) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for entry in dir.flatten() {
        let path = entry.path().join("stat");
        if let Some((comm, t)) = fs::read_to_string(path).ok().and_then(|s| parse_stat(&s)) {
            *out.entry(normalize_thread(&comm)).or_insert(0) += t;
        }
    }
    out
}

/// Folds numbered thread names (`actix-rt|system:0`, `actix-server worker 1`) into one.
fn normalize_thread(comm: &str) -> String {
    comm.trim_end_matches(|c: char| c.is_ascii_digit())
        .trim_end_matches([' ', ':', '-', '#'])
        .to_owned()
}

/// Busy ticks of the whole machine (all CPUs, everything but idle and iowait) from
/// `/proc/stat`, to tell how much of the machine other processes took during a case.
pub fn machine_busy_ticks() -> Option<u64> {
    let text = fs::read_to_string("/proc/stat").ok()?;
    let cpu = text.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = cpu
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal ...
    let total: u64 = v.iter().take(8).sum();
    Some(total - v.get(3)? - v.get(4)?)
}

/// A `VmRSS:`-style line of `/proc/<pid>/status`, in KiB.
fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Resident set size in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS:")
}

/// Peak resident set size over the process's life, in KiB.
pub fn hwm_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmHWM:")
}

/// The machine the run happened on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub nproc: usize,
    pub cpu_model: String,
    pub mem_total_kib: u64,
    pub kernel: String,
    pub free_h: String,
}

pub fn machine() -> Machine {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_total_kib = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let free_h = std::process::Command::new("free")
        .arg("-h")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .unwrap_or_default();
    Machine {
        nproc: std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model,
        mem_total_kib,
        kernel: fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_owned(),
        free_h,
    }
}

/// Sends `SIGKILL` to a process.
#[expect(unsafe_code, reason = "kill(2) has no safe wrapper in std")]
pub fn kill9(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    unsafe { libc::kill(pid, libc::SIGKILL) == 0 }
}

/// Sends `SIGTERM` to a process.
#[expect(unsafe_code, reason = "kill(2) has no safe wrapper in std")]
pub fn term(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGTERM) == 0 }
}

/// Raises the soft open-file limit to the hard limit (no privilege needed) so that the
/// harness and the daemon it spawns (which inherits it) can hold thousands of sockets.
/// Returns the soft limit in force afterwards.
#[expect(
    unsafe_code,
    reason = "getrlimit/setrlimit have no safe wrapper in std"
)]
pub fn raise_nofile() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the one struct we own and pass by pointer.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur < lim.rlim_max {
            let want = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                lim = want;
            }
        }
    }
    lim.rlim_cur
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        let line = "42 (actix-rt|system:0 (x)) S 1 42 42 0 -1 4194368 100 0 0 0 7 3 0 0 20 0 3 0";
        assert_eq!(parse_stat(line), Some(("actix-rt|system:0 (x)".into(), 10)));
    }

    #[test]
    fn own_process_is_readable() {
        let me = std::process::id();
        assert!(cpu_ticks(me).is_some());
        assert!(rss_kib(me).unwrap_or(0) > 0);
        assert!(!thread_ticks(me).is_empty());
    }

    #[test]
    fn numbered_threads_fold_together() {
        assert_eq!(normalize_thread("actix-rt|system:1"), "actix-rt|system");
        assert_eq!(normalize_thread("codexd-log"), "codexd-log");
    }
}

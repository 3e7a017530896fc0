//! The listening sockets and the descriptor limit, through the real binary: the configured
//! `server.backlog` is what the kernel holds (`ss -ltn`), so a burst of 1,000 simultaneous
//! connects on a fresh daemon completes with no SYN retry; and the daemon raises its soft
//! `RLIMIT_NOFILE` to the hard one at start-up and logs both.

use crate::support::daemon::{Config, Daemon};
use crate::support::http;
use std::process::Command;
use std::time::{Duration, Instant};

/// The simultaneous connects of the burst.
const BURST: usize = 1_000;

/// The kernel's cap on any listen(2) backlog.
fn somaxconn() -> u32 {
    std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .expect("read /proc/sys/net/core/somaxconn")
        .trim()
        .parse()
        .expect("somaxconn is a number")
}

/// `(Recv-Q, Send-Q)` of the listening socket on `port`, from `ss -ltnH`. For a listening
/// socket Send-Q is its backlog and Recv-Q the connections waiting to be accepted.
fn ss_listen_queues(port: u16) -> (u32, u32) {
    let out = Command::new("ss")
        .args(["-ltnH", &format!("sport = :{port}")])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "`ss` (iproute2) is needed to read the listen backlog and could not run ({e}); \
                 install iproute2 (scripts/test-deps.sh does so as root)"
            )
        });
    assert!(out.status.success(), "ss failed: {out:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text
        .lines()
        .find(|l| l.starts_with("LISTEN"))
        .unwrap_or_else(|| panic!("no listening socket on port {port} in `ss -ltn`:\n{text}"));
    let cols: Vec<&str> = line.split_whitespace().collect();
    (cols[1].parse().unwrap(), cols[2].parse().unwrap())
}

/// Opens `n` connections to `addr` at once (non-blocking connects on one runtime) and
/// returns how long the slowest took; every connection stays open until all have completed.
fn burst_connect(addr: std::net::SocketAddr, n: usize) -> Duration {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..n {
            set.spawn(async move {
                let t = Instant::now();
                let s = tokio::time::timeout(
                    Duration::from_secs(10),
                    tokio::net::TcpStream::connect(addr),
                )
                .await
                .expect("connect within 10 s")
                .expect("connect");
                (t.elapsed(), s)
            });
        }
        let mut open = Vec::with_capacity(n);
        let mut slowest = Duration::ZERO;
        while let Some(r) = set.join_next().await {
            let (took, s) = r.unwrap();
            slowest = slowest.max(took);
            open.push(s);
        }
        assert_eq!(open.len(), n);
        slowest
    })
}

#[test]
fn listener_backlog_holds_a_burst_of_a_thousand_connects() {
    let max = somaxconn();
    assert!(
        max as usize >= BURST + 24,
        "net.core.somaxconn is {max}: this machine caps every backlog below the burst of \
         {BURST} connects the test sends"
    );
    let backlog = 2048.min(max);
    // The test's own descriptors: the burst plus what the runner holds.
    codexd::nofile::raise();
    let d = Daemon::start_ready(
        Config::default()
            .set("server.backlog", &backlog.to_string())
            .set("metrics.listen", "\"127.0.0.1:0\""),
    );
    assert_eq!(ss_listen_queues(d.addr.port()).1, backlog, "API listener");
    let metrics = d.metrics_addr.expect("metrics listener");
    assert_eq!(
        ss_listen_queues(metrics.port()).1,
        backlog,
        "metrics listener"
    );

    let slowest = burst_connect(d.addr, BURST);
    eprintln!("{BURST} simultaneous connects, backlog {backlog}: slowest {slowest:?}");
    assert!(
        slowest < Duration::from_secs(1),
        "a connect waited {slowest:?}: the SYN-retry signature of a full accept queue"
    );
    // The daemon still answers once the burst is gone.
    assert_eq!(http::get(d.addr, "/livez").status, 200);
}

#[test]
fn listener_backlog_is_validated() {
    for bad in ["0", "70000"] {
        let out =
            crate::support::daemon::serve_to_exit(Config::default().set("server.backlog", bad));
        assert_eq!(out.status.code(), Some(64), "backlog {bad}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("server.backlog"),
            "the error names the key: {out:?}"
        );
    }
}

/// The `Max open files` soft and hard limits of `pid`, from `/proc/PID/limits`.
fn proc_nofile(pid: u32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let cols: Vec<&str> = line.split_whitespace().collect();
    (cols[3].parse().unwrap(), cols[4].parse().unwrap())
}

#[test]
fn descriptor_limit_is_raised_to_the_hard_one_and_logged() {
    let lowered = 256;
    let d = Daemon::start_adjusted(Config::default(), |l| l.soft_nofile(lowered));
    let line = d.wait_event(Duration::from_secs(10), "descriptor_limit_set", |e| {
        e["event"] == "descriptor_limit_set"
    });
    let (soft, hard) = proc_nofile(d.pid());
    assert_eq!(line["previous_soft"], lowered, "{line}");
    assert_eq!(line["soft"], soft, "{line}");
    assert_eq!(line["hard"], hard, "{line}");
    assert_eq!(soft, hard, "the soft limit was raised to the hard one");
    assert!(soft > lowered, "{line}");
    assert_eq!(line["level"], "info", "{line}");
}

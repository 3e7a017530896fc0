//! The run: arguments, the plan for quick and full mode, and the order of work — baseline and
//! daemons side by side, round after round, then open loop, held streams and worker kills.

use crate::api_request::{self, Shape};
use crate::args::Args;
use crate::daemon::{Daemon, Res, Spec};
use crate::direct_worker::DirectWorker;
use crate::measured_case::{self, CaseResult, Mode, Target};
use crate::procfs::{self, Clock};
use crate::proxy::{self, MinProxy};
use crate::report::{self, IdleRss, Report, Settings};
use crate::{held_streams, summary, targets, vs_proxy, worker_kill};
use std::io::Write;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Durations and sizes of one mode.
struct Plan {
    rounds: usize,
    warmup: Duration,
    case: Duration,
    open_loop: Duration,
    holds: Vec<usize>,
    kills: usize,
}

const CONCURRENCIES: [usize; 3] = [1, 8, 64];
/// Demo workers per daemon, and in the direct and proxy baselines.
const WORKERS: usize = 2;
/// Turns per worker in the load daemons (`pool_env`) and in the proxy.
const MAX_TURNS: usize = 32;

fn plan(a: &Args) -> Plan {
    let mut p = if a.quick {
        Plan {
            rounds: 1,
            warmup: Duration::from_millis(200),
            case: Duration::from_millis(1000),
            open_loop: Duration::from_millis(1000),
            holds: vec![1000],
            kills: 2,
        }
    } else {
        Plan {
            rounds: 3,
            warmup: Duration::from_millis(500),
            case: Duration::from_secs(5),
            open_loop: Duration::from_secs(5),
            holds: vec![1000, 5000],
            kills: 3,
        }
    };
    if let Some(r) = a.rounds {
        p.rounds = r.max(1);
    }
    p
}

fn env(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

/// The load daemons: two demo workers with room for 32 turns each, so that c=64 puts the
/// same 64 turns on the same two workers as the direct baseline (demo.toml's 8 per worker
/// would queue 48 of them in admission).
fn pool_env() -> Vec<(&'static str, String)> {
    env(&[
        ("CODEXD__WORKERS__COUNT", "2"),
        ("CODEXD__WORKERS__MAX_TURNS_PER_WORKER", "32"),
        ("CODEXD_DEMO_CHUNKS", "5"),
    ])
}

fn hold_env(max_streams: usize) -> Vec<(&'static str, String)> {
    let per_worker = (max_streams / WORKERS + 64).to_string();
    let mut e = env(&[
        ("CODEXD__WORKERS__COUNT", "2"),
        ("CODEXD__STREAMING__FIRST_TOKEN_TIMEOUT_MS", "1800000"),
        ("CODEXD__STREAMING__KEEPALIVE_MS", "2000"),
        ("CODEXD_DEMO_FIRST_TOKEN_DELAY_MS", "900000"),
        ("CODEXD_DEMO_CHUNKS", "5"),
    ]);
    e.push(("CODEXD__WORKERS__MAX_TURNS_PER_WORKER", per_worker));
    e
}

struct Progress(bool);

impl Progress {
    fn say(&self, line: impl AsRef<str>) {
        if self.0 {
            let _ = writeln!(std::io::stderr(), "codexd-bench: {}", line.as_ref());
        }
    }

    fn case(&self, c: &CaseResult) {
        let load = match c.rate_rps {
            Some(rate) => format!("at {rate:.0}/s"),
            None => format!("c={}", c.concurrency),
        };
        self.say(format!(
            "round {} {} {} {load}: {:.0} req/s, {} 429, p50 {:.0} µs, p99 {:.0} µs, daemon {:.1} µs/req, errors {}, foreign CPU {:.0}%",
            c.round + 1,
            c.target,
            c.shape,
            c.throughput_rps,
            c.rejected,
            c.latency.p50_us,
            c.latency.p99_us,
            c.cpu.daemon_us,
            c.errors,
            c.foreign_cpu_pct
        ));
    }
}

async fn idle(d: &Daemon, workers: usize) -> IdleRss {
    actix_rt::time::sleep(Duration::from_secs(1)).await;
    let pids = d.worker_pids().await;
    IdleRss {
        daemon: d.name.into(),
        workers,
        daemon_kib: d.rss_kib(),
        workers_kib: pids.iter().filter_map(|p| procfs::rss_kib(*p)).sum(),
    }
}

fn revision() -> String {
    std::process::Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// One closed-loop load on one target for `secs`, as a line of figures.
async fn soak_load(t: &Target<'_>, c: usize, secs: u64) -> String {
    let mode = Mode::Closed { concurrency: c };
    let d = Duration::from_secs(secs);
    let r = measured_case::case(0, t, mode, Duration::ZERO, d, Clock::new()).await;
    format!(
        "soak {} {} c={c}: {:.0} req/s, p50 {:.0} µs, p99 {:.0} µs, daemon {:.1} µs/req, workers {:.1}, generator {:.1}, errors {}",
        r.target, r.shape, r.throughput_rps, r.latency.p50_us, r.latency.p99_us, r.cpu.daemon_us, r.cpu.workers_us, r.cpu.generator_us, r.errors
    )
}

/// `--soak … --soak-proxy`: the same load on the minimal proxy, its pid on stderr.
async fn soak_proxy(a: &Args, shape: Shape, c: usize, secs: u64) -> Res<String> {
    let bin = proxy::locate(a.proxy.as_deref())?;
    let p = MinProxy::start(&bin, &a.codexd, WORKERS, MAX_TURNS, &pool_env()).await?;
    let _ = writeln!(
        std::io::stderr(),
        "codexd-bench: proxy pid {}, workers {:?}; load starts in 2 s",
        p.pid,
        p.workers
    );
    actix_rt::time::sleep(Duration::from_secs(2)).await;
    let client = api_request::load_client(Duration::from_secs(5));
    let t = Target::Proxy {
        proxy: &p,
        client: &client,
        shape,
    };
    let line = soak_load(&t, c, secs).await;
    drop(client);
    p.stop().await?;
    Ok(line)
}

/// Starts one full-telemetry daemon, names its pids on stderr (for `perf record -p`), waits
/// 2 s, then drives one closed-loop load and returns its figures as one line.
pub async fn soak(a: &Args, shape: Shape, c: usize, secs: u64) -> Res<String> {
    if a.soak_proxy {
        return soak_proxy(a, shape, c, secs).await;
    }
    let logs = a.out.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;
    let spec = Spec {
        name: "codexd_soak",
        log_level: "info",
        env: pool_env(),
    };
    let d = Daemon::start(&a.codexd, &a.config, &logs, spec).await?;
    let _ = writeln!(
        std::io::stderr(),
        "codexd-bench: daemon pid {}, workers {:?}; load starts in 2 s",
        d.pid,
        d.worker_pids().await
    );
    actix_rt::time::sleep(Duration::from_secs(2)).await;
    let client = api_request::load_client(Duration::from_secs(5));
    let t = Target::Daemon {
        daemon: &d,
        client: &client,
        shape,
    };
    let line = soak_load(&t, c, secs).await;
    drop(client);
    d.stop(a.keep_logs).await?;
    Ok(line)
}

/// Runs everything and writes the report; returns the one-line summary.
pub async fn run(a: Args) -> Res<String> {
    let _ = crate::daemon::EXTRA_ENV.set(a.extra_env.clone());
    if let Some((shape, c, secs)) = a.soak {
        return soak(&a, shape, c, secs).await;
    }
    let t0 = Instant::now();
    let mut p = plan(&a);
    let say = Progress(!a.quick);
    let nofile = procfs::raise_nofile();
    let mut problems = Vec::new();
    // Each held stream is one socket in the harness and one in the daemon.
    let fits = |n: &usize| (*n as u64) * 2 + 512 <= nofile;
    for n in p.holds.iter().filter(|n| !fits(n)) {
        problems.push(format!(
            "hold {n} skipped: the open-file limit is {nofile}; raise it (`ulimit -n {}`)",
            n * 2 + 512
        ));
    }
    p.holds.retain(fits);
    if !a.codexd.is_file() {
        return Err(format!(
            "{} not found: build it with `cargo build --release -p codexd`",
            a.codexd.display()
        ));
    }
    let proxy_bin = proxy::locate(a.proxy.as_deref())?;
    let logs = a.out.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;
    let clock = Clock::new();
    let mut idle_rss = Vec::new();
    let mut peak_rss = Vec::new();

    let pool = pool_env();
    let mut direct = Vec::new();
    for _ in 0..WORKERS {
        direct.push(DirectWorker::spawn(&a.codexd, &pool).await?);
    }
    let min_proxy = MinProxy::start(&proxy_bin, &a.codexd, WORKERS, MAX_TURNS, &pool).await?;
    let start = |name, level, env| {
        Daemon::start(
            &a.codexd,
            &a.config,
            &logs,
            Spec {
                name,
                log_level: level,
                env,
            },
        )
    };
    let full = start("codexd_full", "info", pool.clone()).await?;
    let minimal = start("codexd_minimal", "error", pool.clone()).await?;
    idle_rss.push(idle(&full, WORKERS).await);
    idle_rss.push(idle(&minimal, WORKERS).await);
    say.say(format!(
        "daemons ready; idle RSS {} KiB",
        idle_rss[0].daemon_kib
    ));

    let client = api_request::load_client(Duration::from_secs(5));
    let daemon = |d, shape| Target::Daemon {
        daemon: d,
        client: &client,
        shape,
    };
    let proxied = |shape| Target::Proxy {
        proxy: &min_proxy,
        client: &client,
        shape,
    };
    let mut cases = Vec::new();
    for round in 0..p.rounds {
        for &c in &CONCURRENCIES {
            let mode = Mode::Closed { concurrency: c };
            let mut order = vec![Target::Direct(&direct)];
            for shape in [Shape::ChatUnary, Shape::ChatStream] {
                // full, (minimal at c=64,) proxy; reversed in odd rounds, so drift on the
                // host hits codexd and its baselines alike.
                let mut group = vec![daemon(&full, shape)];
                if c == 64 {
                    group.push(daemon(&minimal, shape));
                }
                group.push(proxied(shape));
                if round % 2 == 1 {
                    group.reverse();
                }
                order.extend(group);
            }
            for t in &order {
                let r = measured_case::case(round, t, mode, p.warmup, p.case, clock).await;
                say.case(&r);
                cases.push(r);
            }
        }
        let r = measured_case::case(
            round,
            &daemon(&full, Shape::ResponsesStream),
            Mode::Closed { concurrency: 8 },
            p.warmup,
            p.case,
            clock,
        )
        .await;
        say.case(&r);
        cases.push(r);
    }
    let mut open_loop = Vec::new();
    let base =
        report::med(&cases, "codexd_full", "stream", 64, |x| x.throughput_rps).unwrap_or(100.0);
    // Below capacity: at 0.9 of the closed-loop rate, the lower batching of an open loop
    // already pushes codexd into admission's 429s on two shared cores.
    for frac in [0.3, 0.6] {
        let mode = Mode::Open {
            rate: (base * frac).max(10.0),
            max_outstanding: 4096,
        };
        for t in [Target::Direct(&direct), daemon(&full, Shape::ChatStream)] {
            let r = measured_case::case(0, &t, mode, p.warmup, p.open_loop, clock).await;
            say.case(&r);
            open_loop.push(r);
        }
    }
    for c in cases.iter().chain(&open_loop) {
        if c.errors > 0 {
            problems.push(format!(
                "{} {} {} c={} round {}: {} errors, first: {}",
                c.target,
                c.shape,
                c.mode,
                c.concurrency,
                c.round + 1,
                c.errors,
                c.first_error.as_deref().unwrap_or("?")
            ));
        }
    }

    drop(client);
    for w in direct {
        w.stop().await;
    }
    peak_rss.push((
        "proxy".to_owned(),
        procfs::hwm_kib(min_proxy.pid).unwrap_or(0),
    ));
    if let Err(e) = min_proxy.stop().await {
        problems.push(e);
    }
    for d in [full, minimal] {
        peak_rss.push((d.name.to_owned(), procfs::hwm_kib(d.pid).unwrap_or(0)));
        if let Err(e) = d.stop(a.keep_logs).await {
            problems.push(e);
        }
    }

    // A fresh daemon per N: memory freed by one hold is kept by the allocator and would be
    // reused by the next, hiding its cost.
    let max_hold = p.holds.iter().max().copied().unwrap_or(0);
    let mut holds = Vec::new();
    for &n in &p.holds {
        let hold_daemon = start("codexd_hold", "info", hold_env(n)).await?;
        idle_rss.push(idle(&hold_daemon, WORKERS).await);
        match held_streams::hold(&hold_daemon, n).await {
            Ok(h) => {
                say.say(format!(
                    "held {} streams: {:.0} B each, {:.0}% retained after drop",
                    h.opened,
                    h.per_stream_bytes,
                    h.retained_fraction * 100.0
                ));
                if h.opened < n {
                    problems.push(format!(
                        "hold {n}: only {} opened ({})",
                        h.opened,
                        h.first_error.as_deref().unwrap_or("?")
                    ));
                }
                holds.push(h);
            }
            Err(e) => problems.push(format!("hold {n}: {e}")),
        }
        peak_rss.push((
            format!("codexd_hold ({n} streams)"),
            procfs::hwm_kib(hold_daemon.pid).unwrap_or(0),
        ));
        if let Err(e) = hold_daemon.stop(a.keep_logs).await {
            problems.push(e);
        }
    }

    let kill_daemon = start(
        "codexd_kill",
        "info",
        env(&[("CODEXD__WORKERS__COUNT", "1"), ("CODEXD_DEMO_CHUNKS", "5")]),
    )
    .await?;
    idle_rss.push(idle(&kill_daemon, 1).await);
    let mut kills = Vec::new();
    for _ in 0..p.kills {
        match worker_kill::kill_once(&kill_daemon, Duration::from_secs(30)).await {
            Ok(k) => {
                say.say(format!(
                    "kill: 503 after {:.1} ms, 200 after {:.1} ms",
                    k.to_503_ms, k.to_200_ms
                ));
                kills.push(k);
            }
            Err(e) => problems.push(format!("kill: {e}")),
        }
        actix_rt::time::sleep(Duration::from_millis(500)).await;
    }
    if let Err(e) = kill_daemon.stop(a.keep_logs).await {
        problems.push(e);
    }

    let mut r = Report {
        mode: if a.quick { "quick" } else { "full" },
        started_unix: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            .saturating_sub(t0.elapsed().as_secs()),
        wall_s: 0.0,
        machine: procfs::machine(),
        settings: Settings {
            rounds: p.rounds,
            warmup_s: p.warmup.as_secs_f64(),
            case_s: p.case.as_secs_f64(),
            open_loop_s: p.open_loop.as_secs_f64(),
            concurrencies: CONCURRENCIES.to_vec(),
            hold_streams: p.holds.clone(),
            kills: p.kills,
            codexd: a.codexd.display().to_string(),
            proxy: proxy_bin.display().to_string(),
            config: a.config.display().to_string(),
            revision: revision(),
            nofile_limit: nofile,
            daemon_env: pool
                .iter()
                .chain(hold_env(max_hold).iter())
                .map(|(k, v)| format!("{k}={v}"))
                .chain(a.extra_env.iter().map(|(k, v)| format!("{k}={v} (--env)")))
                .collect(),
        },
        idle_rss,
        peak_rss,
        telemetry: report::telemetry(&cases, 64),
        overhead: report::overhead(&cases, &CONCURRENCIES),
        vs_proxy: vs_proxy::rows(&cases, &CONCURRENCIES),
        cases,
        open_loop,
        hold: holds,
        kill: kills,
        targets: Vec::new(),
        problems,
    };
    r.targets = targets::compute(&r);
    r.wall_s = t0.elapsed().as_secs_f64();
    write_outputs(&a, &r)
}

fn write_outputs(a: &Args, r: &Report) -> Res<String> {
    let json_path = a.out.join("report.json");
    let md_path = a.out.join("summary.md");
    let json = serde_json::to_vec_pretty(r).map_err(|e| format!("report: {e}"))?;
    std::fs::write(&json_path, json).map_err(|e| format!("{}: {e}", json_path.display()))?;
    std::fs::write(&md_path, summary::render(r))
        .map_err(|e| format!("{}: {e}", md_path.display()))?;
    Ok(summary::one_line(r, &json_path.display().to_string()))
}

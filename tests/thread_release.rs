//! Threads are released on real workers: codexd's own actor tree (bus, health, supervisor,
//! connections, streams — the code the daemon runs) drives real worker processes, the demo
//! worker (`codexd demo-worker`) and the pinned Codex CLI against the mock provider, through
//! a few hundred requests, then asks each worker for its loaded threads
//! (`thread/loaded/list`) and reads its RSS from `/proc/<pid>/status`. Both must stay flat:
//! every request's thread is unsubscribed when its turn is done.
//!
//! The tree runs in the test (not behind HTTP) because `thread/loaded/list` is a worker RPC
//! the daemon does not expose; the processes, pipes and protocol are the real ones.

use crate::support::codex_env::{self, MOCK_API_KEY, MOCK_API_KEY_ENV, MOCK_MODEL};
use crate::support::daemon::{scratch_dir, BIN};
use crate::support::mock_provider::{MockProvider, Reply};
use actix::prelude::*;
use codexd_actors::bus::Subscribe;
use codexd_actors::health::{GetHealth, HealthAggregator, HealthSettings};
use codexd_actors::ingress::{RouteClass, RouteLabel};
use codexd_actors::labels::StreamOutcome;
use codexd_actors::stream::{StreamSettings, UpstreamStream, UpstreamTiming};
use codexd_actors::turn::{ReqIds, RequestContext, StreamOutput, TurnRequest};
use codexd_actors::worker::backoff::BackoffPolicy;
use codexd_actors::worker::connection::{ConnectionSettings, ListLoadedThreads};
use codexd_actors::worker::process::SpawnSpec;
use codexd_actors::worker::supervisor::AcquireLease;
use codexd_actors::worker::{Lease, SupervisorSettings, WorkerSupervisor};
use codexd_actors::{Bus, BusHandle};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

const CHAT: RouteLabel = RouteLabel::new("/v1/chat/completions", RouteClass::Generation);
/// Turns run at once on the worker.
const CONCURRENCY: usize = 4;

/// One worker slot driven by codexd's actors.
struct Tree {
    bus: BusHandle,
    supervisor: Addr<WorkerSupervisor>,
    health: Addr<HealthAggregator>,
    streams: StreamSettings,
    model: String,
}

impl Tree {
    fn start(spec: SpawnSpec, model: &str) -> Tree {
        let logger = slog::Logger::root(slog::Discard, slog::o!());
        let bus = BusHandle::new(Bus::new(logger, None).start());
        let health = HealthAggregator::new(
            HealthSettings {
                slots: 1,
                min_ready_workers: 1,
                version: "test".into(),
                unready_when_exhausted: false,
            },
            bus.clone(),
        )
        .start();
        bus.addr().do_send(Subscribe {
            name: "health",
            recipient: health.clone().recipient(),
            required: true,
        });
        let ms = Duration::from_millis;
        let backoff = BackoffPolicy::try_new(ms(50), ms(500), 2.0, ms(10_000), 3, ms(10_000))
            .expect("a valid backoff");
        let settings = SupervisorSettings {
            count: 1,
            launch: Arc::new(spec),
            backoff,
            failed_retry: Duration::from_secs(60),
            max_turns_per_worker: CONCURRENCY as u32,
            queue_size: 64,
            stop_grace: ms(2000),
            connection: Arc::new(ConnectionSettings {
                handshake_timeout: Duration::from_secs(20),
                ping_interval: Duration::from_secs(5),
                ping_timeout: Duration::from_secs(5),
                max_line_bytes: 8 << 20,
                accept_approvals: false,
                client_version: "test".into(),
                approval_policy: "never".into(),
                sandbox: "read-only".into(),
                cwd: None,
                unknown_notifications: None,
                tools: Default::default(),
                models: Default::default(),
                accounts: Arc::new(codexd_actors::accounts::AccountBook::single(1)),
            }),
            queue_depth: None,
            pool: Default::default(),
        };
        let supervisor = WorkerSupervisor::new(settings, bus.clone()).start();
        let streams = StreamSettings {
            first_token_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(10),
            keepalive: Duration::ZERO,
            interrupt_grace: ms(2000),
            active: Arc::new(AtomicUsize::new(0)),
            capture_content: false,
            retry_before_first_byte: true,
        };
        Tree {
            bus,
            supervisor,
            health,
            streams,
            model: model.to_owned(),
        }
    }

    /// The worker's pid once it is ready.
    async fn ready_pid(&self) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let h = self.health.send(GetHealth).await.expect("health answers");
            if let Some(w) = h.workers.first() {
                if w.state == "ready" {
                    if let Some(pid) = w.pid {
                        return pid;
                    }
                }
            }
            assert!(Instant::now() < deadline, "the worker never became ready");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn lease(&self, req: &str) -> Lease {
        let (reply, rx) = oneshot::channel();
        self.supervisor.do_send(AcquireLease {
            ids: ids(req),
            reply,
        });
        tokio::time::timeout(Duration::from_secs(20), rx)
            .await
            .expect("a lease within 20 s")
            .expect("the supervisor answers")
            .expect("a lease, not a rejection")
    }

    /// One request, start to end; its outcome.
    async fn request(&self, req: String) -> StreamOutcome {
        let lease = self.lease(&req).await;
        let (out, mut rx) = mpsc::unbounded_channel();
        let gap = prometheus::Histogram::with_opts(prometheus::HistogramOpts::new("gap", "gap"))
            .expect("a histogram");
        UpstreamStream::new(
            Arc::new(TurnRequest {
                ctx: RequestContext {
                    ids: ids(&req),
                    ..RequestContext::default()
                },
                route: CHAT,
                model_id: self.model.clone(),
                codex_model: self.model.clone(),
                reasoning_effort: None,
                developer_instructions: None,
                input: format!("Say hello ({req})."),
                stream: true,
                accepted_at: Instant::now(),
                tools: Default::default(),
                features: Default::default(),
            }),
            lease,
            out,
            self.bus.clone(),
            self.streams.clone(),
            gap,
            Arc::new(UpstreamTiming::default()),
        )
        .start();
        let wait = async {
            while let Some(o) = rx.recv().await {
                if let StreamOutput::Ended(outcome) = o {
                    return outcome;
                }
            }
            StreamOutcome::WorkerLost
        };
        tokio::time::timeout(Duration::from_secs(20), wait)
            .await
            .expect("the request ends within 20 s")
    }

    /// `n` requests, `CONCURRENCY` at a time; all must complete.
    async fn requests(&self, label: &str, n: usize) {
        for batch in 0..n.div_ceil(CONCURRENCY) {
            let reqs = (0..CONCURRENCY)
                .map(|i| batch * CONCURRENCY + i)
                .filter(|i| *i < n)
                .map(|i| self.request(format!("{label}-{i}")));
            for outcome in futures_util::future::join_all(reqs).await {
                assert_eq!(outcome, StreamOutcome::Completed);
            }
        }
    }

    /// The worker's loaded threads; waits up to `settle` for them to drop to `at_most`.
    async fn loaded(&self, at_most: usize, settle: Duration) -> usize {
        let deadline = Instant::now() + settle;
        loop {
            let lease = self.lease("probe").await;
            let loaded = lease
                .conn
                .send(ListLoadedThreads)
                .await
                .expect("the connection answers")
                .expect("the worker lists its loaded threads")
                .len();
            drop(lease);
            if loaded <= at_most || Instant::now() >= deadline {
                return loaded;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn ids(req: &str) -> ReqIds {
    ReqIds {
        req_id: req.to_owned(),
        trace_id: format!("trace-{req}"),
        span_id: format!("span-{req}"),
        key_id: None,
    }
}

/// VmRSS of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc status")
}

/// Warms the worker up, then runs `n` requests and returns (loaded, RSS KiB) before and after.
async fn measure(tree: &Tree, warmup: usize, n: usize, settle: Duration) -> [(usize, u64); 2] {
    let pid = tree.ready_pid().await;
    tree.requests("warmup", warmup).await;
    let before = (tree.loaded(0, settle).await, rss_kib(pid));
    tree.requests("load", n).await;
    let after = (tree.loaded(0, settle).await, rss_kib(pid));
    assert_eq!(tree.ready_pid().await, pid, "the same worker throughout");
    [before, after]
}

/// Prints the measurement (visible with `--nocapture`).
#[expect(clippy::print_stderr, reason = "the measurement is the test's report")]
fn report(worker: &str, n: usize, [before, after]: [(usize, u64); 2]) {
    eprintln!(
        "{worker}: {n} requests: loaded threads {} -> {}, VmRSS {} KiB -> {} KiB",
        before.0, after.0, before.1, after.1
    );
}

#[test]
fn the_demo_worker_holds_no_thread_and_stays_flat_after_hundreds_of_requests() {
    const N: usize = 400;
    let spec = SpawnSpec {
        program: PathBuf::from(BIN),
        args: vec!["demo-worker".into()],
        env_allowlist: vec!["PATH".into()],
        env: BTreeMap::new(),
        codex_home: None,
        cwd: None,
    };
    let [before, after] = actix_rt::System::new().block_on(async {
        let tree = Tree::start(spec, "demo");
        measure(&tree, 40, N, Duration::from_secs(2)).await
    });
    report("demo worker", N, [before, after]);
    assert_eq!((before.0, after.0), (0, 0), "threads left loaded");
    assert!(
        after.1 <= before.1 + 2048,
        "the demo worker grew from {} KiB to {} KiB over {N} requests",
        before.1,
        after.1
    );
}

#[test]
fn real_codex_holds_no_thread_and_stays_flat_after_hundreds_of_requests() {
    // Codex spends ~0.1-0.3 s of CPU on each thread/start: a modest count keeps this test
    // well under a minute on a busy machine (200 requests measured the same: 0 threads left).
    const N: usize = 50;
    let bin = codex_env::codex_bin()
        .ok()
        .filter(|b| b.is_file())
        .expect("CODEXD_CODEX_BIN names the pinned Codex CLI (source .cache/test-env)");
    let mock = MockProvider::start(Reply::default()).expect("start the mock provider");
    let mut args = codex_env::worker_args(&mock.base_url(), MOCK_MODEL);
    // A short unload delay, and none of Codex's own tools, skills, plugins or apps: each
    // thread/start then costs milliseconds instead of loading them (flags from the protocol
    // notes, all accepted by --strict-config).
    for kv in [
        "thread_unload_delay_secs=1",
        "features.shell_tool=false",
        "features.goals=false",
        "features.multi_agent=false",
        "web_search=\"disabled\"",
        "features.view_image=false",
        "skills.bundled.enabled=false",
        "features.plugins=false",
        "features.apps=false",
    ] {
        args.extend(["-c".to_owned(), kv.to_owned()]);
    }
    let spec = SpawnSpec {
        program: bin,
        args,
        env_allowlist: vec!["PATH".into(), "HOME".into()],
        env: BTreeMap::from([(MOCK_API_KEY_ENV.to_owned(), MOCK_API_KEY.to_owned())]),
        codex_home: Some(codex_env::fresh_codex_home("thread-release").expect("CODEX_HOME")),
        cwd: Some(scratch_dir("thread-release-cwd")),
    };
    let [before, after] = actix_rt::System::new().block_on(async {
        let tree = Tree::start(spec, MOCK_MODEL);
        measure(&tree, 10, N, Duration::from_secs(5)).await
    });
    report("real Codex", N, [before, after]);
    drop(mock);
    assert_eq!((before.0, after.0), (0, 0), "threads left loaded");
    assert!(
        after.1 <= before.1 + 16 * 1024,
        "Codex grew from {} KiB to {} KiB over {N} requests",
        before.1,
        after.1
    );
}

//! The shutdown sequence, each phase bounded and logged: readiness off → stop accepting work →
//! drain in-flight streams → stop workers (SIGTERM, grace, SIGKILL) → flush telemetry.

use actix::Addr;
use actix_web::dev::ServerHandle;
use codexd_actors::events::{Event, RuntimeEvent};
use codexd_actors::labels::ShutdownPhase;
use codexd_actors::stream::StreamSettings;
use codexd_actors::worker::supervisor::{BeginDrain, StopWorkers};
use codexd_actors::worker::WorkerSupervisor;
use codexd_actors::BusHandle;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Everything the sequence acts on.
pub struct Plan {
    pub bus: BusHandle,
    pub supervisor: Addr<WorkerSupervisor>,
    pub draining: Arc<AtomicBool>,
    pub servers: Vec<ServerHandle>,
    pub streams: StreamSettings,
    pub stop_tx: tokio::sync::watch::Sender<bool>,
    pub drain_timeout: Duration,
    pub stop_timeout: Duration,
    pub exporter: Option<Arc<crate::telemetry::export::Exporter>>,
    pub flush_timeout: Duration,
}

/// Runs one phase; the future reports whether it timed out.
async fn phase<F: Future<Output = bool>>(bus: &BusHandle, phase: ShutdownPhase, f: F) {
    bus.publish(Event::Runtime(RuntimeEvent::ShutdownPhaseStarted { phase }));
    let t = Instant::now();
    let timed_out = f.await;
    bus.publish(Event::Runtime(RuntimeEvent::ShutdownPhaseCompleted {
        phase,
        duration_ms: t.elapsed().as_millis() as u64,
        timed_out,
    }));
}

async fn wait_for_streams(streams: &StreamSettings, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while streams.active.load(Ordering::SeqCst) > 0 {
        if Instant::now() >= deadline {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Runs every phase in order.
pub async fn run(plan: Plan) {
    let bus = &plan.bus;
    phase(bus, ShutdownPhase::ReadinessOff, async { false }).await;
    phase(bus, ShutdownPhase::StopAccepting, async {
        plan.draining.store(true, Ordering::SeqCst);
        // Listeners stay open so probes keep answering (`/readyz` says `draining`); new API
        // requests are refused with 503 until the listeners close after the drain.
        plan.supervisor.do_send(BeginDrain);
        false
    })
    .await;
    phase(bus, ShutdownPhase::DrainStreams, async {
        let timed_out = wait_for_streams(&plan.streams, plan.drain_timeout).await;
        if timed_out {
            let _ = plan.stop_tx.send(true);
            wait_for_streams(
                &plan.streams,
                plan.streams.interrupt_grace + Duration::from_secs(1),
            )
            .await;
        }
        // Responses are complete; give the listeners a moment to flush, then close them.
        let stops = plan.servers.iter().map(|s| s.stop(true));
        let _ = tokio::time::timeout(
            Duration::from_secs(2),
            futures_util::future::join_all(stops),
        )
        .await;
        timed_out
    })
    .await;
    phase(bus, ShutdownPhase::StopWorkers, async {
        let (tx, rx) = tokio::sync::oneshot::channel();
        plan.supervisor.do_send(StopWorkers { done: tx });
        tokio::time::timeout(plan.stop_timeout, rx).await.is_err()
    })
    .await;
    phase(bus, ShutdownPhase::FlushTelemetry, async {
        // Give the recorder a moment to turn the last events into spans, then flush them.
        tokio::time::sleep(Duration::from_millis(50)).await;
        match plan.exporter.clone() {
            Some(e) => {
                let timeout = plan.flush_timeout;
                !tokio::task::spawn_blocking(move || e.flush(timeout))
                    .await
                    .unwrap_or(false)
            }
            None => false,
        }
    })
    .await;
}

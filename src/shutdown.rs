//! The shutdown sequence, each phase bounded and logged: readiness off → stop accepting work →
//! drain in-flight streams → stop workers (SIGTERM, grace, SIGKILL) → flush telemetry.
//! The supervisor owns draining: the sequence asks it to drain and awaits its answer (the
//! last lease came back) within the documented bounds; nothing here polls.

use actix::Addr;
use actix_web::dev::ServerHandle;
use codexd_actors::events::{Event, RuntimeEvent};
use codexd_actors::labels::ShutdownPhase;
use codexd_actors::worker::supervisor::{BeginDrain, InterruptLeases, StopWorkers};
use codexd_actors::worker::WorkerSupervisor;
use codexd_actors::BusHandle;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// After the drain deadline, interrupted streams get `streaming.interrupt_grace_ms` plus this.
const INTERRUPT_SLACK: Duration = Duration::from_secs(1);
/// How long the listeners get to finish their last responses and close.
const LISTENER_CLOSE: Duration = Duration::from_secs(2);
/// How long the span recorder gets to turn the last events into spans before the flush.
const RECORDER_SETTLE: Duration = Duration::from_millis(50);
/// The workers get `workers.stop_grace_ms` plus this to be reaped after SIGKILL.
const STOP_SLACK: Duration = Duration::from_secs(2);
/// The trace flush gets `tracing.export_timeout_ms` plus this.
const FLUSH_SLACK: Duration = Duration::from_secs(1);
/// How long the usage ledger gets to write its last batch.
const LEDGER_FLUSH: Duration = Duration::from_secs(5);
/// How long the bus gets to write its last lines (`daemon_stopped`) before the system stops.
pub const LOG_SETTLE: Duration = Duration::from_millis(50);

/// Everything the sequence acts on, and the configured bounds of its phases
/// (`server.drain_timeout_ms`, `streaming.interrupt_grace_ms`, `workers.stop_grace_ms`,
/// `tracing.export_timeout_ms`); the slack on top of each is defined here.
pub struct Plan {
    pub bus: BusHandle,
    pub supervisor: Addr<WorkerSupervisor>,
    pub servers: Vec<ServerHandle>,
    pub drain_timeout: Duration,
    pub interrupt_grace: Duration,
    pub stop_grace: Duration,
    pub exporter: Option<Arc<crate::telemetry::export::Exporter>>,
    pub export_timeout: Duration,
    /// The usage ledger: its last batch is written in the flush phase.
    pub usage: Option<Arc<crate::usage::ledger::Ledger>>,
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

/// Runs every phase in order.
pub async fn run(plan: Plan) {
    let bus = &plan.bus;
    phase(bus, ShutdownPhase::ReadinessOff, async { false }).await;
    let (drained_tx, mut drained) = oneshot::channel();
    phase(bus, ShutdownPhase::StopAccepting, async {
        // Listeners stay open so probes keep answering (`/readyz` says `draining`); the
        // supervisor refuses new leases (503 `draining`) until the listeners close after
        // the drain.
        plan.supervisor.do_send(BeginDrain {
            drained: drained_tx,
        });
        false
    })
    .await;
    phase(bus, ShutdownPhase::DrainStreams, async {
        // A supervisor that is gone drops the sender: nothing left to drain.
        let timed_out = tokio::time::timeout(plan.drain_timeout, &mut drained)
            .await
            .is_err();
        if timed_out {
            plan.supervisor.do_send(InterruptLeases);
            let _ =
                tokio::time::timeout(plan.interrupt_grace + INTERRUPT_SLACK, &mut drained).await;
        }
        // Responses are complete; give the listeners a moment to flush, then close them.
        let stops = plan.servers.iter().map(|s| s.stop(true));
        let _ = tokio::time::timeout(LISTENER_CLOSE, futures_util::future::join_all(stops)).await;
        timed_out
    })
    .await;
    phase(bus, ShutdownPhase::StopWorkers, async {
        let (tx, rx) = oneshot::channel();
        plan.supervisor.do_send(StopWorkers { done: tx });
        tokio::time::timeout(plan.stop_grace + STOP_SLACK, rx)
            .await
            .is_err()
    })
    .await;
    phase(bus, ShutdownPhase::FlushTelemetry, async {
        tokio::time::sleep(RECORDER_SETTLE).await;
        let ledger_timed_out = match plan.usage.clone() {
            Some(l) => !tokio::task::spawn_blocking(move || l.flush_blocking(LEDGER_FLUSH))
                .await
                .unwrap_or(false),
            None => false,
        };
        ledger_timed_out
            | match plan.exporter.clone() {
                Some(e) => {
                    let timeout = plan.export_timeout + FLUSH_SLACK;
                    !tokio::task::spawn_blocking(move || e.flush(timeout))
                        .await
                        .unwrap_or(false)
                }
                None => false,
            }
    })
    .await;
}

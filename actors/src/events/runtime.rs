//! The runtime domain's events (start-up, listeners, the shutdown sequence, panics, dropped
//! telemetry) and its label set, the numbered shutdown phases.

use super::declare::events;
use crate::label_enum;

label_enum!(
    /// The numbered shutdown phases.
    ShutdownPhase {
        ReadinessOff => "readiness_off",
        StopAccepting => "stop_accepting",
        DrainStreams => "drain_streams",
        StopWorkers => "stop_workers",
        FlushTelemetry => "flush_telemetry",
    }
);

events! {
    /// Daemon lifecycle and the daemon's own telemetry.
    pub enum RuntimeEvent {
        DaemonStarted { workers: u32, pid: u32 } => Info, Runtime, "daemon started";
        ListenerBound { role: &'static str, addr: String } => Info, Http, "listener bound";
        ShutdownPhaseStarted { phase: ShutdownPhase }
            => Info, Runtime, "shutdown phase started";
        /// Logged at warn when the phase ran out of time.
        ShutdownPhaseCompleted { phase: ShutdownPhase, duration_ms: u64, timed_out: bool }
            => if *timed_out { Warning } else { Info }, Runtime, "shutdown phase completed";
        ShutdownForced => Warning, Runtime, "shutdown forced by second signal";
        /// Logged at warn when the soft limit could not be raised to the hard one.
        DescriptorLimitSet { previous_soft: u64, soft: u64, hard: u64 }
            => if *soft < *hard { Warning } else { Info }, Runtime, "descriptor limit set";
        DaemonStopped { uptime_ms: u64 } => Info, Runtime, "daemon stopped";
        StartupFailed { error: String, error_code: &'static str }
            => Error, Runtime, "startup failed";
        /// Only static panic messages are recorded: a formatted one could carry data.
        PanicOccurred { location: String, error: &'static str }
            => Critical, Runtime, "panic", error_code = "panic";
        ContentCaptureEnabled => Warning, Runtime, "content capture enabled";
        BusEventsDropped { subscriber: &'static str, dropped: u64 }
            => Warning, Runtime, "bus events dropped";
        SpansDropped { dropped: u64, reason: &'static str => "error_code" }
            => Warning, Tracing, "spans dropped";
        /// The usage ledger could not write a batch (kept and retried); at most once a
        /// minute while the ledger keeps failing.
        UsageFlushFailed { backend: &'static str, rows: u64, failures: u64, error: String }
            => Warning, Runtime, "usage flush failed", error_code = "usage_flush_failed";
    }
}

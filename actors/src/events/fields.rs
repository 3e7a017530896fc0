//! The typed log fields of every event (its slog `KV` serialisation). Only these fields
//! ever reach a log line.

use super::*;
use slog::{Serializer, KV};

fn opt_str(s: &mut dyn Serializer, key: &'static str, v: &Option<String>) -> slog::Result {
    match v {
        Some(v) => s.emit_str(key, v),
        None => Ok(()),
    }
}

fn opt_i32(s: &mut dyn Serializer, key: &'static str, v: Option<i32>) -> slog::Result {
    match v {
        Some(v) => s.emit_i32(key, v),
        None => s.emit_none(key),
    }
}

fn usage(s: &mut dyn Serializer, u: &TokenUsage) -> slog::Result {
    s.emit_u64("input_tokens", u.input)?;
    s.emit_u64("output_tokens", u.output)?;
    s.emit_u64("cached_input_tokens", u.cached_input)?;
    s.emit_u64("reasoning_tokens", u.reasoning)
}

fn req(s: &mut dyn Serializer, ids: &ReqIds) -> slog::Result {
    s.emit_str("req_id", &ids.req_id)?;
    s.emit_str("trace_id", &ids.trace_id)?;
    s.emit_str("span_id", &ids.span_id)
}

impl KV for Event {
    fn serialize(&self, _: &slog::Record<'_>, s: &mut dyn Serializer) -> slog::Result {
        match self {
            Event::Runtime(e) => runtime_fields(e, s),
            Event::Http(e) => http_fields(e, s),
            Event::Stream(e) => stream_fields(e, s),
            Event::Worker(e) => worker_fields(e, s),
            Event::Health(HealthEvent::ReadinessChanged {
                ready,
                reason,
                ready_workers,
            }) => {
                s.emit_bool("ready", *ready)?;
                s.emit_str("reason", reason.as_str())?;
                s.emit_u32("ready_workers", *ready_workers)
            }
        }
    }
}

fn runtime_fields(e: &RuntimeEvent, s: &mut dyn Serializer) -> slog::Result {
    match e {
        RuntimeEvent::DaemonStarted { workers, pid } => {
            s.emit_u32("workers", *workers)?;
            s.emit_u32("pid", *pid)
        }
        RuntimeEvent::ListenerBound { role, addr } => {
            s.emit_str("role", role)?;
            s.emit_str("addr", addr)
        }
        RuntimeEvent::ShutdownPhaseStarted { phase } => s.emit_str("phase", phase.as_str()),
        RuntimeEvent::ShutdownPhaseCompleted {
            phase,
            duration_ms,
            timed_out,
        } => {
            s.emit_str("phase", phase.as_str())?;
            s.emit_u64("duration_ms", *duration_ms)?;
            s.emit_bool("timed_out", *timed_out)
        }
        RuntimeEvent::ShutdownForced => Ok(()),
        RuntimeEvent::DaemonStopped { uptime_ms } => s.emit_u64("uptime_ms", *uptime_ms),
        RuntimeEvent::StartupFailed { error, error_code } => {
            s.emit_str("error", error)?;
            s.emit_str("error_code", error_code)
        }
        RuntimeEvent::PanicOccurred { location, error } => {
            s.emit_str("location", location)?;
            s.emit_str("error", error)?;
            s.emit_str("error_code", "panic")
        }
        RuntimeEvent::ContentCaptureEnabled => Ok(()),
        RuntimeEvent::BusEventsDropped {
            subscriber,
            dropped,
        } => {
            s.emit_str("subscriber", subscriber)?;
            s.emit_u64("dropped", *dropped)
        }
        RuntimeEvent::SpansDropped { dropped, reason } => {
            s.emit_u64("dropped", *dropped)?;
            s.emit_str("error_code", reason)
        }
    }
}

fn http_fields(e: &HttpEvent, s: &mut dyn Serializer) -> slog::Result {
    match e {
        HttpEvent::RequestReceived { ids, method, route } => {
            req(s, ids)?;
            s.emit_str("method", method.as_str())?;
            s.emit_str("route", route.as_str())
        }
        HttpEvent::RequestCompleted(r) => {
            req(s, &r.ids)?;
            s.emit_str("method", r.method.as_str())?;
            s.emit_str("route", r.route.as_str())?;
            s.emit_u16("status", r.status)?;
            s.emit_f64("duration_ms", round3(r.duration_ms))?;
            s.emit_f64("upstream_wait_ms", round3(r.upstream_wait_ms))?;
            s.emit_u64("bytes_out", r.bytes_out)?;
            s.emit_bool("stream", r.stream)?;
            s.emit_str("outcome", r.outcome.as_str())?;
            opt_str(s, "model", &r.model)?;
            opt_str(s, "user_agent", &r.user_agent)?;
            if let Some(code) = r.error_code {
                s.emit_str("error_code", code)?;
            }
            opt_str(s, "error", &r.error)
        }
        HttpEvent::AdmissionRejected { ids, reason } => {
            req(s, ids)?;
            s.emit_str("reason", reason.as_str())
        }
    }
}

fn stream_fields(e: &StreamEvent, s: &mut dyn Serializer) -> slog::Result {
    match e {
        StreamEvent::StreamStarted {
            ids,
            route,
            model,
            slot,
            stream,
            queue_wait_ms,
        } => {
            req(s, ids)?;
            s.emit_str("route", route.as_str())?;
            s.emit_str("model", model)?;
            s.emit_usize("worker", *slot)?;
            s.emit_bool("stream", *stream)?;
            s.emit_f64("queue_wait_ms", round3(*queue_wait_ms))
        }
        StreamEvent::TurnStarted {
            ids,
            slot,
            thread_id,
            turn_id,
        } => {
            req(s, ids)?;
            s.emit_usize("worker", *slot)?;
            s.emit_str("thread_id", thread_id)?;
            s.emit_str("turn_id", turn_id)
        }
        StreamEvent::FirstTokenReceived {
            ids,
            route,
            model,
            ttft_ms,
        } => {
            req(s, ids)?;
            s.emit_str("route", route.as_str())?;
            s.emit_str("model", model)?;
            s.emit_f64("ttft_ms", round3(*ttft_ms))
        }
        StreamEvent::UpstreamErrorReceived { ids, slot, kind } => {
            req(s, ids)?;
            s.emit_usize("worker", *slot)?;
            s.emit_str("error_code", kind.as_str())
        }
        StreamEvent::TurnInterruptSent { ids, slot, cause } => {
            req(s, ids)?;
            s.emit_usize("worker", *slot)?;
            s.emit_str("cause", cause.as_str())
        }
        StreamEvent::TurnInterruptConfirmed { ids, slot } => {
            req(s, ids)?;
            s.emit_usize("worker", *slot)
        }
        StreamEvent::ContentCaptured { ids, input, output } => {
            req(s, ids)?;
            s.emit_str("input", input)?;
            s.emit_str("output", output)
        }
        StreamEvent::StreamEnded(x) => {
            req(s, &x.ids)?;
            s.emit_str("route", x.route.as_str())?;
            s.emit_str("model", &x.model)?;
            s.emit_usize("worker", x.slot)?;
            s.emit_str("outcome", x.outcome.as_str())?;
            s.emit_f64("duration_ms", round3(x.duration_ms))?;
            match x.ttft_ms {
                Some(t) => s.emit_f64("ttft_ms", round3(t))?,
                None => s.emit_none("ttft_ms")?,
            }
            s.emit_u64("chunks", x.chunks)?;
            usage(s, &x.usage)
        }
    }
}

fn worker_fields(e: &WorkerEvent, s: &mut dyn Serializer) -> slog::Result {
    match e {
        WorkerEvent::WorkerSpawned {
            slot,
            pid,
            generation,
        } => {
            s.emit_usize("worker", *slot)?;
            s.emit_u32("worker_pid", *pid)?;
            s.emit_u64("generation", *generation)
        }
        WorkerEvent::WorkerSpawnFailed { slot, error } => {
            s.emit_usize("worker", *slot)?;
            s.emit_str("error", error)?;
            s.emit_str("error_code", "spawn_failed")
        }
        WorkerEvent::WorkerReady {
            slot,
            pid,
            handshake_ms,
        } => {
            s.emit_usize("worker", *slot)?;
            s.emit_u32("worker_pid", *pid)?;
            s.emit_f64("handshake_ms", round3(*handshake_ms))
        }
        WorkerEvent::WorkerStateChanged { slot, from, to }
        | WorkerEvent::SlotTransitionRefused { slot, from, to } => {
            s.emit_usize("worker", *slot)?;
            s.emit_str("from", from.as_str())?;
            s.emit_str("to", to.as_str())
        }
        WorkerEvent::WorkerExited {
            slot,
            pid,
            code,
            signal,
            reason,
            uptime_ms,
            expected,
        } => {
            s.emit_usize("worker", *slot)?;
            s.emit_u32("worker_pid", *pid)?;
            opt_i32(s, "exit_code", *code)?;
            opt_i32(s, "signal", *signal)?;
            s.emit_str("reason", reason.as_str())?;
            s.emit_u64("uptime_ms", *uptime_ms)?;
            s.emit_bool("expected", *expected)
        }
        WorkerEvent::RestartScheduled {
            slot,
            attempt,
            delay_ms,
            reason,
        } => {
            s.emit_usize("worker", *slot)?;
            s.emit_u32("attempt", *attempt)?;
            s.emit_u64("delay_ms", *delay_ms)?;
            s.emit_str("reason", reason.as_str())
        }
        WorkerEvent::RestartsExhausted {
            slot,
            restarts,
            window_ms,
            retry_in_ms,
        } => {
            s.emit_usize("worker", *slot)?;
            s.emit_u32("restarts", *restarts)?;
            s.emit_u64("window_ms", *window_ms)?;
            s.emit_u64("retry_in_ms", *retry_in_ms)
        }
        WorkerEvent::WorkerUnresponsive {
            slot,
            pid,
            waited_ms,
        } => {
            s.emit_usize("worker", *slot)?;
            s.emit_u32("worker_pid", *pid)?;
            s.emit_u64("waited_ms", *waited_ms)?;
            s.emit_str("error_code", "ping_timeout")
        }
        WorkerEvent::WorkerProtocolError {
            slot,
            pid,
            kind,
            line_bytes,
        } => {
            s.emit_usize("worker", *slot)?;
            s.emit_u32("worker_pid", *pid)?;
            s.emit_str("error_code", kind.as_str())?;
            s.emit_u64("line_bytes", *line_bytes)
        }
        WorkerEvent::WorkerStderrObserved { slot, lines, bytes } => {
            s.emit_usize("worker", *slot)?;
            s.emit_u64("lines", *lines)?;
            s.emit_u64("stderr_bytes", *bytes)
        }
        WorkerEvent::WorkerRpcCompleted {
            slot,
            ids,
            method,
            outcome,
            duration_ms,
            ..
        } => {
            s.emit_usize("worker", *slot)?;
            if let Some(ids) = ids {
                req(s, ids)?;
            }
            s.emit_str("method", method.as_str())?;
            s.emit_str("outcome", outcome.as_str())?;
            s.emit_f64("duration_ms", round3(*duration_ms))
        }
        WorkerEvent::ServerRequestAnswered {
            slot,
            ids,
            kind,
            answer,
        } => {
            s.emit_usize("worker", *slot)?;
            if let Some(ids) = ids {
                req(s, ids)?;
            }
            s.emit_str("kind", kind.as_str())?;
            s.emit_str("answer", answer.as_str())
        }
        WorkerEvent::LeaseGranted {
            slot,
            ids,
            in_flight,
        } => {
            s.emit_usize("worker", *slot)?;
            req(s, ids)?;
            s.emit_u32("in_flight", *in_flight)
        }
        WorkerEvent::LeaseReleased { slot, in_flight } => {
            s.emit_usize("worker", *slot)?;
            s.emit_u32("in_flight", *in_flight)
        }
        WorkerEvent::WorkerStopped { slot, pid, forced } => {
            s.emit_usize("worker", *slot)?;
            s.emit_u32("worker_pid", *pid)?;
            s.emit_bool("forced", *forced)
        }
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

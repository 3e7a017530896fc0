//! Start-up: builds the actor system (bus, metrics, health, supervisor), binds the
//! listeners, serves until SIGTERM/SIGINT, then runs the shutdown sequence.

use crate::config::Config;
use crate::http::server::{self, Role};
use crate::http::state::{ApiSettings, AppState};
use crate::{shutdown, telemetry, wiring};
use actix::Actor;
use codexd_actors::bus::Subscribe;
use codexd_actors::events::{Event, RuntimeEvent};
use codexd_actors::health::HealthAggregator;
use codexd_actors::metrics::{Metrics, MetricsCollector};
use codexd_actors::stream::StreamSettings;
use codexd_actors::worker::WorkerSupervisor;
use codexd_actors::{Bus, BusHandle};
use slog::Logger;
use std::net::TcpListener;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::signal::unix::{signal, SignalKind};

/// Runs the daemon; returns the exit code.
pub fn serve(config: Config, logger: Logger) -> i32 {
    let system = actix_rt::System::new();
    system.block_on(run(config, logger))
}

fn fail(logger: &Logger, error_code: &'static str, error: String) -> i32 {
    codexd_actors::bus::stamp(
        logger,
        Event::Runtime(RuntimeEvent::StartupFailed { error, error_code }),
    );
    1
}

fn bind(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let l = TcpListener::bind(addr)?;
    l.set_nonblocking(true)?;
    Ok(l)
}

async fn run(config: Config, logger: Logger) -> i32 {
    let started = Instant::now();
    let program = match wiring::resolve_command(&config.workers.command) {
        Ok(p) => p,
        Err(e) => return fail(&logger, "worker_binary_missing", e),
    };
    let metrics = match Metrics::try_new(&wiring::metrics_settings(&config)) {
        Ok(m) => m,
        Err(e) => return fail(&logger, "metrics_init_failed", e.to_string()),
    };
    let handles = metrics.handles.clone();
    let api_listener = match bind(config.server.listen) {
        Ok(l) => l,
        Err(e) => {
            return fail(
                &logger,
                "bind_failed",
                format!("{}: {e}", config.server.listen),
            )
        }
    };
    let metrics_listener = match config.metrics.listen.map(bind).transpose() {
        Ok(l) => l,
        Err(e) => return fail(&logger, "bind_failed", format!("metrics.listen: {e}")),
    };
    let supervisor_settings = match wiring::supervisor_settings(&config, program, &handles) {
        Ok(s) => s,
        Err(e) => return fail(&logger, "invalid_config", e.to_string()),
    };

    let bus_addr = Bus::new(logger.clone(), Some(handles.bus_dropped.clone())).start();
    let bus = BusHandle::new(bus_addr.clone());
    let collector = MetricsCollector::new(metrics).start();
    bus_addr.do_send(Subscribe {
        name: "metrics",
        recipient: collector.clone().recipient(),
        required: true,
    });
    let health = HealthAggregator::new(wiring::health_settings(&config), bus.clone()).start();
    bus_addr.do_send(Subscribe {
        name: "health",
        recipient: health.clone().recipient(),
        required: true,
    });
    bus.publish(Event::Runtime(RuntimeEvent::DaemonStarted {
        workers: config.workers.count,
        pid: std::process::id(),
    }));
    let supervisor = WorkerSupervisor::new(supervisor_settings, bus.clone()).start();
    let env: std::collections::BTreeMap<String, String> = std::env::vars().collect();
    let (trace_settings, sample_ratio) = telemetry::resolve(&config.tracing, &env);
    let exporter = match trace_settings {
        Some(ts) => {
            match telemetry::export::Exporter::start(ts, handles.spans_dropped.clone(), bus.clone())
            {
                Ok(e) => Some(Arc::new(e)),
                Err(e) => return fail(&logger, "tracing_init_failed", e.to_string()),
            }
        }
        None => None,
    };
    if let Some(exporter) = &exporter {
        let recorder = telemetry::recorder::TraceRecorder::new(exporter.clone()).start();
        bus_addr.do_send(Subscribe {
            name: "tracing",
            recipient: recorder.recipient(),
            required: false,
        });
    }

    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let streams = StreamSettings {
        first_token_timeout: Duration::from_millis(config.streaming.first_token_timeout_ms),
        idle_timeout: Duration::from_millis(config.streaming.idle_timeout_ms),
        keepalive: Duration::from_millis(config.streaming.keepalive_ms),
        interrupt_grace: Duration::from_millis(config.streaming.interrupt_grace_ms),
        shutdown: shutdown_rx,
        active: Arc::default(),
        capture_content: config.log.capture_content,
    };
    crate::memory::trim_when_idle(streams.active.clone());
    if config.log.capture_content {
        bus.publish(Event::Runtime(RuntimeEvent::ContentCaptureEnabled));
    }
    let state = AppState {
        bus: bus.clone(),
        supervisor: supervisor.clone(),
        health,
        metrics_actor: collector,
        metrics: handles,
        api: Arc::new(ApiSettings::from_config(&config, sample_ratio)),
        streams: streams.clone(),
        cors_origin: (!config.server.cors_allow_origin.is_empty())
            .then(|| {
                actix_web::http::header::HeaderValue::from_str(&config.server.cors_allow_origin)
                    .ok()
            })
            .flatten(),
        draining: Arc::new(AtomicBool::new(false)),
    };
    let drain = Duration::from_millis(config.server.drain_timeout_ms);
    let workers = config.server.http_workers;
    let mut servers = Vec::new();
    for (role, listener) in [
        (Role::Api, Some(api_listener)),
        (Role::Metrics, metrics_listener),
    ] {
        let Some(listener) = listener else { continue };
        let addr = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let server = match server::build(
            state.clone(),
            listener,
            role,
            role == Role::Metrics || config.metrics.listen.is_none(),
            if role == Role::Api { workers } else { 1 },
            drain + Duration::from_secs(5),
        ) {
            Ok(s) => s,
            Err(e) => return fail(&logger, "bind_failed", e.to_string()),
        };
        let name = if role == Role::Api { "api" } else { "metrics" };
        bus.publish(Event::Runtime(RuntimeEvent::ListenerBound {
            role: name,
            addr,
        }));
        servers.push(server.handle());
        actix_rt::spawn(server);
    }

    let (mut term, mut int) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(t), Ok(i)) => (t, i),
        _ => {
            return fail(
                &logger,
                "signal_setup_failed",
                "cannot install signal handlers".into(),
            )
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    actix_rt::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        codexd_actors::bus::stamp(
            &crate::logging::sync_logger(),
            Event::Runtime(RuntimeEvent::ShutdownForced),
        );
        std::process::exit(1);
    });
    shutdown::run(shutdown::Plan {
        bus: bus.clone(),
        supervisor,
        draining: state.draining.clone(),
        servers,
        streams,
        stop_tx: shutdown_tx,
        drain_timeout: drain,
        stop_timeout: Duration::from_millis(config.workers.stop_grace_ms) + Duration::from_secs(2),
        exporter,
        flush_timeout: Duration::from_millis(config.tracing.export_timeout_ms)
            + Duration::from_secs(1),
    })
    .await;
    bus.publish(Event::Runtime(RuntimeEvent::DaemonStopped {
        uptime_ms: started.elapsed().as_millis() as u64,
    }));
    // Let the bus write its last lines before the system stops.
    tokio::time::sleep(Duration::from_millis(50)).await;
    actix_rt::System::current().stop();
    0
}

//! Start-up: builds the actor system (bus, metrics, health, supervisor), binds the
//! listeners, serves until SIGTERM/SIGINT, then runs the shutdown sequence. A start-up
//! failure is a `StartupError`, which owns its `error_code` and exit code.

use crate::config::Config;
use crate::http::server::{self, Role};
use crate::http::state::{ApiSettings, AppState};
use crate::startup::{StartupError, EXIT_FAILURE};
use crate::{shutdown, telemetry, wiring};
use actix::Actor;
use codexd_actors::bus::SubscribeTo;
use codexd_actors::events::{Event, RuntimeEvent};
use codexd_actors::health::HealthAggregator;
use codexd_actors::metrics::{Metrics, MetricsCollector};
use codexd_actors::stream::StreamSettings;
use codexd_actors::worker::WorkerSupervisor;
use codexd_actors::Bus;
use slog::Logger;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::signal::unix::{signal, SignalKind};
use tokio::task::JoinSet;

/// actix-web's own graceful-stop bound for a listener: past the drain, with room for the
/// interrupt grace; the shutdown sequence closes the listeners well before it.
const LISTENER_SHUTDOWN_SLACK: Duration = Duration::from_secs(5);

/// Runs the daemon; returns the exit code.
pub fn serve(config: Config, logger: Logger) -> i32 {
    let system = actix_rt::System::new();
    match system.block_on(run(config, logger.clone())) {
        Ok(code) => code,
        Err(e) => e.report(&logger),
    }
}

/// Resolves on the next SIGTERM or SIGINT.
async fn next_signal(
    term: &mut tokio::signal::unix::Signal,
    int: &mut tokio::signal::unix::Signal,
) {
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

async fn run(config: Config, logger: Logger) -> Result<i32, StartupError> {
    let started = Instant::now();
    let nofile = crate::nofile::raise();
    let program = wiring::resolve_command(&config.workers.command)
        .map_err(StartupError::WorkerBinaryMissing)?;
    let metrics = Metrics::try_new(&wiring::metrics_settings(&config))
        .map_err(|e| StartupError::MetricsInitFailed(e.to_string()))?;
    let handles = metrics.handles.clone();
    crate::http::openai::ignored_fields::init(&handles.fields_ignored);
    crate::http::openai::features::count_used(&handles.features_used, None, &[]);
    let limit_metrics = crate::limits::LimitMetrics::register(
        metrics.registry(),
        config.limits.backend,
        config.metrics.key_label.then(|| config.key_ids()),
    )
    .map_err(|e| StartupError::MetricsInitFailed(e.to_string()))?;
    let backlog = config.server.backlog;
    let api_listener = crate::listen::bind(config.server.listen, backlog)
        .map_err(|e| StartupError::BindFailed(format!("{}: {e}", config.server.listen)))?;
    let metrics_listener = config
        .metrics
        .listen
        .map(|addr| crate::listen::bind(addr, backlog))
        .transpose()
        .map_err(|e| StartupError::BindFailed(format!("metrics.listen: {e}")))?;
    let supervisor_settings = wiring::supervisor_settings(&config, program, &handles)
        .map_err(|e| StartupError::InvalidConfig(e.to_string()))?;
    let efforts = supervisor_settings.connection.models.clone();

    // The series move on the publishing threads; the collector only renders them.
    let metrics = Arc::new(metrics);
    let level = crate::logging::filter_level(config.log.level);
    let mut bus_actor = Bus::new(logger.clone(), Some(handles.bus_dropped.clone()));
    if let Some(lines) = crate::log_lines::sink() {
        bus_actor = bus_actor.with_line_sink(Box::new(lines), level);
    }
    let (_, bus) = bus_actor.start_inline(metrics.clone(), level);
    let usage =
        crate::usage::start(&config, &metrics, &bus).map_err(StartupError::UsageLedgerFailed)?;
    let collector = MetricsCollector::shared(metrics).start();
    let health = HealthAggregator::new(wiring::health_settings(&config), bus.clone()).start();
    bus.subscribe(SubscribeTo {
        name: "health",
        recipient: health.clone().recipient(),
        required: true,
        wants: HealthAggregator::wants,
    });
    let limiter = crate::limits::Limiter::from_config(&config, limit_metrics)
        .map_err(StartupError::InvalidConfig)?;
    // Only a key with a token limit is ever charged: without one, no charger runs.
    if limiter.charges_tokens() {
        bus.subscribe(SubscribeTo {
            name: "limits",
            recipient: crate::limits::charge::TokenCharger::new(limiter.clone())
                .start()
                .recipient(),
            required: true,
            wants: crate::limits::charge::TokenCharger::wants,
        });
    }
    bus.publish(Event::Runtime(RuntimeEvent::DaemonStarted {
        workers: config.workers.count,
        pid: std::process::id(),
    }));
    if let Some(l) = nofile {
        bus.publish(Event::Runtime(RuntimeEvent::DescriptorLimitSet {
            previous_soft: l.previous_soft,
            soft: l.soft,
            hard: l.hard,
        }));
    }
    let parked = supervisor_settings.connection.tools.parked.clone();
    let accounts = supervisor_settings.connection.accounts.clone();
    let supervisor = WorkerSupervisor::new(supervisor_settings, bus.clone()).start();
    let env: std::collections::BTreeMap<String, String> = std::env::vars().collect();
    let (trace_settings, sample_ratio) = telemetry::resolve(&config.tracing, &env);
    let exporter = match trace_settings {
        Some(ts) => Some(Arc::new(
            telemetry::export::Exporter::start(ts, handles.spans_dropped.clone(), bus.clone())
                .map_err(|e| StartupError::TracingInitFailed(e.to_string()))?,
        )),
        None => None,
    };
    if let Some(exporter) = &exporter {
        let recorder = telemetry::recorder::TraceRecorder::new(exporter.clone()).start();
        bus.subscribe(SubscribeTo {
            name: "tracing",
            recipient: recorder.recipient(),
            required: false,
            wants: telemetry::recorder::TraceRecorder::wants,
        });
    }

    let streams = StreamSettings {
        first_token_timeout: Duration::from_millis(config.streaming.first_token_timeout_ms),
        idle_timeout: Duration::from_millis(config.streaming.idle_timeout_ms),
        keepalive: Duration::from_millis(config.streaming.keepalive_ms),
        interrupt_grace: Duration::from_millis(config.streaming.interrupt_grace_ms),
        active: Arc::default(),
        capture_content: config.log.capture_content,
        retry_before_first_byte: config.streaming.retry_before_first_byte,
    };
    let _idle_trim = crate::memory::IdleTrim::new(streams.active.clone()).start();
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
        usage: usage.ledger.clone(),
        cors_origin: (!config.server.cors_allow_origin.is_empty())
            .then(|| {
                actix_web::http::header::HeaderValue::from_str(&config.server.cors_allow_origin)
                    .ok()
            })
            .flatten(),
        limiter,
        tools: Arc::new(crate::http::followup::ToolState::from_config(
            &config, parked,
        )),
        efforts,
        accounts,
        // The supervisor and every worker connection live on this (the System's) arbiter.
        stream_home: actix::Arbiter::current(),
    };
    let drain = Duration::from_millis(config.server.drain_timeout_ms);
    let workers = config.server.http_workers;
    // The listeners' tasks belong to this function: they end when the shutdown sequence
    // closes the listeners, and whatever is left is aborted when `listeners` is dropped.
    let mut listeners = JoinSet::new();
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
        let server = server::build(
            state.clone(),
            listener,
            role,
            role == Role::Metrics || config.metrics.listen.is_none(),
            if role == Role::Api { workers } else { 1 },
            drain + LISTENER_SHUTDOWN_SLACK,
        )
        .map_err(|e| StartupError::BindFailed(e.to_string()))?;
        let name = if role == Role::Api { "api" } else { "metrics" };
        bus.publish(Event::Runtime(RuntimeEvent::ListenerBound {
            role: name,
            addr,
        }));
        servers.push(server.handle());
        listeners.spawn_local(server);
    }

    let (mut term, mut int) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(t), Ok(i)) => (t, i),
        _ => {
            return Err(StartupError::SignalSetupFailed(
                "cannot install signal handlers".into(),
            ))
        }
    };
    next_signal(&mut term, &mut int).await;
    let plan = shutdown::Plan {
        bus: bus.clone(),
        supervisor,
        servers,
        drain_timeout: drain,
        interrupt_grace: streams.interrupt_grace,
        stop_grace: Duration::from_millis(config.workers.stop_grace_ms),
        exporter,
        export_timeout: Duration::from_millis(config.tracing.export_timeout_ms),
        usage: usage.ledger.clone(),
    };
    // A second signal during the sequence ends it at once; the workers die with the daemon
    // (`PR_SET_PDEATHSIG`, and their owner tasks kill them when the runtime drops).
    tokio::select! {
        () = shutdown::run(plan) => {}
        () = next_signal(&mut term, &mut int) => {
            codexd_actors::bus::stamp(
                &crate::logging::sync_logger(),
                Event::Runtime(RuntimeEvent::ShutdownForced),
            );
            return Ok(EXIT_FAILURE);
        }
    }
    bus.publish(Event::Runtime(RuntimeEvent::DaemonStopped {
        uptime_ms: started.elapsed().as_millis() as u64,
    }));
    tokio::time::sleep(shutdown::LOG_SETTLE).await;
    // Anything counted after the flush phase (the last lines) is written as the thread stops.
    if let Some(ledger) = usage.ledger {
        let _ = tokio::task::spawn_blocking(move || ledger.stop()).await;
    }
    listeners.abort_all();
    actix_rt::System::current().stop();
    Ok(0)
}

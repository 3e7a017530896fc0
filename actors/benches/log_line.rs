//! Criterion benchmarks of event log lines: `bus::stamp` rendering an event to its JSON line
//! through a slog_json drain (the daemon's fields: ts, level, msg, service, version) writing to
//! `std::io::sink()`, synchronously and through slog-async as the daemon runs it.

mod common;

use codexd_actors::bus;
use codexd_actors::clock;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use slog::{o, Drain, FnValue, Level, LevelFilter, Logger, PushFnValue, Record};
use std::sync::Mutex;

fn level_name(l: Level) -> &'static str {
    match l {
        Level::Critical | Level::Error => "error",
        Level::Warning => "warn",
        Level::Info => "info",
        Level::Debug => "debug",
        Level::Trace => "trace",
    }
}

/// The daemon's JSON drain (`codexd::logging`), writing nowhere.
fn json_sink() -> slog_json::Json<std::io::Sink> {
    slog_json::Json::new(std::io::sink())
        .add_key_value(o!(
            "ts" => PushFnValue(|_: &Record<'_>, ser| ser.emit(clock::now_rfc3339())),
            "level" => FnValue(|r: &Record<'_>| level_name(r.level())),
            "msg" => PushFnValue(|r: &Record<'_>, ser| ser.emit(r.msg())),
            "service" => "codexd",
            "version" => "0.1.0",
        ))
        .build()
}

fn render(c: &mut Criterion) {
    let sync = Logger::root(
        LevelFilter::new(Mutex::new(json_sink()), Level::Info).fuse(),
        o!(),
    );
    let quiet = Logger::root(
        LevelFilter::new(Mutex::new(json_sink()), Level::Error).fuse(),
        o!(),
    );
    let mut g = c.benchmark_group("log_line");
    g.bench_function("render_sync/request_completed", |b| {
        b.iter_batched(
            common::request_completed,
            |e| bus::stamp(&sync, e),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("render_sync/stream_ended", |b| {
        b.iter_batched(
            common::stream_ended,
            |e| bus::stamp(&sync, e),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("filtered_at_error/request_completed", |b| {
        b.iter_batched(
            common::request_completed,
            |e| bus::stamp(&quiet, e),
            BatchSize::SmallInput,
        )
    });
    let n = common::request_events().len() as u64;
    g.throughput(Throughput::Elements(n));
    g.bench_function("render_sync/one_streamed_request_at_info", |b| {
        b.iter_batched(
            common::request_events,
            |events| {
                events
                    .into_iter()
                    .map(|e| bus::stamp(&sync, e))
                    .collect::<Vec<_>>()
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("render_sync/one_streamed_request_at_error", |b| {
        b.iter_batched(
            common::request_events,
            |events| {
                events
                    .into_iter()
                    .map(|e| bus::stamp(&quiet, e))
                    .collect::<Vec<_>>()
            },
            BatchSize::SmallInput,
        )
    });
    // The daemon's arrangement: the bus thread only hands the record to slog-async; the
    // JSON is written on the logger thread. This is the bus thread's share.
    let (async_drain, _guard) = slog_async::Async::new(json_sink().fuse())
        .chan_size(16_384)
        .overflow_strategy(slog_async::OverflowStrategy::Block)
        .build_with_guard();
    let asynchronous = Logger::root(LevelFilter::new(async_drain, Level::Info).fuse(), o!());
    g.bench_function("enqueue_async/one_streamed_request_at_info", |b| {
        b.iter_batched(
            common::request_events,
            |events| {
                events
                    .into_iter()
                    .map(|e| bus::stamp(&asynchronous, e))
                    .collect::<Vec<_>>()
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);

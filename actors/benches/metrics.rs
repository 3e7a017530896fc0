//! Criterion benchmarks of the metrics collector: observing one event, and all the events of
//! one streamed request, into the Prometheus registry (what `MetricsCollector` does per event).

mod common;

use codexd_actors::ingress::{RouteClass, RouteLabel};
use codexd_actors::metrics::{Metrics, MetricsSettings};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

fn observe(c: &mut Criterion) {
    let settings = MetricsSettings {
        version: "0.1.0".into(),
        revision: "bench".into(),
        models: vec!["codex-demo".into(), "gpt-5-codex".into()],
        slots: 2,
        routes: vec![
            RouteLabel::new("/v1/chat/completions", RouteClass::Generation),
            RouteLabel::new("/v1/responses", RouteClass::Generation),
            RouteLabel::new("other", RouteClass::Api),
        ],
    };
    let Ok(metrics) = Metrics::try_new(&settings) else {
        return;
    };
    let mut g = c.benchmark_group("metrics_observe");
    let completed = common::request_completed();
    g.bench_function("request_completed", |b| {
        b.iter(|| metrics.observe(black_box(&completed)))
    });
    let ended = common::stream_ended();
    g.bench_function("stream_ended", |b| {
        b.iter(|| metrics.observe(black_box(&ended)))
    });
    let events = common::request_events();
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("one_streamed_request", |b| {
        b.iter(|| {
            for e in &events {
                metrics.observe(black_box(e));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, observe);
criterion_main!(benches);

//! Criterion benchmarks of the worker-line hot path: decoding one JSON-RPC line from a worker,
//! finding the turn that owns it (the connection's `threadId` → turn map) and classifying it.

use codexd_actors::worker::protocol::{self, Incoming, TurnSignal};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::collections::HashMap;
use std::hint::black_box;

const DELTA: &[u8] = br#"{"method":"item/agentMessage/delta","params":{"threadId":"thr_42","turnId":"turn_42","itemId":"msg_42","delta":" sa"},"emittedAtMs":1795979509385}"#;
const ITEM_STARTED: &[u8] = br#"{"method":"item/started","params":{"item":{"type":"agentMessage","moderation":null,"id":"msg_42","text":"","phase":null,"memoryCitation":null,"delivery":null,"questions":null,"startedAtMs":1795979509385,"completedAtMs":null},"threadId":"thr_42","turnId":"turn_42","startedAtMs":1795979509385},"emittedAtMs":1795979509385}"#;
const USAGE: &[u8] = br#"{"method":"thread/tokenUsage/updated","params":{"threadId":"thr_42","turnId":"turn_42","tokenUsage":{"total":{"totalTokens":8,"inputTokens":3,"cachedInputTokens":0,"cacheWriteInputTokens":0,"outputTokens":5,"reasoningOutputTokens":0},"last":{"totalTokens":8,"inputTokens":3,"cachedInputTokens":0,"cacheWriteInputTokens":0,"outputTokens":5,"reasoningOutputTokens":0},"modelContextWindow":258400}},"emittedAtMs":1795979509385}"#;
const COMPLETED: &[u8] = br#"{"method":"turn/completed","params":{"threadId":"thr_42","turn":{"id":"turn_42","rootTurnId":"turn_42","items":[{"type":"agentMessage","moderation":null,"id":"msg_42","text":"You said: Say hello.","phase":null,"memoryCitation":null,"delivery":null,"questions":null,"startedAtMs":1795979509385,"completedAtMs":1795979509385}],"itemsView":"summary","status":"completed","error":null,"startedAt":1795979509,"completedAt":1795979509,"durationMs":0}},"emittedAtMs":1795979509385}"#;
const RESPONSE: &[u8] = br#"{"id":17,"result":{"turn":{"id":"turn_42","rootTurnId":"turn_42","items":[],"itemsView":"notLoaded","status":"inProgress","error":null,"startedAt":null,"completedAt":null,"durationMs":null}}}"#;

/// The lines of one 5-chunk turn after `turn/start`, in the order a worker writes them.
fn turn_lines() -> Vec<&'static [u8]> {
    let mut lines = vec![RESPONSE, ITEM_STARTED];
    lines.extend(std::iter::repeat_n(DELTA, 5));
    lines.extend([USAGE, COMPLETED]);
    lines
}

/// The connection's routing table with 64 turns in flight, as at c=64.
fn routes() -> HashMap<String, u64> {
    (0..64u64).map(|k| (format!("thr_{k}"), k)).collect()
}

/// Decode, route, classify: what `WorkerConnection` does for each stdout line.
fn route_line(line: &[u8], routes: &HashMap<String, u64>) -> Option<(u64, TurnSignal)> {
    match protocol::decode(line).ok()? {
        Incoming::Notification { method, params } => {
            let key = params
                .thread_id
                .as_deref()
                .and_then(|t| routes.get(t))
                .copied()?;
            Some((key, protocol::classify(&method, params)))
        }
        Incoming::Response { id, .. } => Some((id, TurnSignal::Ignored)),
        Incoming::ServerRequest { .. } => None,
    }
}

fn decode_and_classify(c: &mut Criterion) {
    let routes = routes();
    let mut g = c.benchmark_group("worker_line");
    for (name, line) in [
        ("delta", DELTA),
        ("item_started", ITEM_STARTED),
        ("token_usage", USAGE),
        ("turn_completed", COMPLETED),
        ("rpc_response", RESPONSE),
    ] {
        g.throughput(Throughput::Bytes(line.len() as u64));
        g.bench_function(format!("decode/{name}"), |b| {
            b.iter(|| protocol::decode(black_box(line)))
        });
        g.bench_function(format!("decode_route_classify/{name}"), |b| {
            b.iter(|| route_line(black_box(line), &routes))
        });
    }
    g.finish();

    let lines = turn_lines();
    let mut g = c.benchmark_group("worker_turn");
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.bench_function("decode_route_classify/5_chunk_turn", |b| {
        b.iter_batched(
            || lines.clone(),
            |lines| {
                lines
                    .into_iter()
                    .filter_map(|l| route_line(black_box(l), &routes))
                    .count()
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, decode_and_classify);
criterion_main!(benches);

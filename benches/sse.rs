//! Criterion benchmarks of SSE encoding: one content frame and one whole 5-chunk stream, for
//! chat completions (`ChatSse`) and the Responses API (`ResponsesSse`).

use codexd::http::openai::chat::ChatSse;
use codexd::http::openai::responses::ResponsesSse;
use codexd_actors::outcome::StreamOutcome;
use codexd_actors::turn::{StreamOutput, TokenUsage};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;

const CHUNKS: [&str; 5] = ["You", " sa", "id", ": ", "hi"];
const USAGE: TokenUsage = TokenUsage {
    input: 1,
    output: 3,
    cached_input: 0,
    reasoning: 0,
    total: 4,
};

fn chat() -> ChatSse {
    ChatSse::new(
        "chatcmpl-01JH8Z0Q6W3V4T5S6R7Q8P9N0M".into(),
        1_795_979_509,
        "codex-demo".into(),
        true,
        "req_01JH8Z0Q6W3V4T5S6R7Q8P9N0M".into(),
    )
}

fn responses() -> ResponsesSse {
    ResponsesSse::new(
        "resp_01JH8Z0Q6W3V4T5S6R7Q8P9N0M".into(),
        "msg_01JH8Z0Q6W3V4T5S6R7Q8P9N0M".into(),
        1_795_979_509,
        "codex-demo".into(),
        "req_01JH8Z0Q6W3V4T5S6R7Q8P9N0M".into(),
    )
}

/// The outputs of one 5-chunk stream, as the upstream stream hands them over.
fn outputs() -> Vec<StreamOutput> {
    let mut v: Vec<StreamOutput> = CHUNKS
        .iter()
        .map(|c| StreamOutput::Text((*c).to_owned()))
        .collect();
    v.push(StreamOutput::Usage(USAGE));
    v.push(StreamOutput::Ended(StreamOutcome::Completed));
    v
}

fn encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("sse_frame");
    let mut out = Vec::with_capacity(4096);
    let mut enc = chat();
    g.bench_function("chat/content_delta", |b| {
        b.iter(|| {
            out.clear();
            enc.encode(StreamOutput::Text(black_box(" sa").to_owned()), &mut out)
        })
    });
    let mut enc = responses();
    g.bench_function("responses/output_text_delta", |b| {
        b.iter(|| {
            out.clear();
            enc.encode(StreamOutput::Text(black_box(" sa").to_owned()), &mut out)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("sse_stream");
    g.throughput(Throughput::Elements(CHUNKS.len() as u64));
    g.bench_function("chat/5_chunks_with_usage", |b| {
        b.iter_batched(
            || (chat(), outputs()),
            |(mut enc, items)| {
                let mut out = Vec::with_capacity(4096);
                enc.prelude(&mut out);
                for item in items {
                    enc.encode(item, &mut out);
                }
                out
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("responses/5_chunks", |b| {
        b.iter_batched(
            || (responses(), outputs()),
            |(mut enc, items)| {
                let mut out = Vec::with_capacity(8192);
                enc.prelude(&mut out);
                for item in items {
                    enc.encode(item, &mut out);
                }
                out
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, encode);
criterion_main!(benches);

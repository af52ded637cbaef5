//! Each dialect's stream decoder (framing + parsing, as the runtime runs
//! them), and `ChatStream::collect_response`.
//!
//! `cargo bench -p benches --bench decoders`

use std::time::Duration;

use benches::fixtures;
use bytes::Bytes;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use llm_runtime::testing::replay_stream;
use llm_runtime::{ChatStream, provider::Transform};
use llm_runtime::{
    dialects::anthropic::AnthropicDialect, dialects::cohere::CohereDialect,
    dialects::gemini::GeminiDialect, dialects::ollama::OllamaDialect,
    dialects::openai::OpenAiDialect,
};

const DELTAS: usize = 1000;

/// Decode one stream delivered one event per chunk; the number of events.
fn decode<T: Transform>(dialect: &T, events: &[Bytes]) -> usize {
    replay_stream(dialect, events.iter().map(|e| &e[..]))
        .expect("the fixture decodes")
        .len()
}

fn bench_dialect<T: Transform>(c: &mut Criterion, name: &str, dialect: &T, events: &[Bytes]) {
    let mut group = c.benchmark_group("stream_decoder");
    // Throughput in wire events (SSE events or NDJSON lines) per second.
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function(name, |b| b.iter(|| decode(dialect, events)));
    group.finish();
}

fn dialects(c: &mut Criterion) {
    bench_dialect(
        c,
        "openai",
        &OpenAiDialect,
        &fixtures::openai_sse_events(DELTAS),
    );
    bench_dialect(
        c,
        "anthropic",
        &AnthropicDialect,
        &fixtures::anthropic_sse_events(DELTAS),
    );
    bench_dialect(
        c,
        "gemini",
        &GeminiDialect,
        &fixtures::gemini_sse_events(DELTAS),
    );
    bench_dialect(
        c,
        "ollama",
        &OllamaDialect,
        &fixtures::ollama_ndjson_lines(DELTAS),
    );
    bench_dialect(
        c,
        "cohere",
        &CohereDialect,
        &fixtures::cohere_sse_events(DELTAS),
    );
}

fn collect_response(c: &mut Criterion) {
    let events = replay_stream(
        &OpenAiDialect,
        fixtures::openai_sse_events(DELTAS).iter().map(|e| &e[..]),
    )
    .expect("the fixture decodes");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");
    let mut group = c.benchmark_group("collect_response");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("openai_1000_deltas", |b| {
        b.iter_batched(
            || events.clone(),
            |events| {
                let stream = ChatStream::new(
                    "bench",
                    futures_util::stream::iter(events.into_iter().map(Ok)),
                );
                runtime
                    .block_on(stream.collect_response())
                    .expect("the events assemble")
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args()
}

criterion_group! {
    name = decoders;
    config = config();
    targets = dialects, collect_response
}
criterion_main!(decoders);

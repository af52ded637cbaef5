//! Streamed tool-call assembly: one OpenAI stream event carrying N and 2N
//! tool-call deltas (over the most calls an answer may make), so the time per
//! delta can be read off and shown flat (linear assembly, no scan per delta).
//!
//! `cargo bench -p benches --bench tool_calls`

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use llm_runtime::dialects::openai::OpenAiDialect;
use llm_runtime::stream::{MAX_TOOL_CALLS, ToolCallAssembler};
use llm_runtime::testing::replay_stream;

/// Deltas per event: the smaller is about the 2 MB event of issue 11.
const SIZES: [usize; 2] = [75_000, 150_000];

/// One SSE event with `n` tool-call deltas spread over `MAX_TOOL_CALLS` calls, then `[DONE]`.
fn one_event(n: usize) -> Vec<u8> {
    let calls: Vec<String> = (0..n)
        .map(|i| {
            let index = i % MAX_TOOL_CALLS;
            if i < MAX_TOOL_CALLS {
                format!(r#"{{"index":{index},"id":"call_{index}","function":{{"name":"f","arguments":""}}}}"#)
            } else {
                format!(r#"{{"index":{index}}}"#)
            }
        })
        .collect();
    format!(
        "data: {{\"id\":\"c\",\"model\":\"m\",\"choices\":[{{\"delta\":{{\"tool_calls\":[{}]}}}}]}}\n\ndata: [DONE]\n\n",
        calls.join(",")
    )
    .into_bytes()
}

fn openai_one_event(c: &mut Criterion) {
    let mut group = c.benchmark_group("tool_calls_one_event");
    for n in SIZES {
        let body = one_event(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("openai", n), &body, |b, body| {
            b.iter(|| {
                replay_stream(&OpenAiDialect, [&body[..]])
                    .expect("the event decodes")
                    .len()
            })
        });
    }
    group.finish();
}

fn assembler(c: &mut Criterion) {
    let mut group = c.benchmark_group("tool_call_assembler");
    for n in SIZES {
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("push", n), &n, |b, &n| {
            b.iter(|| {
                let mut calls = ToolCallAssembler::new();
                for i in 0..n {
                    calls
                        .push(Some(i % MAX_TOOL_CALLS), None, Some("f"), "x")
                        .expect("within the caps");
                }
                calls.len()
            })
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args()
}

criterion_group! {
    name = tool_calls;
    config = config();
    targets = openai_one_event, assembler
}
criterion_main!(tool_calls);

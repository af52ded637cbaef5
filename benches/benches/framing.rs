//! Stream framing throughput: SSE and NDJSON, line-aligned and unaligned
//! chunks, and the linearity check (one 4 MiB and one 8 MiB line).
//!
//! `cargo bench -p benches --bench framing`

use std::hint::black_box;
use std::time::{Duration, Instant};

use benches::fixtures;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use llm_runtime::stream::{NdjsonDecoder, SseDecoder};

/// Feed every piece, clearing the frames after each as the runtime's stream
/// driver does; the number of frames.
fn sse_frames<'a>(decoder: &mut SseDecoder, pieces: impl IntoIterator<Item = &'a [u8]>) -> usize {
    let mut out = Vec::new();
    let mut frames = 0;
    for piece in pieces {
        decoder
            .feed(piece, &mut out)
            .expect("the fixture is valid SSE");
        frames += out.len();
        out.clear();
    }
    decoder.finish(&mut out).expect("the fixture is valid SSE");
    frames + out.len()
}

fn sse_framing(c: &mut Criterion) {
    let events = fixtures::openai_sse_events(1000);
    let body = fixtures::join(&events);
    let mut group = c.benchmark_group("sse_framing");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("line_aligned", |b| {
        b.iter(|| sse_frames(&mut SseDecoder::new(), events.iter().map(|e| &e[..])))
    });
    for size in [1460usize, 61] {
        group.bench_with_input(BenchmarkId::new("unaligned", size), &size, |b, &size| {
            b.iter(|| sse_frames(&mut SseDecoder::new(), body.chunks(size)))
        });
    }
    group.finish();
}

fn ndjson_framing(c: &mut Criterion) {
    let lines = fixtures::ollama_ndjson_lines(1000);
    let body = fixtures::join(&lines);
    let run = |pieces: &mut dyn Iterator<Item = &[u8]>| {
        let mut decoder = NdjsonDecoder::new();
        let mut out = Vec::new();
        let mut frames = 0;
        for piece in pieces {
            decoder
                .feed(piece, &mut out)
                .expect("the fixture is valid NDJSON");
            frames += out.len();
            out.clear();
        }
        decoder
            .finish(&mut out)
            .expect("the fixture is valid NDJSON");
        frames + out.len()
    };
    let mut group = c.benchmark_group("ndjson_framing");
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function("line_aligned", |b| {
        b.iter(|| run(&mut lines.iter().map(|l| &l[..])))
    });
    group.bench_function("unaligned/1460", |b| b.iter(|| run(&mut body.chunks(1460))));
    group.finish();
}

/// `data: xxx...x\n\n` with `size` bytes of data.
fn long_line(size: usize) -> Vec<u8> {
    let mut line = b"data: ".to_vec();
    line.resize(6 + size, b'x');
    line.extend_from_slice(b"\n\n");
    line
}

/// One long line in TCP-segment-sized pieces through a decoder with a 16 MiB cap.
fn feed_long_line(line: &[u8]) -> usize {
    sse_frames(&mut SseDecoder::with_max_line(16 << 20), line.chunks(1460))
}

fn long_lines(c: &mut Criterion) {
    let mut group = c.benchmark_group("sse_long_line");
    group.sample_size(20);
    for mib in [4usize, 8] {
        let line = long_line(mib << 20);
        group.throughput(Throughput::Bytes(line.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("1460B_pieces", format!("{mib}MiB")),
            &line,
            |b, line| b.iter(|| feed_long_line(black_box(line))),
        );
    }
    group.finish();
}

/// The 8 MiB / 4 MiB time ratio, measured side by side (alternating, median
/// of 21 each), so both sizes see the same machine.
fn linearity_ratio() {
    let small = long_line(4 << 20);
    let large = long_line(8 << 20);
    let mut times = [Vec::new(), Vec::new()];
    for round in 0..21 {
        for which in [round % 2, 1 - round % 2] {
            let line = if which == 0 { &small } else { &large };
            let started = Instant::now();
            black_box(feed_long_line(black_box(line)));
            times[which].push(started.elapsed());
        }
    }
    let [mut a, mut b] = times;
    let median = |v: &mut Vec<Duration>| {
        v.sort_unstable();
        v[v.len() / 2]
    };
    let (t4, t8) = (median(&mut a), median(&mut b));
    let ratio = t8.as_secs_f64() / t4.as_secs_f64();
    println!(
        "\nlinearity: 4 MiB line {:.2} ms, 8 MiB line {:.2} ms, ratio 8/4 = {ratio:.2} (target ≤ 2.2: {})",
        t4.as_secs_f64() * 1e3,
        t8.as_secs_f64() * 1e3,
        if ratio <= 2.2 { "PASS" } else { "MISS" }
    );
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args()
}

criterion_group! {
    name = framing;
    config = config();
    targets = sse_framing, ndjson_framing, long_lines
}

fn main() {
    framing();
    // Under `cargo test --benches` each bench runs once as a smoke test; the
    // ratio is only worth its time under `cargo bench`.
    if std::env::args().any(|a| a == "--bench") {
        linearity_ratio();
    }
    Criterion::default().configure_from_args().final_summary();
}

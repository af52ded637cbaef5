//! The runtime's overhead against raw reqwest and the peer clients, side by
//! side in one process.
//!
//! `[RUSTFLAGS="--cfg llm_bench_peers"] cargo run -p benches --release --bin overhead [-- --quick]`
//!
//! Every variant talks to the same loopback [`BenchUpstream`] (on its own
//! thread), and the variants run in order-interleaved rounds (round `r` starts
//! with variant `r mod n`), so a noisy neighbour or a CPU frequency change hits
//! them all alike; the figures that matter are the ratios to the baseline.
//!
//! - baseline: raw reqwest, built with the runtime's client settings
//!   (`HttpClient::builder().into_reqwest()`), with typed request and response
//!   structs ([`benches::raw`]): serialize the body, send, read, decode;
//! - provider: `OpenAi::config().api_key(..).base_url(..).connect()` then `.chat()`;
//! - client route: `Client` with that provider registered, `client.chat("openai/gpt-4o-mini", ..)`;
//! - with `--cfg llm_bench_peers`: async-openai and genai (`benches::peers`), on a
//!   reqwest client with the same settings;
//! - canary: a new provider on a new `HttpClient` per request (no pooling), a
//!   known regression the harness must show.
//!
//! At the end (full runs) it runs the `memory` binary beside it and prints one
//! summary table with every row.

use std::sync::Arc;
use std::time::{Duration, Instant};

use benches::stats::{load, machine, median_f64, micros, process_cpu_ns, quantile};
use benches::{BenchUpstream, Reply, Routes, fixtures, raw};
use futures_util::StreamExt;
use llm_runtime::http::HttpClient;
use llm_runtime::providers::OpenAi;
use llm_runtime::{ChatRequest, Client, ProviderClient};
use tokio::task::JoinSet;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Result<T, E = BoxError> = std::result::Result<T, E>;

const KEY: &str = "sk-bench-0123456789";
const MODEL: &str = fixtures::OPENAI_MODEL;
const ROUTE: &str = "openai/gpt-4o-mini";
const STREAM_CHUNKS: usize = 1000;
const CONCURRENCY: usize = 64;

/// How much to run.
struct Plan {
    seq_requests: usize,
    seq_rounds: usize,
    /// The canary runs this fraction of the sequential requests (it opens a connection each time).
    canary_divisor: usize,
    tput_requests: usize,
    /// The canary's requests per throughput run: one per worker, each on a new client.
    tput_canary_requests: usize,
    tput_rounds: usize,
    stream_rounds: usize,
    warmup: usize,
}

impl Plan {
    fn full() -> Plan {
        Plan {
            seq_requests: 2000,
            seq_rounds: 40,
            canary_divisor: 10,
            // Many short rounds: a neighbour's burst then spoils one sample, not a variant.
            tput_requests: 64 * 40,
            tput_canary_requests: 64,
            tput_rounds: 21,
            stream_rounds: 31,
            warmup: 200,
        }
    }

    fn quick() -> Plan {
        Plan {
            seq_requests: 200,
            seq_rounds: 4,
            canary_divisor: 10,
            tput_requests: 64 * 10,
            tput_canary_requests: 64,
            tput_rounds: 2,
            stream_rounds: 3,
            warmup: 20,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Variant {
    Raw,
    Provider,
    Routed,
    #[cfg(llm_bench_peers)]
    AsyncOpenAi,
    #[cfg(llm_bench_peers)]
    Genai,
    Canary,
}

impl Variant {
    /// In declaration order: `v as usize` indexes it.
    const ALL: &[Variant] = &[
        Variant::Raw,
        Variant::Provider,
        Variant::Routed,
        #[cfg(llm_bench_peers)]
        Variant::AsyncOpenAi,
        #[cfg(llm_bench_peers)]
        Variant::Genai,
        Variant::Canary,
    ];

    fn name(self) -> &'static str {
        match self {
            Variant::Raw => "raw reqwest, typed (base)",
            Variant::Provider => "llm-runtime provider",
            Variant::Routed => "llm-runtime Client route",
            #[cfg(llm_bench_peers)]
            Variant::AsyncOpenAi => "async-openai 0.43",
            #[cfg(llm_bench_peers)]
            Variant::Genai => "genai 0.7 (OpenAI)",
            Variant::Canary => "canary: new client/request",
        }
    }

    fn parse(name: &str) -> Option<Variant> {
        Some(match name {
            "raw" => Variant::Raw,
            "provider" => Variant::Provider,
            "routed" => Variant::Routed,
            #[cfg(llm_bench_peers)]
            "async-openai" => Variant::AsyncOpenAi,
            #[cfg(llm_bench_peers)]
            "genai" => Variant::Genai,
            "canary" => Variant::Canary,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum StreamVariant {
    Raw,
    RawLines,
    Provider,
    Routed,
    Collect,
    #[cfg(llm_bench_peers)]
    AsyncOpenAi,
    #[cfg(llm_bench_peers)]
    Genai,
}

impl StreamVariant {
    /// In declaration order: `v as usize` indexes it.
    const ALL: &[StreamVariant] = &[
        StreamVariant::Raw,
        StreamVariant::RawLines,
        StreamVariant::Provider,
        StreamVariant::Routed,
        StreamVariant::Collect,
        #[cfg(llm_bench_peers)]
        StreamVariant::AsyncOpenAi,
        #[cfg(llm_bench_peers)]
        StreamVariant::Genai,
    ];

    fn name(self) -> &'static str {
        match self {
            StreamVariant::Raw => "raw bytes_stream + lines + typed (base)",
            StreamVariant::RawLines => "raw bytes_stream + SSE lines only (ref)",
            StreamVariant::Provider => "llm-runtime provider, every event",
            StreamVariant::Routed => "llm-runtime Client route, every event",
            StreamVariant::Collect => "llm-runtime provider collect_response()",
            #[cfg(llm_bench_peers)]
            StreamVariant::AsyncOpenAi => "async-openai 0.43, every chunk",
            #[cfg(llm_bench_peers)]
            StreamVariant::Genai => "genai 0.7, every event",
        }
    }

    fn parse(name: &str) -> Option<StreamVariant> {
        Some(match name {
            "raw" => StreamVariant::Raw,
            "raw-lines" => StreamVariant::RawLines,
            "provider" => StreamVariant::Provider,
            "routed" => StreamVariant::Routed,
            "collect" => StreamVariant::Collect,
            #[cfg(llm_bench_peers)]
            "async-openai" => StreamVariant::AsyncOpenAi,
            #[cfg(llm_bench_peers)]
            "genai" => StreamVariant::Genai,
            _ => return None,
        })
    }
}

/// Everything the variants send through.
struct Targets {
    raw: reqwest::Client,
    json_url: String,
    sse_url: String,
    json_base: String,
    provider: ProviderClient<OpenAi>,
    provider_sse: ProviderClient<OpenAi>,
    client: Client,
    client_sse: Client,
    #[cfg(llm_bench_peers)]
    async_openai: benches::peers::AsyncOpenAi,
    #[cfg(llm_bench_peers)]
    async_openai_sse: benches::peers::AsyncOpenAi,
    #[cfg(llm_bench_peers)]
    genai: benches::peers::Genai,
    #[cfg(llm_bench_peers)]
    genai_sse: benches::peers::Genai,
}

impl Targets {
    fn new(upstream: &BenchUpstream) -> Result<Targets> {
        let json_base = upstream.url("/json/v1");
        let sse_base = upstream.url("/sse/v1");
        let provider = OpenAi::config()
            .api_key(KEY)
            .base_url(&json_base)
            .connect()?;
        let provider_sse = OpenAi::config()
            .api_key(KEY)
            .base_url(&sse_base)
            .connect()?;
        // Each peer gets its own pool, on the runtime's client settings.
        #[cfg(llm_bench_peers)]
        let settings = || HttpClient::builder().into_reqwest().build();
        Ok(Targets {
            raw: HttpClient::builder().into_reqwest().build()?,
            json_url: format!("{json_base}/chat/completions"),
            sse_url: format!("{sse_base}/chat/completions"),
            client: Client::builder().register(provider.clone())?.build()?,
            client_sse: Client::builder().register(provider_sse.clone())?.build()?,
            provider,
            provider_sse,
            #[cfg(llm_bench_peers)]
            async_openai: benches::peers::AsyncOpenAi::new(&json_base, KEY, settings()?),
            #[cfg(llm_bench_peers)]
            async_openai_sse: benches::peers::AsyncOpenAi::new(&sse_base, KEY, settings()?),
            #[cfg(llm_bench_peers)]
            genai: benches::peers::Genai::new(&json_base, KEY, settings()?)?,
            #[cfg(llm_bench_peers)]
            genai_sse: benches::peers::Genai::new(&sse_base, KEY, settings()?)?,
            json_base,
        })
    }

    fn request() -> ChatRequest {
        ChatRequest::new(MODEL).user("Hello")
    }

    /// One chat call; the length of the answer's text, to check the variants agree.
    async fn chat(&self, variant: Variant) -> Result<usize> {
        match variant {
            Variant::Raw => raw::chat(&self.raw, &self.json_url, KEY).await,
            Variant::Provider => Ok(self.provider.chat(Targets::request()).await?.text().len()),
            Variant::Routed => Ok(self
                .client
                .chat(ROUTE, Targets::request())
                .await?
                .text()
                .len()),
            #[cfg(llm_bench_peers)]
            Variant::AsyncOpenAi => self.async_openai.chat().await,
            #[cfg(llm_bench_peers)]
            Variant::Genai => self.genai.chat().await,
            Variant::Canary => {
                let fresh = OpenAi::config()
                    .api_key(KEY)
                    .base_url(&self.json_base)
                    .http_client(HttpClient::builder().build()?)
                    .connect()?;
                Ok(fresh.chat(Targets::request()).await?.text().len())
            }
        }
    }

    /// Consume one 1000-chunk stream; the number of text chunks (or data
    /// lines for `RawLines`, text bytes for `Collect`).
    async fn stream(&self, variant: StreamVariant) -> Result<usize> {
        match variant {
            StreamVariant::Raw | StreamVariant::RawLines => {
                let body = raw::open_stream(&self.raw, &self.sse_url, KEY).await?;
                raw::consume(body, variant == StreamVariant::Raw).await
            }
            StreamVariant::Provider | StreamVariant::Routed => {
                let mut stream = if variant == StreamVariant::Provider {
                    self.provider_sse.chat_stream(Targets::request()).await?
                } else {
                    self.client_sse
                        .chat_stream(ROUTE, Targets::request())
                        .await?
                };
                let mut text_chunks = 0;
                while let Some(event) = stream.next().await {
                    if let llm_runtime::StreamEvent::TextDelta { .. } = event? {
                        text_chunks += 1;
                    }
                }
                Ok(text_chunks)
            }
            StreamVariant::Collect => {
                let stream = self.provider_sse.chat_stream(Targets::request()).await?;
                Ok(stream.collect_response().await?.text().len())
            }
            #[cfg(llm_bench_peers)]
            StreamVariant::AsyncOpenAi => self.async_openai_sse.stream().await,
            #[cfg(llm_bench_peers)]
            StreamVariant::Genai => self.genai_sse.stream().await,
        }
    }
}

fn rotated<T: Copy>(all: &[T], round: usize) -> Vec<T> {
    (0..all.len())
        .map(|i| all[(round + i) % all.len()])
        .collect()
}

struct Sequential {
    samples: Vec<Vec<Duration>>,
    /// CPU nanoseconds (all threads) spent in each variant's rounds.
    cpu_ns: Vec<u64>,
}

/// Throughput per variant: median req/s, and CPU nanoseconds per request.
struct Throughput {
    rates: Vec<f64>,
    cpu_per_request: Vec<f64>,
}

/// Streams per variant: median time, and CPU nanoseconds per chunk.
struct Streams {
    times: Vec<Duration>,
    cpu_per_chunk: Vec<f64>,
}

async fn sequential(t: &Targets, plan: &Plan) -> Result<Sequential> {
    let mut samples = vec![Vec::with_capacity(plan.seq_requests); Variant::ALL.len()];
    let mut cpu_ns = vec![0; Variant::ALL.len()];
    let per_round = plan.seq_requests / plan.seq_rounds;
    for round in 0..plan.seq_rounds {
        for v in rotated(Variant::ALL, round) {
            let n = if v == Variant::Canary {
                per_round / plan.canary_divisor
            } else {
                per_round
            };
            let slot = &mut samples[v as usize];
            let cpu_before = process_cpu_ns();
            for _ in 0..n.max(1) {
                let started = Instant::now();
                t.chat(v).await?;
                slot.push(started.elapsed());
            }
            cpu_ns[v as usize] += process_cpu_ns().saturating_sub(cpu_before);
        }
    }
    Ok(Sequential { samples, cpu_ns })
}

async fn throughput(t: &Arc<Targets>, plan: &Plan) -> Result<Throughput> {
    let mut rates = vec![Vec::new(); Variant::ALL.len()];
    let mut cpu = vec![(0u64, 0usize); Variant::ALL.len()];
    for round in 0..plan.tput_rounds {
        for v in rotated(Variant::ALL, round) {
            let total = if v == Variant::Canary {
                plan.tput_canary_requests
            } else {
                plan.tput_requests
            };
            let per_worker = (total / CONCURRENCY).max(1);
            let cpu_before = process_cpu_ns();
            let started = Instant::now();
            let mut workers = JoinSet::new();
            for _ in 0..CONCURRENCY {
                let t = Arc::clone(t);
                workers.spawn(async move {
                    for _ in 0..per_worker {
                        t.chat(v).await?;
                    }
                    Ok::<(), BoxError>(())
                });
            }
            while let Some(done) = workers.join_next().await {
                done??;
            }
            let elapsed = started.elapsed();
            let spent = &mut cpu[v as usize];
            spent.0 += process_cpu_ns().saturating_sub(cpu_before);
            spent.1 += per_worker * CONCURRENCY;
            rates[v as usize].push((per_worker * CONCURRENCY) as f64 / elapsed.as_secs_f64());
        }
    }
    Ok(Throughput {
        rates: rates.iter_mut().map(|r| median_f64(r)).collect(),
        cpu_per_request: cpu
            .iter()
            .map(|&(ns, n)| ns as f64 / n.max(1) as f64)
            .collect(),
    })
}

async fn streams(t: &Targets, plan: &Plan) -> Result<Streams> {
    let mut times = vec![Vec::new(); StreamVariant::ALL.len()];
    let mut cpu = vec![0u64; StreamVariant::ALL.len()];
    for round in 0..plan.stream_rounds {
        for v in rotated(StreamVariant::ALL, round) {
            let cpu_before = process_cpu_ns();
            let started = Instant::now();
            t.stream(v).await?;
            times[v as usize].push(started.elapsed());
            cpu[v as usize] += process_cpu_ns().saturating_sub(cpu_before);
        }
    }
    let chunks = (plan.stream_rounds * STREAM_CHUNKS) as f64;
    Ok(Streams {
        times: times.iter_mut().map(|s| quantile(s, 0.5)).collect(),
        cpu_per_chunk: cpu.iter().map(|&ns| ns as f64 / chunks).collect(),
    })
}

/// Every variant answers the same, before anything is timed.
async fn check(t: &Targets) -> Result<()> {
    let expected = t.chat(Variant::Raw).await?;
    for &v in Variant::ALL {
        let got = t.chat(v).await?;
        if got != expected {
            return Err(format!(
                "{} answered {got} bytes of text, the baseline {expected}",
                v.name()
            )
            .into());
        }
    }
    for &v in StreamVariant::ALL {
        let got = t.stream(v).await?;
        // Text deltas, data lines (the role chunk, finish and usage too) or text bytes.
        if got < STREAM_CHUNKS {
            return Err(format!(
                "{} saw {got} chunks, expected at least {STREAM_CHUNKS}",
                v.name()
            )
            .into());
        }
    }
    Ok(())
}

fn verdict(pass: bool) -> &'static str {
    if pass { "PASS" } else { "MISS" }
}

/// `--only VARIANT --requests N [--concurrency C] [--stream]`: N requests (or
/// N streams) of one variant and nothing else, to run under `perf record` or
/// `valgrind --tool=callgrind`.
async fn only(
    t: &Arc<Targets>,
    variant: &str,
    requests: usize,
    concurrency: usize,
    stream: bool,
) -> Result<()> {
    let started = Instant::now();
    if stream {
        let v = StreamVariant::parse(variant).ok_or_else(|| {
            format!("unknown stream variant `{variant}`: raw, raw-lines, provider, routed, collect, async-openai, genai")
        })?;
        for _ in 0..requests {
            t.stream(v).await?;
        }
        println!(
            "{requests} {} streams in {:.3} s",
            v.name(),
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    let v = Variant::parse(variant).ok_or_else(|| {
        format!("unknown variant `{variant}`: raw, provider, routed, canary, async-openai, genai")
    })?;
    if concurrency <= 1 {
        // As the sequential table runs: on the `block_on` thread, not a worker.
        for _ in 0..requests {
            t.chat(v).await?;
        }
    } else {
        let mut workers = JoinSet::new();
        for _ in 0..concurrency {
            let t = Arc::clone(t);
            workers.spawn(async move {
                for _ in 0..requests / concurrency {
                    t.chat(v).await?;
                }
                Ok::<(), BoxError>(())
            });
        }
        while let Some(done) = workers.join_next().await {
            done??;
        }
    }
    println!(
        "{requests} {} requests in {:.3} s",
        v.name(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() -> Result<()> {
    let value = benches::args::value;
    let only_variant = value("--only");
    let only_requests: usize = value("--requests").map_or(Ok(10_000), |n| n.parse())?;
    let only_concurrency: usize = value("--concurrency").map_or(Ok(1), |n| n.parse())?;
    let only_stream = benches::args::flag("--stream");
    let quick = benches::args::flag("--quick");
    let plan = if quick { Plan::quick() } else { Plan::full() };
    let routes = Routes::new()
        .route(
            "/json/v1/chat/completions",
            Reply::json(fixtures::openai_chat_json()),
        )
        .route(
            "/sse/v1/chat/completions",
            Reply::sse(&fixtures::openai_sse_events(STREAM_CHUNKS)),
        );
    let upstream = BenchUpstream::start(routes)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let started = Instant::now();
    let machine = machine();
    let result = runtime.block_on(async {
        let t = Arc::new(Targets::new(&upstream)?);
        check(&t).await?;
        if let Some(variant) = &only_variant {
            return only(&t, variant, only_requests, only_concurrency, only_stream)
                .await
                .map(|()| None);
        }
        println!("overhead bench: {machine}");
        println!("upstream: loopback BenchUpstream on its own thread; client: tokio multi-thread, 2 workers");
        // Futures are moved (memcpy) when boxed or awaited inside another: their size is a cost.
        println!(
            "future sizes: raw reqwest send {} B, ProviderClient::chat {} B, Client::chat {} B",
            std::mem::size_of_val(&t.raw.post(&t.json_url).send()),
            std::mem::size_of_val(&t.provider.chat(Targets::request())),
            std::mem::size_of_val(&t.client.chat(ROUTE, Targets::request())),
        );
        for &v in Variant::ALL {
            let n = if v == Variant::Canary { plan.warmup / plan.canary_divisor } else { plan.warmup };
            for _ in 0..n {
                t.chat(v).await?;
            }
        }
        for &v in StreamVariant::ALL {
            t.stream(v).await?;
        }
        let mut seq = sequential(&t, &plan).await?;
        report_sequential(&mut seq, &plan);
        let tput = throughput(&t, &plan).await?;
        report_throughput(&tput, &plan);
        let streams = streams(&t, &plan).await?;
        report_streams(&streams, &plan);
        Ok::<_, BoxError>(Some((seq, tput, streams)))
    });
    println!("\ntotal run time {:.1} s", started.elapsed().as_secs_f64());
    drop(runtime);
    drop(upstream);
    if let Some((seq, tput, streams)) = result? {
        let memory = if quick { None } else { run_memory() };
        summary(&machine, &seq, &tput, &streams, memory.as_deref());
    }
    Ok(())
}

fn report_sequential(seq: &mut Sequential, plan: &Plan) {
    println!(
        "\n== sequential latency: {} requests per variant (canary {}), {} interleaved rounds ==",
        plan.seq_requests,
        plan.seq_requests / plan.canary_divisor,
        plan.seq_rounds
    );
    println!(
        "{:<28} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>11} {:>9}",
        "variant",
        "p50 µs",
        "p99 µs",
        "p50 ×raw",
        "p99 ×raw",
        "+p50 µs",
        "+p99 µs",
        "CPU µs/req",
        "CPU ×raw"
    );
    let rows = seq_rows(seq);
    let (b50, b99, bcpu) = rows[0];
    for (&v, &(p50, p99, cpu)) in Variant::ALL.iter().zip(&rows) {
        println!(
            "{:<28} {:>9.1} {:>9.1} {:>9.3} {:>9.3} {:>9.1} {:>9.1} {:>11.1} {:>9.3}",
            v.name(),
            p50,
            p99,
            p50 / b50,
            p99 / b99,
            p50 - b50,
            p99 - b99,
            cpu,
            cpu / bcpu
        );
    }
    for v in [Variant::Provider, Variant::Routed] {
        let (p50, p99, _) = rows[v as usize];
        println!(
            "target {}: added p50 {:.1} µs ≤ 15: {}; added p99 {:.1} µs ≤ 40: {}",
            v.name(),
            p50 - b50,
            verdict(p50 - b50 <= 15.0),
            p99 - b99,
            verdict(p99 - b99 <= 40.0)
        );
    }
    let canary = rows[Variant::Canary as usize].0;
    let provider = rows[Variant::Provider as usize].0;
    println!(
        "canary check: p50 {:.2}× the provider's: the harness {} a client per request",
        canary / provider,
        if canary > provider * 1.5 {
            "sees"
        } else {
            "does NOT see"
        }
    );
}

/// Per variant: p50 µs, p99 µs, CPU µs per request.
fn seq_rows(seq: &mut Sequential) -> Vec<(f64, f64, f64)> {
    Variant::ALL
        .iter()
        .map(|&v| {
            let s = &mut seq.samples[v as usize];
            let cpu = seq.cpu_ns[v as usize] as f64 / 1e3 / s.len().max(1) as f64;
            (micros(quantile(s, 0.5)), micros(quantile(s, 0.99)), cpu)
        })
        .collect()
}

fn report_throughput(tput: &Throughput, plan: &Plan) {
    let rates = &tput.rates;
    let cpu = &tput.cpu_per_request;
    println!(
        "\n== throughput at concurrency {CONCURRENCY}: {} requests per run (canary {}), median of {} interleaved rounds ==",
        plan.tput_requests, plan.tput_canary_requests, plan.tput_rounds
    );
    println!(
        "{:<28} {:>10} {:>9} {:>11} {:>9}",
        "variant", "req/s", "×raw", "CPU µs/req", "CPU ×raw"
    );
    for &v in Variant::ALL {
        let i = v as usize;
        println!(
            "{:<28} {:>10.0} {:>9.3} {:>11.1} {:>9.3}",
            v.name(),
            rates[i],
            rates[i] / rates[0],
            cpu[i] / 1e3,
            cpu[i] / cpu[0]
        );
    }
    for v in [Variant::Provider, Variant::Routed] {
        let i = v as usize;
        let ratio = rates[i] / rates[0];
        let cpu_ratio = cpu[i] / cpu[0];
        println!(
            "target {}: {ratio:.3}× raw ≥ 0.97: {}; CPU {cpu_ratio:.3}× raw ≤ 1.10: {}",
            v.name(),
            verdict(ratio >= 0.97),
            verdict(cpu_ratio <= 1.10)
        );
    }
}

fn report_streams(streams: &Streams, plan: &Plan) {
    println!(
        "\n== {STREAM_CHUNKS}-chunk SSE stream: median of {} interleaved rounds ==",
        plan.stream_rounds
    );
    println!(
        "{:<42} {:>9} {:>12} {:>9} {:>12} {:>9}",
        "variant", "ms", "chunks/s", "time ×raw", "CPU µs/chunk", "CPU ×raw"
    );
    let base = streams.times[0].as_secs_f64();
    let base_cpu = streams.cpu_per_chunk[0];
    for &v in StreamVariant::ALL {
        let t = streams.times[v as usize].as_secs_f64();
        let cpu = streams.cpu_per_chunk[v as usize];
        println!(
            "{:<42} {:>9.3} {:>12.0} {:>9.3} {:>12.2} {:>9.3}",
            v.name(),
            t * 1e3,
            STREAM_CHUNKS as f64 / t,
            t / base,
            cpu / 1e3,
            cpu / base_cpu
        );
    }
}

/// Per variant of the memory bench: peak RSS (VmHWM) and bytes per open stream.
struct Memory {
    variant: String,
    peak: u64,
    per_stream: u64,
}

/// Run the `memory` binary beside this one; its `SUMMARY` lines.
fn run_memory() -> Option<Vec<Memory>> {
    let exe = std::env::current_exe().ok()?.with_file_name("memory");
    println!("\nrunning {} for the memory columns", exe.display());
    let output = std::process::Command::new(&exe).output().ok()?;
    print!("{}", String::from_utf8_lossy(&output.stdout));
    let stdout = String::from_utf8(output.stdout).ok()?;
    let rows = stdout
        .lines()
        .filter_map(|l| {
            let mut f = l.strip_prefix("SUMMARY ")?.split_whitespace();
            Some(Memory {
                variant: f.next()?.to_owned(),
                peak: f.next()?.parse().ok()?,
                per_stream: f.next()?.parse().ok()?,
            })
        })
        .collect();
    Some(rows)
}

/// One table, every row: what BENCHMARKS.md quotes.
fn summary(
    machine: &str,
    seq: &Sequential,
    tput: &Throughput,
    streams: &Streams,
    memory: Option<&[Memory]>,
) {
    let mut seq = Sequential {
        samples: seq.samples.clone(),
        cpu_ns: seq.cpu_ns.clone(),
    };
    let rows = seq_rows(&mut seq);
    println!("\n== summary ({machine}; load now {}) ==", load());
    println!(
        "| client | seq p50 µs | seq p99 µs | c64 req/s | CPU µs/req c64 | 1000-chunk stream ms | CPU µs/chunk | peak RSS KiB | per stream B |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let stream_of = |v: Variant| -> Option<StreamVariant> {
        Some(match v {
            Variant::Raw => StreamVariant::Raw,
            Variant::Provider => StreamVariant::Provider,
            Variant::Routed => StreamVariant::Routed,
            #[cfg(llm_bench_peers)]
            Variant::AsyncOpenAi => StreamVariant::AsyncOpenAi,
            #[cfg(llm_bench_peers)]
            Variant::Genai => StreamVariant::Genai,
            Variant::Canary => return None,
        })
    };
    let memory_key = |v: Variant| match v {
        Variant::Raw => "raw",
        Variant::Provider | Variant::Routed => "runtime",
        #[cfg(llm_bench_peers)]
        Variant::AsyncOpenAi => "async-openai",
        #[cfg(llm_bench_peers)]
        Variant::Genai => "genai",
        Variant::Canary => "-",
    };
    let (b50, b99, _) = rows[0];
    let (brate, bcpu) = (tput.rates[0], tput.cpu_per_request[0]);
    let (bst, bsc) = (streams.times[0].as_secs_f64(), streams.cpu_per_chunk[0]);
    let mem_base = memory.and_then(|m| m.iter().find(|r| r.variant == "raw"));
    for &v in Variant::ALL {
        let i = v as usize;
        let (p50, p99, _) = rows[i];
        let (rate, cpu) = (tput.rates[i], tput.cpu_per_request[i]);
        let stream = stream_of(v).map_or_else(
            || ("-".to_owned(), "-".to_owned()),
            |s| {
                let (t, c) = (
                    streams.times[s as usize].as_secs_f64(),
                    streams.cpu_per_chunk[s as usize],
                );
                (
                    format!("{:.2} ({:.2}×)", t * 1e3, t / bst),
                    format!("{:.2} ({:.2}×)", c / 1e3, c / bsc),
                )
            },
        );
        let mem = memory
            .and_then(|m| m.iter().find(|r| r.variant == memory_key(v)))
            .map_or_else(
                || ("-".to_owned(), "-".to_owned()),
                |r| {
                    let (bp, bs) =
                        mem_base.map_or((r.peak, r.per_stream), |b| (b.peak, b.per_stream));
                    (
                        format!(
                            "{} ({:.2}×)",
                            r.peak / 1024,
                            r.peak as f64 / bp.max(1) as f64
                        ),
                        format!(
                            "{} ({:.2}×)",
                            r.per_stream,
                            r.per_stream as f64 / bs.max(1) as f64
                        ),
                    )
                },
            );
        println!(
            "| {} | {:.1} ({:.2}×) | {:.1} ({:.2}×) | {:.0} ({:.2}×) | {:.1} ({:.2}×) | {} | {} | {} | {} |",
            v.name(),
            p50,
            p50 / b50,
            p99,
            p99 / b99,
            rate,
            rate / brate,
            cpu / 1e3,
            cpu / bcpu,
            stream.0,
            stream.1,
            mem.0,
            mem.1
        );
    }
}

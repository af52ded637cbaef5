//! The runtime's overhead against raw reqwest, side by side in one process.
//!
//! `cargo run -p benches --release --bin overhead [-- --quick]`
//!
//! Every variant talks to the same loopback [`BenchUpstream`] (on its own
//! thread), and the variants run in order-interleaved rounds (round `r` starts
//! with variant `r mod n`), so a noisy neighbour or a CPU frequency change hits
//! them all alike; the figures that matter are the ratios to the baseline.
//!
//! - baseline: raw reqwest, built with the runtime's client settings
//!   (`HttpClient::builder().into_reqwest()`), building the JSON body, sending,
//!   reading the body and parsing it into a `serde_json::Value`;
//! - provider: `OpenAi::config().api_key(..).base_url(..).connect()` then `.chat()`;
//! - client route: `Client` with that provider registered, `client.chat("openai/gpt-4o-mini", ..)`;
//! - canary: a new provider on a new `HttpClient` per request (no pooling), a
//!   known regression the harness must show.

use std::sync::Arc;
use std::time::{Duration, Instant};

use benches::stats::{median_f64, micros, process_cpu_ns, quantile};
use benches::{BenchUpstream, Reply, Routes, fixtures};
use futures_util::StreamExt;
use llm_runtime::http::HttpClient;
use llm_runtime::providers::OpenAi;
use llm_runtime::{ChatRequest, Client, ProviderClient};
use serde_json::{Value, json};
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
    Canary,
}

impl Variant {
    const ALL: [Variant; 4] = [
        Variant::Raw,
        Variant::Provider,
        Variant::Routed,
        Variant::Canary,
    ];

    fn name(self) -> &'static str {
        match self {
            Variant::Raw => "raw reqwest (baseline)",
            Variant::Provider => "provider (OpenAi::config)",
            Variant::Routed => "Client route openai/...",
            Variant::Canary => "canary: new client/request",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum StreamVariant {
    RawLines,
    RawJson,
    Provider,
    Routed,
    Collect,
}

impl StreamVariant {
    const ALL: [StreamVariant; 5] = [
        StreamVariant::RawLines,
        StreamVariant::RawJson,
        StreamVariant::Provider,
        StreamVariant::Routed,
        StreamVariant::Collect,
    ];

    fn name(self) -> &'static str {
        match self {
            StreamVariant::RawLines => "raw bytes_stream + SSE lines (baseline)",
            StreamVariant::RawJson => "raw + serde_json::Value per chunk (ref)",
            StreamVariant::Provider => "provider chat_stream, every event",
            StreamVariant::Routed => "Client route chat_stream, every event",
            StreamVariant::Collect => "provider chat_stream.collect_response()",
        }
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
        Ok(Targets {
            raw: HttpClient::builder().into_reqwest().build()?,
            json_url: format!("{json_base}/chat/completions"),
            sse_url: format!("{sse_base}/chat/completions"),
            json_base,
            client: Client::builder().register(provider.clone())?.build()?,
            client_sse: Client::builder().register(provider_sse.clone())?.build()?,
            provider,
            provider_sse,
        })
    }

    fn request() -> ChatRequest {
        ChatRequest::new(MODEL).user("Hello")
    }

    fn raw_body(stream: bool) -> Result<Vec<u8>> {
        let mut body = json!({"model": MODEL, "messages": [{"role": "user", "content": "Hello"}]});
        if stream {
            body["stream"] = Value::Bool(true);
        }
        Ok(serde_json::to_vec(&body)?)
    }

    /// One chat call; the length of the answer's text, to check the variants agree.
    async fn chat(&self, variant: Variant) -> Result<usize> {
        match variant {
            Variant::Raw => {
                let response = self
                    .raw
                    .post(&self.json_url)
                    .bearer_auth(KEY)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(Targets::raw_body(false)?)
                    .send()
                    .await?;
                if !response.status().is_success() {
                    return Err(format!("raw request got {}", response.status()).into());
                }
                let body = response.bytes().await?;
                let value: Value = serde_json::from_slice(&body)?;
                Ok(value["choices"][0]["message"]["content"]
                    .as_str()
                    .map_or(0, str::len))
            }
            Variant::Provider => Ok(self.provider.chat(Targets::request()).await?.text().len()),
            Variant::Routed => Ok(self
                .client
                .chat(ROUTE, Targets::request())
                .await?
                .text()
                .len()),
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

    /// Consume one 1000-chunk stream; the number of text chunks (or text bytes for `Collect`).
    async fn stream(&self, variant: StreamVariant) -> Result<usize> {
        match variant {
            StreamVariant::RawLines | StreamVariant::RawJson => {
                let response = self
                    .raw
                    .post(&self.sse_url)
                    .bearer_auth(KEY)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header(reqwest::header::ACCEPT, "text/event-stream")
                    .body(Targets::raw_body(true)?)
                    .send()
                    .await?;
                if !response.status().is_success() {
                    return Err(format!("raw stream got {}", response.status()).into());
                }
                let parse = variant == StreamVariant::RawJson;
                let mut body = response.bytes_stream();
                let mut lines = RawSseLines::default();
                while let Some(chunk) = body.next().await {
                    lines.feed(&chunk?, parse)?;
                    if lines.done {
                        break;
                    }
                }
                Ok(lines.data_lines)
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
        }
    }
}

/// What a hand-written SSE consumer does: split lines, pick `data:` payloads.
#[derive(Default)]
struct RawSseLines {
    pending: Vec<u8>,
    data_lines: usize,
    done: bool,
}

impl RawSseLines {
    fn feed(&mut self, mut chunk: &[u8], parse: bool) -> Result<()> {
        while let Some(end) = chunk.iter().position(|&b| b == b'\n') {
            let line = if self.pending.is_empty() {
                &chunk[..end]
            } else {
                self.pending.extend_from_slice(&chunk[..end]);
                &self.pending[..]
            };
            if let Some(data) = line.strip_prefix(b"data: ") {
                if data == b"[DONE]" {
                    self.done = true;
                } else {
                    if parse {
                        let _: Value = serde_json::from_slice(data)?;
                    }
                    self.data_lines += 1;
                }
            }
            self.pending.clear();
            chunk = &chunk[end + 1..];
        }
        self.pending.extend_from_slice(chunk);
        Ok(())
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

async fn sequential(t: &Targets, plan: &Plan) -> Result<Sequential> {
    let mut samples = vec![Vec::with_capacity(plan.seq_requests); Variant::ALL.len()];
    let mut cpu_ns = vec![0; Variant::ALL.len()];
    let per_round = plan.seq_requests / plan.seq_rounds;
    for round in 0..plan.seq_rounds {
        for v in rotated(&Variant::ALL, round) {
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
        for v in rotated(&Variant::ALL, round) {
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

async fn streams(t: &Targets, plan: &Plan) -> Result<Vec<Duration>> {
    let mut times = vec![Vec::new(); StreamVariant::ALL.len()];
    for round in 0..plan.stream_rounds {
        for v in rotated(&StreamVariant::ALL, round) {
            let started = Instant::now();
            t.stream(v).await?;
            times[v as usize].push(started.elapsed());
        }
    }
    Ok(times.iter_mut().map(|s| quantile(s, 0.5)).collect())
}

/// Every variant answers the same, before anything is timed.
async fn check(t: &Targets) -> Result<()> {
    let expected = t.chat(Variant::Raw).await?;
    for v in Variant::ALL {
        let got = t.chat(v).await?;
        if got != expected {
            return Err(format!(
                "{} answered {got} bytes of text, the baseline {expected}",
                v.name()
            )
            .into());
        }
    }
    for v in [
        StreamVariant::RawLines,
        StreamVariant::RawJson,
        StreamVariant::Provider,
        StreamVariant::Routed,
    ] {
        let chunks = t.stream(v).await?;
        // The raw reader counts every data line; the runtime counts text deltas.
        if chunks < STREAM_CHUNKS {
            return Err(format!(
                "{} saw {chunks} chunks, expected at least {STREAM_CHUNKS}",
                v.name()
            )
            .into());
        }
    }
    t.stream(StreamVariant::Collect).await?;
    Ok(())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let date = std::process::Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d %H:%M UTC")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_default();
    format!("{cores} CPUs ({cpu}), load {load}, {date}")
}

fn verdict(pass: bool) -> &'static str {
    if pass { "PASS" } else { "MISS" }
}

/// `--only VARIANT --requests N [--concurrency C]`: N requests of one variant
/// (sequential, or from C workers) and nothing else, to run under
/// `perf record` or `valgrind --tool=callgrind`.
async fn only(t: &Arc<Targets>, variant: &str, requests: usize, concurrency: usize) -> Result<()> {
    let v = match variant {
        "raw" => Variant::Raw,
        "provider" => Variant::Provider,
        "routed" => Variant::Routed,
        "canary" => Variant::Canary,
        other => {
            return Err(
                format!("unknown variant `{other}`: raw, provider, routed or canary").into(),
            );
        }
    };
    let started = Instant::now();
    let mut workers = JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let t = Arc::clone(t);
        workers.spawn(async move {
            for _ in 0..requests / concurrency.max(1) {
                t.chat(v).await?;
            }
            Ok::<(), BoxError>(())
        });
    }
    while let Some(done) = workers.join_next().await {
        done??;
    }
    println!(
        "{requests} {} requests in {:.3} s",
        v.name(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let only_variant = value("--only");
    let only_requests: usize = value("--requests").map_or(Ok(10_000), |n| n.parse())?;
    let only_concurrency: usize = value("--concurrency").map_or(Ok(1), |n| n.parse())?;
    let quick = args.iter().any(|a| a == "--quick");
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
    let result = runtime.block_on(async {
        let t = Arc::new(Targets::new(&upstream)?);
        check(&t).await?;
        if let Some(variant) = &only_variant {
            return only(&t, variant, only_requests, only_concurrency).await;
        }
        println!("overhead bench: {}", machine());
        println!("upstream: loopback BenchUpstream on its own thread; client: tokio multi-thread, 2 workers");
        // Futures are moved (memcpy) when boxed or awaited inside another: their size is a cost.
        println!(
            "future sizes: raw reqwest send {} B, ProviderClient::chat {} B, Client::chat {} B",
            std::mem::size_of_val(&t.raw.post(&t.json_url).send()),
            std::mem::size_of_val(&t.provider.chat(Targets::request())),
            std::mem::size_of_val(&t.client.chat(ROUTE, Targets::request())),
        );
        for v in Variant::ALL {
            let n = if v == Variant::Canary { plan.warmup / plan.canary_divisor } else { plan.warmup };
            for _ in 0..n {
                t.chat(v).await?;
            }
        }
        for v in StreamVariant::ALL {
            t.stream(v).await?;
        }
        report_sequential(sequential(&t, &plan).await?, &plan);
        report_throughput(&throughput(&t, &plan).await?, &plan);
        report_streams(&streams(&t, &plan).await?, &plan);
        Ok::<(), BoxError>(())
    });
    println!("\ntotal run time {:.1} s", started.elapsed().as_secs_f64());
    drop(runtime);
    drop(upstream);
    result
}

fn report_sequential(mut seq: Sequential, plan: &Plan) {
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
    let mut rows = Vec::new();
    for v in Variant::ALL {
        let s = &mut seq.samples[v as usize];
        let cpu = seq.cpu_ns[v as usize] as f64 / 1e3 / s.len().max(1) as f64;
        rows.push((v, micros(quantile(s, 0.5)), micros(quantile(s, 0.99)), cpu));
    }
    let (_, b50, b99, bcpu) = rows[0];
    for &(v, p50, p99, cpu) in &rows {
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
    for &(v, p50, p99, _) in &rows[1..3] {
        println!(
            "target {}: added p50 {:.1} µs ≤ 15: {}; added p99 {:.1} µs ≤ 40: {}",
            v.name(),
            p50 - b50,
            verdict(p50 - b50 <= 15.0),
            p99 - b99,
            verdict(p99 - b99 <= 40.0)
        );
    }
    let (_, c50, _, _) = rows[3];
    println!(
        "canary check: p50 {:.2}× the provider's: the harness {} a client per request",
        c50 / rows[1].1,
        if c50 > rows[1].1 * 1.5 {
            "sees"
        } else {
            "does NOT see"
        }
    );
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
    for v in Variant::ALL {
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
        let ratio = rates[v as usize] / rates[0];
        println!(
            "target {}: {:.3}× raw ≥ 0.95: {}",
            v.name(),
            ratio,
            verdict(ratio >= 0.95)
        );
    }
}

fn report_streams(times: &[Duration], plan: &Plan) {
    println!(
        "\n== {STREAM_CHUNKS}-chunk SSE stream: median of {} interleaved rounds ==",
        plan.stream_rounds
    );
    println!(
        "{:<42} {:>9} {:>12} {:>9}",
        "variant", "ms", "chunks/s", "time ×raw"
    );
    let base = times[0].as_secs_f64();
    for v in StreamVariant::ALL {
        let t = times[v as usize].as_secs_f64();
        println!(
            "{:<42} {:>9.3} {:>12.0} {:>9.3}",
            v.name(),
            t * 1e3,
            STREAM_CHUNKS as f64 / t,
            t / base
        );
    }
}

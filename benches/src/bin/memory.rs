//! Memory per open stream: 1000 concurrent streams held open mid-body.
//!
//! `cargo run -p benches --release --bin memory [-- --streams N]`
//!
//! The bench upstream runs in this (parent) process and holds every stream
//! after its first two events. Each variant is measured in a fresh child
//! process (this binary with `--measure VARIANT`), so its `/proc/self/status`
//! counts the client alone, and no variant inherits another's freed heap:
//!
//! - `raw`: raw reqwest on the runtime's client settings, holding each
//!   response's `bytes_stream()` after its first chunk (the floor: a pooled
//!   connection, hyper's buffers, the tokio task and socket);
//! - `runtime`: `OpenAi` provider `chat_stream()`, holding each `ChatStream`
//!   after its first event;
//! - with `--cfg llm_bench_peers`: `async-openai` and `genai`, each holding its
//!   stream after its first event, on a reqwest client with the runtime's settings.
//!
//! The child reads `VmRSS`/`VmHWM` after warming up (one stream opened and
//! closed) and again with all streams open; per stream is the difference over N.

use std::process::{Command, Stdio};
use std::time::Duration;

use benches::stats::proc_status_bytes;
use benches::{BenchUpstream, Reply, Routes, fixtures};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use llm_runtime::http::HttpClient;
use llm_runtime::providers::OpenAi;
use llm_runtime::{ChatRequest, ChatStream};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Result<T, E = BoxError> = std::result::Result<T, E>;

const KEY: &str = "sk-bench-0123456789";
const PATH: &str = "/hold/v1";
/// Streams opened at once, so the accept backlog never overflows.
const BATCH: usize = 100;
const TARGET_PER_STREAM: u64 = 32 * 1024;

fn main() -> Result<()> {
    let streams: usize = benches::args::value("--streams").map_or(Ok(1000), |s| s.parse())?;
    match benches::args::value("--measure") {
        Some(variant) => {
            let base = benches::args::value("--base").ok_or("--measure needs --base")?;
            measure(&variant, &base, streams)
        }
        None => parent(streams),
    }
}

/// Serve, run each variant in a child, print the table.
fn parent(streams: usize) -> Result<()> {
    // Role chunk and one text delta, then held until the client goes away.
    let reply = Reply::sse(&fixtures::openai_sse_events(8)).hold_after(2);
    let upstream =
        BenchUpstream::start(Routes::new().route(format!("{PATH}/chat/completions"), reply))?;
    let exe = std::env::current_exe()?;
    println!("memory bench: {streams} concurrent open streams, each variant in a fresh process");
    println!(
        "{:<10} {:>12} {:>12} {:>12} {:>12} {:>14}",
        "variant", "RSS before", "RSS after", "HWM after", "Δ RSS", "bytes/stream"
    );
    let mut per_stream = Vec::new();
    let variants = [
        "raw",
        "runtime",
        #[cfg(llm_bench_peers)]
        "async-openai",
        #[cfg(llm_bench_peers)]
        "genai",
    ];
    let mut summary = Vec::new();
    for variant in variants {
        let child = Command::new(&exe)
            .args([
                "--measure",
                variant,
                "--base",
                &upstream.url(PATH),
                "--streams",
                &streams.to_string(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let output = child.wait_with_output()?;
        let [before, after, hwm] = benches::stats::child_result(&output, variant)?;
        let delta = after.saturating_sub(before);
        let each = delta / streams as u64;
        per_stream.push(each);
        summary.push(format!("SUMMARY {variant} {hwm} {each}"));
        println!(
            "{:<10} {:>9} KiB {:>9} KiB {:>9} KiB {:>9} KiB {:>10} B",
            variant,
            before / 1024,
            after / 1024,
            hwm / 1024,
            delta / 1024,
            each
        );
    }
    for line in summary {
        println!("{line}");
    }
    let (raw, runtime) = (per_stream[0], per_stream[1]);
    println!(
        "runtime per open stream: {runtime} B ({:.1} KiB), {:.2}× raw reqwest, {} B over it",
        runtime as f64 / 1024.0,
        runtime as f64 / raw.max(1) as f64,
        runtime as i64 - raw as i64
    );
    println!(
        "target ≤ 32 KiB per open stream: {}",
        if runtime <= TARGET_PER_STREAM {
            "PASS"
        } else {
            "MISS"
        }
    );
    Ok(())
}

/// One variant in this (child) process: open `n` streams and hold them.
fn measure(variant: &str, base: &str, n: usize) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (before, after, hwm) = match variant {
            "raw" => {
                let client = HttpClient::builder().into_reqwest().build()?;
                let url = format!("{base}/chat/completions");
                let open = |client: reqwest::Client, url: String| async move {
                    let response = client
                        .post(url)
                        .bearer_auth(KEY)
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}],"stream":true}"#)
                        .send()
                        .await?;
                    let mut body: BoxStream<'static, reqwest::Result<bytes::Bytes>> = response.bytes_stream().boxed();
                    body.next().await.ok_or("the stream ended at once")??;
                    Ok::<_, BoxError>(body)
                };
                drop(open(client.clone(), url.clone()).await?);
                settle().await;
                let before = rss();
                let mut held = Vec::with_capacity(n);
                while held.len() < n {
                    let batch = BATCH.min(n - held.len());
                    let opened = futures_util::future::join_all((0..batch).map(|_| open(client.clone(), url.clone()))).await;
                    for s in opened {
                        held.push(s?);
                    }
                }
                settle().await;
                let after = (rss(), hwm());
                drop(held);
                (before, after.0, after.1)
            }
            "runtime" => {
                let provider = OpenAi::config().api_key(KEY).base_url(base).connect()?;
                let open = |provider: llm_runtime::ProviderClient<OpenAi>| async move {
                    let mut stream: ChatStream = provider.chat_stream(ChatRequest::new("gpt-4o-mini").user("Hello")).await?;
                    stream.next().await.ok_or("the stream ended at once")??;
                    Ok::<_, BoxError>(stream)
                };
                drop(open(provider.clone()).await?);
                settle().await;
                let before = rss();
                let mut held = Vec::with_capacity(n);
                while held.len() < n {
                    let batch = BATCH.min(n - held.len());
                    let opened = futures_util::future::join_all((0..batch).map(|_| open(provider.clone()))).await;
                    for s in opened {
                        held.push(s?);
                    }
                }
                settle().await;
                let after = (rss(), hwm());
                drop(held);
                (before, after.0, after.1)
            }
            #[cfg(llm_bench_peers)]
            "async-openai" => {
                let client = benches::peers::AsyncOpenAi::new(base, KEY, HttpClient::builder().into_reqwest().build()?);
                let open = |client: benches::peers::AsyncOpenAi| async move {
                    let mut stream = client.open_stream().await?;
                    stream.next().await.ok_or("the stream ended at once")??;
                    Ok::<_, BoxError>(stream)
                };
                hold(n, || open(client.clone())).await?
            }
            #[cfg(llm_bench_peers)]
            "genai" => {
                let client = benches::peers::Genai::new(base, KEY, HttpClient::builder().into_reqwest().build()?)?;
                let open = |client: benches::peers::Genai| async move {
                    let mut stream = client.open_stream().await?;
                    // genai sends the request on the first poll and hands out a
                    // `Start` of its own first: read up to the first wire event.
                    loop {
                        let event = stream.next().await.ok_or("the stream ended at once")??;
                        if !matches!(event, genai::chat::ChatStreamEvent::Start) {
                            break;
                        }
                    }
                    Ok::<_, BoxError>(stream)
                };
                hold(n, || open(client.clone())).await?
            }
            other => return Err(format!("unknown variant `{other}`").into()),
        };
        println!("RESULT {before} {after} {hwm}");
        Ok(())
    })
}

/// Open one stream and drop it (warm-up), then hold `n` open; RSS before,
/// RSS after and the high-water mark after.
#[cfg(llm_bench_peers)]
async fn hold<S, F, Fut>(n: usize, open: F) -> Result<(u64, u64, u64)>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<S>>,
{
    drop(open().await?);
    settle().await;
    let before = rss();
    let mut held = Vec::with_capacity(n);
    while held.len() < n {
        let batch = BATCH.min(n - held.len());
        let opened = futures_util::future::join_all((0..batch).map(|_| open())).await;
        for s in opened {
            held.push(s?);
        }
    }
    settle().await;
    let after = (rss(), hwm());
    drop(held);
    Ok((before, after.0, after.1))
}

/// Let connection tasks reach their idle state before reading memory.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(200)).await;
}

fn rss() -> u64 {
    proc_status_bytes("VmRSS").unwrap_or(0)
}

fn hwm() -> u64 {
    proc_status_bytes("VmHWM").unwrap_or(0)
}

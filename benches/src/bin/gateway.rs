//! llm-gateway's cost: the same loopback upstream called directly and through
//! the gateway (a child process, release build, master key and metrics on).
//!
//! `cargo build --release -p llm-gateway && cargo run -p benches --release --bin gateway [-- --quick]`
//!
//! Prints: added latency p50/p99 at concurrency 1, 16 and 64 (non-stream),
//! req/s at c64 both ways, the gateway's CPU per request, added time to first
//! token (stream), its RSS idle and with many open streams, and boot to ready.
//! Direct and gateway requests alternate in rounds, so noise hits both alike.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use benches::stats::{load, machine, micros, quantile};
use benches::{BenchUpstream, Reply, Routes, fixtures};
use futures_util::StreamExt;
use tokio::task::JoinSet;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Result<T, E = BoxError> = std::result::Result<T, E>;

const MASTER_KEY: &str = "sk-bench-master";

/// The gateway binary beside this one (`target/release/llm-gateway`).
fn gateway_binary() -> Result<std::path::PathBuf> {
    let path = std::env::current_exe()?.with_file_name("llm-gateway");
    if !path.exists() {
        return Err(format!(
            "{} is missing: run `cargo build --release -p llm-gateway` first",
            path.display()
        )
        .into());
    }
    Ok(path)
}

/// The gateway as a child process; its URL and its pid's `/proc` figures.
struct Gateway {
    child: Child,
    url: String,
    boot: Duration,
}

impl Gateway {
    async fn start(upstream: &BenchUpstream, dir: &std::path::Path) -> Result<Gateway> {
        let config = dir.join("gateway-bench.yaml");
        let base = upstream.url("");
        std::fs::write(
            &config,
            format!(
                "model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/gpt-4o-mini\n      api_base: {base}/v1\n      api_key: sk-up\n      max_retries: 0\n  - model_name: s\n    litellm_params:\n      model: openai/gpt-4o-mini\n      api_base: {base}/s/v1\n      api_key: sk-up\n      max_retries: 0\n  - model_name: hold\n    litellm_params:\n      model: openai/gpt-4o-mini\n      api_base: {base}/hold/v1\n      api_key: sk-up\n      max_retries: 0\ngeneral_settings:\n  master_key: {MASTER_KEY}\n"
            ),
        )?;
        let started = Instant::now();
        let mut child = Command::new(gateway_binary()?)
            .args(["--config", config.to_str().ok_or("path")?, "--port", "0"])
            .env("LLM_GATEWAY_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().ok_or("stdout")?).read_line(&mut line)?;
        let url = line
            .trim()
            .strip_prefix("llm-gateway listening on ")
            .ok_or("no address line")?
            .to_owned();
        let client = reqwest::Client::builder().no_proxy().build()?;
        while client
            .get(format!("{url}/health/readiness"))
            .send()
            .await
            .is_err()
        {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        Ok(Gateway {
            child,
            url,
            boot: started.elapsed(),
        })
    }

    fn proc_field(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status.lines().find_map(|l| {
            let kib: u64 = l
                .strip_prefix(field)?
                .strip_prefix(':')?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()?;
            Some(kib * 1024)
        })
    }

    /// User + system CPU time of the gateway process (clock ticks of 10 ms).
    fn cpu(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
        let ticks: u64 =
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(Duration::from_millis(ticks * 10))
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn body(model: &str, stream: bool) -> Vec<u8> {
    serde_json::json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": "Say hello"}]})
        .to_string()
        .into_bytes()
}

/// POST `body` to `url` with the master key.
async fn post(client: &reqwest::Client, url: &str, body: &[u8]) -> Result<reqwest::Response> {
    Ok(client
        .post(url)
        .bearer_auth(MASTER_KEY)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await?)
}

/// One non-stream call; its latency.
async fn call(client: &reqwest::Client, url: &str, body: &[u8]) -> Result<Duration> {
    let started = Instant::now();
    let r = post(client, url, body).await?;
    if !r.status().is_success() {
        return Err(format!("{url}: {}", r.status()).into());
    }
    let _ = r.bytes().await?;
    Ok(started.elapsed())
}

/// `n` calls on `c` workers; every latency, and the wall time.
async fn run(
    client: &reqwest::Client,
    url: &str,
    body: &[u8],
    c: usize,
    n: usize,
) -> Result<(Vec<Duration>, Duration)> {
    let started = Instant::now();
    let mut set = JoinSet::new();
    for w in 0..c {
        let (client, url, body) = (client.clone(), url.to_owned(), body.to_vec());
        let share = n / c + usize::from(w < n % c);
        set.spawn(async move {
            let mut out = Vec::with_capacity(share);
            for _ in 0..share {
                out.push(call(&client, &url, &body).await?);
            }
            Ok::<_, BoxError>(out)
        });
    }
    let mut all = Vec::with_capacity(n);
    while let Some(r) = set.join_next().await {
        all.extend(r??);
    }
    Ok((all, started.elapsed()))
}

/// Time to the first content byte of a stream.
async fn ttft(client: &reqwest::Client, url: &str, body: &[u8]) -> Result<Duration> {
    let started = Instant::now();
    let r = post(client, url, body).await?;
    let mut s = r.bytes_stream();
    let mut first = None;
    while let Some(chunk) = s.next().await {
        let chunk = chunk?;
        if first.is_none() && memchr::memmem::find(&chunk, b"content\":\"").is_some() {
            first = Some(started.elapsed());
        }
    }
    first.ok_or_else(|| "no content in the stream".into())
}

fn pct(samples: &mut [Duration]) -> (f64, f64) {
    (
        micros(quantile(samples, 0.5)),
        micros(quantile(samples, 0.99)),
    )
}

#[tokio::main]
async fn main() -> Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let (per_level, rounds, streams_held) = if quick {
        (400, 3, 1000)
    } else {
        (4000, 5, 9000)
    };
    let events: Vec<bytes::Bytes> = fixtures::openai_sse_events(20);
    let routes = Routes::new()
        .route(
            "/v1/chat/completions",
            Reply::json(fixtures::openai_chat_json()),
        )
        .route("/s/v1/chat/completions", Reply::sse(&events))
        .route(
            "/hold/v1/chat/completions",
            Reply::sse(&events).hold_after(2),
        );
    let upstream = BenchUpstream::start(routes)?;
    let dir = std::env::temp_dir();
    let gw = Gateway::start(&upstream, &dir).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_idle = gw.proc_field("VmRSS").unwrap_or(0);
    println!(
        "llm-gateway benchmark ({})\n{}\n{}",
        if quick { "quick" } else { "full" },
        machine(),
        load()
    );
    println!(
        "boot to ready: {:.1} ms; RSS idle: {:.1} MiB",
        gw.boot.as_secs_f64() * 1e3,
        rss_idle as f64 / 1048576.0
    );

    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(256)
        .build()?;
    let direct_url = upstream.url("/v1/chat/completions");
    let gw_url = format!("{}/v1/chat/completions", gw.url);
    let (direct_body, gw_body) = (body("gpt-4o-mini", false), body("m", false));
    // Warm-up: connections and caches on both paths.
    run(&client, &direct_url, &direct_body, 64, 2000).await?;
    run(&client, &gw_url, &gw_body, 64, 2000).await?;

    println!(
        "\n| concurrency | direct p50 / p99 (µs) | gateway p50 / p99 (µs) | added p50 / p99 (µs) | direct req/s | gateway req/s | gateway CPU/req (µs) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for c in [1usize, 16, 64] {
        let (mut d_all, mut g_all) = (Vec::new(), Vec::new());
        let (mut d_wall, mut g_wall) = (Duration::ZERO, Duration::ZERO);
        let mut cpu = Duration::ZERO;
        let n = per_level / rounds;
        for round in 0..rounds {
            // Alternate which goes first.
            for which in [round % 2, 1 - round % 2] {
                if which == 0 {
                    let (d, w) = run(&client, &direct_url, &direct_body, c, n).await?;
                    d_all.extend(d);
                    d_wall += w;
                } else {
                    let before = gw.cpu().unwrap_or_default();
                    let (g, w) = run(&client, &gw_url, &gw_body, c, n).await?;
                    cpu += gw.cpu().unwrap_or_default().saturating_sub(before);
                    g_all.extend(g);
                    g_wall += w;
                }
            }
        }
        let (dp50, dp99) = pct(&mut d_all);
        let (gp50, gp99) = pct(&mut g_all);
        let total = (n * rounds) as f64;
        println!(
            "| {c} | {dp50:.0} / {dp99:.0} | {gp50:.0} / {gp99:.0} | {:.0} / {:.0} | {:.0} | {:.0} | {:.0} |",
            gp50 - dp50,
            gp99 - dp99,
            total / d_wall.as_secs_f64(),
            total / g_wall.as_secs_f64(),
            cpu.as_secs_f64() * 1e6 / total,
        );
    }

    let (s_direct, s_gw) = (
        upstream.url("/s/v1/chat/completions"),
        format!("{}/v1/chat/completions", gw.url),
    );
    let (sd_body, sg_body) = (body("gpt-4o-mini", true), body("s", true));
    let (mut d, mut g) = (Vec::new(), Vec::new());
    for _ in 0..(per_level / 10) {
        d.push(ttft(&client, &s_direct, &sd_body).await?);
        g.push(ttft(&client, &s_gw, &sg_body).await?);
    }
    let ((dp50, dp99), (gp50, gp99)) = (pct(&mut d), pct(&mut g));
    println!(
        "\nstream time to first token (c1, 20 events): direct {dp50:.0} / {dp99:.0} µs, gateway {gp50:.0} / {gp99:.0} µs, added {:.0} / {:.0} µs (p50 / p99)",
        gp50 - dp50,
        gp99 - dp99
    );

    // Many open streams: each held by the upstream after its first events.
    let hold_body = body("hold", true);
    let mut open = Vec::with_capacity(streams_held);
    let hold_client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .build()?;
    for _ in 0..streams_held {
        let r = post(&hold_client, &s_gw, &hold_body).await?;
        let mut s = r.bytes_stream();
        let _ = s.next().await;
        open.push(s);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_streams = gw.proc_field("VmRSS").unwrap_or(0);
    println!(
        "RSS with {streams_held} open streams: {:.1} MiB ({:.1} KiB per stream over idle)",
        rss_streams as f64 / 1048576.0,
        (rss_streams.saturating_sub(rss_idle)) as f64 / 1024.0 / streams_held as f64
    );
    upstream.release_held();
    drop(open);
    Ok(())
}

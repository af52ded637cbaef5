//! llm-gateway's cost: the same loopback upstream called directly and through
//! the gateway (a child process, release build, master key and metrics on).
//!
//! `cargo build --release -p llm-gateway && cargo run -p benches --release --bin gateway [-- --quick] [--litellm PATH]`
//!
//! `--litellm PATH` adds LiteLLM's proxy (the `litellm` command of a venv with
//! `litellm[proxy]`) as a row, on the same config and upstream.
//!
//! Prints: added latency p50/p99 at concurrency 1, 16 and 64 (non-stream),
//! req/s at c64 both ways, the gateway's CPU per request, added time to first
//! token (stream), its RSS idle and with many open streams, and boot to ready.
//! Direct and gateway requests alternate in rounds, so noise hits both alike.
//!
//! `--rss-only` prints only boot, idle RSS and RSS with the open streams.
//!
//! `--calls N [--stream]` only serves N calls at concurrency 1 through the
//! gateway (after 200 warm-up calls), then stops it with SIGTERM, for
//! instruction counts: with `LLM_BENCH_WRAP="valgrind --tool=callgrind
//! --callgrind-out-file=cg.%p"` the gateway runs under that command, and the
//! difference of two runs (N and 2N calls) divided by N is the cost of a call.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use benches::stats::{machine, micros, quantile};
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

/// The config both proxies run: `m` (JSON), `s` (stream) and `hold` (a stream held open).
fn write_config(upstream: &BenchUpstream, dir: &std::path::Path) -> Result<std::path::PathBuf> {
    let config = dir.join(format!("gateway-bench-{}.yaml", std::process::id()));
    let base = upstream.url("");
    let mut yaml = String::from("model_list:\n");
    for (name, path) in [("m", "/v1"), ("s", "/s/v1"), ("hold", "/hold/v1")] {
        yaml.push_str(&format!(
            "  - model_name: {name}\n    litellm_params:\n      model: openai/gpt-4o-mini\n      api_base: {base}{path}\n      api_key: sk-up\n      max_retries: 0\n"
        ));
    }
    yaml.push_str(&format!("general_settings:\n  master_key: {MASTER_KEY}\n"));
    std::fs::write(&config, yaml)?;
    Ok(config)
}

/// A proxy as a child process; its URL and its pid's `/proc` figures.
struct Gateway {
    name: &'static str,
    child: Child,
    url: String,
    boot: Duration,
}

impl Gateway {
    /// llm-gateway on `config`: it prints the address it listens on.
    async fn start(config: &std::path::Path) -> Result<Gateway> {
        let started = Instant::now();
        // A wrapper command (valgrind) from `LLM_BENCH_WRAP`, for `--calls`.
        let wrap = std::env::var("LLM_BENCH_WRAP").unwrap_or_default();
        let mut command = match wrap.split_whitespace().collect::<Vec<_>>().split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(gateway_binary()?);
                c
            }
            None => Command::new(gateway_binary()?),
        };
        let mut child = command
            .args(["--config", config.to_str().ok_or("path")?, "--port", "0"])
            .env("LLM_GATEWAY_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        // The address line (a wrapper such as heaptrack may print before it).
        let mut out = BufReader::new(child.stdout.take().ok_or("stdout")?);
        let url = loop {
            let mut line = String::new();
            if out.read_line(&mut line)? == 0 {
                return Err("no address line".into());
            }
            if let Some(url) = line.trim().strip_prefix("llm-gateway listening on ") {
                break url.to_owned();
            }
        };
        Gateway::ready("llm-gateway", child, url, started).await
    }

    /// LiteLLM's proxy (`litellm` at `bin`) on `config`, on a free port.
    async fn litellm(bin: &str, config: &std::path::Path) -> Result<Gateway> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let started = Instant::now();
        let child = Command::new(bin)
            .args([
                "--config",
                config.to_str().ok_or("path")?,
                "--host",
                "127.0.0.1",
            ])
            .args(["--port", &port.to_string(), "--num_workers", "1"])
            // Offline: the bundled cost map, no telemetry.
            .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            .env("LITELLM_TELEMETRY", "False")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        Gateway::ready(
            "LiteLLM proxy",
            child,
            format!("http://127.0.0.1:{port}"),
            started,
        )
        .await
    }

    async fn ready(
        name: &'static str,
        child: Child,
        url: String,
        started: Instant,
    ) -> Result<Gateway> {
        let client = reqwest::Client::builder().no_proxy().build()?;
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let r = client.get(format!("{url}/health/readiness")).send().await;
            if r.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("{name} was not ready in 300 s").into());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Ok(Gateway {
            name,
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

    /// User + system CPU time of the process and its children (clock ticks of 10 ms).
    fn cpu(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
        let ticks: u64 = [11, 12, 13, 14]
            .iter()
            .map(|&i| {
                fields
                    .get(i)
                    .and_then(|f| f.parse::<u64>().ok())
                    .unwrap_or(0)
            })
            .sum();
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

/// Added latency and throughput at c1, c16 and c64: each proxy against the direct calls.
async fn latency_table(
    client: &reqwest::Client,
    direct: &str,
    proxies: &[Gateway],
    per_level: usize,
    rounds: usize,
) -> Result<()> {
    println!(
        "\n| proxy | concurrency | direct p50 / p99 (µs) | proxy p50 / p99 (µs) | added p50 / p99 (µs) | direct req/s | proxy req/s | proxy CPU/req (µs) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let direct_body = body("gpt-4o-mini", false);
    let proxy_body = body("m", false);
    for p in proxies {
        let url = format!("{}/v1/chat/completions", p.url);
        for c in [1usize, 16, 64] {
            let (mut d_all, mut g_all) = (Vec::new(), Vec::new());
            let (mut d_wall, mut g_wall, mut cpu) =
                (Duration::ZERO, Duration::ZERO, Duration::ZERO);
            let n = per_level / rounds;
            for round in 0..rounds {
                // Alternate which goes first, so drift hits both alike.
                for which in [round % 2, 1 - round % 2] {
                    if which == 0 {
                        let (d, w) = run(client, direct, &direct_body, c, n).await?;
                        d_all.extend(d);
                        d_wall += w;
                    } else {
                        let before = p.cpu().unwrap_or_default();
                        let (g, w) = run(client, &url, &proxy_body, c, n).await?;
                        cpu += p.cpu().unwrap_or_default().saturating_sub(before);
                        g_all.extend(g);
                        g_wall += w;
                    }
                }
            }
            let ((dp50, dp99), (gp50, gp99)) = (pct(&mut d_all), pct(&mut g_all));
            let total = (n * rounds) as f64;
            println!(
                "| {} | {c} | {dp50:.0} / {dp99:.0} | {gp50:.0} / {gp99:.0} | {:.0} / {:.0} | {:.0} | {:.0} | {:.0} |",
                p.name,
                gp50 - dp50,
                gp99 - dp99,
                total / d_wall.as_secs_f64(),
                total / g_wall.as_secs_f64(),
                cpu.as_secs_f64() * 1e6 / total,
            );
        }
    }
    Ok(())
}

/// Added time to the first token of a stream, at concurrency 1.
async fn ttft_rows(
    client: &reqwest::Client,
    direct: &str,
    proxies: &[Gateway],
    n: usize,
) -> Result<()> {
    let (sd_body, sg_body) = (body("gpt-4o-mini", true), body("s", true));
    for p in proxies {
        let url = format!("{}/v1/chat/completions", p.url);
        let (mut d, mut g) = (Vec::new(), Vec::new());
        for _ in 0..n {
            d.push(ttft(client, direct, &sd_body).await?);
            g.push(ttft(client, &url, &sg_body).await?);
        }
        let ((dp50, dp99), (gp50, gp99)) = (pct(&mut d), pct(&mut g));
        println!(
            "{}: stream time to first token (c1, 20 events): direct {dp50:.0} / {dp99:.0} µs, proxy {gp50:.0} / {gp99:.0} µs, added {:.0} / {:.0} µs (p50 / p99)",
            p.name,
            gp50 - dp50,
            gp99 - dp99
        );
    }
    Ok(())
}

/// RSS of `gw` with `n` streams open through it (held by the upstream after two events).
///
/// Over HTTP/1.1 each stream is a connection: two descriptors in the
/// gateway and two here (client and upstream). When `fds` (the limit a
/// process may reach) cannot hold that, the client reaches the gateway over
/// h2c instead (150 streams per connection, under hyper's 200), so only the
/// upstream leg takes a descriptor per stream; the line says which.
async fn open_streams_rss(
    gw: &Gateway,
    upstream: &BenchUpstream,
    n: usize,
    idle: u64,
    fds: Option<u64>,
) -> Result<()> {
    let url = format!("{}/v1/chat/completions", gw.url);
    let hold_body = body("hold", true);
    let h2 = fds.is_some_and(|limit| (2 * n as u64 + 256) > limit);
    let clients = (0..if h2 { n.div_ceil(150) } else { 1 })
        .map(|_| {
            let b = reqwest::Client::builder().no_proxy();
            // h2: one shared connection per client; HTTP/1.1: one per stream.
            if h2 {
                b.http2_prior_knowledge()
            } else {
                b.pool_max_idle_per_host(0)
            }
            .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut open = Vec::with_capacity(n);
    for i in 0..n {
        let client = &clients[i % clients.len()];
        let r = post(client, &url, &hold_body).await?;
        let mut s = r.bytes_stream();
        let _ = s.next().await;
        open.push(s);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss = gw.proc_field("VmRSS").unwrap_or(0);
    println!(
        "{}: RSS with {n} open streams{}: {:.1} MiB ({:.1} KiB per stream over idle)",
        gw.name,
        if h2 {
            " (client over h2c: the open-files limit holds no 2 descriptors per stream)"
        } else {
            ""
        },
        rss as f64 / 1048576.0,
        (rss.saturating_sub(idle)) as f64 / 1024.0 / n as f64
    );
    upstream.release_held();
    drop(open);
    Ok(())
}

/// `--calls N`: N calls at c1 through the gateway, then SIGTERM and wait
/// for its exit (so a profiler wrapping it writes its counts).
async fn serve_calls(mut gw: Gateway, n: usize, stream: bool) -> Result<()> {
    let client = reqwest::Client::builder().no_proxy().build()?;
    let url = format!("{}/v1/chat/completions", gw.url);
    let body = if stream {
        body("s", true)
    } else {
        body("m", false)
    };
    for _ in 0..200 {
        call(&client, &url, &body).await?;
    }
    let started = Instant::now();
    for _ in 0..n {
        call(&client, &url, &body).await?;
    }
    println!(
        "{n} calls in {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    Command::new("kill")
        .args(["-TERM", &gw.child.id().to_string()])
        .status()?;
    gw.child.wait()?;
    Ok(())
}

/// Raise the open-files limit to `want` (the hard limit too, where the
/// process may: root), else the soft limit to the hard one. The held streams
/// take two descriptors here (client and upstream) and two in the gateway,
/// which inherits the limit. Returns the soft limit in force.
fn raise_open_files_limit(want: u64) -> Option<u64> {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        let hard = limit.maximum.unwrap_or(u64::MAX);
        if hard < want {
            let raised = Rlimit {
                current: Some(want),
                maximum: Some(want),
            };
            if setrlimit(Resource::Nofile, raised).is_ok() {
                return Some(want);
            }
        }
        let soft = Rlimit {
            current: Some(hard.min(want.max(limit.current.unwrap_or(0)))),
            maximum: limit.maximum,
        };
        let _ = setrlimit(Resource::Nofile, soft);
        getrlimit(Resource::Nofile).current
    }
    #[cfg(not(unix))]
    {
        let _ = want;
        None
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let calls = args
        .iter()
        .position(|a| a == "--calls")
        .and_then(|i| args.get(i + 1)?.parse::<usize>().ok());
    let quick = args.iter().any(|a| a == "--quick");
    let litellm = args
        .iter()
        .position(|a| a == "--litellm")
        .and_then(|i| args.get(i + 1).cloned());
    let (per_level, rounds, streams_held) = if quick {
        (400, 2, 1000)
    } else {
        (4000, 4, 10_000)
    };
    // Two descriptors per held stream in this process, two in the gateway.
    let fds = raise_open_files_limit(4 * streams_held as u64 + 1024);
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
    let config = write_config(&upstream, &std::env::temp_dir())?;
    if let Some(n) = calls {
        let gw = Gateway::start(&config).await?;
        let stream = args.iter().any(|a| a == "--stream");
        let served = serve_calls(gw, n, stream).await;
        let _ = std::fs::remove_file(&config);
        return served;
    }
    let mut proxies = vec![Gateway::start(&config).await?];
    if let Some(bin) = &litellm {
        proxies.push(Gateway::litellm(bin, &config).await?);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    println!(
        "llm-gateway benchmark ({})\n{}\nopen-files limit: {}",
        if quick { "quick" } else { "full" },
        machine(),
        fds.map_or("unlimited".to_owned(), |n| n.to_string())
    );
    let idle: Vec<u64> = proxies
        .iter()
        .map(|p| p.proc_field("VmRSS").unwrap_or(0))
        .collect();
    for (p, rss) in proxies.iter().zip(&idle) {
        println!(
            "{}: boot to ready {:.1} ms; RSS idle {:.1} MiB",
            p.name,
            p.boot.as_secs_f64() * 1e3,
            *rss as f64 / 1048576.0
        );
    }
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(256)
        .build()?;
    let direct = upstream.url("/v1/chat/completions");
    // Warm-up: connections and caches on every path.
    run(&client, &direct, &body("gpt-4o-mini", false), 64, 2000).await?;
    for p in &proxies {
        run(
            &client,
            &format!("{}/v1/chat/completions", p.url),
            &body("m", false),
            64,
            2000,
        )
        .await?;
    }
    if args.iter().any(|a| a == "--rss-only") {
        // Only the memory rows (idle above, open streams below).
        open_streams_rss(&proxies[0], &upstream, streams_held, idle[0], fds).await?;
        let _ = std::fs::remove_file(&config);
        return Ok(());
    }
    latency_table(&client, &direct, &proxies, per_level, rounds).await?;
    println!();
    ttft_rows(
        &client,
        &upstream.url("/s/v1/chat/completions"),
        &proxies,
        per_level / 10,
    )
    .await?;
    open_streams_rss(&proxies[0], &upstream, streams_held, idle[0], fds).await?;
    let _ = std::fs::remove_file(&config);
    Ok(())
}

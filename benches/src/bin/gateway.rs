//! llm-gateway's cost: the same loopback upstream called directly and through
//! the gateway (a child process, release build, master key and metrics on).
//!
//! `cargo build --release -p llm-gateway && cargo run -p benches --release --bin gateway [-- --quick] [--litellm PATH] [--portkey DIR]`
//!
//! `--litellm PATH` adds LiteLLM's proxy (the `litellm` command of a venv with
//! `litellm[proxy]`) as a row, on the same config and upstream.
//! `--portkey DIR` adds Portkey's gateway (`npm install @portkey-ai/gateway`
//! in DIR) as a row: it routes by headers (`x-portkey-provider: openai`,
//! `x-portkey-custom-host` set to the same upstream), so it needs no config.
//! A row whose proxy is not installed is left out.
//!
//! Prints: added latency p50/p99 at concurrency 1, 16 and 64 (non-stream),
//! req/s at c64 both ways, the gateway's CPU per request, added time to first
//! token and inter-chunk gap p99 (stream), RSS idle and with many open
//! streams, and boot to ready; then the cost of governance: a second gateway
//! with a virtual key of a team, rpm/tpm limits and budgets on both (SQLite
//! store, a `redis-server` started here for the shared counters), against the
//! plain gateway in the same rounds.
//! Direct and gateway requests alternate in rounds, so noise hits both alike.
//!
//! `--rss-only` prints only boot, idle RSS and RSS with the open streams.
//! `--governance-only` prints only the governance rows (`--governance-in-process`:
//! counters in the gateway's process, no Redis). `--per-level N`: N calls per
//! concurrency level and proxy (default 4 000; the governance rows 20 000).
//!
//! `--calls N [--stream] [--governed] [--concurrency C]` only serves N calls
//! (at concurrency C, default 1) through the gateway (after 200 warm-up
//! calls; `--governed`: the governed gateway, with its virtual key), prints
//! the bytes it wrote per call, then stops it with SIGTERM, for profiles
//! and instruction counts: with `LLM_BENCH_WRAP="valgrind --tool=callgrind
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
    /// Portkey: the upstream's base URL, sent as `x-portkey-custom-host`.
    portkey_upstream: Option<String>,
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
        Gateway::ready("llm-gateway", child, url, started, "/health/readiness").await
    }

    /// Portkey's gateway (`npm install @portkey-ai/gateway` in `dir`), on a
    /// free port, proxying to `upstream` (its base URL).
    async fn portkey(dir: &std::path::Path, upstream: &str) -> Result<Gateway> {
        let server = [
            "build/start-server.js",
            "node_modules/@portkey-ai/gateway/build/start-server.js",
        ]
        .iter()
        .map(|p| dir.join(p))
        .find(|p| p.exists())
        .ok_or_else(|| format!("no @portkey-ai/gateway under {}", dir.display()))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let started = Instant::now();
        let child = Command::new("node")
            .arg(server)
            .args([format!("--port={port}"), "--headless".to_owned()])
            .env("NODE_ENV", "production")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let mut gw = Gateway::ready(
            "Portkey gateway",
            child,
            format!("http://127.0.0.1:{port}"),
            started,
            "/",
        )
        .await?;
        gw.portkey_upstream = Some(upstream.trim_end_matches('/').to_owned());
        Ok(gw)
    }

    /// A client for calls to the group `group` (`m`, `s`, `hold`) through
    /// this proxy: Portkey's carries the routing headers (the group's
    /// upstream path as its custom host).
    fn client(&self, builder: reqwest::ClientBuilder, group: &str) -> Result<reqwest::Client> {
        let Some(upstream) = &self.portkey_upstream else {
            return Ok(builder.build()?);
        };
        let path = match group {
            "m" => "/v1",
            other => &format!("/{other}/v1"),
        };
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-portkey-provider", "openai".parse()?);
        headers.insert(
            "x-portkey-custom-host",
            format!("{upstream}{path}").parse()?,
        );
        Ok(builder.default_headers(headers).build()?)
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
            "/health/readiness",
        )
        .await
    }

    async fn ready(
        name: &'static str,
        child: Child,
        url: String,
        started: Instant,
        health: &str,
    ) -> Result<Gateway> {
        let client = reqwest::Client::builder().no_proxy().build()?;
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let r = client.get(format!("{url}{health}")).send().await;
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
            portkey_upstream: None,
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

    /// Bytes the process asked the kernel to write (`wchar` of `/proc/PID/io`:
    /// sockets and files, the database's pages included).
    fn written(&self) -> Option<u64> {
        let io = std::fs::read_to_string(format!("/proc/{}/io", self.child.id())).ok()?;
        io.lines()
            .find_map(|l| l.strip_prefix("wchar:")?.trim().parse().ok())
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
    post_as(client, url, body, MASTER_KEY).await
}

/// POST `body` to `url` with `key`.
async fn post_as(
    client: &reqwest::Client,
    url: &str,
    body: &[u8],
    key: &str,
) -> Result<reqwest::Response> {
    Ok(client
        .post(url)
        .bearer_auth(key)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await?)
}

/// One non-stream call with `key`; its latency.
async fn call_as(client: &reqwest::Client, url: &str, body: &[u8], key: &str) -> Result<Duration> {
    let started = Instant::now();
    let r = post_as(client, url, body, key).await?;
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
    run_as(client, url, body, c, n, MASTER_KEY).await
}

/// [`run`] with `key`.
async fn run_as(
    client: &reqwest::Client,
    url: &str,
    body: &[u8],
    c: usize,
    n: usize,
    key: &str,
) -> Result<(Vec<Duration>, Duration)> {
    let started = Instant::now();
    let mut set = JoinSet::new();
    for w in 0..c {
        let (client, url, body) = (client.clone(), url.to_owned(), body.to_vec());
        let key = key.to_owned();
        let share = n / c + usize::from(w < n % c);
        set.spawn(async move {
            let mut out = Vec::with_capacity(share);
            for _ in 0..share {
                out.push(call_as(&client, &url, &body, &key).await?);
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

/// Time to the first content byte of a stream, and the gaps between the
/// chunks with content after it.
async fn ttft(
    client: &reqwest::Client,
    url: &str,
    body: &[u8],
) -> Result<(Duration, Vec<Duration>)> {
    let started = Instant::now();
    let r = post(client, url, body).await?;
    if !r.status().is_success() {
        return Err(format!("{url}: {} {}", r.status(), r.text().await?).into());
    }
    let mut s = r.bytes_stream();
    let mut first = None;
    let (mut last, mut gaps) = (started, Vec::new());
    while let Some(chunk) = s.next().await {
        let chunk = chunk?;
        if memchr::memmem::find(&chunk, b"content\":\"").is_some() {
            let now = Instant::now();
            if first.is_none() {
                first = Some(now - started);
            } else {
                gaps.push(now - last);
            }
            last = now;
        }
    }
    let first = first.ok_or("no content in the stream")?;
    Ok((first, gaps))
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
        let pclient = p.client(
            reqwest::Client::builder()
                .no_proxy()
                .pool_max_idle_per_host(256),
            "m",
        )?;
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
                        let (g, w) = run(&pclient, &url, &proxy_body, c, n).await?;
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
        let pclient = p.client(reqwest::Client::builder().no_proxy(), "s")?;
        let (mut d, mut g, mut d_gaps, mut g_gaps) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..n {
            let (first, gaps) = ttft(client, direct, &sd_body).await?;
            d.push(first);
            d_gaps.extend(gaps);
            match ttft(&pclient, &url, &sg_body).await {
                Ok((first, gaps)) => {
                    g.push(first);
                    g_gaps.extend(gaps);
                }
                Err(e) => {
                    println!("{}: streams fail: {e}", p.name);
                    break;
                }
            }
        }
        if g.is_empty() {
            continue;
        }
        let ((dp50, dp99), (gp50, gp99)) = (pct(&mut d), pct(&mut g));
        let ((_, dgap99), (_, ggap99)) = (pct(&mut d_gaps), pct(&mut g_gaps));
        println!(
            "{}: stream time to first token (c1, 20 events): direct {dp50:.0} / {dp99:.0} µs, proxy {gp50:.0} / {gp99:.0} µs, added {:.0} / {:.0} µs (p50 / p99); inter-chunk gap p99: direct {dgap99:.0} µs, proxy {ggap99:.0} µs",
            p.name,
            gp50 - dp50,
            gp99 - dp99
        );
    }
    Ok(())
}

/// A stream through a proxy, open once its first bytes arrived.
async fn open_stream(
    client: &reqwest::Client,
    url: &str,
    body: &[u8],
) -> Result<impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + use<>> {
    let r = post(client, url, body).await?;
    if !r.status().is_success() {
        return Err(format!("refused: {}", r.status()).into());
    }
    let mut s = r.bytes_stream();
    match s.next().await {
        Some(Ok(_)) => Ok(s),
        _ => Err("ended before its first bytes".into()),
    }
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
    // Over h2c only to llm-gateway: the other proxies speak HTTP/1.1.
    let h2 = gw.name == "llm-gateway" && fds.is_some_and(|limit| (2 * n as u64 + 256) > limit);
    let clients = (0..if h2 { n.div_ceil(150) } else { 1 })
        .map(|_| {
            let b = reqwest::Client::builder().no_proxy();
            // h2: one shared connection per client; HTTP/1.1: one per stream.
            let b = if h2 {
                b.http2_prior_knowledge()
            } else {
                b.pool_max_idle_per_host(0)
            };
            gw.client(b, "hold")
        })
        .collect::<Result<Vec<_>>>()?;
    upstream.hold_again();
    // A slow proxy gets two minutes to open them, then reports how many it holds.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut open = Vec::with_capacity(n);
    while open.len() < n {
        let client = &clients[open.len() % clients.len()];
        // A proxy that cannot hold `n` (or stops answering) reports how many it held.
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, open_stream(client, &url, &hold_body)).await {
            Ok(Ok(s)) => open.push(s),
            Ok(Err(e)) => {
                println!("{}: stream {} not opened: {e}", gw.name, open.len() + 1);
                break;
            }
            Err(_) => {
                println!(
                    "{}: stream {} not answered in time",
                    gw.name,
                    open.len() + 1
                );
                break;
            }
        }
    }
    if open.is_empty() {
        println!("{}: no stream held open", gw.name);
        upstream.release_held();
        return Ok(());
    }
    let n = open.len();
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

/// `--calls N`: N calls at `concurrency` through the gateway, then SIGTERM and wait
/// for its exit (so a profiler wrapping it writes its counts).
async fn serve_calls(
    gw: &mut Gateway,
    n: usize,
    concurrency: usize,
    stream: bool,
    key: &str,
) -> Result<()> {
    let client = reqwest::Client::builder().no_proxy().build()?;
    let url = format!("{}/v1/chat/completions", gw.url);
    let body = if stream {
        body("s", true)
    } else {
        body("m", false)
    };
    for _ in 0..200 {
        call_as(&client, &url, &body, key).await?;
    }
    let (started, written) = (Instant::now(), gw.written());
    run_as(&client, &url, &body, concurrency.max(1), n, key).await?;
    let elapsed = started.elapsed();
    // The last spend batch (written behind every 100 ms) lands.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let per_call = match (written, gw.written()) {
        (Some(before), Some(after)) => format!(
            "; {:.0} bytes written per call",
            after.saturating_sub(before) as f64 / n as f64
        ),
        _ => String::new(),
    };
    println!(
        "{n} calls (concurrency {concurrency}) in {:.1} ms{per_call}",
        elapsed.as_secs_f64() * 1e3
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
    use benches::args::{flag, parsed, value};
    let calls: Option<usize> = parsed("--calls");
    let quick = flag("--quick");
    let litellm = value("--litellm");
    let portkey = value("--portkey");
    let (mut per_level, rounds, streams_held) = if quick {
        (400, 2, 1000)
    } else {
        (4000, 4, 10_000)
    };
    // The governance rows compare two p99s of the same gateway: at 4 000
    // calls a level's p99 is its 40 slowest calls, and one stall of this
    // shared machine moves it by a millisecond either way.
    let mut governance_per_level = if quick { per_level } else { 20_000 };
    if let Some(n) = parsed::<usize>("--per-level") {
        per_level = n.max(rounds);
        governance_per_level = per_level;
    }
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
        let stream = flag("--stream");
        let concurrency = parsed("--concurrency").unwrap_or(1);
        let served = if flag("--governed") {
            let client = reqwest::Client::builder().no_proxy().build()?;
            let mut gov = governed(&upstream, &client, true).await?;
            let key = gov.key.clone();
            serve_calls(&mut gov.gateway, n, concurrency, stream, &key).await
        } else {
            let mut gw = Gateway::start(&config).await?;
            serve_calls(&mut gw, n, concurrency, stream, MASTER_KEY).await
        };
        let _ = std::fs::remove_file(&config);
        return served;
    }
    let mut proxies = vec![Gateway::start(&config).await?];
    if let Some(bin) = &litellm {
        proxies.push(Gateway::litellm(bin, &config).await?);
    }
    if let Some(dir) = &portkey {
        match Gateway::portkey(std::path::Path::new(dir), &upstream.url("")).await {
            Ok(gw) => proxies.push(gw),
            Err(e) => println!("Portkey gateway left out: {e}"),
        }
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
        let pclient = p.client(
            reqwest::Client::builder()
                .no_proxy()
                .pool_max_idle_per_host(256),
            "m",
        )?;
        run(
            &pclient,
            &format!("{}/v1/chat/completions", p.url),
            &body("m", false),
            64,
            2000,
        )
        .await?;
    }
    if flag("--rss-only") {
        // Only the memory rows (idle above, open streams below).
        open_streams_rss(&proxies[0], &upstream, streams_held, idle[0], fds).await?;
        let _ = std::fs::remove_file(&config);
        return Ok(());
    }
    if !flag("--governance-only") {
        latency_table(&client, &direct, &proxies, per_level, rounds).await?;
        println!();
        ttft_rows(
            &client,
            &upstream.url("/s/v1/chat/completions"),
            &proxies,
            per_level / 10,
        )
        .await?;
        for (p, rss) in proxies.iter().zip(&idle) {
            open_streams_rss(p, &upstream, streams_held, *rss, fds).await?;
        }
    }
    let shared = !flag("--governance-in-process");
    governance_rows(
        &client,
        &direct,
        &proxies[0],
        &upstream,
        governance_per_level,
        rounds,
        shared,
    )
    .await?;
    let _ = std::fs::remove_file(&config);
    Ok(())
}

// ---- governance: keys, limits and budgets on ----

/// A gateway with governance on: its process, its store's directory and
/// the Redis its counters share, and the virtual key the calls send.
struct Governed {
    gateway: Gateway,
    key: String,
    dir: std::path::PathBuf,
    _redis: benches::redis_server::RedisServer,
}

impl Drop for Governed {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `m` priced, Redis for the counters, SQLite for keys and spend; a team
/// and a key of it, each with rpm, tpm, parallel and budget limits far
/// above what the bench sends (every call is checked, none refused).
async fn governed(
    upstream: &BenchUpstream,
    client: &reqwest::Client,
    shared: bool,
) -> Result<Governed> {
    let redis = benches::redis_server::RedisServer::start()?;
    let redis_settings = if shared {
        format!(
            "router_settings:\n  redis_host: 127.0.0.1\n  redis_port: {}\n",
            redis.port()
        )
    } else {
        String::new()
    };
    let dir = std::env::temp_dir().join(format!("gateway-bench-gov-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("config.yaml");
    let yaml = format!(
        "model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/gpt-4o-mini\n      \
         api_base: {}/v1\n      api_key: sk-up\n      max_retries: 0\n      \
         input_cost_per_token: 0.000001\n      output_cost_per_token: 0.000002\n\
         {redis_settings}general_settings:\n  master_key: {MASTER_KEY}\n  database_url: sqlite://{}\n",
        upstream.url(""),
        dir.join("gw.db").display()
    );
    std::fs::write(&config, yaml)?;
    let gateway = Gateway::start(&config).await?;
    let admin = |path: &'static str, body: serde_json::Value| {
        let url = format!("{}{path}", gateway.url);
        async move {
            let r = client
                .post(url)
                .bearer_auth(MASTER_KEY)
                .json(&body)
                .send()
                .await?;
            if !r.status().is_success() {
                return Err(BoxError::from(format!("{path}: {}", r.status())));
            }
            Ok::<serde_json::Value, BoxError>(r.json().await?)
        }
    };
    let limits = serde_json::json!({"rpm_limit": 100_000_000i64, "tpm_limit": 100_000_000_000i64,
        "max_parallel_requests": 10_000, "max_budget": 1_000_000.0});
    let team = admin("/team/new", limits.clone()).await?;
    let mut key_body = limits;
    key_body["team_id"] = team["team_id"].clone();
    let key = admin("/key/generate", key_body).await?["key"]
        .as_str()
        .ok_or("no key")?
        .to_owned();
    Ok(Governed {
        gateway,
        key,
        dir,
        _redis: redis,
    })
}

/// Governance's added latency: direct, the plain gateway (master key) and
/// the governed one (virtual key), alternating in rounds, at c1 and c16.
async fn governance_rows(
    client: &reqwest::Client,
    direct: &str,
    plain: &Gateway,
    upstream: &BenchUpstream,
    per_level: usize,
    rounds: usize,
    shared: bool,
) -> Result<()> {
    let gov = governed(upstream, client, shared).await?;
    let (plain_url, gov_url) = (
        format!("{}/v1/chat/completions", plain.url),
        format!("{}/v1/chat/completions", gov.gateway.url),
    );
    let (direct_body, body) = (body("gpt-4o-mini", false), body("m", false));
    // Warm-up: the connection pools, Redis' scripts, the key's counters.
    run_as(client, &gov_url, &body, 16, 2000, &gov.key).await?;
    println!(
        "\n| keys, limits, budgets (SQLite{}) | concurrency | direct p50 / p99 (µs) | plain gateway p50 / p99 (µs) | governed p50 / p99 (µs) | governance added p50 / p99 (µs) | governed added over direct p50 / p99 (µs) | CPU/req plain / governed (µs) |",
        if shared {
            " + Redis"
        } else {
            ", counters in process"
        }
    );
    println!("|---|---|---|---|---|---|---|---|");
    for c in [1usize, 16] {
        let n = per_level / rounds;
        let (mut d, mut p, mut g) = (Vec::new(), Vec::new(), Vec::new());
        let (mut cpu, mut plain_cpu) = (Duration::ZERO, Duration::ZERO);
        for round in 0..rounds {
            for which in [round % 3, (round + 1) % 3, (round + 2) % 3] {
                match which {
                    0 => d.extend(run(client, direct, &direct_body, c, n).await?.0),
                    1 => {
                        let before = plain.cpu().unwrap_or_default();
                        p.extend(run(client, &plain_url, &body, c, n).await?.0);
                        plain_cpu += plain.cpu().unwrap_or_default().saturating_sub(before);
                    }
                    _ => {
                        let before = gov.gateway.cpu().unwrap_or_default();
                        g.extend(run_as(client, &gov_url, &body, c, n, &gov.key).await?.0);
                        cpu += gov.gateway.cpu().unwrap_or_default().saturating_sub(before);
                    }
                }
            }
        }
        let ((dp50, dp99), (pp50, pp99), (gp50, gp99)) = (pct(&mut d), pct(&mut p), pct(&mut g));
        println!(
            "| llm-gateway | {c} | {dp50:.0} / {dp99:.0} | {pp50:.0} / {pp99:.0} | {gp50:.0} / {gp99:.0} | {:.0} / {:.0} | {:.0} / {:.0} | {:.0} / {:.0} |",
            gp50 - pp50,
            gp99 - pp99,
            gp50 - dp50,
            gp99 - dp99,
            plain_cpu.as_secs_f64() * 1e6 / (n * rounds) as f64,
            cpu.as_secs_f64() * 1e6 / (n * rounds) as f64,
        );
    }
    Ok(())
}

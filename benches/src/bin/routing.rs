//! The router's overhead per call: a model group against today's
//! `"provider/model"` route, in this process and with the state in Redis.
//!
//! `nice -n 19 cargo run -p benches --release --all-features --bin routing [-- --quick]`
//! (without `--features redis` the Redis row is left out);
//! `target/release/routing --only route|single|weighted --calls N` runs one
//! variant alone, for `valgrind --tool=callgrind` instruction counts.
//!
//! Every variant is one `Client::chat` on the same provider (one connection
//! pool) to the same loopback [`BenchUpstream`] (on its own thread), so what
//! differs between the rows is the routing alone:
//!
//! - route: `client.chat("openai/gpt-4o-mini", ..)`, the base;
//! - group of 1: a [`ModelGroup`] with one deployment and no limit;
//! - group of 3: three deployments weighted 1:2:3, each with an `rpm` and a
//!   `tpm` limit (set far above what the run sends, so every call is admitted:
//!   the reservation is taken and settled, never refused), in-process state;
//! - group of 3, Redis (feature `redis`): the same group with `RedisState` on
//!   a `redis-server` this bench starts on a free loopback port and stops at
//!   the end. Redis' own `INFO commandstats`, read before and after, gives
//!   the commands (round trips) it served per call.
//!
//! The variants run in order-interleaved rounds (round `r` starts with
//! variant `r mod n`), so a noisy neighbour hits them all alike.

use std::time::{Duration, Instant};

use benches::stats::{load, machine, micros, process_cpu_ns, quantile};
use benches::{BenchUpstream, Reply, Routes, fixtures};
use llm_runtime::providers::OpenAi;
use llm_runtime::{
    ChatRequest, Client, ProviderClient,
    router::{Deployment, ModelGroup},
};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Result<T, E = BoxError> = std::result::Result<T, E>;

const KEY: &str = "sk-bench-0123456789";
const MODEL: &str = fixtures::OPENAI_MODEL;
const ROUTE: &str = "openai/gpt-4o-mini";
const SINGLE: &str = "single";
const WEIGHTED: &str = "weighted";
/// Far above what a run sends in the 60 s window: checked, never refusing.
const RPM: u64 = 100_000_000;
const TPM: u64 = 100_000_000_000;

/// How much to run.
struct Plan {
    requests: usize,
    rounds: usize,
    warmup: usize,
}

impl Plan {
    fn full() -> Plan {
        Plan {
            requests: 20_000,
            rounds: 40,
            warmup: 500,
        }
    }

    fn quick() -> Plan {
        Plan {
            requests: 1_000,
            rounds: 4,
            warmup: 50,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Variant {
    Route,
    Single,
    Weighted,
    #[cfg(feature = "redis")]
    Redis,
}

impl Variant {
    /// In declaration order: `v as usize` indexes it.
    const ALL: &[Variant] = &[
        Variant::Route,
        Variant::Single,
        Variant::Weighted,
        #[cfg(feature = "redis")]
        Variant::Redis,
    ];

    fn name(self) -> &'static str {
        match self {
            Variant::Route => "Client route (base)",
            Variant::Single => "group of 1, no limits",
            Variant::Weighted => "group of 3, rpm+tpm, in-process",
            #[cfg(feature = "redis")]
            Variant::Redis => "group of 3, rpm+tpm, Redis",
        }
    }
}

/// The provider on `upstream`, the client of the base route, and the client
/// of the in-process groups.
fn local_clients(upstream: &BenchUpstream) -> Result<(ProviderClient<OpenAi>, Client, Client)> {
    let provider = OpenAi::config()
        .api_key(KEY)
        .base_url(upstream.url("/v1"))
        .connect()?;
    let plain = Client::builder().register(provider.clone())?.build()?;
    let in_process = Client::builder()
        .register(provider.clone())?
        .group(ModelGroup::new(SINGLE).deployment(Deployment::new(provider.clone(), MODEL)))
        .group(weighted(&provider))
        .build()?;
    Ok((provider, plain, in_process))
}

/// The clients the variants call through, all on one provider.
struct Targets {
    plain: Client,
    in_process: Client,
    #[cfg(feature = "redis")]
    redis: Client,
}

/// A group of three deployments of `provider`, weighted 1:2:3, each limited.
fn weighted(provider: &ProviderClient<OpenAi>) -> ModelGroup {
    (1..=3u32).fold(ModelGroup::new(WEIGHTED), |group, w| {
        group.deployment(
            Deployment::new(provider.clone(), MODEL)
                .id(format!("d{w}"))
                .weight(w)
                .rpm(RPM)
                .tpm(TPM),
        )
    })
}

impl Targets {
    /// The in-process variants only (no Redis: for `--only`).
    #[cfg(feature = "redis")]
    fn in_process(upstream: &BenchUpstream) -> Result<Self> {
        let (_, plain, in_process) = local_clients(upstream)?;
        Ok(Targets {
            redis: in_process.clone(),
            plain,
            in_process,
        })
    }

    fn new(upstream: &BenchUpstream, #[cfg(feature = "redis")] redis_url: &str) -> Result<Self> {
        let (provider, plain, in_process) = local_clients(upstream)?;
        #[cfg(feature = "redis")]
        let redis = {
            use llm_runtime::router::{RedisConfig, RedisState};
            let config = RedisConfig::new(redis_url).prefix("routing-bench");
            Client::builder()
                .group(weighted(&provider))
                .router_state(std::sync::Arc::new(RedisState::connect(config)?))
                .build()?
        };
        #[cfg(not(feature = "redis"))]
        drop(provider);
        Ok(Targets {
            plain,
            in_process,
            #[cfg(feature = "redis")]
            redis,
        })
    }

    /// One call; the length of the answer's text, to check the variants agree.
    async fn chat(&self, variant: Variant) -> Result<usize> {
        let request = ChatRequest::new(MODEL).user("Hello");
        let reply = match variant {
            Variant::Route => self.plain.chat(ROUTE, request).await?,
            Variant::Single => self.in_process.chat(SINGLE, request).await?,
            Variant::Weighted => self.in_process.chat(WEIGHTED, request).await?,
            #[cfg(feature = "redis")]
            Variant::Redis => self.redis.chat(WEIGHTED, request).await?,
        };
        if variant != Variant::Route && reply.meta.routing.is_none() {
            return Err(format!("{}: a group call without a routing trace", variant.name()).into());
        }
        Ok(reply.text().len())
    }
}

fn rotated<T: Copy>(all: &[T], round: usize) -> Vec<T> {
    (0..all.len())
        .map(|i| all[(round + i) % all.len()])
        .collect()
}

/// Per variant: the latency of every measured call, and the CPU time spent.
struct Samples {
    latency: Vec<Vec<Duration>>,
    cpu_ns: Vec<u64>,
}

async fn sequential(t: &Targets, plan: &Plan) -> Result<Samples> {
    let mut latency = vec![Vec::with_capacity(plan.requests); Variant::ALL.len()];
    let mut cpu_ns = vec![0; Variant::ALL.len()];
    let per_round = plan.requests / plan.rounds;
    for round in 0..plan.rounds {
        for v in rotated(Variant::ALL, round) {
            let slot = &mut latency[v as usize];
            let cpu_before = process_cpu_ns();
            for _ in 0..per_round {
                let started = Instant::now();
                t.chat(v).await?;
                slot.push(started.elapsed());
            }
            cpu_ns[v as usize] += process_cpu_ns().saturating_sub(cpu_before);
        }
    }
    Ok(Samples { latency, cpu_ns })
}

/// One variant's figures, in µs.
struct Row {
    p50: f64,
    p99: f64,
    /// CPU per call, this process only (not the upstream's thread alone: all of it).
    cpu: f64,
    /// The p50 of the first and of the last round: a cost that grows with
    /// the calls made in the last minute shows here.
    first: f64,
    last: f64,
}

fn rows(samples: &mut Samples, per_round: usize) -> Vec<Row> {
    Variant::ALL
        .iter()
        .map(|&v| {
            let s = &mut samples.latency[v as usize];
            let n = s.len();
            let first = micros(quantile(&mut s[..per_round.min(n)].to_vec(), 0.5));
            let last = micros(quantile(
                &mut s[n.saturating_sub(per_round)..].to_vec(),
                0.5,
            ));
            Row {
                cpu: samples.cpu_ns[v as usize] as f64 / 1e3 / n.max(1) as f64,
                p50: micros(quantile(s, 0.5)),
                p99: micros(quantile(s, 0.99)),
                first,
                last,
            }
        })
        .collect()
}

fn report(rows: &[Row], plan: &Plan) {
    println!(
        "\n== sequential calls: {} per variant, {} interleaved rounds ==",
        plan.requests, plan.rounds
    );
    println!(
        "| variant | p50 µs | p99 µs | +p50 µs vs route | +p99 µs vs route | CPU µs/call | +CPU µs vs route | p50 µs round 1 → last |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let base = &rows[0];
    for (&v, r) in Variant::ALL.iter().zip(rows) {
        println!(
            "| {} | {:.1} | {:.1} | {:+.1} | {:+.1} | {:.1} | {:+.1} | {:.1} → {:.1} |",
            v.name(),
            r.p50,
            r.p99,
            r.p50 - base.p50,
            r.p99 - base.p99,
            r.cpu,
            r.cpu - base.cpu,
            r.first,
            r.last
        );
    }
    let w = &rows[Variant::Weighted as usize];
    println!(
        "goal (issue 25): in-process routing adds ≤ 2 µs per call: p50 {:+.1} µs, CPU {:+.1} µs: {}",
        w.p50 - base.p50,
        w.cpu - base.cpu,
        if w.p50 - base.p50 <= 2.0 {
            "MET"
        } else {
            "NOT MET"
        }
    );
    #[cfg(feature = "redis")]
    {
        let r = &rows[Variant::Redis as usize];
        println!(
            "Redis vs in-process (group of 3): p50 {:+.1} µs, p99 {:+.1} µs, client CPU {:+.1} µs per call",
            r.p50 - w.p50,
            r.p99 - w.p99,
            r.cpu - w.cpu
        );
    }
}

/// What the router's prompt count (`tokens::count_request`, for limits and the
/// context-window pre-check) costs per call on the bench's request, in µs.
fn prompt_count_micros(n: usize) -> f64 {
    let request = ChatRequest::new(MODEL).user("Hello");
    let started = Instant::now();
    let mut tokens = 0;
    for _ in 0..n {
        tokens += std::hint::black_box(llm_runtime::tokens::count_request(std::hint::black_box(
            &request,
        )))
        .tokens;
    }
    std::hint::black_box(tokens);
    micros(started.elapsed()) / n.max(1) as f64
}

/// `--only VARIANT --calls N`: only `N` sequential calls of one variant
/// (`route`, `single`, `weighted`), nothing printed: for an instruction
/// count under `valgrind --tool=callgrind`, where the difference between two
/// call counts divided by their difference is the instructions per call.
fn only(variant: &str, calls: usize) -> Result<()> {
    let variant = match variant {
        "route" => Variant::Route,
        "single" => Variant::Single,
        "weighted" => Variant::Weighted,
        other => return Err(format!("--only {other}: route, single or weighted").into()),
    };
    let routes = Routes::new().route(
        "/v1/chat/completions",
        Reply::json(fixtures::openai_chat_json()),
    );
    let upstream = BenchUpstream::start(routes)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        #[cfg(feature = "redis")]
        let t = Targets::in_process(&upstream)?;
        #[cfg(not(feature = "redis"))]
        let t = Targets::new(&upstream)?;
        for _ in 0..calls {
            t.chat(variant).await?;
        }
        Ok(())
    })
}

fn main() -> Result<()> {
    if let Some(variant) = benches::args::value("--only") {
        let calls = benches::args::parsed("--calls").unwrap_or(1_000);
        return only(&variant, calls);
    }
    let quick = benches::args::flag("--quick");
    let plan = if quick { Plan::quick() } else { Plan::full() };
    let routes = Routes::new().route(
        "/v1/chat/completions",
        Reply::json(fixtures::openai_chat_json()),
    );
    let upstream = BenchUpstream::start(routes)?;
    #[cfg(feature = "redis")]
    let redis = benches::redis_server::RedisServer::start()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let machine = machine();
    let started = Instant::now();
    println!("routing bench: {machine}");
    println!(
        "upstream: loopback BenchUpstream on its own thread; client: tokio multi-thread, 2 workers"
    );
    #[cfg(feature = "redis")]
    println!(
        "redis: {} on 127.0.0.1:{}, started by this bench",
        redis.version(),
        redis.port()
    );
    let mut samples = runtime.block_on(async {
        let t = Targets::new(
            &upstream,
            #[cfg(feature = "redis")]
            &redis.url(),
        )?;
        let expected = t.chat(Variant::Route).await?;
        for &v in Variant::ALL {
            let got = t.chat(v).await?;
            if got != expected {
                return Err(
                    format!("{} answered {got} bytes, the base {expected}", v.name()).into(),
                );
            }
        }
        #[cfg(feature = "redis")]
        let before = redis.command_stats()?;
        for &v in Variant::ALL {
            for _ in 0..plan.warmup {
                t.chat(v).await?;
            }
        }
        let samples = sequential(&t, &plan).await?;
        #[cfg(feature = "redis")]
        {
            // Only the Redis variant talks to Redis: warm-up and measured calls.
            let calls = plan.warmup + plan.requests / plan.rounds * plan.rounds;
            benches::redis_server::report_commands(&before, &redis.command_stats()?, calls);
        }
        Ok::<_, BoxError>(samples)
    })?;
    report(&rows(&mut samples, plan.requests / plan.rounds), &plan);
    println!(
        "of which the prompt count (tokens::count_request, every group call): {:.2} µs per call",
        prompt_count_micros(plan.requests)
    );
    println!(
        "\ntotal run time {:.1} s; load now {}",
        started.elapsed().as_secs_f64(),
        load()
    );
    Ok(())
}

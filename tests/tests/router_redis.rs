//! The router's Redis state against a real `redis-server` started here on a
//! free loopback port: two OS processes share a group limit, and killing
//! Redis mid-run gives the documented fail-open / fail-closed behaviour with
//! no call waiting past its deadline.
#![cfg(feature = "redis")]

mod router_common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::future::join_all;
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{
    ChatOptions, Client, ErrorKind,
    router::{ModelGroup, Strategy},
};
use llm_runtime::{
    router::{Candidate, RedisConfig, RedisState, RoutingStrategy},
    types::RouteOutcome,
};
use router_common::*;

/// A `redis-server` of this test's own, stopped (and its directory removed) on drop.
struct RedisServer {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl RedisServer {
    fn start() -> RedisServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let dir =
            std::env::temp_dir().join(format!("llm-router-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        RedisServer::start_on(port, dir)
    }

    fn start_on(port: u16, dir: PathBuf) -> RedisServer {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "redis-server is installed (.ci/run installs it with the system package manager)",
            );
        let server = RedisServer { child, port, dir };
        let deadline = Instant::now() + PATIENCE;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64
}

const CALLS_PER_PROCESS: usize = 45;

/// Two child processes (this binary, running `redis_child`) call a group with
/// `rpm` 30 at the same instant, 45 calls each: at most 30 pass in total (the
/// documented slack for `rpm` while Redis answers is zero).
#[test]
fn two_processes_share_a_group_rpm() {
    let redis = RedisServer::start();
    let prefix = format!("two-processes-{}", std::process::id());
    let start_at = (unix_millis() + 1_500).to_string();
    let exe = std::env::current_exe().expect("the test binary");
    let children: Vec<Child> = (0..2)
        .map(|_| {
            Command::new(&exe)
                .args([
                    "redis_child",
                    "--exact",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("ROUTER_REDIS_URL", redis.url())
                .env("ROUTER_REDIS_PREFIX", &prefix)
                .env("ROUTER_START_AT", &start_at)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("the child runs")
        })
        .collect();
    let mut admitted = Vec::new();
    for child in children {
        let output = child.wait_with_output().expect("the child ends");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "child failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let n: usize = stdout
            .lines()
            .find_map(|l| l.split("admitted=").nth(1))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("the child reports its count:\n{stdout}"));
        admitted.push(n);
    }
    let total: usize = admitted.iter().sum();
    assert_eq!(total, 30, "admitted per process: {admitted:?}");
}

/// One side of [`two_processes_share_a_group_rpm`]; does nothing unless
/// started by it.
#[test]
#[ignore = "run by two_processes_share_a_group_rpm in a child process"]
fn redis_child() {
    let (Ok(url), Ok(prefix), Ok(start_at)) = (
        std::env::var("ROUTER_REDIS_URL"),
        std::env::var("ROUTER_REDIS_PREFIX"),
        std::env::var("ROUTER_START_AT"),
    ) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let server = MockServer::start().await;
        server.on("POST", &path("d"), ok());
        let state = RedisState::connect(RedisConfig::new(url).prefix(prefix)).expect("valid URL");
        let client = Client::builder()
            .group(
                ModelGroup::new("g")
                    .deployment(deployment(&server, "d"))
                    .rpm(30),
            )
            .router_state(Arc::new(state))
            .build()
            .expect("valid");
        let start_at: u64 = start_at.parse().expect("a time");
        tokio::time::sleep(Duration::from_millis(
            start_at.saturating_sub(unix_millis()),
        ))
        .await;
        let replies = join_all((0..CALLS_PER_PROCESS).map(|_| client.chat("g", request()))).await;
        let mut admitted = 0;
        for reply in replies {
            match reply {
                Ok(_) => admitted += 1,
                Err(e) => assert_eq!(e.kind(), ErrorKind::RateLimited, "{e}"),
            }
        }
        assert_eq!(received(&server, "d"), admitted);
        println!("admitted={admitted}");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_redis_fails_open_or_closed_and_recovers() {
    warm_tokenizer();
    let mut redis = RedisServer::start();
    let server = MockServer::start().await;
    server.on("POST", &path("o"), ok());
    server.on("POST", &path("c"), ok());
    let state = Arc::new(
        RedisState::connect(
            RedisConfig::new(redis.url())
                .prefix("kill")
                .timeout(Duration::from_millis(200)),
        )
        .expect("valid URL"),
    );
    let client = Client::builder()
        .group(
            ModelGroup::new("open")
                .deployment(deployment(&server, "o"))
                .rpm(5),
        )
        .group(
            ModelGroup::new("closed")
                .deployment(deployment(&server, "c"))
                .rpm(1_000)
                .fail_closed(),
        )
        .router_state(state.clone())
        .build()
        .expect("valid");
    let deadline = Duration::from_secs(2);
    let options = ChatOptions::new().timeout(deadline);
    for _ in 0..3 {
        client
            .chat_with("open", request(), &options)
            .await
            .expect("Redis admits");
    }
    client
        .chat_with("closed", request(), &options)
        .await
        .expect("Redis admits");
    use llm_runtime::router::RouterState;
    assert_eq!(
        state
            .usage("group:open")
            .await
            .expect("redis answers")
            .requests,
        3
    );

    redis.kill();
    // Fail-open: this process counts on its own, up to the limit (the
    // documented slack: one limit per process for the outage).
    let mut admitted = 0;
    for _ in 0..8 {
        let started = Instant::now();
        let result = client.chat_with("open", request(), &options).await;
        assert!(
            started.elapsed() < deadline,
            "waited {:?}",
            started.elapsed()
        );
        match result {
            Ok(_) => admitted += 1,
            Err(e) => assert_eq!(e.kind(), ErrorKind::RateLimited, "{e}"),
        }
    }
    assert_eq!(admitted, 5);
    // Fail-closed: refused, saying why, before the deadline.
    let started = Instant::now();
    let err = client
        .chat_with("closed", request(), &options)
        .await
        .expect_err("fail-closed");
    assert!(
        started.elapsed() < deadline,
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert!(
        err.message().contains("`group:closed` is fail-closed"),
        "{}",
        err.message()
    );
    assert_eq!(received(&server, "c"), 1);

    // Redis comes back: the connection manager reconnects and calls count there again.
    let again = RedisServer::start_on(redis.port, redis.dir.clone());
    let until = Instant::now() + PATIENCE;
    while state.usage("group:closed").await.is_err() {
        assert!(Instant::now() < until, "no reconnection to Redis");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let reply = client
        .chat_with("closed", request(), &options)
        .await
        .expect("Redis admits again");
    assert_eq!(
        steps(&reply.meta),
        [("closed".to_owned(), "c".to_owned(), RouteOutcome::Served)]
    );
    // A fresh server (nothing persisted): only the call made since it came back.
    assert_eq!(
        state.usage("group:closed").await.expect("answers").requests,
        1
    );
    drop(again);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cooldowns_are_shared_through_redis() {
    let redis = RedisServer::start();
    let server = MockServer::start().await;
    server.on(
        "POST",
        &path("a"),
        error(429, "rate_limit_exceeded").header("retry-after", "30"),
    );
    server.on("POST", &path("b"), ok());
    let group = || {
        ModelGroup::new("g")
            .deployment(deployment(&server, "a"))
            .deployment(deployment(&server, "b"))
            .strategy(llm_runtime::router::Strategy::LowestCost)
    };
    let state = |_: ()| {
        Arc::new(
            RedisState::connect(RedisConfig::new(redis.url()).prefix("cool")).expect("valid URL"),
        )
    };
    // Two routers with nothing in common but Redis (as two processes would be).
    let first = Client::builder()
        .group(group())
        .router_state(state(()))
        .build()
        .expect("valid");
    let second = Client::builder()
        .group(group())
        .router_state(state(()))
        .build()
        .expect("valid");
    while received(&server, "a") == 0 {
        first.chat("g", request()).await.expect("b answers");
        assert!(server.request_count() < 50, "a is never chosen");
    }
    for _ in 0..10 {
        let reply = second.chat("g", request()).await.expect("b answers");
        assert_eq!(served_by(&reply.meta), "b");
    }
    assert_eq!(
        received(&server, "a"),
        1,
        "the second router never called the cooled deployment"
    );
}

/// The first count of a prompt loads the tokenizer (a fraction of a second,
/// seconds in a debug build on a busy machine): before a test's timed calls.
fn warm_tokenizer() {
    llm_runtime::tokens::count_text(MODEL, "warm up");
}

/// `INFO commandstats` of `redis` as (command, calls).
fn command_stats(redis: &RedisServer) -> Vec<(String, u64)> {
    let output = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &redis.port.to_string()])
        .args(["INFO", "commandstats"])
        .output()
        .expect("redis-cli runs");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| {
            let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = rest
                .strip_prefix("calls=")?
                .split(',')
                .next()?
                .parse()
                .ok()?;
            Some((name.to_owned(), calls))
        })
        .collect()
}

fn calls_of(stats: &[(String, u64)], command: &str) -> u64 {
    stats
        .iter()
        .find(|(name, _)| name == command)
        .map_or(0, |(_, n)| *n)
}

/// Each script is sent to Redis once (`SCRIPT LOAD`, after the first
/// `NOSCRIPT`); every call after that ships only its hash (`EVALSHA`), one
/// round trip to reserve and one to settle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_are_sent_once_then_called_by_hash() {
    let redis = RedisServer::start();
    let server = MockServer::start().await;
    server.on("POST", &path("d"), ok());
    let state = RedisState::connect(RedisConfig::new(redis.url()).prefix("sha")).expect("valid");
    let client = Client::builder()
        .group(
            ModelGroup::new("g")
                .deployment(deployment(&server, "d"))
                .rpm(1_000),
        )
        .router_state(Arc::new(state))
        .build()
        .expect("valid");
    const CALLS: u64 = 25;
    for _ in 0..CALLS {
        client.chat("g", request()).await.expect("admitted");
    }
    // Settles finish in tasks of their own: wait for the last.
    let until = Instant::now() + PATIENCE;
    let stats = loop {
        let stats = command_stats(&redis);
        if calls_of(&stats, "evalsha") >= 2 * CALLS {
            break stats;
        }
        assert!(Instant::now() < until, "settles missing: {stats:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // Two scripts (reserve, settle), each loaded once.
    assert_eq!(calls_of(&stats, "script|load"), 2, "{stats:?}");
    assert_eq!(calls_of(&stats, "eval"), 0, "{stats:?}");
    let evalsha = calls_of(&stats, "evalsha");
    // The first call of each script may count its NOSCRIPT attempt.
    assert!((2 * CALLS..=2 * CALLS + 2).contains(&evalsha), "{stats:?}");
    // Everything else ran inside the scripts (or is the connection's setup).
    const IN_SCRIPTS: &[&str] = &[
        "time",
        "pttl",
        "hmget",
        "hget",
        "hset",
        "hdel",
        "hincrby",
        "zadd",
        "zcard",
        "zrem",
        "zrange",
        "zrangebyscore",
        "zremrangebyscore",
        "pexpire",
    ];
    const SETUP: &[&str] = &["info", "client|setinfo", "hello", "select", "ping"];
    let others: Vec<_> = stats
        .iter()
        .filter(|(name, _)| !["evalsha", "script|load"].contains(&name.as_str()))
        .filter(|(name, _)| !IN_SCRIPTS.contains(&name.as_str()) && !SETUP.contains(&name.as_str()))
        .collect();
    assert!(others.is_empty(), "no other command was sent: {others:?}");
}

/// What a process admitted on its own while Redis was down is carried into
/// Redis when it answers again: the shared limit counts it (and refuses
/// once full), and a call still running then settles in Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_was_admitted_during_an_outage_is_carried_in() {
    warm_tokenizer();
    let mut redis = RedisServer::start();
    let server = MockServer::start().await;
    server.on("POST", &path("d"), ok());
    let long: Vec<String> = (0..50).map(|_| "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},\"finish_reason\":null}]}".to_owned()).collect();
    server.on(
        "POST",
        &path("s"),
        MockResponse::sse_data(long).chunk_delay(Duration::from_millis(200)),
    );
    let state = Arc::new(
        RedisState::connect(
            RedisConfig::new(redis.url())
                .prefix("carry")
                .timeout(Duration::from_millis(200)),
        )
        .expect("valid URL"),
    );
    let client = Client::builder()
        .group(
            ModelGroup::new("g")
                .deployment(deployment(&server, "d"))
                .rpm(6),
        )
        .group(
            ModelGroup::new("streams")
                .deployment(deployment(&server, "s"))
                .rpm(6),
        )
        .router_state(state.clone())
        .build()
        .expect("valid");
    use llm_runtime::router::RouterState;

    redis.kill();
    for _ in 0..3 {
        client.chat("g", request()).await.expect("fail-open admits");
    }
    let stream = client
        .chat_stream("streams", request())
        .await
        .expect("fail-open admits");

    let _again = RedisServer::start_on(redis.port, redis.dir.clone());
    let until = Instant::now() + PATIENCE;
    while state.usage("group:g").await.is_err() {
        assert!(Instant::now() < until, "no reconnection to Redis");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        state.usage("group:g").await.expect("answers").requests,
        0,
        "a fresh server"
    );
    client.chat("g", request()).await.expect("Redis admits");
    // Its settle runs in a task: wait for it.
    let until = Instant::now() + PATIENCE;
    let g = loop {
        let g = state.usage("group:g").await.expect("answers");
        if g.in_flight == 0 || Instant::now() > until {
            break g;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!((g.requests, g.in_flight), (4, 0), "3 carried in + 1");
    assert_eq!(g.tokens, 4 * 6, "each call settled with its usage (5 + 1)");
    let s = state.usage("group:streams").await.expect("answers");
    assert_eq!(
        (s.requests, s.in_flight),
        (1, 1),
        "the open stream holds its slot"
    );
    for _ in 0..2 {
        client.chat("g", request()).await.expect("room for 6");
    }
    let err = client
        .chat("g", request())
        .await
        .expect_err("rpm 6 is full");
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(received(&server, "d"), 6);

    // The stream admitted during the outage settles in Redis when dropped.
    drop(stream);
    let until = Instant::now() + PATIENCE;
    while state
        .usage("group:streams")
        .await
        .expect("answers")
        .in_flight
        != 0
    {
        assert!(
            Instant::now() < until,
            "the carried stream never settled in Redis"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Lowest latency in one process routes by what another process measured:
/// the latency averages travel with the reserve and settle scripts.
#[test]
fn lowest_latency_uses_what_another_process_measured() {
    let redis = RedisServer::start();
    let prefix = format!("latency-{}", std::process::id());
    let exe = std::env::current_exe().expect("the test binary");
    let output = Command::new(&exe)
        .args([
            "latency_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("ROUTER_REDIS_URL", redis.url())
        .env("ROUTER_REDIS_PREFIX", &prefix)
        .output()
        .expect("the child runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("measured both"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let server = latency_mock().await;
        let seen = Arc::new(SeenLatencies::default());
        let state =
            RedisState::connect(RedisConfig::new(redis.url()).prefix(prefix)).expect("valid");
        let client = Client::builder()
            .group(latency_group(&server, Strategy::Custom(seen.clone())))
            .router_state(Arc::new(state))
            .build()
            .expect("valid");
        let mut served = Vec::new();
        for _ in 0..5 {
            let reply = client.chat("g", request()).await.expect("answers");
            served.push(served_by(&reply.meta));
        }
        let seen = seen.0.lock().expect("not poisoned").clone();
        // The first call was ordered before this process heard anything.
        assert_eq!(seen[0], [None, None]);
        for (call, latencies) in seen.iter().enumerate().skip(1) {
            let [Some(slow), Some(fast)] = *latencies else {
                panic!("call {call} did not see both latencies: {seen:?}");
            };
            assert!(slow > fast, "call {call}: {seen:?}");
        }
        // From the second call on, the fast one, whichever the first call
        // (ordered blind) went to.
        assert!(served[1..].iter().all(|d| d == "fast"), "{served:?}");
    });
}

/// The deployments of [`lowest_latency_uses_what_another_process_measured`]:
/// `slow` answers after 150 ms, `fast` at once.
async fn latency_mock() -> MockServer {
    let server = MockServer::start().await;
    server.on(
        "POST",
        &path("slow"),
        ok().delay(Duration::from_millis(150)),
    );
    server.on("POST", &path("fast"), ok());
    server
}

fn latency_group(server: &MockServer, strategy: Strategy) -> ModelGroup {
    ModelGroup::new("g")
        .deployment(deployment(server, "slow"))
        .deployment(deployment(server, "fast"))
        .strategy(strategy)
}

/// Lowest latency, recording the (slow, fast) latencies each call saw.
#[derive(Debug, Default)]
struct SeenLatencies(std::sync::Mutex<Vec<[Option<Duration>; 2]>>);

impl RoutingStrategy for SeenLatencies {
    fn name(&self) -> &str {
        "lowest-latency, recorded"
    }
    fn order(&self, candidates: &[Candidate<'_>], order: &mut Vec<usize>) {
        let of = |id: &str| {
            candidates
                .iter()
                .find(|c| c.deployment.name() == id)
                .and_then(|c| c.latency)
        };
        self.0
            .lock()
            .expect("not poisoned")
            .push([of("slow"), of("fast")]);
        Strategy::LowestLatency.order(candidates, order);
    }
}

/// The measuring side of [`lowest_latency_uses_what_another_process_measured`].
#[test]
#[ignore = "run by lowest_latency_uses_what_another_process_measured in a child process"]
fn latency_child() {
    let (Ok(url), Ok(prefix)) = (
        std::env::var("ROUTER_REDIS_URL"),
        std::env::var("ROUTER_REDIS_PREFIX"),
    ) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let server = latency_mock().await;
        let state = RedisState::connect(RedisConfig::new(url).prefix(prefix)).expect("valid URL");
        let client = Client::builder()
            .group(latency_group(&server, Strategy::LowestLatency))
            .router_state(Arc::new(state))
            .build()
            .expect("valid");
        // Untried deployments go first: both are measured within two calls.
        for _ in 0..4 {
            client.chat("g", request()).await.expect("answers");
        }
        assert!(received(&server, "slow") >= 1 && received(&server, "fast") >= 1);
        // Settles run in tasks: give the last one time to land in Redis.
        tokio::time::sleep(Duration::from_millis(300)).await;
        println!("measured both");
    });
}

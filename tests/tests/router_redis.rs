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
use llm_runtime::testing::MockServer;
use llm_runtime::{ChatOptions, Client, ErrorKind, router::ModelGroup};
use llm_runtime::{
    router::{RedisConfig, RedisState},
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

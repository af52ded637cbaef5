//! The router's strategies and cooldowns over the loopback mock: weighted
//! shares, a 429's `Retry-After`, `allowed_fails` + `cooldown_time` with a
//! half-open probe, least busy and lowest latency.

#[allow(unused)]
mod common;
mod router_common;

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use llm_runtime::testing::MockServer;
use llm_runtime::{
    Client, ErrorKind,
    router::{Deployment, ModelGroup, Strategy},
};
use llm_runtime::{
    router::{Candidate, CooldownPolicy, RoutingStrategy},
    types::RouteOutcome,
};
use router_common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weighted_random_shares_follow_the_weights() {
    let server = MockServer::start().await;
    let mut group = ModelGroup::new("g");
    for (name, weight) in [("a", 1), ("b", 2), ("c", 3)] {
        server.on("POST", &path(name), ok());
        group = group.deployment(deployment(&server, name).weight(weight));
    }
    let client = Client::builder().group(group).build().expect("valid");
    let mut served = [0usize; 3];
    for _ in 0..60 {
        let calls = (0..100).map(|_| client.chat("g", request()));
        for reply in join_all(calls).await {
            let reply = reply.expect("every deployment answers");
            let i = ["a", "b", "c"]
                .iter()
                .position(|n| *n == served_by(&reply.meta))
                .expect("a known deployment");
            served[i] += 1;
        }
    }
    assert_eq!(served.iter().sum::<usize>(), 6000);
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        // What the trace says is what the upstream saw.
        assert_eq!(received(&server, name), served[i], "{name}");
        let share = served[i] as f64 / 6000.0 * 100.0;
        let expected = (i + 1) as f64 / 6.0 * 100.0;
        assert!(
            (share - expected).abs() <= 3.0,
            "{name}: {share:.1}% vs {expected:.1}% ({served:?})"
        );
    }
}

#[tokio::test]
async fn weights_default_to_rpm() {
    let server = MockServer::start().await;
    server.on("POST", &path("a"), ok());
    server.on("POST", &path("b"), ok());
    let group = ModelGroup::new("g")
        .deployment(deployment(&server, "a").rpm(100_000))
        .deployment(deployment(&server, "b").rpm(1));
    let router = llm_runtime::router::Router::builder()
        .group(group)
        .build()
        .expect("valid");
    let g = router.group("g").expect("the group");
    let weights: Vec<u64> = g
        .deployments()
        .iter()
        .map(Deployment::effective_weight)
        .collect();
    assert_eq!(weights, [100_000, 1]);
}

#[tokio::test]
async fn a_429_with_retry_after_cools_exactly_that_long() {
    let server = MockServer::start().await;
    server.on("POST", &path("a"), ok());
    server.on_sequence(
        "POST",
        &path("b"),
        vec![
            error(429, "rate_limit_exceeded").header("retry-after", "2"),
            ok(),
        ],
    );
    let (b, b_calls) = Recording::new(provider(&server, "b"));
    let group = ModelGroup::new("g")
        .deployment(deployment(&server, "a"))
        .deployment(Deployment::new(b, MODEL).id("b"))
        // b first until it is cooled, so the 429 comes at once.
        .strategy(Strategy::Custom(Arc::new(Prefer("b"))));
    let client = Client::builder().group(group).build().expect("valid");
    let mut skipped_while_cooling = 0;
    let mut served_by_b_again = false;
    for _ in 0..400 {
        let reply = client.chat("g", request()).await.expect("a always answers");
        let by = served_by(&reply.meta);
        if by == "b" {
            served_by_b_again = true;
            break;
        }
        assert_eq!(by, "a");
        let cooling = steps(&reply.meta)
            .iter()
            .any(|(_, d, o)| d == "b" && matches!(o, RouteOutcome::CoolingDown { .. }));
        skipped_while_cooling += usize::from(cooling);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(served_by_b_again, "b got traffic again after its cooldown");
    let calls = b_calls.lock().expect("not poisoned").clone();
    assert_eq!(calls.len(), 2, "the 429, then the call after the cooldown");
    assert!(
        calls[1] - calls[0] >= Duration::from_secs(2),
        "b was called again {:?} after its 429",
        calls[1] - calls[0]
    );
    assert!(skipped_while_cooling > 0);
    assert_eq!(received(&server, "b"), 2);
}

/// Orders one deployment first, the rest as declared.
#[derive(Debug)]
struct Prefer(&'static str);

impl RoutingStrategy for Prefer {
    fn name(&self) -> &str {
        "prefer"
    }
    fn order(&self, candidates: &[Candidate<'_>], order: &mut Vec<usize>) {
        order.extend((0..candidates.len()).filter(|&i| candidates[i].deployment.name() == self.0));
        order.extend((0..candidates.len()).filter(|&i| candidates[i].deployment.name() != self.0));
    }
}

#[tokio::test]
async fn allowed_fails_then_cooldown_time_then_a_half_open_probe() {
    let server = MockServer::start().await;
    server.on("POST", &path("bad"), error(500, "server_error"));
    server.on("POST", &path("good"), ok());
    let cooldown = Duration::from_millis(600);
    let group = ModelGroup::new("g")
        .deployment(deployment(&server, "bad"))
        .deployment(deployment(&server, "good"))
        .strategy(Strategy::Custom(Arc::new(Prefer("bad"))))
        .cooldown(CooldownPolicy {
            allowed_fails: 2,
            window: Duration::from_secs(60),
            cooldown_time: cooldown,
        });
    let client = Client::builder().group(group).build().expect("valid");
    let failed = (
        "g".to_owned(),
        "bad".to_owned(),
        RouteOutcome::Failed(ErrorKind::ServerError),
    );
    let served = ("g".to_owned(), "good".to_owned(), RouteOutcome::Served);
    // Two allowed failures, then the third cools it down.
    for n in 1..=3 {
        let reply = client.chat("g", request()).await.expect("good answers");
        assert_eq!(
            steps(&reply.meta),
            [failed.clone(), served.clone()],
            "call {n}"
        );
    }
    for _ in 0..5 {
        let reply = client.chat("g", request()).await.expect("good answers");
        let s = steps(&reply.meta);
        assert!(
            matches!(&s[0], (_, d, RouteOutcome::CoolingDown { remaining }) if d == "bad" && *remaining <= cooldown),
            "{s:?}"
        );
        assert_eq!(s[1], served);
    }
    assert_eq!(received(&server, "bad"), 3, "no call while cooling down");
    // After cooldown_time one probe; it fails and cools it again at once.
    tokio::time::sleep(cooldown).await;
    let reply = client.chat("g", request()).await.expect("good answers");
    assert_eq!(steps(&reply.meta), [failed.clone(), served.clone()]);
    let reply = client.chat("g", request()).await.expect("good answers");
    assert!(
        matches!(&steps(&reply.meta)[0], (_, d, RouteOutcome::CoolingDown { .. }) if d == "bad")
    );
    assert_eq!(received(&server, "bad"), 4);
    // Healthy again: the next probe succeeds and it is back in rotation.
    server.on("POST", &path("bad"), ok());
    tokio::time::sleep(cooldown).await;
    for _ in 0..3 {
        let reply = client.chat("g", request()).await.expect("bad answers now");
        assert_eq!(served_by(&reply.meta), "bad");
    }
}

#[tokio::test]
async fn the_last_healthy_deployment_is_kept_and_the_error_says_so() {
    let server = MockServer::start().await;
    server.on("POST", &path("only"), error(500, "server_error"));
    let group = ModelGroup::new("g")
        .deployment(deployment(&server, "only"))
        .cooldown(CooldownPolicy {
            allowed_fails: 0,
            window: Duration::from_secs(60),
            cooldown_time: Duration::from_secs(60),
        });
    let client = Client::builder().group(group).build().expect("valid");
    for n in 1..=3 {
        let err = client.chat("g", request()).await.expect_err("500");
        assert_eq!(err.kind(), ErrorKind::ServerError);
        assert!(
            err.message().contains("kept `only` in rotation"),
            "{}",
            err.message()
        );
        assert_eq!(received(&server, "only"), n, "still dispatched to");
    }
}

#[tokio::test]
async fn every_deployment_cooling_fails_at_once_with_the_shortest_wait() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        &path("a"),
        error(429, "rate_limit_exceeded").header("retry-after", "30"),
    );
    let client = Client::builder()
        .group(ModelGroup::new("g").deployment(deployment(&server, "a")))
        .build()
        .expect("valid");
    let first = client.chat("g", request()).await.expect_err("429");
    assert_eq!(first.kind(), ErrorKind::RateLimited);
    assert!(
        first
            .message()
            .contains("cooled down `a`, the last healthy"),
        "{}",
        first.message()
    );
    let second = client.chat("g", request()).await.expect_err("cooling");
    assert_eq!(second.kind(), ErrorKind::RateLimited);
    let wait = second.retry_after().expect("the cooldown left");
    assert!(
        wait <= Duration::from_secs(30) && wait > Duration::from_secs(20),
        "{wait:?}"
    );
    assert!(
        second.message().contains("a: cooling down"),
        "{}",
        second.message()
    );
    assert_eq!(received(&server, "a"), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn least_busy_spreads_concurrent_calls_evenly() {
    let server = MockServer::start().await;
    let mut group = ModelGroup::new("g").strategy(Strategy::LeastBusy);
    for name in ["a", "b", "c"] {
        server.on("POST", &path(name), ok().delay(Duration::from_millis(200)));
        group = group.deployment(deployment(&server, name));
    }
    let client = Client::builder().group(group).build().expect("valid");
    // Each call takes its in-flight slot before the next is started, so the
    // least busy deployment is always the one with the fewest.
    let replies = join_all((0..30).map(|_| client.chat("g", request()))).await;
    let mut counts = [0; 3];
    for reply in replies {
        let by = served_by(&reply.expect("answers").meta);
        counts[["a", "b", "c"]
            .iter()
            .position(|n| *n == by)
            .expect("known")] += 1;
    }
    assert_eq!(counts, [10, 10, 10]);
    // A deployment with calls in flight gets none of the next ones.
    let slow = client.chat("g", request());
    let busy = async {
        assert!(server.wait_for_request_count(31, PATIENCE).await);
        let busy_one = server.requests().last().expect("one").path.clone();
        // Two idle deployments: the next two calls take one each.
        let replies = join_all((0..2).map(|_| client.chat("g", request()))).await;
        (busy_one, replies)
    };
    let (first, (busy_one, replies)) = tokio::join!(slow, busy);
    let first = served_by(&first.expect("answers").meta);
    assert_eq!(busy_one, path(&first));
    for reply in replies {
        assert_ne!(served_by(&reply.expect("answers").meta), first);
    }
}

#[tokio::test]
async fn lowest_latency_picks_the_fastest_after_trying_each() {
    let server = MockServer::start().await;
    let mut group = ModelGroup::new("g").strategy(Strategy::LowestLatency);
    for (name, delay) in [("slow", 300), ("fast", 0), ("medium", 150)] {
        server.on(
            "POST",
            &path(name),
            ok().delay(Duration::from_millis(delay)),
        );
        group = group.deployment(deployment(&server, name));
    }
    let client = Client::builder().group(group).build().expect("valid");
    let mut first = Vec::new();
    for _ in 0..3 {
        let reply = client.chat("g", request()).await.expect("answers");
        first.push(served_by(&reply.meta));
    }
    first.sort();
    assert_eq!(
        first,
        ["fast", "medium", "slow"],
        "each untried one is tried once"
    );
    for _ in 0..10 {
        let reply = client.chat("g", request()).await.expect("answers");
        assert_eq!(served_by(&reply.meta), "fast");
        assert_eq!(
            reply.meta.routing.as_ref().expect("traced").strategy,
            "lowest-latency"
        );
    }
    assert_eq!(received(&server, "fast"), 11);
}

#[tokio::test]
async fn usage_aware_prefers_headroom_from_the_upstream_headers() {
    let server = MockServer::start().await;
    let limited = |remaining: &str| {
        ok().header("x-ratelimit-limit-requests", "100")
            .header("x-ratelimit-remaining-requests", remaining)
    };
    server.on("POST", &path("tight"), limited("3"));
    server.on("POST", &path("roomy"), limited("90"));
    let group = ModelGroup::new("g")
        .strategy(Strategy::UsageAware)
        .deployment(deployment(&server, "tight"))
        .deployment(deployment(&server, "roomy"));
    let client = Client::builder().group(group).build().expect("valid");
    // Until each has answered once nothing is known: both are tried.
    for _ in 0..2 {
        client.chat("g", request()).await.expect("answers");
    }
    assert_eq!(
        (received(&server, "tight"), received(&server, "roomy")),
        (1, 1)
    );
    for _ in 0..5 {
        let reply = client.chat("g", request()).await.expect("answers");
        assert_eq!(served_by(&reply.meta), "roomy");
    }
}

/// A routed answer keeps what the provider client reported beside the events:
/// the parameters dropped under the unsupported-parameter policy, streamed or not.
#[tokio::test]
async fn a_routed_answer_keeps_its_dropped_params() {
    use common::clients::{NoSeed, chat_ok, config_for, stream_ok};
    use llm_runtime::{ChatRequest, types::UnsupportedParamPolicy};
    let group = |server: &MockServer| {
        let provider = config_for::<NoSeed>(server)
            .unsupported_params(UnsupportedParamPolicy::Drop)
            .connect()
            .expect("valid");
        ModelGroup::new("g").deployment(Deployment::new(provider, "m").id("d"))
    };
    let seeded = || ChatRequest::new("").user("hi").seed(7);

    let whole = MockServer::start().await;
    whole.on("POST", common::CHAT_PATH, chat_ok("m", "ok"));
    let client = Client::builder()
        .group(group(&whole))
        .build()
        .expect("valid");
    let reply = client.chat("g", seeded()).await.expect("answers");
    assert_eq!(reply.dropped_params, ["seed"]);
    assert_eq!(served_by(&reply.meta), "d");

    let streamed = MockServer::start().await;
    streamed.on("POST", common::CHAT_PATH, stream_ok("m", "ok"));
    let client = Client::builder()
        .group(group(&streamed))
        .build()
        .expect("valid");
    let stream = client.chat_stream("g", seeded()).await.expect("opens");
    assert_eq!(stream.provider(), "noseed");
    let reply = stream.collect_response().await.expect("whole");
    assert_eq!(reply.text(), "ok");
    assert_eq!(reply.dropped_params, ["seed"]);
    assert_eq!(reply.provider, "noseed");
    assert_eq!(served_by(&reply.meta), "d");
    let body = streamed.requests()[0].body_json();
    assert!(body.get("seed").is_none(), "{body}");
}

//! Fallbacks by class between model groups and the context-window pre-check,
//! each with the exact route taken, read from `ResponseMeta::routing`.

mod router_common;

use llm_runtime::testing::MockServer;
use llm_runtime::types::{FallbackClass, RouteOutcome};
use llm_runtime::{
    ChatRequest, Client, ErrorKind,
    router::{Deployment, ModelGroup, Strategy},
};
use proptest::prelude::*;
use router_common::*;

fn step(group: &str, deployment: &str, outcome: RouteOutcome) -> (String, String, RouteOutcome) {
    (group.to_owned(), deployment.to_owned(), outcome)
}

/// Group `from` with one deployment answering `status`/`code`, falling back
/// to group `to` (one healthy deployment) for `class`.
async fn fallback_case(status: u16, code: &str, class: FallbackClass) -> (MockServer, Client) {
    let server = MockServer::start().await;
    server.on("POST", &path("x"), error(status, code));
    server.on("POST", &path("y"), ok());
    let from = ModelGroup::new("from").deployment(deployment(&server, "x"));
    let from = match class {
        FallbackClass::Generic => from.fallback("to"),
        FallbackClass::ContextWindow => from.context_window_fallback("to"),
        _ => from.content_policy_fallback("to"),
    };
    let client = Client::builder()
        .group(from)
        .group(ModelGroup::new("to").deployment(deployment(&server, "y")))
        .build()
        .expect("valid");
    (server, client)
}

#[tokio::test]
async fn each_class_falls_back_to_its_group() {
    let cases = [
        (
            500,
            "server_error",
            ErrorKind::ServerError,
            FallbackClass::Generic,
        ),
        (
            400,
            "context_length_exceeded",
            ErrorKind::ContextWindowExceeded,
            FallbackClass::ContextWindow,
        ),
        (
            400,
            "content_filter",
            ErrorKind::ContentFilter,
            FallbackClass::ContentPolicy,
        ),
    ];
    for (status, code, kind, class) in cases {
        let (server, client) = fallback_case(status, code, class).await;
        let reply = client
            .chat("from", request())
            .await
            .expect("the fallback answers");
        assert_eq!(
            steps(&reply.meta),
            [
                step("from", "x", RouteOutcome::Failed(kind)),
                step("from", "to", RouteOutcome::FellBack(class)),
                step("to", "y", RouteOutcome::Served),
            ],
            "{code}"
        );
        let trace = reply.meta.routing.as_ref().expect("traced");
        assert_eq!(
            (trace.group.as_str(), trace.served_group.as_str()),
            ("from", "to")
        );
        assert_eq!((received(&server, "x"), received(&server, "y")), (1, 1));
    }
}

#[tokio::test]
async fn a_class_without_its_fallback_does_not_fall_back() {
    // A content-policy refusal with only a generic fallback configured.
    let (server, client) = fallback_case(400, "content_filter", FallbackClass::Generic).await;
    let err = client
        .chat("from", request())
        .await
        .expect_err("no content fallback");
    assert_eq!(err.kind(), ErrorKind::ContentFilter);
    assert_eq!(received(&server, "y"), 0);
    // Validation errors never fall back, nor move to another deployment.
    let (server, client) = fallback_case(400, "invalid_value", FallbackClass::Generic).await;
    let err = client.chat("from", request()).await.expect_err("invalid");
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    assert_eq!(received(&server, "y"), 0);
}

#[tokio::test]
async fn fallbacks_do_not_loop() {
    let server = MockServer::start().await;
    server.on("POST", &path("x"), error(500, "server_error"));
    server.on("POST", &path("y"), error(500, "server_error"));
    let client = Client::builder()
        .group(
            ModelGroup::new("a")
                .deployment(deployment(&server, "x"))
                .fallback("b"),
        )
        .group(
            ModelGroup::new("b")
                .deployment(deployment(&server, "y"))
                .fallback("a"),
        )
        .build()
        .expect("valid");
    let err = client.chat("a", request()).await.expect_err("both fail");
    assert_eq!(err.kind(), ErrorKind::ServerError);
    assert_eq!((received(&server, "x"), received(&server, "y")), (1, 1));
    assert!(
        err.message().contains("fell back (Generic) to group `b`"),
        "{}",
        err.message()
    );
}

/// The tokens the pre-check counts for a request on [`MODEL`].
fn needed(request: &ChatRequest) -> u64 {
    let mut counted = request.clone();
    counted.model = MODEL.to_owned();
    llm_runtime::tokens::count_request(&counted).tokens as u64
        + u64::from(request.max_tokens.unwrap_or(0))
}

#[tokio::test]
async fn the_pre_check_skips_small_windows_and_falls_back_to_a_larger_group() {
    let server = MockServer::start().await;
    server.on("POST", &path("s"), ok());
    server.on("POST", &path("l"), ok());
    let client = Client::builder()
        .group(
            ModelGroup::new("small")
                .deployment(deployment(&server, "s").context_window(100))
                .context_window_fallback("large"),
        )
        .group(ModelGroup::new("large").deployment(deployment(&server, "l")))
        .build()
        .expect("valid");
    let request = request().max_tokens(200);
    let reply = client
        .chat("small", request.clone())
        .await
        .expect("large answers");
    assert_eq!(
        steps(&reply.meta),
        [
            step(
                "small",
                "s",
                RouteOutcome::ContextWindowTooSmall {
                    needed: needed(&request),
                    window: 100
                }
            ),
            step(
                "small",
                "large",
                RouteOutcome::FellBack(FallbackClass::ContextWindow)
            ),
            step("large", "l", RouteOutcome::Served),
        ]
    );
    assert_eq!(
        received(&server, "s"),
        0,
        "never sent to a window it cannot fit"
    );
    // A request that fits goes to the small group's deployment.
    let reply = client.chat("small", super_small()).await.expect("fits");
    assert_eq!(
        steps(&reply.meta),
        [step("small", "s", RouteOutcome::Served)]
    );
}

fn super_small() -> ChatRequest {
    ChatRequest::new("").user("hi").max_tokens(10)
}

#[tokio::test]
async fn without_a_larger_group_the_pre_check_is_a_context_window_error() {
    let server = MockServer::start().await;
    let client = Client::builder()
        .group(ModelGroup::new("g").deployment(deployment(&server, "s").context_window(50)))
        .build()
        .expect("valid");
    let err = client
        .chat("g", request().max_tokens(100))
        .await
        .expect_err("too big");
    assert_eq!(err.kind(), ErrorKind::ContextWindowExceeded);
    assert!(
        err.message()
            .contains("largest context window in group `g` is 50"),
        "{}",
        err.message()
    );
    assert_eq!(server.request_count(), 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Whatever the sizes, a deployment is skipped exactly when the counted
    /// prompt plus max_tokens exceeds its window, and a deployment that fits serves.
    #[test]
    fn the_pre_check_matches_the_count(words in 1usize..200, max_tokens in 1u32..400, windows in proptest::collection::vec(50u64..600, 1..4)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let server = MockServer::start().await;
            let mut group = ModelGroup::new("g").strategy(Strategy::LowestCost);
            for (i, w) in windows.iter().enumerate() {
                let name = format!("d{i}");
                server.on("POST", &path(&name), ok());
                group = group.deployment(deployment(&server, &name).context_window(*w));
            }
            let client = Client::builder().group(group).build().expect("valid");
            let request = ChatRequest::new("").user("word ".repeat(words)).max_tokens(max_tokens);
            let need = needed(&request);
            let fits: Vec<String> = windows.iter().enumerate().filter(|(_, w)| need <= **w).map(|(i, _)| format!("d{i}")).collect();
            match client.chat("g", request).await {
                Ok(reply) => {
                    let s = steps(&reply.meta);
                    let skipped: Vec<&String> = s.iter().filter(|(_, _, o)| matches!(o, RouteOutcome::ContextWindowTooSmall { .. })).map(|(_, d, _)| d).collect();
                    prop_assert_eq!(skipped.len(), windows.len() - fits.len());
                    prop_assert!(fits.contains(&served_by(&reply.meta)));
                }
                Err(e) => {
                    prop_assert!(fits.is_empty(), "{e}");
                    prop_assert_eq!(e.kind(), ErrorKind::ContextWindowExceeded);
                }
            }
            Ok(())
        })?;
    }
}

#[tokio::test]
async fn lowest_cost_picks_the_cheaper_catalog_price() {
    let server = MockServer::start().await;
    server.on("POST", &path("big"), ok());
    server.on("POST", &path("mini"), ok());
    let group = ModelGroup::new("g")
        .strategy(Strategy::LowestCost)
        .deployment(Deployment::new(provider(&server, "big"), "gpt-4o").id("big"))
        .deployment(Deployment::new(provider(&server, "mini"), "gpt-4o-mini").id("mini"));
    let client = Client::builder().group(group).build().expect("valid");
    for _ in 0..5 {
        let reply = client.chat("g", request()).await.expect("answers");
        assert_eq!(served_by(&reply.meta), "mini");
        assert_eq!(
            reply.meta.routing.as_ref().expect("traced").strategy,
            "lowest-cost"
        );
    }
    let sent = &server.requests()[0];
    assert_eq!(
        sent.body_json()["model"],
        "gpt-4o-mini",
        "the deployment's model is sent"
    );
}

#[tokio::test]
async fn bad_groups_are_config_errors() {
    let server = MockServer::start().await;
    let cases = [
        Client::builder().group(ModelGroup::new("g")).build(),
        Client::builder()
            .group(
                ModelGroup::new("g")
                    .deployment(deployment(&server, "a"))
                    .fallback("nowhere"),
            )
            .build(),
        Client::builder()
            .group(
                ModelGroup::new("g")
                    .deployment(deployment(&server, "a"))
                    .deployment(deployment(&server, "a")),
            )
            .build(),
        Client::builder()
            .group(ModelGroup::new("g").deployment(deployment(&server, "a").rpm(0)))
            .build(),
        Client::builder()
            .group(ModelGroup::new("g").deployment(deployment(&server, "a")))
            .group(ModelGroup::new("g").deployment(deployment(&server, "b")))
            .build(),
    ];
    for (i, case) in cases.into_iter().enumerate() {
        assert_eq!(
            case.map(|_| ()).map_err(|e| e.kind()),
            Err(ErrorKind::Config),
            "case {i}"
        );
    }
}

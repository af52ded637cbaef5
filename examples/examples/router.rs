//! A model group: two deployments of one model behind one name, weighted,
//! with limits, a cooldown after a 429, and a fallback group for prompts
//! too long for its context window. The answer says which deployment served
//! it and why.
//!
//! `cargo run --example router` (offline, one loopback mock).

use std::time::Duration;

use llm_runtime::providers::OpenAi;
use llm_runtime::router::CooldownPolicy;
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{
    ChatRequest, Client,
    retry::RetryPolicy,
    router::{Deployment, ModelGroup},
};
use serde_json::json;

fn answer(text: &str) -> MockResponse {
    MockResponse::json(
        200,
        json!({"id": "c1", "model": "gpt-4o-mini",
               "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
               "usage": {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16}}),
    )
}

/// `east: Failed(RateLimited) -> west: Served`
fn steps(route: &llm_runtime::types::RoutingTrace) -> String {
    let steps: Vec<String> = route
        .steps
        .iter()
        .map(|s| format!("{}: {:?}", s.deployment, s.outcome))
        .collect();
    steps.join(" -> ")
}

#[tokio::main]
async fn main() -> Result<(), llm_runtime::Error> {
    let mock = MockServer::start().await;
    // "east" is rate limited once and asks for a second's rest; "west" always answers.
    let limited = MockResponse::json(
        429,
        json!({"error": {"message": "slow down", "type": "rate_limit"}}),
    )
    .header("retry-after", "1");
    mock.on_sequence(
        "POST",
        "/east/v1/chat/completions",
        vec![limited, answer("from east")],
    );
    mock.on("POST", "/west/v1/chat/completions", answer("from west"));
    mock.on(
        "POST",
        "/long/v1/chat/completions",
        answer("from the long-context group"),
    );

    let region = |name: &str| {
        OpenAi::config()
            .api_key("demo")
            .base_url(format!("{}/{name}/v1", mock.url()))
            .retry_policy(RetryPolicy::none())
            .connect()
    };
    let client = Client::builder()
        .group(
            ModelGroup::new("chat")
                .deployment(
                    Deployment::new(region("east")?, "gpt-4o-mini")
                        .id("east")
                        .weight(3)
                        .rpm(600),
                )
                .deployment(
                    Deployment::new(region("west")?, "gpt-4o-mini")
                        .id("west")
                        .weight(1)
                        .tpm(100_000),
                )
                .cooldown(CooldownPolicy {
                    allowed_fails: 3,
                    window: Duration::from_secs(60),
                    cooldown_time: Duration::from_secs(5),
                })
                .context_window_fallback("long-context"),
        )
        .group(
            ModelGroup::new("long-context")
                .deployment(Deployment::new(region("long")?, "gpt-4.1").id("long")),
        )
        .build()?;

    for _ in 0..4 {
        let reply = client.chat("chat", ChatRequest::new("").user("Hi")).await?;
        let route = reply.meta.routing.as_ref().expect("a group call is traced");
        println!("{:<10} route: {}", reply.text(), steps(route));
    }

    // A prompt plus max_tokens larger than gpt-4o-mini's 128k window goes to the
    // long-context group without being sent to the small one.
    let long = ChatRequest::new("").user("Summarize").max_tokens(130_000);
    let reply = client.chat("chat", long).await?;
    let route = reply.meta.routing.as_ref().expect("traced");
    println!("{} route: {}", reply.text(), steps(route));
    assert_eq!(route.served_group, "long-context");

    let usage = client
        .router()
        .expect("groups")
        .state()
        .usage("deployment:chat/west")
        .await?;
    println!(
        "west used {} requests and {} tokens this minute",
        usage.requests, usage.tokens
    );
    Ok(())
}

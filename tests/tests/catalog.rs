//! The compiled model catalog: coverage, lookups, and cost from reported usage
//! (cached tokens included; unknown models cost `None`, never zero).

mod common;

use std::collections::HashSet;

use llm_runtime::catalog::{self, Cost};
use llm_runtime::testing::MockServer;
use llm_runtime::{Usage, spec::Capability};

use common::clients::{CHAT_PATH, acme_client};

fn usage(prompt: u32, completion: u32, cached: Option<u32>) -> Usage {
    let mut usage = Usage::new(prompt, completion);
    usage.cached_tokens = cached;
    usage
}

#[track_caller]
fn assert_usd(cost: Option<Cost>, expected: f64) {
    let cost = cost.expect("priced");
    assert!(
        (cost.total_usd - expected).abs() < 1e-9,
        "expected ${expected}, got {cost:?}"
    );
    assert!(
        (cost.input_usd + cost.cached_input_usd + cost.output_usd - cost.total_usd).abs() < 1e-12
    );
}

#[test]
fn covers_at_least_forty_current_models_across_the_built_ins() {
    let models = catalog::models();
    assert!(models.len() >= 40, "only {} models", models.len());
    let providers: HashSet<_> = models.iter().map(|m| m.provider).collect();
    for p in [
        "openai",
        "anthropic",
        "gemini",
        "mistral",
        "groq",
        "deepseek",
        "xai",
        "cohere",
        "perplexity",
    ] {
        assert!(providers.contains(p), "no {p} models");
    }
    for route in [
        "openai/gpt-4o",
        "openai/gpt-4o-mini",
        "openai/gpt-4.1",
        "openai/gpt-4.1-mini",
        "openai/gpt-4.1-nano",
        "openai/o3",
        "openai/o4-mini",
        "anthropic/claude-sonnet-4-5",
        "anthropic/claude-opus-4-1",
        "anthropic/claude-haiku-4-5",
        "gemini/gemini-2.5-pro",
        "gemini/gemini-2.5-flash",
        "gemini/gemini-2.5-flash-lite",
        "deepseek/deepseek-chat",
        "deepseek/deepseek-reasoner",
        "groq/llama-3.3-70b-versatile",
        "xai/grok-4",
        "cohere/command-a-03-2025",
        "mistral/mistral-large-latest",
    ] {
        let card = catalog::lookup(route).unwrap_or_else(|| panic!("{route} is missing"));
        assert_eq!(card.route(), route);
        assert!(card.price.is_some(), "{route} has no price");
    }
}

#[test]
fn windows_limits_and_capabilities() {
    let card = catalog::lookup("gpt-4.1").expect("known");
    assert_eq!(card.context_window, 1_047_576);
    assert_eq!(card.max_output_tokens, Some(32_768));
    assert!(card.supports(Capability::Vision) && card.supports(Capability::Tools));
    assert!(
        catalog::lookup("o3")
            .expect("known")
            .supports(Capability::Reasoning)
    );
    assert!(
        !catalog::lookup("deepseek-chat")
            .expect("known")
            .supports(Capability::Vision)
    );
    assert_eq!(
        catalog::context_window("anthropic/claude-haiku-4-5"),
        Some(200_000)
    );
    assert_eq!(catalog::context_window("no-such-model"), None);
}

#[test]
fn dated_snapshots_and_router_prefixes_resolve() {
    assert_eq!(
        catalog::lookup("gpt-4o-2024-08-06").map(|m| m.id),
        Some("gpt-4o")
    );
    assert_eq!(
        catalog::lookup("claude-haiku-4-5-20251001").map(|m| m.id),
        Some("claude-haiku-4-5")
    );
    assert_eq!(
        catalog::lookup("openrouter/anthropic/claude-sonnet-4-5").map(|m| m.id),
        Some("claude-sonnet-4-5")
    );
    assert!(catalog::lookup("gpt-4o-realtime-preview").is_none());
}

#[test]
fn costs_from_usage() {
    // gpt-4o-mini: $0.15 in, $0.60 out per million.
    assert_usd(
        catalog::cost("gpt-4o-mini", &usage(1_000_000, 1_000_000, None)),
        0.75,
    );
    // claude-sonnet-4-5: $3 in, $15 out.
    assert_usd(
        catalog::cost("anthropic/claude-sonnet-4-5", &usage(10_000, 2_000, None)),
        0.03 + 0.03,
    );
    // deepseek-chat: $0.28 miss, $0.028 hit, $0.42 out.
    assert_usd(
        catalog::cost(
            "deepseek/deepseek-chat",
            &usage(1_000_000, 0, Some(500_000)),
        ),
        0.14 + 0.014,
    );
}

#[test]
fn cached_tokens_are_billed_at_the_cached_rate() {
    // gpt-4.1: $2 in, $0.50 cached, $8 out. 100k prompt of which 80k cached, 1k out.
    let cost = catalog::cost("gpt-4.1", &usage(100_000, 1_000, Some(80_000))).expect("priced");
    assert!((cost.input_usd - 0.04).abs() < 1e-12, "{cost:?}");
    assert!((cost.cached_input_usd - 0.04).abs() < 1e-12, "{cost:?}");
    assert!((cost.output_usd - 0.008).abs() < 1e-12, "{cost:?}");
    // claude-haiku-4-5: $1 in, $0.10 cache read.
    assert_usd(
        catalog::cost("claude-haiku-4-5", &usage(1_000_000, 0, Some(1_000_000))),
        0.10,
    );
    // Mistral publishes no cached rate: cached tokens cost the input rate.
    assert_usd(
        catalog::cost("mistral-small-latest", &usage(1_000_000, 0, Some(600_000))),
        0.10,
    );
}

#[test]
fn long_prompts_use_the_long_context_rate() {
    // gemini-2.5-pro: $1.25/$10 up to 200k prompt tokens, $2.50/$15 above.
    assert_usd(
        catalog::cost("gemini-2.5-pro", &usage(100_000, 10_000, None)),
        0.125 + 0.1,
    );
    assert_usd(
        catalog::cost("gemini-2.5-pro", &usage(300_000, 10_000, None)),
        0.75 + 0.15,
    );
}

#[test]
fn an_unknown_model_costs_none_never_zero() {
    let u = usage(1_000, 1_000, None);
    assert!(catalog::cost("my-finetune", &u).is_none());
    assert!(catalog::cost("anthropic/not-a-claude", &u).is_none());
    // Listed but with no published price.
    let card = catalog::lookup("cohere/command-a-reasoning-08-2025").expect("listed");
    assert!(card.price.is_none());
    assert!(card.cost(&u).is_none());
}

#[tokio::test]
async fn the_cost_of_a_response_from_its_reported_usage() {
    let server = MockServer::start().await;
    // Acme answers as gpt-4o-mini would, reporting cached tokens.
    server.on(
        "POST",
        CHAT_PATH,
        llm_runtime::testing::MockResponse::json(
            200,
            serde_json::json!({
                "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini-2024-07-18",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 2000, "completion_tokens": 1000, "total_tokens": 3000,
                          "prompt_tokens_details": {"cached_tokens": 1000}}
            }),
        ),
    );
    let client = acme_client(&server);
    let reply = client
        .chat("acme/gpt-4o-mini", common::clients::hello())
        .await
        .expect("answers");
    // `acme` is not in the catalog, so the model is priced as its maker lists it.
    let cost = catalog::response_cost(&reply).expect("priced from the reported model");
    let expected = (1000.0 * 0.15 + 1000.0 * 0.075 + 1000.0 * 0.60) / 1_000_000.0;
    assert!((cost.total_usd - expected).abs() < 1e-12, "{cost:?}");
}

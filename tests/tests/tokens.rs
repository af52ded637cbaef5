//! Token counts pinned against known tiktoken results (OpenAI's cookbook), the
//! estimate flag, and history truncation that keeps the system prompt, the
//! newest turns, and tool calls with their results.

use llm_runtime::tokens::{
    Encoding, REPLY_PRIMING_TOKENS, TOKENS_PER_MESSAGE, TokenCount, count_messages, count_request,
    count_text, truncate_to_budget,
};
use llm_runtime::{ChatRequest, ErrorKind, Message, Role, Tool, ToolCall};
use serde_json::json;

#[test]
fn known_counts_in_o200k_base() {
    // gpt-4o, gpt-4.1, o-series and gpt-5 share o200k_base.
    for model in [
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4.1",
        "o3",
        "o4-mini",
        "gpt-5",
        "openai/gpt-4o",
    ] {
        assert_eq!(
            count_text(model, "hello world"),
            TokenCount::exact(2),
            "{model}"
        );
    }
    assert_eq!(
        count_text("gpt-4o", "The quick brown fox jumps over the lazy dog."),
        TokenCount::exact(10)
    );
    assert_eq!(
        count_text("gpt-4o", "tiktoken is great!"),
        TokenCount::exact(6)
    );
    assert_eq!(count_text("gpt-4o", "2 + 2 = 4"), TokenCount::exact(7));
    assert_eq!(
        count_text("gpt-4o", "お誕生日おめでとう"),
        TokenCount::exact(8)
    );
    assert_eq!(count_text("gpt-4o", ""), TokenCount::exact(0));
}

#[test]
fn known_counts_in_cl100k_base() {
    for model in ["gpt-4", "gpt-3.5-turbo"] {
        assert_eq!(Encoding::for_model(model), Some(Encoding::Cl100kBase));
        assert_eq!(
            count_text(model, "hello world"),
            TokenCount::exact(2),
            "{model}"
        );
    }
    assert_eq!(
        count_text("gpt-4", "tiktoken is great!"),
        TokenCount::exact(6)
    );
    assert_eq!(count_text("gpt-4", "2 + 2 = 4"), TokenCount::exact(7));
    // The two vocabularies differ on non-English text.
    assert_eq!(
        count_text("gpt-4", "お誕生日おめでとう"),
        TokenCount::exact(9)
    );
}

#[test]
fn chat_framing_follows_the_cookbook() {
    assert_eq!((TOKENS_PER_MESSAGE, REPLY_PRIMING_TOKENS), (3, 3));
    // (3 + 1 "system" + 6) + (3 + 1 "user" + 2) + 3 reply priming.
    let messages = [
        Message::system("You are a helpful assistant."),
        Message::user("hello world"),
    ];
    assert_eq!(count_messages("gpt-4o", &messages), TokenCount::exact(19));
    assert_eq!(count_messages("gpt-4", &messages), TokenCount::exact(19));
    assert_eq!(count_messages("gpt-4o", &[]), TokenCount::exact(3));
}

#[test]
fn other_models_are_flagged_estimates() {
    for model in [
        "claude-sonnet-4-5",
        "gemini-2.5-pro",
        "mistral-large-latest",
        "groq/llama-3.3-70b-versatile",
        "groq/openai/gpt-oss-120b",
    ] {
        let n = count_text(model, "The quick brown fox jumps over the lazy dog.");
        assert!(!n.exact, "{model}");
        // o200k_base's 10 plus 10% headroom.
        assert_eq!(n.tokens, 11, "{model}");
        assert!(
            !count_messages(model, &[Message::user("hi")]).exact,
            "{model}"
        );
    }
}

#[test]
fn tools_images_and_tool_calls_are_estimates() {
    let tool = Tool::function(
        "weather",
        "Weather for a city",
        json!({"type": "object", "properties": {"city": {"type": "string"}}}),
    );
    let plain = ChatRequest::new("gpt-4o").user("hello world");
    assert_eq!(count_request(&plain), TokenCount::exact(9));
    let with_tool = plain.clone().tool(tool);
    let n = count_request(&with_tool);
    assert!(!n.exact);
    assert!(n.tokens > 9 + 10, "{n:?}");
}

fn call(id: &str) -> Message {
    Message::assistant_tool_calls(
        None,
        vec![ToolCall::function(id, "weather", r#"{"city":"Paris"}"#)],
    )
}

fn conversation() -> Vec<Message> {
    vec![
        Message::system("You are a helpful assistant."),
        Message::user("What is the weather in Paris?"),
        call("call_1"),
        Message::tool_result("call_1", "18 degrees and sunny"),
        Message::assistant("It is 18 degrees and sunny in Paris."),
        Message::user("And tomorrow?"),
    ]
}

#[test]
fn everything_fits_nothing_is_dropped() {
    let history = conversation();
    let all = count_messages("gpt-4o", &history).tokens;
    assert_eq!(
        truncate_to_budget(&history, all, "gpt-4o").expect("fits"),
        history
    );
}

#[test]
fn the_oldest_turns_go_first_and_the_system_prompt_stays() {
    let history = conversation();
    // Room for the system prompt and the last two messages only.
    let budget = count_messages(
        "gpt-4o",
        &[history[0].clone(), history[4].clone(), history[5].clone()],
    )
    .tokens;
    let kept = truncate_to_budget(&history, budget, "gpt-4o").expect("fits");
    assert_eq!(
        kept,
        vec![history[0].clone(), history[4].clone(), history[5].clone()]
    );
    assert!(count_messages("gpt-4o", &kept).tokens <= budget);
}

#[test]
fn a_tool_call_is_never_split_from_its_result() {
    let history = conversation();
    let with_pair = count_messages(
        "gpt-4o",
        &history[..1]
            .iter()
            .chain(&history[2..])
            .cloned()
            .collect::<Vec<_>>(),
    )
    .tokens;
    // One token short of keeping the call with its result: both go, never one of them.
    let kept = truncate_to_budget(&history, with_pair - 1, "gpt-4o").expect("fits");
    assert_eq!(
        kept,
        vec![history[0].clone(), history[4].clone(), history[5].clone()]
    );
    // Exactly enough: both stay.
    let kept = truncate_to_budget(&history, with_pair, "gpt-4o").expect("fits");
    assert_eq!(kept.len(), 5);
    assert_eq!(kept[1].role, Role::Assistant);
    assert_eq!(kept[2].role, Role::Tool);
    for window in kept.windows(2) {
        if window[1].role == Role::Tool {
            assert!(
                !window[0].tool_calls.is_empty() || window[0].role == Role::Tool,
                "an orphan tool result: {kept:?}"
            );
        }
    }
}

#[test]
fn a_call_with_several_results_moves_as_one() {
    let two_calls = Message::assistant_tool_calls(
        None,
        vec![
            ToolCall::function("a", "f", "{}"),
            ToolCall::function("b", "f", "{}"),
        ],
    );
    let history = vec![
        Message::system("s"),
        Message::user("go"),
        two_calls,
        Message::tool_result("a", "1"),
        Message::tool_result("b", "2"),
        Message::user("done?"),
    ];
    let without_group = count_messages("gpt-4o", &[history[0].clone(), history[5].clone()]).tokens;
    let kept = truncate_to_budget(&history, without_group + 5, "gpt-4o").expect("fits");
    assert_eq!(kept, vec![history[0].clone(), history[5].clone()]);
}

#[test]
fn too_small_a_budget_is_a_context_window_error() {
    let history = conversation();
    let err =
        truncate_to_budget(&history, 5, "gpt-4o").expect_err("the system prompt alone is larger");
    assert_eq!(err.kind(), ErrorKind::ContextWindowExceeded);
    let system_only = count_messages("gpt-4o", &history[..1]).tokens;
    let err = truncate_to_budget(&history, system_only, "gpt-4o")
        .expect_err("the newest turn does not fit");
    assert_eq!(err.kind(), ErrorKind::ContextWindowExceeded);
}

//! The Anthropic Messages and OpenAI Responses ingresses, driven over
//! loopback by the official `anthropic` and `openai` Python SDKs, in front of
//! OpenAI-, Anthropic-, Gemini- and Responses-format mock upstreams answering
//! with the runtime's recorded fixtures. What each SDK reads must be what the
//! runtime's own dialect reads from the upstream's bytes; errors must surface
//! as the SDKs' typed exceptions; a same-dialect body must reach the upstream
//! byte for byte.
//!
//! The Python is `LLM_RUNTIME_SDK_PYTHON` (else `target/sdk-venv/bin/python`);
//! without it the SDK test prints why and skips, except under `CI=true`,
//! where a missing SDK is a failure.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Gateway;
use llm_runtime::provider::{RequestContext, Transform};
use llm_runtime::testing::{MockResponse, MockServer, replay_response};
use llm_runtime::{ChatRequest, ChatResponse, FinishReason, spec::ProviderSpec};
use llm_runtime::{
    dialects::anthropic::AnthropicDialect, dialects::gemini::GeminiDialect,
    dialects::openai::OpenAiDialect, dialects::openai_responses::OpenAiResponsesDialect,
};
use serde_json::{Value, json};

const KEY: &str = "sk-gateway-test";

/// An upstream wire format, as the fixtures and the config name it.
#[derive(Debug, Clone, Copy)]
struct Format {
    name: &'static str,
    /// LiteLLM's `provider/model`.
    model: &'static str,
    /// `api_base` below the mock's URL.
    base: &'static str,
    /// The fixture files of an answer with reasoning and one with tool calls:
    /// `(json, sse)` each.
    thinking: (&'static str, &'static str),
    tools: (&'static str, &'static str),
}

const FORMATS: [Format; 4] = [
    Format {
        name: "openai",
        model: "openai/gpt-4o",
        base: "/v1",
        thinking: ("openai/chat_reasoning.json", "openai/stream_reasoning.sse"),
        tools: ("openai/chat_tools.json", "openai/stream_tools.sse"),
    },
    Format {
        name: "anthropic",
        model: "anthropic/claude-sonnet-4-5",
        base: "",
        thinking: ("anthropic/thinking.json", "anthropic/thinking.sse"),
        tools: ("anthropic/tools.json", "anthropic/tools.sse"),
    },
    Format {
        name: "gemini",
        model: "gemini/gemini-2.5-flash",
        base: "/v1beta",
        thinking: ("gemini/thinking.json", "gemini/thinking.sse"),
        tools: ("gemini/tools.json", "gemini/tools.sse"),
    },
    Format {
        name: "responses",
        model: "openai_responses/o4-mini",
        base: "/v1",
        thinking: (
            "openai_responses/reasoning.json",
            "openai_responses/reasoning.sse",
        ),
        tools: ("openai_responses/tools.json", "openai_responses/tools.sse"),
    },
];

/// A fixture named `dialect/file`.
fn fixture(name: &str) -> String {
    let (dialect, file) = name.split_once('/').unwrap();
    common::fixture(dialect, file)
}

static SPEC: ProviderSpec = ProviderSpec::new("fixture", "http://127.0.0.1");

/// What the runtime's own dialect reads from a fixture: the answer every
/// ingress must carry to its client.
fn expected(format: &str, file: &str) -> ChatResponse {
    let body = fixture(file);
    let stream = file.ends_with(".sse");
    let ctx = RequestContext::new(&SPEC, "gemini-2.5-flash", stream);
    fn read<T: Transform>(t: &T, body: &str, ctx: &RequestContext<'_>) -> ChatResponse {
        if ctx.stream {
            replay_response(t, [body.as_bytes()]).unwrap()
        } else {
            t.parse_response(body.as_bytes(), ctx).unwrap()
        }
    }
    match format {
        "openai" => read(&OpenAiDialect, &body, &ctx),
        "anthropic" => read(&AnthropicDialect, &body, &ctx),
        "gemini" => read(&GeminiDialect, &body, &ctx),
        _ => read(&OpenAiResponsesDialect, &body, &ctx),
    }
}

/// A mock answering every path of `format` with the fixture `file`.
async fn upstream(format: &Format, file: &str) -> MockServer {
    let mock = MockServer::start().await;
    let body = fixture(file);
    let answer = if file.ends_with(".sse") {
        MockResponse::text(200, "text/event-stream", body)
    } else {
        MockResponse::text(200, "application/json", body)
    };
    let paths: &[&str] = match format.name {
        "openai" => &["/v1/chat/completions"],
        "anthropic" => &["/v1/messages"],
        "gemini" => &[
            "/v1beta/models/gemini-2.5-flash:generateContent",
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        ],
        _ => &["/v1/responses"],
    };
    for path in paths {
        mock.on("POST", path, answer.clone());
    }
    mock
}

/// One `model_list` entry.
fn entry(name: &str, model: &str, api_base: &str) -> String {
    common::entry(name, model, api_base, "")
}

/// The gateway over `entries`, with a master key. `drop_params`, as LiteLLM
/// users run it: the SDKs ask for a thinking budget and a reasoning summary,
/// which not every upstream format can take.
async fn gateway(entries: &str) -> Gateway {
    let yaml = format!(
        "model_list:\n{entries}router_settings:\n  num_retries: 0\nlitellm_settings:\n  drop_params: true\ngeneral_settings:\n  master_key: {KEY}\n"
    );
    common::gateway(&yaml).await
}

/// The SDKs' Python (`anthropic` as well as `openai`), or `None` after
/// printing why (a failure under `CI=true`).
fn python_or_skip(test: &str) -> Option<PathBuf> {
    common::sdk_python::python_or_skip(test, "anthropic, openai")
}

/// Runs each case with the SDK it names and prints one JSON object of what
/// the SDK read (or the exception it raised), validated by the SDK's types.
const SDK_SCRIPT: &str = r#"
import json, sys
import anthropic, openai
from anthropic.types import Message
from openai.types.responses import Response

base, key, cases = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
a = anthropic.Anthropic(base_url=base, api_key=key, max_retries=0)
o = openai.OpenAI(base_url=base + "/v1", api_key=key, max_retries=0)
TOOLS_A = [{"name": "get_forecast", "description": "Forecast", "input_schema": {"type": "object"}}]
TOOLS_O = [{"type": "function", "name": "get_forecast", "parameters": {"type": "object"}}]

def anthropic_case(c):
    kw = dict(model=c["model"], max_tokens=512, tools=TOOLS_A,
              thinking={"type": "enabled", "budget_tokens": 256},
              messages=[{"role": "user", "content": "Weather in Paris and Tokyo, and 17 x 23?"}])
    events = []
    if c["stream"]:
        with a.messages.stream(**kw) as s:
            for e in s:
                events.append(e.type)
            m = s.get_final_message()
    else:
        m = a.messages.create(**kw)
    m = Message.model_validate(m.model_dump())
    blocks = m.content
    return {
        "text": "".join(b.text for b in blocks if b.type == "text"),
        "thinking": "".join(b.thinking for b in blocks if b.type == "thinking"),
        "signatures": [b.signature for b in blocks if b.type == "thinking" and b.signature],
        "tool_calls": [[b.id, b.name, b.input] for b in blocks if b.type == "tool_use"],
        "stop": m.stop_reason, "events": events,
        "usage": [m.usage.input_tokens, m.usage.output_tokens],
    }

def responses_case(c):
    kw = dict(model=c["model"], input="Weather in Paris and Tokyo, and 17 x 23?", tools=TOOLS_O,
              reasoning={"effort": "low", "summary": "auto"})
    events = []
    if c["stream"]:
        r = None
        with o.responses.stream(**kw) as s:
            for e in s:
                events.append(e.type)
                # The helper's final response is `response.completed`'s; a
                # `response.incomplete` (cut at max_output_tokens) carries its own.
                if e.type in ("response.completed", "response.incomplete"):
                    r = e.response
    else:
        r = o.responses.create(**kw)
    r = Response.model_validate(r.model_dump())
    reasoning = [i for i in r.output if i.type == "reasoning"]
    return {
        "text": r.output_text,
        "thinking": "".join(p.text for i in reasoning for p in i.summary),
        "encrypted": [i.encrypted_content for i in reasoning if i.encrypted_content],
        "tool_calls": [[i.call_id, i.name, json.loads(i.arguments)] for i in r.output if i.type == "function_call"],
        "stop": r.status, "events": events,
        "usage": [r.usage.input_tokens, r.usage.output_tokens],
    }

def error_case(c):
    k = c.get("key", key)
    try:
        if c["sdk"] == "anthropic":
            client = anthropic.Anthropic(base_url=base, api_key=k, max_retries=0)
            client.messages.create(model=c["model"], max_tokens=5, messages=[{"role": "user", "content": "hi"}])
        else:
            client = openai.OpenAI(base_url=base + "/v1", api_key=k, max_retries=0)
            client.responses.create(model=c["model"], input="hi")
        return {"raised": None}
    except (anthropic.APIStatusError, openai.APIStatusError) as e:
        return {"raised": type(e).__name__, "status": e.status_code,
                "retry_after": e.response.headers.get("retry-after"), "body": e.body}

def midstream_case(c):
    text, events = "", []
    try:
        if c["sdk"] == "anthropic":
            with a.messages.stream(model=c["model"], max_tokens=5, messages=[{"role": "user", "content": "hi"}]) as s:
                for e in s:
                    events.append(e.type)
                    if e.type == "text":
                        text += e.text
        else:
            with o.responses.stream(model=c["model"], input="hi") as s:
                for e in s:
                    events.append(e.type)
                    if e.type == "response.output_text.delta":
                        text += e.delta
                    if e.type == "response.failed":
                        return {"raised": None, "text": text, "events": events,
                                "error": e.response.error.model_dump()}
        return {"raised": None, "text": text, "events": events}
    except (anthropic.APIStatusError, openai.APIError) as e:
        return {"raised": type(e).__name__, "text": text, "events": events, "body": getattr(e, "body", None)}

def count_case(c):
    n = a.messages.count_tokens(model=c["model"], messages=[{"role": "user", "content": "Hello, world"}])
    return {"input_tokens": n.input_tokens}

out = {}
for c in cases:
    kind = c["kind"]
    try:
        out[c["name"]] = {"anthropic": anthropic_case, "responses": responses_case,
                          "error": error_case, "midstream": midstream_case, "count": count_case}[kind](c)
    except Exception as e:
        out[c["name"]] = {"failed": f"{type(e).__name__}: {e}"}
print(json.dumps(out))
"#;

fn run_sdk(python: &Path, base: &str, cases: &Value) -> Value {
    let output = Command::new(python)
        .args(["-c", SDK_SCRIPT, base, KEY, &cases.to_string()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the SDK script failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The answer's tool calls as the SDKs give them: `[id, name, input]`
/// (Gemini gives no ids: the runtime makes them, so they are not compared).
fn calls(answer: &ChatResponse, ids: bool) -> Value {
    answer
        .message
        .tool_calls
        .iter()
        .map(|c| {
            json!([
                if ids { json!(c.id) } else { Value::Null },
                c.name,
                c.arguments_json().unwrap()
            ])
        })
        .collect()
}

fn without_ids(calls: &Value) -> Value {
    calls
        .as_array()
        .unwrap()
        .iter()
        .map(|c| json!([Value::Null, c[1], c[2]]))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sdks_read_every_upstream_format_through_both_ingresses() {
    let Some(python) = python_or_skip(module_path!()) else {
        return;
    };
    let mut mocks = Vec::new();
    let mut entries = String::new();
    let mut cases = Vec::new();
    let mut expect = Vec::new();
    for format in &FORMATS {
        for (kind, (json_file, sse_file)) in
            [("thinking", format.thinking), ("tools", format.tools)]
        {
            for (stream, file) in [(false, json_file), (true, sse_file)] {
                let group = format!(
                    "{}-{kind}-{}",
                    format.name,
                    if stream { "stream" } else { "whole" }
                );
                let mock = upstream(format, file).await;
                entries.push_str(&entry(
                    &group,
                    format.model,
                    &format!("{}{}", mock.url(), format.base),
                ));
                mocks.push(mock);
                for sdk in ["anthropic", "responses"] {
                    let name = format!("{sdk}:{group}");
                    cases
                        .push(json!({"name": name, "kind": sdk, "model": group, "stream": stream}));
                    expect.push((name, format.name, expected(format.name, file)));
                }
            }
        }
    }
    cases.push(json!({"name": "count", "kind": "count", "model": "anthropic-tools-whole"}));
    let running = gateway(&entries).await;
    let seen = run_sdk(&python, &running.url(), &Value::Array(cases));
    for (name, format, answer) in &expect {
        let got = &seen[name];
        assert!(got.get("failed").is_none(), "{name}: {got}");
        assert_eq!(got["text"], answer.text(), "{name}");
        assert_eq!(
            got["thinking"],
            answer.reasoning.clone().unwrap_or_default(),
            "{name}"
        );
        let ids = *format != "gemini";
        let want = calls(answer, ids);
        let have = if ids {
            got["tool_calls"].clone()
        } else {
            without_ids(&got["tool_calls"])
        };
        assert_eq!(have, want, "{name}");
        if let Some(usage) = answer.usage {
            let prompt = if name.starts_with("anthropic:") {
                usage.prompt_tokens
                    - usage.cached_tokens.unwrap_or(0)
                    - usage.cache_write_tokens.unwrap_or(0)
            } else {
                usage.prompt_tokens
            };
            assert_eq!(
                got["usage"],
                json!([prompt, usage.completion_tokens]),
                "{name}"
            );
        }
        if name.starts_with("anthropic:") {
            let stop = match answer.finish_reason {
                Some(FinishReason::Length) => "max_tokens",
                Some(FinishReason::ContentFilter) => "refusal",
                _ if !answer.message.tool_calls.is_empty() => "tool_use",
                _ => "end_turn",
            };
            assert_eq!(got["stop"], stop, "{name}");
            // Anthropic's own signatures reach an Anthropic client; no other API's.
            let signatures: Vec<&str> = answer
                .message
                .reasoning
                .iter()
                .filter(|b| b.is_from("anthropic"))
                .filter_map(|b| b.signature.as_deref())
                .collect();
            assert_eq!(got["signatures"], json!(signatures), "{name}");
        } else {
            let status = match answer.finish_reason {
                Some(FinishReason::Length | FinishReason::ContentFilter) => "incomplete",
                _ => "completed",
            };
            assert_eq!(got["stop"], status, "{name}");
            // A Responses upstream's encrypted reasoning as it gave it; an
            // Anthropic upstream's signature carried to come back next turn.
            let encrypted: Vec<String> = answer
                .message
                .reasoning
                .iter()
                .filter_map(
                    |b| match (b.source.as_deref(), &b.signature, &b.encrypted) {
                        (Some("openai_responses"), _, Some(data)) => Some(data.clone()),
                        (Some("anthropic"), Some(sig), _) => {
                            Some(format!("llm-gateway.v1.sig.anthropic.{sig}"))
                        }
                        _ => None,
                    },
                )
                .collect();
            assert_eq!(got["encrypted"], json!(encrypted), "{name}");
        }
        if name.ends_with("-stream") {
            let events = got["events"].as_array().unwrap();
            let (first, last) = if name.starts_with("anthropic:") {
                ("message_start", "message_stop")
            } else {
                let end = if name.contains("openai-thinking") {
                    "response.incomplete"
                } else {
                    "response.completed"
                };
                ("response.created", end)
            };
            assert_eq!(
                (events.first().unwrap(), events.last().unwrap()),
                (&json!(first), &json!(last)),
                "{name}"
            );
        }
    }
    // Counted for the group's deployment's model.
    let counted = llm_runtime::tokens::count_request(
        &ChatRequest::new("claude-sonnet-4-5").user("Hello, world"),
    );
    assert_eq!(
        seen["count"]["input_tokens"], counted.tokens,
        "count_tokens"
    );
    running.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_errors_surface_as_the_sdks_typed_exceptions() {
    let Some(python) = python_or_skip(module_path!()) else {
        return;
    };
    let errors = [
        (
            "429",
            MockResponse::text(429, "application/json", fixture("anthropic/error_429.json"))
                .header("retry-after", "7"),
        ),
        (
            "400",
            MockResponse::text(
                400,
                "application/json",
                fixture("openai_responses/error_400.json"),
            ),
        ),
        (
            "401",
            MockResponse::text(
                401,
                "application/json",
                fixture("openai_responses/error_401.json"),
            ),
        ),
        (
            "529",
            MockResponse::text(529, "application/json", fixture("anthropic/error_529.json")),
        ),
    ];
    let mut mocks = Vec::new();
    let mut entries = String::new();
    let mut cases = Vec::new();
    for (status, answer) in errors {
        let mock = MockServer::start().await;
        mock.on("POST", "/v1/messages", answer.clone())
            .on("POST", "/v1/responses", answer);
        entries.push_str(&entry(
            &format!("a-{status}"),
            "anthropic/claude-sonnet-4-5",
            &mock.url(),
        ));
        entries.push_str(&entry(
            &format!("o-{status}"),
            "openai_responses/o4-mini",
            &format!("{}/v1", mock.url()),
        ));
        mocks.push(mock);
        for sdk in ["anthropic", "openai"] {
            let model = format!("{}-{status}", &sdk[..1]);
            cases.push(json!({"name": format!("{sdk}:{status}"), "kind": "error", "sdk": sdk, "model": model}));
        }
    }
    // An upstream stream that fails after its first text.
    let midstream = MockServer::start().await;
    midstream.on(
        "POST",
        "/v1/messages",
        MockResponse::text(
            200,
            "text/event-stream",
            fixture("anthropic/error_midstream.sse"),
        ),
    );
    entries.push_str(&entry(
        "a-mid",
        "anthropic/claude-sonnet-4-5",
        &midstream.url(),
    ));
    for sdk in ["anthropic", "openai"] {
        cases.push(json!({"name": format!("{sdk}:mid"), "kind": "midstream", "sdk": sdk, "model": "a-mid"}));
        // The gateway's own key check answers in each SDK's envelope too.
        cases.push(json!({"name": format!("{sdk}:key"), "kind": "error", "sdk": sdk, "model": "a-400", "key": "wrong"}));
    }
    let running = gateway(&entries).await;
    let seen = run_sdk(&python, &running.url(), &Value::Array(cases));
    for sdk in ["anthropic", "openai"] {
        let got = &seen[format!("{sdk}:key")];
        assert_eq!(
            (&got["raised"], &got["status"]),
            (&json!("AuthenticationError"), &json!(401)),
            "{got}"
        );
        let got = &seen[format!("{sdk}:mid")];
        assert_eq!(got["text"], "Partial", "{got}");
        if sdk == "anthropic" {
            // Anthropic's `error` event: the SDK raises with its body.
            assert_eq!(got["raised"], "APIStatusError", "{got}");
            assert_eq!(got["body"]["error"]["type"], "overloaded_error", "{got}");
        } else {
            assert_eq!(
                got["events"].as_array().unwrap().last().unwrap(),
                "response.failed",
                "{got}"
            );
            assert_eq!(
                got["error"]["message"], "the stream failed mid-way: Overloaded",
                "{got}"
            );
        }
    }
    // (upstream status, SDK, exception, status the SDK saw): an overloaded
    // upstream is Anthropic's 529, OpenAI's 503.
    let expected = [
        ("429", "anthropic", "RateLimitError", 429),
        ("400", "anthropic", "BadRequestError", 400),
        ("401", "anthropic", "AuthenticationError", 401),
        ("529", "anthropic", "OverloadedError", 529),
        ("429", "openai", "RateLimitError", 429),
        ("400", "openai", "BadRequestError", 400),
        ("401", "openai", "AuthenticationError", 401),
        ("529", "openai", "InternalServerError", 503),
    ];
    for (upstream, sdk, class, status) in expected {
        let got = &seen[format!("{sdk}:{upstream}")];
        assert_eq!(got["raised"], class, "{sdk}:{upstream}: {got}");
        assert_eq!(got["status"], status, "{sdk}:{upstream}");
        if sdk == "anthropic" {
            assert_eq!(got["body"]["type"], "error", "{got}");
        } else {
            assert!(got["body"]["message"].is_string(), "{got}");
        }
    }
    for sdk in ["anthropic", "openai"] {
        assert_eq!(seen[format!("{sdk}:429")]["retry_after"], "7");
    }
    running.running.shutdown().await;
}

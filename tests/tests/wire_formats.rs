//! Issue 23, class 7: what the loopback mock and the examples send is what the
//! real APIs send.
//!
//! The Anthropic Messages, OpenAI Responses and Cohere v2 streams name every
//! event on an `event:` line equal to its data's `type` (the official SDKs
//! dispatch on the name: a stream without the lines is zero events to them);
//! OpenAI chat-completions and Gemini streams are bare `data:` lines. Checked
//! here for every stream fixture (the Vertex example's Claude stream is one),
//! for the streams the examples script inline, and, when a Python with the
//! official `anthropic` and `openai` SDKs is available, by those SDKs reading
//! the fixtures over HTTP and validating each event against their types (the
//! skip prints its reason). Recorded fixtures may lack a field the SDKs'
//! types made required after the recording (OpenAI's `cache_write_tokens`, a
//! thinking block's empty `signature` at its start); what the repository
//! scripts itself may not.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use llm_runtime::providers::{Anthropic, OpenAi, OpenAiResponses};
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{ChatRequest, Provider, ProviderClient};
use serde_json::{Value, json};

use common::conformance::loopback_client;
use common::sdk_python::python_or_skip;

/// The wire formats whose stream events are named by their `type`.
const TYPED: &[&str] = &["anthropic", "openai_responses", "cohere", "vertex"];
/// The wire formats whose streams are bare `data:` lines.
const BARE: &[&str] = &["openai", "gemini"];

/// One SSE event: its `event:` name (if any) and its joined `data:` lines.
#[derive(Debug)]
struct Event {
    name: Option<String>,
    data: String,
}

/// The events of an SSE body (LF or CRLF lines; comments skipped).
fn events(body: &str) -> Vec<Event> {
    let mut out = Vec::new();
    let (mut name, mut data, mut any) = (None, Vec::<String>::new(), false);
    for line in body.lines().chain([""]) {
        if line.is_empty() {
            if any {
                out.push(Event {
                    name: name.take(),
                    data: data.join("\n"),
                });
            }
            (name, data, any) = (None, Vec::new(), false);
        } else if let Some(v) = line.strip_prefix("event:") {
            name = Some(v.trim_start().to_owned());
            any = true;
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push(v.strip_prefix(' ').unwrap_or(v).to_owned());
            any = true;
        }
    }
    out
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Every `.sse` fixture of `dialect`: (file name, text).
fn stream_fixtures(dialect: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(fixtures().join(dialect))
        .expect("a fixture folder")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sse"))
        .map(|p| {
            let name = p
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read_to_string(&p).expect("a text fixture"))
        })
        .collect();
    out.sort();
    out
}

/// What is wrong with a stream of a typed wire format: events without a
/// name, or named otherwise than their `type`.
fn typed_mistakes(body: &str) -> Vec<String> {
    events(body)
        .iter()
        .filter_map(|e| {
            let ty = serde_json::from_str::<Value>(&e.data)
                .ok()
                .and_then(|v| v.get("type")?.as_str().map(str::to_owned));
            match (&e.name, ty) {
                (Some(name), Some(ty)) if *name == ty => None,
                (name, ty) => Some(format!("event {name:?} carries type {ty:?}: {}", e.data)),
            }
        })
        .collect()
}

#[test]
fn typed_stream_fixtures_name_every_event_by_its_type() {
    let mut checked = 0;
    for dialect in TYPED {
        for (name, body) in stream_fixtures(dialect) {
            assert!(!events(&body).is_empty(), "{dialect}/{name} has no events");
            let mistakes = typed_mistakes(&body);
            assert!(mistakes.is_empty(), "{dialect}/{name}: {mistakes:#?}");
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} typed fixtures found");
    // The checker itself: the stream the Vertex example used to script (data
    // lines only) is exactly what it must reject.
    let bare = "data: {\"type\":\"message_start\",\"message\":{}}\n\ndata: {\"type\":\"message_stop\"}\n\n";
    assert_eq!(typed_mistakes(bare).len(), 2);
}

#[test]
fn bare_stream_fixtures_have_data_lines_only() {
    for dialect in BARE {
        for (name, body) in stream_fixtures(dialect) {
            let events = events(&body);
            assert!(!events.is_empty(), "{dialect}/{name}");
            for e in &events {
                assert_eq!(e.name, None, "{dialect}/{name}: {e:?}");
                assert!(
                    e.data == "[DONE]" || serde_json::from_str::<Value>(&e.data).is_ok(),
                    "{dialect}/{name}: {e:?}"
                );
            }
        }
    }
}

/// The `type`s of Anthropic Messages and OpenAI Responses stream events.
fn is_typed_event_type(ty: &str) -> bool {
    const ANTHROPIC: &[&str] = &[
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
    ];
    ANTHROPIC.contains(&ty) || ty.starts_with("response.")
}

/// The raw string literals of a Rust source (`r#"..."#`) with their offsets.
fn raw_literals(source: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(start) = source[at..].find("r#\"") {
        let begin = at + start + 3;
        let Some(len) = source[begin..].find("\"#") else {
            break;
        };
        out.push((at + start, &source[begin..begin + len]));
        at = begin + len + 2;
    }
    out
}

/// Every scripted typed stream event in `source` must go out with its
/// `event:` line: through `MockResponse::sse_typed`, or paired with its name
/// (`("message_start", r#"{...}"#)`). Returns the events that are not.
fn unnamed_scripted_events(source: &str) -> Vec<String> {
    let mut mistakes = Vec::new();
    for (offset, literal) in raw_literals(source) {
        let Some(ty) = serde_json::from_str::<Value>(literal)
            .ok()
            .and_then(|v| v.get("type")?.as_str().map(str::to_owned))
            .filter(|ty| is_typed_event_type(ty))
        else {
            continue;
        };
        let before = &source[..offset];
        let paired = before.trim_end().ends_with(&format!("\"{ty}\","));
        let typed = before
            .rfind("MockResponse::")
            .is_some_and(|i| before[i..].starts_with("MockResponse::sse_typed("));
        if !(paired || typed) {
            mistakes.push(format!("{ty}: {literal}"));
        }
    }
    mistakes
}

#[test]
fn examples_script_named_events_for_typed_streams() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/examples");
    let mut scanned = 0;
    for entry in std::fs::read_dir(&dir).expect("the examples folder") {
        let path = entry.expect("an entry").path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("a source file");
        let mistakes = unnamed_scripted_events(&source);
        assert!(mistakes.is_empty(), "{}: {mistakes:#?}", path.display());
        scanned += 1;
    }
    assert!(scanned >= 10, "{scanned} examples scanned");
    // The checker flags a data-only script and passes the two right forms.
    let wrong = r####"MockResponse::sse_data([r#"{"type":"message_stop"}"#])"####;
    let typed = r####"MockResponse::sse_typed([r#"{"type":"message_stop"}"#])"####;
    let paired = r####"("message_stop", r#"{"type":"message_stop"}"#),"####;
    assert_eq!(unnamed_scripted_events(wrong).len(), 1);
    assert!(unnamed_scripted_events(typed).is_empty());
    assert!(unnamed_scripted_events(paired).is_empty());
}

#[test]
fn sse_typed_sends_what_the_fixtures_hold() {
    // The mock's typed-stream builder gives back the fixtures' own framing.
    for (name, body) in stream_fixtures("anthropic") {
        let datas: Vec<String> = events(&body).into_iter().map(|e| e.data).collect();
        let rebuilt: String = datas
            .iter()
            .map(|d| {
                let ty = serde_json::from_str::<Value>(d).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                format!(
                    "event: {ty}\n{}\n\n",
                    d.lines()
                        .map(|l| format!("data: {l}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                )
            })
            .collect();
        assert!(typed_mistakes(&rebuilt).is_empty(), "{name}");
        assert_eq!(events(&rebuilt).len(), datas.len(), "{name}");
    }
}

// ---- the official SDKs read the same bytes ----

/// Reads each case's stream with the official SDK, validating every event
/// against the SDK's own types, and prints one JSON object of results.
const SDK_SCRIPT: &str = r#"
import json, sys
import anthropic, openai, pydantic
from anthropic.types import RawMessageStreamEvent
from openai.types.chat import ChatCompletionChunk
from openai.types.responses import ResponseStreamEvent

def satisfiable(errs, depth):
    # Whether the errors under one location leave a way to read the value:
    # at a union (its branches are class names) one branch must be readable,
    # elsewhere every field; a field may only be missing, never wrong.
    if any(len(loc) == depth and kind != "missing" for loc, kind in errs):
        return False
    deeper = [e for e in errs if len(e[0]) > depth]
    keys = {loc[depth] for loc, _ in deeper}
    branches = [[e for e in deeper if e[0][depth] == k] for k in keys]
    if keys and all(isinstance(k, str) and k[:1].isupper() for k in keys):
        return any(satisfiable(b, depth + 1) for b in branches)
    return all(satisfiable(b, depth + 1) for b in branches)

def check(got, validate, value):
    # A field the SDK's types require that the recording predates is
    # "missing"; a value no branch of the types reads is "invalid".
    try:
        validate(value)
    except pydantic.ValidationError as e:
        errs = [(tuple(err["loc"]), err["type"]) for err in e.errors()]
        key = "missing" if satisfiable(errs, 0) else "invalid"
        got[key].append(value.get("type") or value.get("object") or "?")

cases = json.loads(sys.argv[1])
results = {}
for case in cases:
    sdk, url = case["sdk"], case["url"]
    got = {"types": [], "text": "", "invalid": [], "missing": [], "error": None}
    try:
        if sdk == "anthropic":
            adapter = pydantic.TypeAdapter(RawMessageStreamEvent)
            client = anthropic.Anthropic(base_url=url, api_key="test", max_retries=0)
            stream = client.messages.create(model="claude-sonnet-4-5", max_tokens=64,
                messages=[{"role": "user", "content": "hi"}], stream=True)
            for event in stream:
                got["types"].append(event.type)
                check(got, adapter.validate_python, event.to_dict())
                if event.type == "content_block_delta" and event.delta.type == "text_delta":
                    got["text"] += event.delta.text
        elif sdk == "openai_chat":
            client = openai.OpenAI(base_url=url, api_key="test", max_retries=0)
            stream = client.chat.completions.create(model="gpt-4o-mini",
                messages=[{"role": "user", "content": "hi"}], stream=True)
            for chunk in stream:
                got["types"].append(chunk.object)
                check(got, ChatCompletionChunk.model_validate, chunk.to_dict())
                for choice in chunk.choices:
                    got["text"] += choice.delta.content or ""
        elif sdk == "openai_responses":
            adapter = pydantic.TypeAdapter(ResponseStreamEvent)
            client = openai.OpenAI(base_url=url, api_key="test", max_retries=0)
            stream = client.responses.create(model="gpt-4.1-mini", input="hi", stream=True)
            for event in stream:
                got["types"].append(event.type)
                check(got, adapter.validate_python, event.to_dict())
                if event.type == "response.output_text.delta":
                    got["text"] += event.delta
    except Exception as e:
        got["error"] = type(e).__name__ + ": " + str(e)[:300]
    results[case["id"]] = got
print(json.dumps(results))
"#;

/// One stream served to the SDK and to the runtime alike.
struct Case {
    id: String,
    sdk: &'static str,
    body: String,
}

/// The data frames an SDK hands on as events (Anthropic drops `ping`, the
/// OpenAI chat stream ends with `[DONE]`), in order.
fn expected_types(case: &Case) -> Vec<String> {
    events(&case.body)
        .into_iter()
        .filter(|e| e.data != "[DONE]")
        .filter_map(|e| {
            let v: Value = serde_json::from_str(&e.data).ok()?;
            let ty = match case.sdk {
                "openai_chat" => v["object"].as_str()?.to_owned(),
                _ => v["type"].as_str()?.to_owned(),
            };
            (ty != "ping").then_some(ty)
        })
        .collect()
}

async fn runtime_text<P: Provider>(
    client: &ProviderClient<P>,
    model: &str,
) -> Result<String, String> {
    client
        .chat_stream(ChatRequest::new(model).user("hi"))
        .await
        .map_err(|e| e.to_string())?
        .collect_response()
        .await
        .map(|r| r.text())
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn the_official_sdks_read_every_scripted_stream() {
    let Some(python) = python_or_skip(
        "the_official_sdks_read_every_scripted_stream",
        "anthropic, openai, pydantic",
    ) else {
        return;
    };
    let mut cases = Vec::new();
    for (dialect, sdk) in [
        ("anthropic", "anthropic"),
        ("vertex", "anthropic"),
        ("openai", "openai_chat"),
        ("openai_responses", "openai_responses"),
    ] {
        for (name, body) in stream_fixtures(dialect) {
            cases.push(Case {
                id: format!("{dialect}/{name}"),
                sdk,
                body,
            });
        }
    }
    // What the mock's own builders send: a typed stream built by `sse_typed`
    // from the Vertex example's data, and the OpenAI chunks the tests script.
    let vertex = std::fs::read_to_string(fixtures().join("vertex/claude_stream.sse")).unwrap();
    let typed_data: Vec<String> = events(&vertex).into_iter().map(|e| e.data).collect();
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/built/sse_typed/v1/messages",
        MockResponse::sse_typed(&typed_data),
    );
    // The control: the same events without `event:` lines, as the Vertex
    // example used to script them, are no events at all to the SDK.
    server.on(
        "POST",
        "/built/sse_data/v1/messages",
        MockResponse::sse_data(&typed_data),
    );
    let mut args = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let (prefix, path) = match case.sdk {
            "anthropic" => (format!("/case{i}"), "/v1/messages"),
            "openai_chat" => (format!("/case{i}/v1"), "/chat/completions"),
            _ => (format!("/case{i}/v1"), "/responses"),
        };
        server.on(
            "POST",
            &format!("{prefix}{path}"),
            MockResponse::sse([case.body.clone()]),
        );
        args.push(
            json!({"id": case.id, "sdk": case.sdk, "url": format!("{}{prefix}", server.url())}),
        );
    }
    for built in ["sse_typed", "sse_data"] {
        args.push(json!({"id": format!("built/{built}"), "sdk": "anthropic",
                         "url": format!("{}/built/{built}", server.url())}));
    }
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .args(["-c", SDK_SCRIPT, &Value::Array(args).to_string()])
            .output()
    })
    .await
    .unwrap()
    .expect("the SDK script runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Value = serde_json::from_slice(&output.stdout).expect("the script prints JSON");

    // What this repository scripts itself is held to the SDKs' current types
    // in full; recordings may predate a field the types later made required.
    for own in ["built/sse_typed", "vertex/claude_stream.sse"] {
        assert_eq!(results[own]["missing"], json!([]), "{own}");
        assert_eq!(results[own]["invalid"], json!([]), "{own}");
    }
    let built = &results["built/sse_typed"];
    assert_eq!(built["error"], Value::Null, "{built}");
    assert_eq!(built["text"], "Hello from Claude");
    assert_eq!(built["types"].as_array().unwrap().len(), 6, "{built}");
    assert_eq!(results["built/sse_data"]["types"], json!([]), "the control");
    assert_eq!(results["built/sse_data"]["text"], "");

    for (i, case) in cases.iter().enumerate() {
        let got = &results[&case.id];
        assert_eq!(
            got["invalid"],
            json!([]),
            "{}: events the SDK's types reject",
            case.id
        );
        // The runtime reads the same bytes; where it succeeds, the SDK does too
        // and sees every event and the same text.
        let ours = match case.sdk {
            "anthropic" => {
                runtime_text(
                    &loopback_client::<Anthropic>(&server, &format!("/case{i}/v1")),
                    "claude-sonnet-4-5",
                )
                .await
            }
            "openai_chat" => {
                runtime_text(
                    &loopback_client::<OpenAi>(&server, &format!("/case{i}/v1")),
                    "gpt-4o-mini",
                )
                .await
            }
            _ => {
                runtime_text(
                    &loopback_client::<OpenAiResponses>(&server, &format!("/case{i}/v1")),
                    "gpt-4.1-mini",
                )
                .await
            }
        };
        match ours {
            Ok(text) => {
                assert_eq!(got["error"], Value::Null, "{}: {got}", case.id);
                assert_eq!(got["text"], json!(text), "{}", case.id);
                let want = expected_types(case);
                assert_eq!(
                    got["types"],
                    json!(want),
                    "{}: the SDK missed events",
                    case.id
                );
            }
            // A stream that ends in an error is an error to the SDK as well
            // (Responses' `response.failed` is an event it hands on).
            Err(ours) if case.sdk != "openai_responses" => {
                assert_ne!(
                    got["error"],
                    Value::Null,
                    "{}: we failed ({ours}), the SDK did not",
                    case.id
                );
            }
            Err(_) => {}
        }
    }
}

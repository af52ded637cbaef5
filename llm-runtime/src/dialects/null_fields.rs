//! `null` where a value was expected never turns a good answer into an error.
//!
//! Every success fixture of every dialect (the chat bodies and streams under
//! `tests/fixtures/<dialect>/` that the conformance tests serve, and the unit
//! tests' own) is decoded again with `null` in place of each of its fields in
//! turn, at every depth of the JSON tree: each field of a body, and each field
//! of each stream frame (the rest of the stream left as it is). The fields are
//! found by walking the JSON, not listed. For each one:
//! - the answer decodes (`Ok`), unless the field is one of the few the dialect
//!   cannot answer without (the list per dialect below: the stream's end, the
//!   event type, the `choices`), and then it fails exactly as it does when the
//!   field is missing;
//! - the answer is the one the fixture gives without that field: `null` means
//!   "not given", so what the field did not carry (a count, a name, an unused
//!   extra) is the only difference from the whole fixture's answer;
//! - inside a tool call's arguments (the model's JSON, not the API's), a
//!   `null` is a value the model wrote: the answer decodes and keeps it.

use std::path::PathBuf;

use serde_json::Value;

use super::{
    anthropic::AnthropicDialect, cohere::CohereDialect, gemini::GeminiDialect,
    ollama::OllamaDialect, openai::OpenAiDialect,
};
use crate::error::ErrorKind;
use crate::spec::ProviderSpec;
use crate::stream::{DEFAULT_MAX_LINE, Frame, Framer, ResponseAccumulator};
use crate::types::{ChatResponse, StreamEvent};
use crate::{
    provider::{RequestContext, Transform},
    stream::Control,
};

static SPEC: ProviderSpec = ProviderSpec::new("fixture", "http://127.0.0.1");

/// What decoding gives: the answer, or the kind of error.
type Outcome = Result<ChatResponse, ErrorKind>;

/// One step into a JSON value.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// The path of every object member in `value`, parents before children.
fn field_paths(value: &Value) -> Vec<Vec<Step>> {
    fn walk(value: &Value, at: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    at.push(Step::Key(key.clone()));
                    out.push(at.clone());
                    walk(child, at, out);
                    at.pop();
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    at.push(Step::Index(i));
                    walk(child, at, out);
                    at.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, &mut Vec::new(), &mut out);
    out
}

/// `value` with the field at `path` set to `null`, or removed.
fn edited(value: &Value, path: &[Step], remove: bool) -> Value {
    let mut copy = value.clone();
    let Some((Step::Key(last), parents)) = path.split_last() else {
        unreachable!("field paths end at a key")
    };
    let mut at = &mut copy;
    for step in parents {
        at = match step {
            Step::Key(k) => &mut at[k.as_str()],
            Step::Index(i) => &mut at[*i],
        };
    }
    if let Some(object) = at.as_object_mut() {
        if remove {
            object.remove(last);
        } else {
            object.insert(last.clone(), Value::Null);
        }
    }
    copy
}

fn last_key(path: &[Step]) -> &str {
    match path.last() {
        Some(Step::Key(k)) => k,
        _ => "",
    }
}

fn show(path: &[Step]) -> String {
    path.iter()
        .map(|s| match s {
            Step::Key(k) => format!(".{k}"),
            Step::Index(i) => format!("[{i}]"),
        })
        .collect()
}

fn ctx(stream: bool) -> RequestContext<'static> {
    RequestContext::new(&SPEC, "fixture-model", stream)
}

fn decode_body<T: Transform>(dialect: &T, body: &Value) -> Outcome {
    dialect
        .parse_response(body.to_string().as_bytes(), &ctx(false))
        .map_err(|e| e.kind())
}

/// Run `frames` through the stream parser as the runtime does (the first
/// `Start` only, the end-of-stream check), and assemble the answer.
fn decode_stream<T: Transform>(dialect: &T, frames: &[Frame]) -> Outcome {
    let run = || {
        let mut state = T::StreamState::default();
        let mut events = Vec::new();
        let mut done = false;
        for frame in frames {
            if dialect.parse_stream_event(frame, &mut state, &mut events)? == Control::Done {
                done = true;
                break;
            }
        }
        if !done {
            dialect.finish_stream(&mut state, &mut events)?;
        }
        Ok::<_, crate::Error>(events)
    };
    let mut acc = ResponseAccumulator::default();
    let mut started = false;
    for event in run().map_err(|e| e.kind())? {
        if matches!(event, StreamEvent::Start { .. }) {
            if started {
                continue;
            }
            started = true;
        }
        acc.push(event);
    }
    Ok(acc.finish())
}

fn frames_of<T: Transform>(dialect: &T, text: &str) -> Vec<Frame> {
    let mut framer = Framer::new(dialect.stream_format(), DEFAULT_MAX_LINE);
    let mut frames = Vec::new();
    framer.feed(text.as_bytes(), &mut frames).expect("frames");
    framer.finish(&mut frames).expect("frames");
    frames
}

/// The keys whose values are a tool call's arguments as JSON (Gemini `args`,
/// Anthropic `input`, Ollama `arguments`): the model's data, passed on as-is.
const PAYLOAD: [&str; 3] = ["args", "input", "arguments"];

fn in_payload(path: &[Step]) -> bool {
    path.split_last().is_some_and(|(_, parents)| {
        parents
            .iter()
            .any(|s| matches!(s, Step::Key(k) if PAYLOAD.contains(&k.as_str())))
    })
}

/// Checks one substitution; `Err` describes what went wrong.
fn check(
    what: &str,
    path: &[Step],
    nulled: &Outcome,
    missing: &Outcome,
    essential: &[&str],
) -> Result<(), String> {
    let at = format!("{what} {}", show(path));
    if in_payload(path) {
        return match (nulled, missing) {
            (Ok(a), Ok(b)) if a != b => Ok(()),
            _ => Err(format!(
                "{at}: a null in tool arguments gives {nulled:?}, a missing field {missing:?}"
            )),
        };
    }
    match (nulled, missing) {
        (Ok(a), Ok(b)) if a == b => Ok(()),
        (Ok(a), Ok(b)) => Err(format!("{at}: null gives {a:?}, a missing field {b:?}")),
        (Err(a), Err(b)) if a == b && essential.contains(&last_key(path)) => Ok(()),
        (Err(a), _) => Err(format!(
            "{at}: null fails with {a:?} (a missing field: {missing:?})"
        )),
        (Ok(_), Err(b)) => Err(format!(
            "{at}: null decodes but a missing field fails with {b:?}"
        )),
    }
}

/// Every substitution in a body fixture; the number of fields tried.
fn check_body<T: Transform>(
    dialect: &T,
    name: &str,
    text: &str,
    essential: &[&str],
    failures: &mut Vec<String>,
) -> usize {
    let body: Value = serde_json::from_str(text).expect("a body fixture is JSON");
    if let Err(e) = decode_body(dialect, &body) {
        failures.push(format!("{name}: the fixture itself fails with {e:?}"));
        return 0;
    }
    let paths = field_paths(&body);
    for path in &paths {
        let nulled = decode_body(dialect, &edited(&body, path, false));
        let missing = decode_body(dialect, &edited(&body, path, true));
        if let Err(e) = check(name, path, &nulled, &missing, essential) {
            failures.push(e);
        }
    }
    paths.len()
}

/// Every substitution in every frame of a stream fixture; the number of fields tried.
fn check_stream<T: Transform>(
    dialect: &T,
    name: &str,
    text: &str,
    essential: &[&str],
    failures: &mut Vec<String>,
) -> usize {
    let frames = frames_of(dialect, text);
    if let Err(e) = decode_stream(dialect, &frames) {
        failures.push(format!("{name}: the fixture itself fails with {e:?}"));
        return 0;
    }
    let mut tried = 0;
    for (n, frame) in frames.iter().enumerate() {
        let Ok(data) = serde_json::from_str::<Value>(&frame.data) else {
            continue; // `[DONE]`
        };
        let with = |value: Value| {
            let mut frames = frames.clone();
            frames[n].data = value.to_string();
            decode_stream(dialect, &frames)
        };
        for path in field_paths(&data) {
            tried += 1;
            let nulled = with(edited(&data, &path, false));
            let missing = with(edited(&data, &path, true));
            let what = format!("{name} frame {n}");
            if let Err(e) = check(&what, &path, &nulled, &missing, essential) {
                failures.push(e);
            }
        }
    }
    tried
}

/// The chat fixtures of `dir` that are successful answers: bodies (`.json`)
/// and streams (`.sse`, `.ndjson`), without errors, model lists and embeddings.
fn success_fixtures(dir: &str) -> Vec<(String, String)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(dir);
    let mut found: Vec<(String, String)> = std::fs::read_dir(&root)
        .expect("the fixture directory")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_name()?.to_str()?.to_owned();
            let not_chat = ["error", "models", "tags", "embed"]
                .iter()
                .any(|p| name.starts_with(p));
            (!not_chat).then(|| {
                Some((
                    format!("{dir}/{name}"),
                    std::fs::read_to_string(&path).ok()?,
                ))
            })?
        })
        .collect();
    found.sort();
    found
}

/// Check every fixture of `dir` plus `extra` ones with `dialect`.
fn check_dialect<T: Transform>(
    dialect: &T,
    dir: &str,
    extra: &[(&str, String)],
    essential: &[&str],
) {
    let mut fixtures = success_fixtures(dir);
    fixtures.extend(extra.iter().map(|(n, t)| ((*n).to_owned(), t.clone())));
    let mut failures = Vec::new();
    let (mut bodies, mut streams, mut fields) = (0, 0, 0);
    for (name, text) in &fixtures {
        if name.ends_with(".json") {
            bodies += 1;
            fields += check_body(dialect, name, text, essential, &mut failures);
        } else {
            streams += 1;
            fields += check_stream(dialect, name, text, essential, &mut failures);
        }
    }
    assert!(bodies > 0 && streams > 0, "{dir}: no fixtures found");
    assert!(fields > 20, "{dir}: only {fields} fields tried");
    assert!(
        failures.is_empty(),
        "{dir}: {} of {fields} substitutions failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn openai_fixtures_survive_null_fields() {
    // No choice is no answer.
    check_dialect(&OpenAiDialect, "openai", &[], &["choices"]);
}

#[test]
fn anthropic_fixtures_survive_null_fields() {
    let extra = [
        (
            "anthropic/unit MESSAGE.json",
            super::anthropic::tests::MESSAGE.to_owned(),
        ),
        (
            "anthropic/unit tool_stream.sse",
            super::anthropic::tests::tool_stream(),
        ),
    ];
    // Events and blocks are told apart by `type`; a content delta is its `delta`.
    check_dialect(&AnthropicDialect, "anthropic", &extra, &["type", "delta"]);
}

#[test]
fn gemini_fixtures_survive_null_fields() {
    let extra = [
        (
            "gemini/unit RESPONSE.json",
            super::gemini::tests::RESPONSE.to_owned(),
        ),
        (
            "gemini/unit tool_stream.sse",
            super::gemini::tests::tool_stream(),
        ),
    ];
    // The stream has no terminator: its end is the `finishReason` of the last
    // candidate, or a blocked prompt.
    check_dialect(
        &GeminiDialect,
        "gemini",
        &extra,
        &[
            "candidates",
            "finishReason",
            "promptFeedback",
            "blockReason",
        ],
    );
}

#[test]
fn ollama_fixtures_survive_null_fields() {
    // The stream ends at `"done": true`.
    check_dialect(&OllamaDialect, "ollama", &[], &["done"]);
}

#[test]
fn cohere_fixtures_survive_null_fields() {
    // A chat response is its `message`.
    check_dialect(&CohereDialect, "cohere", &[], &["message"]);
}

#[test]
fn counts_past_u32_saturate_and_floats_are_read() {
    let big = 5_000_000_000u64;
    type Parse = fn(&[u8]) -> crate::Result<ChatResponse>;
    let bodies: [(Parse, String); 5] = [
        (
            |b| OpenAiDialect.parse_response(b, &ctx(false)),
            format!(
                r#"{{"choices":[{{"message":{{"content":"x"}}}}],"usage":{{"prompt_tokens":{big},"completion_tokens":2.0,"total_tokens":null}}}}"#
            ),
        ),
        (
            |b| AnthropicDialect.parse_response(b, &ctx(false)),
            format!(r#"{{"content":[],"usage":{{"input_tokens":{big},"output_tokens":2.0}}}}"#),
        ),
        (
            |b| GeminiDialect.parse_response(b, &ctx(false)),
            format!(
                r#"{{"candidates":[],"usageMetadata":{{"promptTokenCount":{big},"candidatesTokenCount":2.0}}}}"#
            ),
        ),
        (
            |b| OllamaDialect.parse_response(b, &ctx(false)),
            format!(
                r#"{{"message":{{"content":"x"}},"prompt_eval_count":{big},"eval_count":2.0}}"#
            ),
        ),
        (
            |b| CohereDialect.parse_response(b, &ctx(false)),
            format!(
                r#"{{"message":{{"content":[]}},"usage":{{"tokens":{{"input_tokens":{big},"output_tokens":2.0}}}}}}"#
            ),
        ),
    ];
    for (parse, body) in bodies {
        let usage = parse(body.as_bytes()).expect(&body).usage.expect(&body);
        assert_eq!(
            (
                usage.prompt_tokens,
                usage.completion_tokens,
                usage.total_tokens
            ),
            (u32::MAX, 2, u32::MAX),
            "{body}"
        );
    }
}

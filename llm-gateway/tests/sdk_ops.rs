//! The official `openai` Python SDK against the gateway's operations beyond
//! chat: images (generate, edit), audio (speech streamed to a file,
//! transcriptions and translations in every response format), moderations;
//! routed to loopback mocks speaking OpenAI's (and Groq's) wire format, each
//! upstream request recorded and checked (multipart bodies field by field);
//! errors as the SDK's typed exceptions.
//!
//! The Python is `LLM_RUNTIME_SDK_PYTHON`, else `target/sdk-venv`; without
//! it the tests print a skip, and fail under `CI=true`.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "../../tests/tests/ops_common/mod.rs"]
mod ops_common;

use std::path::Path;
use std::process::Command;

use common::{entry, gateway, python_or_skip};
use llm_runtime::testing::{MockResponse, MockServer, RecordedRequest};
use ops_common::{Field, form};
use serde_json::{Value, json};

/// Runs each case with the SDK against `base` and prints `{name: result}`.
const SCRIPT: &str = r#"
import json, sys, os, tempfile
import openai

base, key, cases = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
client = openai.OpenAI(base_url=base + "/v1", api_key=key, max_retries=0)
AUDIO = bytes(range(256)) * 4 + b"\r\n--boundary-lookalike\r\n"
out = {}
for case in cases:
    name, kind, model, args = case["name"], case["kind"], case.get("model"), case.get("args", {})
    try:
        if kind == "image":
            r = client.images.generate(model=model, prompt="A watercolor fox", **args)
            out[name] = {"created": r.created, "data": [d.model_dump(exclude_none=True) for d in r.data],
                         "usage": r.usage.model_dump(exclude_none=True) if r.usage else None}
        elif kind == "edit":
            r = client.images.edit(model=model, prompt="Add a hat", n=2, size="1024x1024",
                                   image=[("a.png", b"\x89PNG-a\r\n", "image/png"), ("b.png", b"\x89PNG-b", "image/png")],
                                   mask=("m.png", b"MASK", "image/png"))
            out[name] = {"data": [d.model_dump(exclude_none=True) for d in r.data]}
        elif kind == "speech":
            path = os.path.join(tempfile.mkdtemp(), "out.audio")
            with client.audio.speech.with_streaming_response.create(
                    model=model, voice="alloy", input="Hello there", **args) as r:
                r.stream_to_file(path)
                ctype = r.headers.get("content-type")
            out[name] = {"hex": open(path, "rb").read().hex(), "content_type": ctype}
        elif kind in ("transcribe", "translate"):
            api = client.audio.transcriptions if kind == "transcribe" else client.audio.translations
            r = api.create(model=model, file=("talk.mp3", AUDIO, "audio/mpeg"), **args)
            out[name] = {"str": r} if isinstance(r, str) else {"obj": r.model_dump(exclude_none=True)}
        elif kind == "raw_transcribe":
            r = client.audio.transcriptions.with_raw_response.create(
                model=model, file=("talk.mp3", AUDIO, "audio/mpeg"), **args)
            out[name] = {"content_type": r.headers.get("content-type"), "text": r.http_response.text}
        elif kind == "moderate":
            r = client.moderations.create(model=model, input=args["input"])
            out[name] = r.model_dump(exclude_none=True)
    except openai.APIStatusError as e:
        body = e.body if isinstance(e.body, dict) else None
        out[name] = {"error": type(e).__name__, "status": e.status_code,
                     "retry_after": e.response.headers.get("retry-after"),
                     "code": body.get("code") if body else None}
    except Exception as e:
        out[name] = {"crash": type(e).__name__ + ": " + str(e)}
print(json.dumps(out))
"#;

/// The audio file the script uploads (with a line that looks like a boundary).
fn audio_bytes() -> Vec<u8> {
    let mut a: Vec<u8> = (0..=255u8).collect::<Vec<_>>().repeat(4);
    a.extend_from_slice(b"\r\n--boundary-lookalike\r\n");
    a
}

fn run(python: &Path, base: &str, key: &str, cases: &Value) -> Value {
    let out = Command::new(python)
        .args(["-c", SCRIPT, base, key, &cases.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

async fn run_cases(python: std::path::PathBuf, base: String, cases: Value) -> Value {
    tokio::task::spawn_blocking(move || run(&python, &base, "sk-any", &cases))
        .await
        .unwrap()
}

const SRT: &str = "1\n00:00:00,000 --> 00:00:01,100\nHello world\n\n";
const VTT: &str = "WEBVTT\n\n00:00:00.000 --> 00:00:01.100\nHello world\n\n";

fn verbose_answer() -> Value {
    json!({
        "task": "transcribe", "language": "english", "duration": 1.5, "text": "Hello world",
        "words": [{"word": "Hello", "start": 0.0, "end": 0.5}, {"word": "world", "start": 0.6, "end": 1.1}],
        "segments": [{"id": 0, "seek": 0, "start": 0.0, "end": 1.1, "text": " Hello world",
                      "tokens": [1, 2], "temperature": 0.0, "avg_logprob": -0.2,
                      "compression_ratio": 0.9, "no_speech_prob": 0.01}]
    })
}

/// The transcript upstream answer in each response format.
fn transcript(format: &str) -> MockResponse {
    match format {
        "json" => MockResponse::json(
            200,
            json!({"text": "Hello world", "usage": {"type": "tokens",
            "input_tokens": 14, "output_tokens": 2, "total_tokens": 16}}),
        ),
        "verbose_json" => MockResponse::json(200, verbose_answer()),
        "text" => MockResponse::text(200, "text/plain", "Hello world\n"),
        "srt" => MockResponse::text(200, "application/x-subrip", SRT),
        _ => MockResponse::text(200, "text/vtt", VTT),
    }
}

const FORMATS: [&str; 5] = ["json", "verbose_json", "text", "srt", "vtt"];

/// The mocks and the config: OpenAI images (gpt-image-1 base64 with usage,
/// dall-e-3 URLs), speech, a whisper group per response format, Groq,
/// moderation, a rate-limited group and an Anthropic one (no images).
fn upstreams(mock: &MockServer) -> String {
    let url = mock.url();
    mock.on(
        "POST",
        "/v1/images/generations",
        MockResponse::json(
            200,
            json!({
        "created": 1713833628, "data": [{"b64_json": "iVBORw0KGgo="}],
        "usage": {"total_tokens": 100, "input_tokens": 50, "output_tokens": 50,
                  "input_tokens_details": {"text_tokens": 10, "image_tokens": 40}}}),
        ),
    );
    mock.on("POST", "/dalle/v1/images/generations", MockResponse::json(200, json!({
        "created": 1, "data": [{"url": "https://img.example/fox.png", "revised_prompt": "A fox, in watercolor"}]})));
    mock.on(
        "POST",
        "/v1/images/edits",
        MockResponse::json(
            200,
            json!({
        "created": 2, "data": [{"b64_json": "AAAA"}, {"b64_json": "BBBB"}]}),
        ),
    );
    mock.on(
        "POST",
        "/v1/audio/speech",
        MockResponse::raw_body_chunks([&b"OggS"[..], &b"\x00\x01"[..], &b"\xff\xfb"[..]])
            .header("content-type", "audio/ogg"),
    );
    mock.on("POST", "/v1/moderations", MockResponse::json(200, json!({
        "id": "modr-1", "model": "omni-moderation-2024-09-26",
        "results": [{"flagged": true, "categories": {"violence": true, "harassment": false},
                     "category_scores": {"violence": 0.91, "harassment": 0.02},
                     "category_applied_input_types": {"violence": ["text", "image"], "harassment": ["text"]}}]})));
    mock.on("POST", "/limited/v1/images/generations",
        MockResponse::json(429, json!({"error": {"message": "slow down", "type": "requests", "code": "rate_limit_exceeded"}}))
            .header("retry-after", "3"));
    mock.on(
        "POST",
        "/groq/openai/v1/audio/transcriptions",
        MockResponse::json(200, json!({"text": "hola", "x_groq": {"id": "req_1"}})),
    );
    let mut yaml = String::from("model_list:\n");
    let v1 = format!("{url}/v1");
    yaml += &entry("gpt-image", "openai/gpt-image-1", &v1, "");
    yaml += &entry("dalle", "openai/dall-e-3", &format!("{url}/dalle/v1"), "");
    yaml += &entry("tts", "openai/tts-1", &v1, "");
    yaml += &entry("mod", "openai/omni-moderation-latest", &v1, "");
    yaml += &entry(
        "limited",
        "openai/dall-e-3",
        &format!("{url}/limited/v1"),
        "",
    );
    yaml += &entry(
        "groq-whisper",
        "groq/whisper-large-v3",
        &format!("{url}/groq/openai/v1"),
        "",
    );
    yaml += &entry("claude", "anthropic/claude-sonnet-4-5", &url, "");
    for f in FORMATS {
        for op in ["transcriptions", "translations"] {
            mock.on("POST", &format!("/{f}/v1/audio/{op}"), transcript(f));
        }
        yaml += &entry(
            &format!("whisper-{f}"),
            "openai/whisper-1",
            &format!("{url}/{f}/v1"),
            "",
        );
    }
    yaml
}

fn sent<'a>(requests: &'a [RecordedRequest], path: &str) -> Vec<&'a RecordedRequest> {
    requests.iter().filter(|r| r.path == path).collect()
}

#[tokio::test]
async fn images_speech_and_moderation_through_the_sdk() {
    let Some(python) = python_or_skip("sdk_ops::images_speech_and_moderation") else {
        return;
    };
    let mock = MockServer::start().await;
    let gw = gateway(&upstreams(&mock)).await;
    let cases = json!([
        {"name": "gpt_image", "kind": "image", "model": "gpt-image",
         "args": {"size": "1024x1024", "quality": "high", "output_format": "webp", "n": 1}},
        {"name": "dalle", "kind": "image", "model": "dalle", "args": {"response_format": "url", "style": "vivid"}},
        {"name": "edit", "kind": "edit", "model": "gpt-image"},
        {"name": "speech", "kind": "speech", "model": "tts", "args": {"response_format": "opus", "speed": 1.25}},
        {"name": "moderation", "kind": "moderate", "model": "mod", "args": {"input": [
            {"type": "text", "text": "I want to hurt them."},
            {"type": "image_url", "image_url": {"url": "https://img.example/x.png"}}]}},
    ]);
    let out = run_cases(python, gw.url(), cases).await;
    let requests = mock.requests();
    assert_images(&out, &requests);
    assert_edit(&out, &requests);
    assert_speech_and_moderation(&out, &requests);
}

fn assert_images(out: &Value, requests: &[RecordedRequest]) {
    assert_eq!(
        out["gpt_image"],
        json!({"created": 1713833628, "data": [{"b64_json": "iVBORw0KGgo="}],
               "usage": {"input_tokens": 50, "output_tokens": 50, "total_tokens": 100}}),
        "{out}"
    );
    assert_eq!(
        sent(requests, "/v1/images/generations")[0].body_json(),
        json!({"model": "gpt-image-1", "prompt": "A watercolor fox", "n": 1, "size": "1024x1024",
               "quality": "high", "output_format": "webp"})
    );
    assert_eq!(
        out["dalle"]["data"],
        json!([{"url": "https://img.example/fox.png", "revised_prompt": "A fox, in watercolor"}])
    );
    assert_eq!(
        sent(requests, "/dalle/v1/images/generations")[0].body_json(),
        json!({"model": "dall-e-3", "prompt": "A watercolor fox", "response_format": "url", "style": "vivid"})
    );
}

/// The edit's answer, and its multipart body as the upstream read it.
fn assert_edit(out: &Value, requests: &[RecordedRequest]) {
    assert_eq!(
        out["edit"]["data"],
        json!([{"b64_json": "AAAA"}, {"b64_json": "BBBB"}]),
        "{out}"
    );
    let edit = form(sent(requests, "/v1/images/edits")[0]);
    let file =
        |name: &str, filename: &str, data: &[u8]| Field::file(name, filename, "image/png", data);
    for expected in [
        Field::text("model", "gpt-image-1"),
        Field::text("prompt", "Add a hat"),
        Field::text("n", "2"),
        Field::text("size", "1024x1024"),
        file("image[]", "a.png", b"\x89PNG-a\r\n"),
        file("image[]", "b.png", b"\x89PNG-b"),
        file("mask", "m.png", b"MASK"),
    ] {
        assert!(edit.contains(&expected), "{expected:?} not in {edit:?}");
    }
    assert_eq!(edit.len(), 7, "{edit:?}");
}

fn assert_speech_and_moderation(out: &Value, requests: &[RecordedRequest]) {
    assert_eq!(
        out["speech"],
        json!({"hex": "4f6767530001fffb", "content_type": "audio/ogg"}),
        "{out}"
    );
    assert_eq!(
        sent(requests, "/v1/audio/speech")[0].body_json(),
        json!({"model": "tts-1", "input": "Hello there", "voice": "alloy", "response_format": "opus", "speed": 1.25})
    );

    assert_eq!(out["moderation"]["id"], "modr-1");
    assert_eq!(out["moderation"]["results"][0]["flagged"], true);
    assert_eq!(
        out["moderation"]["results"][0]["categories"]["violence"],
        true
    );
    assert_eq!(
        out["moderation"]["results"][0]["category_scores"]["violence"],
        0.91
    );
    assert_eq!(
        out["moderation"]["results"][0]["category_applied_input_types"]["violence"],
        json!(["text", "image"])
    );
    assert_eq!(
        sent(requests, "/v1/moderations")[0].body_json(),
        json!({"model": "omni-moderation-latest", "input": [
            {"type": "text", "text": "I want to hurt them."},
            {"type": "image_url", "image_url": {"url": "https://img.example/x.png"}}]})
    );
}

#[tokio::test]
async fn transcriptions_and_translations_in_every_format_through_the_sdk() {
    let Some(python) = python_or_skip("sdk_ops::transcriptions") else {
        return;
    };
    let mock = MockServer::start().await;
    let gw = gateway(&upstreams(&mock)).await;
    let out = run_cases(python, gw.url(), transcription_cases()).await;
    assert_transcripts(&out);
    assert_uploads(&mock.requests());
}

/// Each kind in each format (with every field where the format takes it), and Groq.
fn transcription_cases() -> Value {
    let mut cases = Vec::new();
    for f in FORMATS {
        for kind in ["transcribe", "translate", "raw_transcribe"] {
            let mut args = json!({"response_format": f});
            if f == "verbose_json" && kind != "translate" {
                args["timestamp_granularities"] = json!(["word", "segment"]);
            }
            if kind == "transcribe" {
                args["language"] = json!("en");
                args["temperature"] = json!(0.2);
            }
            cases.push(json!({"name": format!("{kind}-{f}"), "kind": kind, "model": format!("whisper-{f}"), "args": args}));
        }
    }
    cases.push(json!({"name": "groq", "kind": "transcribe", "model": "groq-whisper"}));
    Value::Array(cases)
}

/// Every format as the SDK reads it, with its media type.
fn assert_transcripts(out: &Value) {
    for kind in ["transcribe", "translate"] {
        assert_eq!(
            out[format!("{kind}-json")],
            json!({"obj": {"text": "Hello world", "usage": {
            "type": "tokens", "input_tokens": 14, "output_tokens": 2, "total_tokens": 16}}}),
            "{out}"
        );
        assert_eq!(
            out[format!("{kind}-text")],
            json!({"str": "Hello world\n"}),
            "{out}"
        );
        assert_eq!(out[format!("{kind}-srt")], json!({"str": SRT}), "{out}");
        assert_eq!(out[format!("{kind}-vtt")], json!({"str": VTT}), "{out}");
        let verbose = &out[format!("{kind}-verbose_json")]["obj"];
        assert_eq!(verbose["language"], "english", "{out}");
        assert_eq!(verbose["duration"], 1.5);
        assert_eq!(verbose["text"], "Hello world");
        assert_eq!(verbose["segments"][0]["avg_logprob"], -0.2);
        assert_eq!(
            verbose["words"][1],
            json!({"word": "world", "start": 0.6, "end": 1.1})
        );
    }
    assert_eq!(out["transcribe-verbose_json"]["obj"]["task"], "transcribe");
    assert_eq!(out["translate-verbose_json"]["obj"]["task"], "translate");
    for (f, content_type) in [
        ("json", "application/json"),
        ("verbose_json", "application/json"),
        ("text", "text/plain; charset=utf-8"),
        // OpenAI's API answers subtitles as text/plain too.
        ("srt", "text/plain; charset=utf-8"),
        ("vtt", "text/plain; charset=utf-8"),
    ] {
        assert_eq!(
            out[format!("raw_transcribe-{f}")]["content_type"],
            content_type,
            "{out}"
        );
    }
    assert_eq!(out["groq"], json!({"obj": {"text": "hola"}}), "{out}");
}

/// The upstream got the SDK's upload field by field, the file byte for byte.
fn assert_uploads(requests: &[RecordedRequest]) {
    let verbose = form(sent(requests, "/verbose_json/v1/audio/transcriptions")[0]);
    let expected = vec![
        Field::file("file", "talk.mp3", "audio/mpeg", &audio_bytes()),
        Field::text("model", "whisper-1"),
        Field::text("language", "en"),
        Field::text("response_format", "verbose_json"),
        Field::text("temperature", "0.2"),
        Field::text("timestamp_granularities[]", "word"),
        Field::text("timestamp_granularities[]", "segment"),
    ];
    assert_eq!(verbose, expected);
    let translation = form(sent(requests, "/srt/v1/audio/translations")[0]);
    assert_eq!(
        translation,
        [
            Field::file("file", "talk.mp3", "audio/mpeg", &audio_bytes()),
            Field::text("model", "whisper-1"),
            Field::text("response_format", "srt"),
        ]
    );
    let groq = form(sent(requests, "/groq/openai/v1/audio/transcriptions")[0]);
    assert_eq!(groq[1], Field::text("model", "whisper-large-v3"));
}

#[tokio::test]
async fn errors_are_the_sdks_typed_exceptions() {
    let Some(python) = python_or_skip("sdk_ops::errors") else {
        return;
    };
    let mock = MockServer::start().await;
    let gw = gateway(&upstreams(&mock)).await;
    let cases = json!([
        {"name": "rate", "kind": "image", "model": "limited"},
        {"name": "unknown", "kind": "image", "model": "no-such-model"},
        {"name": "unsupported", "kind": "image", "model": "claude"},
        {"name": "bad_param", "kind": "image", "model": "dalle", "args": {"extra_body": {"frobnicate": 1}}},
        {"name": "bad_speed", "kind": "speech", "model": "tts", "args": {"speed": 9.0}},
        {"name": "bad_format", "kind": "raw_transcribe", "model": "whisper-json", "args": {"extra_body": {"response_format": "pdf"}}},
    ]);
    let out = run_cases(python.clone(), gw.url(), cases).await;
    // A gateway whose body limit (512 bytes) is below the upload's size.
    let small = upstreams(&mock) + "general_settings:\n  max_request_size_mb: 0.00048828125\n";
    let small = gateway(&small).await;
    let too_large = json!([{"name": "too_large", "kind": "transcribe", "model": "whisper-json"}]);
    let too_large = run_cases(python, small.url(), too_large).await;
    let error = |class: &str, status: u16| json!({"error": class, "status": status});
    let strip = |v: &Value| json!({"error": v["error"], "status": v["status"]});
    assert_eq!(
        out["rate"],
        json!({"error": "RateLimitError", "status": 429, "retry_after": "3", "code": "rate_limit_exceeded"}),
        "{out}"
    );
    assert_eq!(strip(&out["unknown"]), error("NotFoundError", 404), "{out}");
    assert_eq!(out["unknown"]["code"], "model_not_found");
    assert_eq!(
        strip(&out["unsupported"]),
        error("BadRequestError", 400),
        "{out}"
    );
    assert_eq!(
        strip(&out["bad_param"]),
        error("BadRequestError", 400),
        "{out}"
    );
    assert_eq!(
        strip(&out["bad_speed"]),
        error("BadRequestError", 400),
        "{out}"
    );
    // The multipart upload past the body limit: 413 in OpenAI's envelope.
    assert_eq!(
        too_large["too_large"],
        json!({"error": "APIStatusError", "status": 413, "retry_after": null, "code": "request_too_large"})
    );
    assert_eq!(
        strip(&out["bad_format"]),
        error("BadRequestError", 400),
        "{out}"
    );
    let paths: Vec<String> = mock.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        ["/limited/v1/images/generations"],
        "only the rate-limited call went upstream"
    );
}

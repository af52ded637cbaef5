//! The per-call spans exported through OpenTelemetry's in-memory exporter
//! carry the GenAI semantic-convention attributes, for a chat and a stream,
//! and no prompt or completion text.

mod common;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{Key, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tracing_subscriber::prelude::*;

use common::{CHAT_PATH, chat_ok, connect, request, stream_ok};

fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key == Key::new(key.to_owned()))
        .map(|kv| &kv.value)
}

#[track_caller]
fn assert_attr(span: &SpanData, key: &str, expected: &str) {
    let got = attribute(span, key).map(Value::to_string);
    assert_eq!(got.as_deref(), Some(expected), "{key} on {}", span.name);
}

/// An in-memory exporter and the tracer provider that feeds it.
fn exporter() -> (InMemorySpanExporter, SdkTracerProvider) {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    (exporter, provider)
}

#[tokio::test]
async fn chat_and_stream_spans_carry_the_genai_attributes() {
    let (exporter, provider) = exporter();
    let _guard = tracing::subscriber::set_default(
        tracing_subscriber::registry()
            .with(llm_runtime::otel::layer().with_tracer(provider.tracer("llm-runtime-test"))),
    );

    let server = llm_runtime::testing::MockServer::start().await;
    let client = connect(&server);
    server.on("POST", CHAT_PATH, chat_ok("Hello there"));
    client.chat(request()).await.expect("chat");
    server.on("POST", CHAT_PATH, stream_ok(&["Hel", "lo"]));
    let stream = client.chat_stream(request()).await.expect("opens");
    let reply = stream.collect_response().await.expect("completes");
    assert_eq!(reply.text(), "Hello");
    provider.force_flush().expect("flush");

    let spans = exporter.get_finished_spans().expect("spans");
    let calls: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.name == "chat gpt-4o-mini")
        .collect();
    assert_eq!(
        calls.len(),
        2,
        "one span per call: {:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    for span in &calls {
        assert_eq!(span.span_kind, opentelemetry::trace::SpanKind::Client);
        assert_attr(span, "gen_ai.operation.name", "chat");
        assert_attr(span, "gen_ai.provider.name", "openai");
        assert_attr(span, "gen_ai.request.model", "gpt-4o-mini");
        assert_attr(span, "server.address", "127.0.0.1");
        assert_attr(span, "gen_ai.response.finish_reasons", "stop");
        assert!(
            attribute(span, "gen_ai.response.model").is_some(),
            "{span:?}"
        );
        // The scripted stream reports no usage; the chat does.
        if attribute(span, "stream").map(Value::to_string).as_deref() == Some("false") {
            for key in ["gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"] {
                assert!(attribute(span, key).is_some(), "{key}: {span:?}");
            }
        }
        assert!(attribute(span, "error.type").is_none());
        // No prompt ("Say hello") and no completion text by default.
        for kv in &span.attributes {
            let v = kv.value.to_string();
            assert!(
                !v.contains("Say hello") && !v.contains("Hello"),
                "{} = {v}",
                kv.key
            );
        }
    }
}

#[tokio::test]
async fn a_failed_call_records_its_error_type() {
    let (exporter, provider) = exporter();
    let _guard = tracing::subscriber::set_default(
        tracing_subscriber::registry()
            .with(llm_runtime::otel::layer().with_tracer(provider.tracer("llm-runtime-test"))),
    );

    let server = llm_runtime::testing::MockServer::start().await;
    server.on("POST", CHAT_PATH, common::key_echoing_401());
    let client = connect(&server);
    client.chat(request()).await.expect_err("401");
    provider.force_flush().expect("flush");
    let spans = exporter.get_finished_spans().expect("spans");
    let span = spans
        .iter()
        .find(|s| s.name == "chat gpt-4o-mini")
        .expect("the call's span");
    assert_attr(span, "error.type", "authentication");
    for kv in &span.attributes {
        common::assert_no_key(&kv.value.to_string());
    }
}

//! Gemini image output through `generateContent` over the loopback mock, in
//! the format of Gemini's API reference: the prompt as a user turn with
//! `responseModalities: ["TEXT", "IMAGE"]`, inline image parts back.

mod ops_common;

use llm_runtime::providers::Gemini;
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{
    ErrorKind,
    types::{ImageData, ImageRequest},
};
use ops_common::client;
use serde_json::json;

const PATH: &str = "/v1beta/models/gemini-2.5-flash-image:generateContent";

#[tokio::test]
async fn inline_images_come_back_as_generated_images() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        PATH,
        MockResponse::json(200, json!({
            "candidates": [{"content": {"role": "model", "parts": [
                {"text": "Here is your fox."},
                {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}
            ]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": 1290, "totalTokenCount": 1297}
        })),
    );
    let gemini = client::<Gemini>(&server, "/v1beta");
    let r = gemini
        .images(ImageRequest::new("gemini-2.5-flash-image", "A watercolor fox").n(1))
        .await
        .expect("images");
    let sent = &server.requests()[0];
    assert_eq!(sent.header("x-goog-api-key"), Some(ops_common::KEY));
    assert_eq!(
        sent.body_json(),
        json!({"contents": [{"role": "user", "parts": [{"text": "A watercolor fox"}]}],
               "generationConfig": {"responseModalities": ["TEXT", "IMAGE"], "candidateCount": 1}})
    );
    assert_eq!(
        r.images[0].data,
        ImageData::Base64 {
            b64: "iVBORw0KGgo=".into(),
            mime: Some("image/png".into())
        }
    );
    assert_eq!(
        r.usage.map(|u| (u.prompt_tokens, u.completion_tokens)),
        Some((7, 1290))
    );
    assert_eq!(
        (r.provider.as_str(), r.model.as_str()),
        ("gemini", "gemini-2.5-flash-image")
    );
}

#[tokio::test]
async fn a_text_only_answer_or_an_unsendable_option_is_an_error() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        PATH,
        MockResponse::json(
            200,
            json!({"candidates": [{"content": {"parts": [{"text": "I can't draw."}]}}]}),
        ),
    );
    let gemini = client::<Gemini>(&server, "/v1beta");
    let e = gemini
        .images(ImageRequest::new("gemini-2.5-flash-image", "fox"))
        .await
        .expect_err("no image");
    assert_eq!(e.kind(), ErrorKind::Decode);
    let e = gemini
        .images(ImageRequest::new("gemini-2.5-flash-image", "fox").size("1024x1024"))
        .await
        .expect_err("no size field");
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(e.message().contains("size"), "{e}");
    assert_eq!(server.request_count(), 1);
}

//! Image generation and an image edit (a multipart upload).
//!
//! `cargo run --example images` (offline, on the loopback mock).

use llm_runtime::providers::OpenAi;
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::types::{
    FileUpload, ImageData, ImageEditRequest, ImageRequest, ImageResponseFormat,
};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), llm_runtime::Error> {
    let mock = MockServer::start().await;
    mock.on(
        "POST",
        "/v1/images/generations",
        MockResponse::json(200, json!({"created": 1713833628, "data": [
            {"url": "https://images.example/fox.png", "revised_prompt": "A watercolor fox in the snow"}]})),
    );
    mock.on(
        "POST",
        "/v1/images/edits",
        MockResponse::json(
            200,
            json!({"created": 1713833629, "data": [{"b64_json": "iVBORw0KGgo="}],
            "usage": {"input_tokens": 50, "output_tokens": 272, "total_tokens": 322}}),
        ),
    );
    let client = OpenAi::config()
        .api_key("demo")
        .base_url(format!("{}/v1", mock.url()))
        .connect()?;

    // `images` exists because OpenAi declares `capabilities(images)`.
    let generated = client
        .images(
            ImageRequest::new("dall-e-3", "A watercolor fox")
                .size("1024x1024")
                .response_format(ImageResponseFormat::Url),
        )
        .await?;
    for image in &generated.images {
        if let ImageData::Url(url) = &image.data {
            println!("generated: {url} ({:?})", image.revised_prompt);
        }
    }

    let photo = FileUpload::new("cat.png", "image/png", b"\x89PNG...".to_vec());
    let edited = client
        .image_edit(ImageEditRequest::new("gpt-image-1", "Add a red hat", photo))
        .await?;
    if let ImageData::Base64 { b64, mime } = &edited.images[0].data {
        println!("edited: {} base64 characters of {mime:?}", b64.len());
    }
    println!("usage: {:?}", edited.usage);
    assert_eq!(generated.images.len(), 1);
    assert_eq!(mock.request_count(), 2);
    Ok(())
}

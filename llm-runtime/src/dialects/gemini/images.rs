//! Gemini image output through `generateContent`: the prompt as a user turn
//! with `responseModalities: ["TEXT", "IMAGE"]`, and each inline image part
//! of the answer (`inlineData`) as a generated image. Gemini has no size,
//! quality or style fields: a request that sets them is refused rather than
//! sent without them.

use serde::Deserialize;
use serde_json::json;

use super::{GeminiDialect, model_path};
use crate::dialects::operation_wire::decode;
use crate::dialects::wire::{null_as_default, opt_count};
use crate::error::{Error, Result};
use crate::provider::{HttpParts, Operations, RequestContext};
use crate::types::{
    GeneratedImage, ImageData, ImageOptions, ImageRequest, ImageResponse, ImageResponseFormat,
    Usage,
};

impl Operations for GeminiDialect {
    fn build_image_request(
        &self,
        request: &ImageRequest,
        ctx: &RequestContext<'_>,
    ) -> Result<HttpParts> {
        refuse_unsendable(&request.options)?;
        let model = if ctx.model.is_empty() {
            &request.model
        } else {
            ctx.model
        };
        let mut generation = json!({"responseModalities": ["TEXT", "IMAGE"]});
        if let Some(n) = request.options.n {
            generation["candidateCount"] = n.into();
        }
        HttpParts::post_json(
            model_path(model, "generateContent")?,
            &json!({
                "contents": [{"role": "user", "parts": [{"text": request.prompt}]}],
                "generationConfig": generation,
            }),
        )
    }

    fn parse_image_response(&self, body: &[u8], ctx: &RequestContext<'_>) -> Result<ImageResponse> {
        parse(body, ctx)
    }
}

/// The options Gemini cannot send, named in an `Unsupported` error.
fn refuse_unsendable(options: &ImageOptions) -> Result<()> {
    let set = [
        ("size", options.size.is_some()),
        ("quality", options.quality.is_some()),
        ("style", options.style.is_some()),
        (
            "response_format url",
            options.response_format == Some(ImageResponseFormat::Url),
        ),
        ("output_format", options.output_format.is_some()),
        ("background", options.background.is_some()),
        ("output_compression", options.output_compression.is_some()),
        ("moderation", options.moderation.is_some()),
        ("user", options.user.is_some()),
    ];
    let names: Vec<&str> = set.iter().filter(|(_, on)| *on).map(|(n, _)| *n).collect();
    if names.is_empty() {
        return Ok(());
    }
    Err(Error::unsupported(format!(
        "Gemini image output does not take: {}",
        names.join(", ")
    )))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    #[serde(default, deserialize_with = "null_as_default")]
    candidates: Vec<Candidate>,
    #[serde(default)]
    usage_metadata: Option<UsageWire>,
}

#[derive(Deserialize)]
struct Candidate {
    #[serde(default)]
    content: Option<Content>,
}

#[derive(Deserialize)]
struct Content {
    #[serde(default, deserialize_with = "null_as_default")]
    parts: Vec<PartWire>,
}

#[derive(Deserialize)]
struct PartWire {
    #[serde(default, alias = "inline_data", rename = "inlineData")]
    inline_data: Option<Inline>,
}

#[derive(Deserialize)]
struct Inline {
    #[serde(default, alias = "mime_type", rename = "mimeType")]
    mime_type: Option<String>,
    data: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageWire {
    #[serde(default, deserialize_with = "opt_count")]
    prompt_token_count: Option<u32>,
    #[serde(default, deserialize_with = "opt_count")]
    candidates_token_count: Option<u32>,
}

fn parse(body: &[u8], ctx: &RequestContext<'_>) -> Result<ImageResponse> {
    let answer: Answer = decode(body, "the Gemini image response")?;
    let images: Vec<GeneratedImage> = answer
        .candidates
        .into_iter()
        .filter_map(|c| c.content)
        .flat_map(|c| c.parts)
        .filter_map(|p| p.inline_data)
        .map(|inline| GeneratedImage {
            data: ImageData::Base64 {
                b64: inline.data,
                mime: inline.mime_type,
            },
            revised_prompt: None,
        })
        .collect();
    if images.is_empty() {
        return Err(Error::decode("the Gemini answer holds no inline image").with_body(body));
    }
    Ok(ImageResponse {
        created: None,
        model: ctx.model.to_owned(),
        provider: String::new(),
        images,
        usage: answer.usage_metadata.map(|u| {
            Usage::new(
                u.prompt_token_count.unwrap_or(0),
                u.candidates_token_count.unwrap_or(0),
            )
        }),
        meta: Default::default(),
    })
}

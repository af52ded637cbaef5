//! OpenAI's operations beyond chat: `/images/generations` and `/images/edits`,
//! `/audio/speech`, `/audio/transcriptions` and `/audio/translations`,
//! `/moderations`, and the Cohere-shaped `/rerank` the OpenAI-compatible
//! hosts serve (Jina, Together, vLLM). Batches are in `batch.rs`.

use std::collections::BTreeMap;

use http::HeaderValue;
use serde::Deserialize;
use serde_json::{Value, json};

use super::OpenAiDialect;
use crate::dialects::operation_wire::{decode, parse_rerank, rerank_body};
use crate::dialects::wire::{null_as_default, opt_count};
use crate::error::{Error, Result};
use crate::http::Multipart;
use crate::provider::{HttpParts, Operations, RequestContext};
use crate::types::{
    BatchJob, BatchRequest, BatchResult, GeneratedImage, ImageData, ImageEditRequest, ImageOptions,
    ImageRequest, ImageResponse, ModerationInput, ModerationRequest, ModerationResponse,
    ModerationResult, RerankRequest, RerankResponse, SpeechRequest, TranscriptFormat,
    TranscriptSegment, TranscriptWord, Transcription, TranscriptionRequest, TranscriptionTask,
    Usage,
};

/// No upload is larger than this many bytes before the transport's own
/// body cap applies (the runtime checks the configured cap again).
const NO_CAP: usize = usize::MAX;

impl Operations for OpenAiDialect {
    fn build_image_request(
        &self,
        request: &ImageRequest,
        _: &RequestContext<'_>,
    ) -> Result<HttpParts> {
        HttpParts::post_json("/images/generations", request)
    }

    fn build_image_edit_request(
        &self,
        request: &ImageEditRequest,
        _: &RequestContext<'_>,
    ) -> Result<HttpParts> {
        // One image is `image`; several are `image[]` (gpt-image-1), as the SDKs send them.
        let name = if request.images.len() == 1 {
            "image"
        } else {
            "image[]"
        };
        let mut form = Multipart::new()
            .text("model", &request.model)
            .text("prompt", &request.prompt);
        for image in &request.images {
            form = form.file(name, image);
        }
        if let Some(mask) = &request.mask {
            form = form.file("mask", mask);
        }
        image_fields(form, &request.options).into_parts("/images/edits", NO_CAP)
    }

    fn parse_image_response(&self, body: &[u8], ctx: &RequestContext<'_>) -> Result<ImageResponse> {
        parse_images(body, ctx)
    }

    fn build_speech_request(
        &self,
        request: &SpeechRequest,
        _: &RequestContext<'_>,
    ) -> Result<HttpParts> {
        let mut parts = HttpParts::post_json("/audio/speech", request)?;
        let mime = request
            .response_format
            .map_or("audio/mpeg", crate::types::AudioFormat::mime);
        parts
            .headers
            .push((http::header::ACCEPT, HeaderValue::from_static(mime)));
        Ok(parts)
    }

    fn build_transcription_request(
        &self,
        request: &TranscriptionRequest,
        _: &RequestContext<'_>,
    ) -> Result<HttpParts> {
        let path = match request.task {
            TranscriptionTask::Transcribe => "/audio/transcriptions",
            TranscriptionTask::Translate => "/audio/translations",
        };
        let mut form = Multipart::new()
            .file("file", &request.file)
            .text("model", &request.model)
            .text_opt("language", request.language.as_ref())
            .text_opt("prompt", request.prompt.as_ref())
            .text("response_format", request.response_format.as_str())
            .text_opt("temperature", request.temperature);
        for granularity in &request.timestamp_granularities {
            form = form.text("timestamp_granularities[]", granularity.as_str());
        }
        form.into_parts(path, NO_CAP)
    }

    fn parse_transcription(
        &self,
        body: &[u8],
        request: &TranscriptionRequest,
        _: &RequestContext<'_>,
    ) -> Result<Transcription> {
        parse_transcription(body, request.response_format)
    }

    fn build_rerank_request(
        &self,
        request: &RerankRequest,
        _: &RequestContext<'_>,
    ) -> Result<HttpParts> {
        let mut body = rerank_body(request);
        body["return_documents"] = request.return_documents.into();
        HttpParts::post_json("/rerank", &body)
    }

    fn parse_rerank_response(&self, body: &[u8], _: &RequestContext<'_>) -> Result<RerankResponse> {
        parse_rerank(body)
    }

    fn build_moderation_request(
        &self,
        request: &ModerationRequest,
        _: &RequestContext<'_>,
    ) -> Result<HttpParts> {
        HttpParts::post_json(
            "/moderations",
            &json!({"model": request.model, "input": moderation_input(&request.input)}),
        )
    }

    fn parse_moderation_response(
        &self,
        body: &[u8],
        _: &RequestContext<'_>,
    ) -> Result<ModerationResponse> {
        parse_moderation(body)
    }

    fn build_batch_upload(
        &self,
        request: &BatchRequest,
        ctx: &RequestContext<'_>,
    ) -> Result<Option<HttpParts>> {
        super::batch::upload(self, request, ctx).map(Some)
    }

    fn parse_batch_upload(&self, body: &[u8]) -> Result<String> {
        super::batch::file_id(body)
    }

    fn build_batch_create(
        &self,
        request: &BatchRequest,
        file_id: Option<&str>,
        _: &RequestContext<'_>,
    ) -> Result<HttpParts> {
        super::batch::create(request, file_id)
    }

    fn build_batch_get(&self, id: &str, _: &RequestContext<'_>) -> Result<HttpParts> {
        super::batch::get(id)
    }

    fn parse_batch(&self, body: &[u8]) -> Result<BatchJob> {
        super::batch::parse_job(body)
    }

    fn build_batch_results(
        &self,
        job: &BatchJob,
        _: &RequestContext<'_>,
    ) -> Result<Vec<HttpParts>> {
        super::batch::results(job)
    }

    fn parse_batch_results(
        &self,
        body: &[u8],
        ctx: &RequestContext<'_>,
    ) -> Result<Vec<(String, BatchResult)>> {
        super::batch::parse_results(self, body, ctx)
    }
}

/// The image options as multipart fields, in the JSON body's names.
fn image_fields(form: Multipart, options: &ImageOptions) -> Multipart {
    form.text_opt("n", options.n)
        .text_opt("size", options.size.as_ref())
        .text_opt("quality", options.quality.as_ref())
        .text_opt(
            "response_format",
            options.response_format.map(|f| f.as_str()),
        )
        .text_opt("output_format", options.output_format.as_ref())
        .text_opt("background", options.background.as_ref())
        .text_opt("output_compression", options.output_compression)
        .text_opt("moderation", options.moderation.as_ref())
        .text_opt("user", options.user.as_ref())
}

#[derive(Deserialize)]
struct ImagesWire {
    #[serde(default)]
    created: Option<u64>,
    data: Vec<ImageWire>,
    #[serde(default)]
    output_format: Option<String>,
    #[serde(default)]
    usage: Option<ImageUsage>,
}

#[derive(Deserialize)]
struct ImageWire {
    #[serde(default)]
    b64_json: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    revised_prompt: Option<String>,
}

#[derive(Deserialize)]
struct ImageUsage {
    #[serde(default, deserialize_with = "opt_count")]
    input_tokens: Option<u32>,
    #[serde(default, deserialize_with = "opt_count")]
    output_tokens: Option<u32>,
}

fn parse_images(body: &[u8], ctx: &RequestContext<'_>) -> Result<ImageResponse> {
    let wire: ImagesWire = decode(body, "the images response")?;
    let mime = format!("image/{}", wire.output_format.as_deref().unwrap_or("png"));
    let images = wire
        .data
        .into_iter()
        .map(|image| {
            let data = match (image.b64_json, image.url) {
                (Some(b64), _) => ImageData::Base64 {
                    b64,
                    mime: Some(mime.clone()),
                },
                (None, Some(url)) => ImageData::Url(url),
                (None, None) => {
                    return Err(Error::decode(
                        "an image in the response has neither b64_json nor url",
                    )
                    .with_body(body));
                }
            };
            Ok(GeneratedImage {
                data,
                revised_prompt: image.revised_prompt,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if images.is_empty() {
        return Err(Error::decode("the images response holds no image").with_body(body));
    }
    Ok(ImageResponse {
        created: wire.created,
        model: ctx.model.to_owned(),
        provider: String::new(),
        images,
        usage: wire
            .usage
            .map(|u| Usage::new(u.input_tokens.unwrap_or(0), u.output_tokens.unwrap_or(0))),
        meta: Default::default(),
    })
}

/// The entries the API filled in: a category left null (not judged) is
/// not in the map.
fn known<T>(map: BTreeMap<String, Option<T>>) -> BTreeMap<String, T> {
    map.into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
}

/// One text is a string, texts are an array of strings, and anything with an
/// image is the array of typed parts (the three forms `/moderations` takes).
fn moderation_input(input: &[ModerationInput]) -> Value {
    let texts: Option<Vec<&str>> = input
        .iter()
        .map(|i| match i {
            ModerationInput::Text { text } => Some(text.as_str()),
            ModerationInput::ImageUrl { .. } => None,
        })
        .collect();
    match texts.as_deref() {
        Some([one]) => json!(one),
        Some(many) => json!(many),
        None => input
            .iter()
            .map(|i| match i {
                ModerationInput::Text { text } => json!({"type": "text", "text": text}),
                ModerationInput::ImageUrl { url } => {
                    json!({"type": "image_url", "image_url": {"url": url}})
                }
            })
            .collect(),
    }
}

#[derive(Deserialize)]
struct ModerationWire {
    #[serde(default)]
    id: String,
    #[serde(default)]
    model: String,
    results: Vec<VerdictWire>,
}

#[derive(Deserialize)]
struct VerdictWire {
    flagged: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    categories: BTreeMap<String, Option<bool>>,
    #[serde(default, deserialize_with = "null_as_default")]
    category_scores: BTreeMap<String, Option<f64>>,
    #[serde(default, deserialize_with = "null_as_default")]
    category_applied_input_types: BTreeMap<String, Option<Vec<String>>>,
}

fn parse_moderation(body: &[u8]) -> Result<ModerationResponse> {
    let wire: ModerationWire = decode(body, "the moderation response")?;
    if wire.results.is_empty() {
        return Err(Error::decode("the moderation response holds no result").with_body(body));
    }
    Ok(ModerationResponse {
        id: wire.id,
        model: wire.model,
        provider: String::new(),
        results: wire
            .results
            .into_iter()
            .map(|v| ModerationResult {
                flagged: v.flagged,
                categories: known(v.categories),
                category_scores: known(v.category_scores),
                category_applied_input_types: known(v.category_applied_input_types),
            })
            .collect(),
        meta: Default::default(),
    })
}

#[derive(Deserialize)]
struct TranscriptWire {
    text: String,
    #[serde(default)]
    language: Option<String>,
    #[serde(default, deserialize_with = "seconds")]
    duration: Option<f64>,
    #[serde(default, deserialize_with = "null_as_default")]
    words: Vec<TranscriptWord>,
    #[serde(default, deserialize_with = "null_as_default")]
    segments: Vec<TranscriptSegment>,
    #[serde(default)]
    usage: Option<TranscriptUsage>,
}

#[derive(Deserialize)]
struct TranscriptUsage {
    #[serde(default, deserialize_with = "opt_count")]
    input_tokens: Option<u32>,
    #[serde(default, deserialize_with = "opt_count")]
    output_tokens: Option<u32>,
}

/// A duration as a number, or as a numeric string (older answers wrote one).
fn seconds<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<f64>, D::Error> {
    Ok(match Option::<Value>::deserialize(deserializer)? {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

/// JSON formats are decoded; `text`, `srt` and `vtt` are the text itself.
fn parse_transcription(body: &[u8], format: TranscriptFormat) -> Result<Transcription> {
    let mut out = Transcription {
        text: String::new(),
        format,
        language: None,
        duration: None,
        words: Vec::new(),
        segments: Vec::new(),
        usage: None,
        model: String::new(),
        provider: String::new(),
        meta: Default::default(),
    };
    if !format.is_json() {
        out.text = String::from_utf8(body.to_vec()).map_err(|e| {
            Error::decode(format!(
                "the {} transcript is not UTF-8: {e}",
                format.as_str()
            ))
        })?;
        return Ok(out);
    }
    let wire: TranscriptWire = decode(body, "the transcription response")?;
    out.text = wire.text;
    out.language = wire.language;
    out.duration = wire.duration;
    out.words = wire.words;
    out.segments = wire.segments;
    out.usage = wire
        .usage
        .and_then(|u| Some(Usage::new(u.input_tokens?, u.output_tokens.unwrap_or(0))));
    Ok(out)
}

//! OpenAI Audio: `POST /v1/audio/speech` (JSON in, the audio streamed out
//! as it arrives, with its media type; a client that goes away drops the
//! upstream call), and `/v1/audio/transcriptions` and `/v1/audio/translations`
//! (multipart in; `json`, `verbose_json`, `text`, `srt` or `vtt` out, each
//! with its media type).

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures_util::Stream;
use http::{HeaderMap, HeaderValue, header};
use llm_runtime::http::ByteStream;
use llm_runtime::types::{
    SpeechRequest, TimestampGranularity, TranscriptFormat, Transcription, TranscriptionRequest,
    TranscriptionTask,
};
use serde_json::{Value, json};

use super::multipart;
use super::{body, count, dispatch, json_object, respond, with_headers};
use crate::call::CallRecord;
use crate::error::GatewayError;
use crate::state::SharedState;

/// The audio routes.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/v1/audio/speech", post(speech))
        .route("/audio/speech", post(speech))
        .route("/v1/audio/transcriptions", post(transcriptions))
        .route("/audio/transcriptions", post(transcriptions))
        .route("/v1/audio/translations", post(translations))
        .route("/audio/translations", post(translations))
}

async fn speech(State(state): State<SharedState>, raw: Result<Bytes, BytesRejection>) -> Response {
    let parsed = body(raw).and_then(|b| {
        let obj = json_object(&b)?;
        let model = match obj.get("model") {
            Some(Value::String(m)) if !m.is_empty() => m.clone(),
            _ => return Err(GatewayError::bad_request("`model` is required").param("model")),
        };
        let request: SpeechRequest = super::typed(&state, obj)?;
        request
            .validate()
            .map_err(|e| GatewayError::bad_request(e.message().to_owned()))?;
        Ok((model, request))
    });
    let (model, request) = match parsed {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let mut record = CallRecord::start(&state, "audio_speech", &model);
    let tokens = count(&model, [request.input.as_str()]);
    let result = dispatch(&state, &mut record, &model, tokens, |provider, upstream| {
        let mut request = request.clone();
        request.model = upstream;
        async move { provider.speech(request).await }
    })
    .await;
    let audio = match result {
        Ok(audio) => audio,
        Err(e) => return with_headers(e, &record),
    };
    let mime = audio
        .content_type()
        // The upstream's audio type, else the one of the format asked for
        // (a generic `application/octet-stream` says less than the format).
        .filter(|t| t.starts_with("audio/"))
        .map(str::to_owned)
        .unwrap_or_else(|| {
            request
                .response_format
                .unwrap_or(llm_runtime::types::AudioFormat::Mp3)
                .mime()
                .to_owned()
        });
    let headers = record.headers();
    let mut response = Response::new(Body::from_stream(RecordedAudio {
        inner: audio,
        record,
        ended: false,
    }));
    response.headers_mut().extend(headers);
    if let Ok(v) = HeaderValue::from_str(&mime) {
        response.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    response
}

/// Audio on its way to the client, with its call's record: the first bytes
/// are its first token, an upstream error its status, and a drop before the
/// end (the client went away) a 499. Dropping it drops the upstream call.
struct RecordedAudio {
    inner: ByteStream,
    record: CallRecord,
    ended: bool,
}

impl Stream for RecordedAudio {
    type Item = llm_runtime::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let item = Pin::new(&mut this.inner).poll_next(cx);
        match &item {
            Poll::Ready(Some(Ok(_))) => this.record.first_token(),
            Poll::Ready(Some(Err(e))) => {
                let error = GatewayError::from(llm_runtime::Error::new(e.kind(), ""));
                this.record.failed(&error);
                this.ended = true;
            }
            Poll::Ready(None) => this.ended = true,
            Poll::Pending => {}
        }
        item
    }
}

impl Drop for RecordedAudio {
    fn drop(&mut self) {
        if !self.ended {
            self.record.status = 499;
        }
    }
}

async fn transcriptions(
    State(state): State<SharedState>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Response {
    transcribe(state, headers, raw, TranscriptionTask::Transcribe).await
}

async fn translations(
    State(state): State<SharedState>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Response {
    transcribe(state, headers, raw, TranscriptionTask::Translate).await
}

async fn transcribe(
    state: SharedState,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
    task: TranscriptionTask,
) -> Response {
    let parsed = body(raw).and_then(|b| transcription_request(&state, &headers, &b, task));
    let (model, request) = match parsed {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let route = match task {
        TranscriptionTask::Transcribe => "audio_transcriptions",
        TranscriptionTask::Translate => "audio_translations",
    };
    let mut record = CallRecord::start(&state, route, &model);
    let result = dispatch(&state, &mut record, &model, 0, |provider, upstream| {
        let mut request = request.clone();
        request.model = upstream;
        async move { provider.transcribe(request).await }
    })
    .await;
    respond(result.map(|t| render(&t, task)), &record)
}

fn field_error(name: &str, what: &str) -> GatewayError {
    GatewayError::bad_request(format!("`{name}` {what}")).param(name.to_owned())
}

/// The model and the request of a transcription's multipart body.
fn transcription_request(
    state: &SharedState,
    headers: &HeaderMap,
    body: &Bytes,
    task: TranscriptionTask,
) -> Result<(String, TranscriptionRequest), GatewayError> {
    let parts = multipart::parse(body, &multipart::boundary(headers)?)?;
    let mut request = TranscriptionRequest {
        task,
        ..TranscriptionRequest::default()
    };
    let (mut model, mut file) = (None, None);
    for part in &parts {
        if part.name == "file" {
            file = Some(part.upload());
            continue;
        }
        let text = part.text()?;
        match part.name.as_str() {
            "model" => model = Some(text.to_owned()).filter(|m| !m.is_empty()),
            "language" => request.language = Some(text.to_owned()),
            "prompt" => request.prompt = Some(text.to_owned()),
            "response_format" => request.response_format = format(text)?,
            "temperature" => {
                request.temperature = Some(
                    text.trim()
                        .parse()
                        .map_err(|_| field_error("temperature", "must be a number"))?,
                );
            }
            "timestamp_granularities[]" | "timestamp_granularities" => {
                request.timestamp_granularities.push(match text {
                    "word" => TimestampGranularity::Word,
                    "segment" => TimestampGranularity::Segment,
                    _ => {
                        return Err(field_error(
                            "timestamp_granularities",
                            "must be `word` or `segment`",
                        ));
                    }
                });
            }
            other if state.config.litellm_settings.drop_params == Some(true) => {
                tracing::debug!(field = other, "dropped an unsupported transcription field");
            }
            other => {
                return Err(field_error(
                    other,
                    "is not supported here; leave it out or set litellm_settings.drop_params: true",
                ));
            }
        }
    }
    let model = model.ok_or_else(|| field_error("model", "is required"))?;
    request.file = file.ok_or_else(|| field_error("file", "is required: the audio file"))?;
    request
        .validate()
        .map_err(|e| GatewayError::bad_request(e.message().to_owned()))?;
    Ok((model, request))
}

fn format(text: &str) -> Result<TranscriptFormat, GatewayError> {
    [
        TranscriptFormat::Json,
        TranscriptFormat::VerboseJson,
        TranscriptFormat::Text,
        TranscriptFormat::Srt,
        TranscriptFormat::Vtt,
    ]
    .into_iter()
    .find(|f| f.as_str() == text)
    .ok_or_else(|| {
        field_error(
            "response_format",
            "must be json, verbose_json, text, srt or vtt",
        )
    })
}

/// The media type of a transcript in `format`, as OpenAI's API sends it:
/// JSON, or `text/plain` for text and for the subtitles (srt and vtt too).
pub fn media_type(format: TranscriptFormat) -> &'static str {
    if format.is_json() {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    }
}

/// A transcript as OpenAI answers it in its format.
pub fn render(t: &Transcription, task: TranscriptionTask) -> Response {
    let body = match t.format {
        TranscriptFormat::Json => {
            let mut v = json!({"text": t.text});
            if let Some(u) = t.usage {
                v["usage"] = json!({"type": "tokens", "input_tokens": u.prompt_tokens,
                    "output_tokens": u.completion_tokens, "total_tokens": u.total_tokens});
            }
            v.to_string()
        }
        TranscriptFormat::VerboseJson => verbose(t, task).to_string(),
        TranscriptFormat::Text | TranscriptFormat::Srt | TranscriptFormat::Vtt => t.text.clone(),
    };
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(media_type(t.format)),
        )],
        body,
    )
        .into_response()
}

fn verbose(t: &Transcription, task: TranscriptionTask) -> Value {
    let mut v = json!({
        "task": match task {
            TranscriptionTask::Transcribe => "transcribe",
            TranscriptionTask::Translate => "translate",
        },
        "language": t.language,
        "duration": t.duration,
        "text": t.text,
    });
    if !t.segments.is_empty() {
        v["segments"] = json!(t.segments);
    }
    if !t.words.is_empty() {
        v["words"] = json!(t.words);
    }
    v
}

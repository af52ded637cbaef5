//! Each dialect's `Transform::SERVES` (what the derive lets a declaration
//! list in `capabilities(...)`) agrees with what the dialect does: a
//! capability it claims builds a request, one it leaves out is refused.

use crate::ErrorKind;
use crate::provider::{RequestContext, Transform};
use crate::spec::{Capability, ProviderSpec};
use crate::types::{
    BatchRequest, ChatRequest, EmbeddingRequest, FileUpload, ImageRequest, ModerationRequest,
    Param, Part, ReasoningEffort, RerankRequest, ResponseFormat, SpeechRequest, Tool,
    TranscriptionRequest,
};

use super::{
    anthropic::AnthropicDialect, cohere::CohereDialect, converse::ConverseDialect,
    gemini::GeminiDialect, ollama::OllamaDialect, openai::OpenAiDialect,
    openai_responses::OpenAiResponsesDialect,
};

static SPEC: ProviderSpec = ProviderSpec::new("serves", "https://serves.invalid");

fn ctx(model: &str, stream: bool) -> RequestContext<'_> {
    RequestContext::new(&SPEC, model, stream)
}

/// Model ids of each family: a dialect serves a capability if it does so
/// for some model (Converse maps reasoning for Claude models only).
const MODELS: &[&str] = &[
    "m",
    "gpt-5",
    "claude-sonnet-4-5",
    "anthropic.claude-sonnet-4-5-20250929-v1:0",
    "gemini-2.5-flash",
];

/// Whether `wire` does what `cap` needs for some model, by building (not
/// sending) requests.
fn does<T: Transform>(wire: &T, cap: Capability) -> bool {
    MODELS.iter().any(|model| does_for(wire, cap, model))
}

fn does_for<T: Transform>(wire: &T, cap: Capability, model: &str) -> bool {
    let chat = || ChatRequest::new(model).user("hi");
    let sendable = |request: ChatRequest, param: Param| {
        !wire.unsupported_params(&request).contains(param)
            && wire.build_request(&request, &ctx(model, false)).is_ok()
    };
    match cap {
        Capability::Chat => wire.build_request(&chat(), &ctx(model, false)).is_ok(),
        Capability::Stream => wire.build_request(&chat(), &ctx(model, true)).is_ok(),
        Capability::Tools => sendable(
            chat().tool(Tool::function(
                "f",
                "d",
                serde_json::json!({"type": "object"}),
            )),
            Param::Tools,
        ),
        Capability::Vision => wire
            .build_request(
                &ChatRequest::new(model)
                    .user_parts(vec![Part::image_base64("image/png", "iVBORw0KGgo=")]),
                &ctx(model, false),
            )
            .is_ok(),
        Capability::Reasoning => {
            sendable(
                chat().reasoning_effort(ReasoningEffort::Low),
                Param::ReasoningEffort,
            ) || sendable(chat().reasoning_budget(1024), Param::ReasoningBudget)
        }
        Capability::Embeddings => !matches!(
            wire.build_embedding_request(&EmbeddingRequest::new(model, ["x"]), &ctx(model, false)),
            Err(e) if e.kind() == ErrorKind::Unsupported
        ),
        Capability::JsonMode => sendable(
            chat().response_format(ResponseFormat::JsonObject),
            Param::ResponseFormat,
        ),
        other => does_operation(wire, other, model),
    }
}

/// Whether the wire's [`Operations`](crate::provider::Operations) hook for
/// `cap` builds a request rather than answering `Unsupported`.
fn does_operation<T: Transform>(wire: &T, cap: Capability, model: &str) -> bool {
    let ops = wire.operations();
    let ctx = ctx(model, false);
    let built = match cap {
        Capability::Images => ops
            .build_image_request(&ImageRequest::new(model, "a fox"), &ctx)
            .map(drop),
        Capability::Speech => ops
            .build_speech_request(&SpeechRequest::new(model, "alloy", "hi"), &ctx)
            .map(drop),
        Capability::Transcription => ops
            .build_transcription_request(
                &TranscriptionRequest::new(model, FileUpload::new("a.mp3", "audio/mpeg", vec![1])),
                &ctx,
            )
            .map(drop),
        Capability::Rerank => ops
            .build_rerank_request(&RerankRequest::new(model, "q", ["d"]), &ctx)
            .map(drop),
        Capability::Moderation => ops
            .build_moderation_request(&ModerationRequest::new(model).text("x"), &ctx)
            .map(drop),
        Capability::Batch => ops
            .build_batch_create(
                &BatchRequest::new().item("a", ChatRequest::new(model).user("hi")),
                Some("file-1"),
                &ctx,
            )
            .map(drop),
        _ => return false,
    };
    !matches!(built, Err(e) if e.kind() == ErrorKind::Unsupported)
}

fn agrees<T: Transform>(name: &str, wire: &T) {
    for cap in Capability::ALL {
        assert_eq!(
            T::SERVES.contains(cap),
            does(wire, cap),
            "`{name}`: SERVES says {} about `{}`",
            T::SERVES.contains(cap),
            cap.name()
        );
    }
}

#[test]
fn every_dialect_serves_what_it_claims() {
    agrees("openai", &OpenAiDialect);
    agrees("openai_responses", &OpenAiResponsesDialect);
    agrees("anthropic", &AnthropicDialect);
    agrees("gemini", &GeminiDialect);
    agrees("ollama", &OllamaDialect);
    agrees("cohere", &CohereDialect);
    agrees("converse", &ConverseDialect);
}

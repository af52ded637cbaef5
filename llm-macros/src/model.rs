//! The typed declaration: what `#[provider(...)]` means once every rule of
//! `check/` has passed (`build.rs` runs the checks); `Item` is what the
//! fallback expansion needs when there are errors.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Ident, Path, Visibility};

/// The request parameters `unsupported(...)` names: the runtime's `Param`
/// (name, variant).
pub(crate) const PARAMS: &[(&str, &str)] = &[
    ("temperature", "Temperature"),
    ("top_p", "TopP"),
    ("max_tokens", "MaxTokens"),
    ("stop", "Stop"),
    ("seed", "Seed"),
    ("tools", "Tools"),
    ("tool_choice", "ToolChoice"),
    ("response_format", "ResponseFormat"),
    ("reasoning_effort", "ReasoningEffort"),
    ("reasoning_budget", "ReasoningBudget"),
    ("user", "User"),
];

/// The values of `max_tokens_field`: the runtime's `MaxTokensField` (value, variant).
pub(crate) const MAX_TOKENS_FIELDS: &[(&str, &str)] = &[
    ("max_tokens", "MaxTokens"),
    ("max_completion_tokens", "MaxCompletionTokens"),
];

/// The kind of struct the derive is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `struct Groq;`: the value is the unit value.
    Unit,
    /// `struct Azure { api_version: String }`: the value is `Default::default()`.
    Named,
}

/// How the API key is sent (the runtime's `AuthScheme`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Auth {
    None,
    Bearer,
    Header(String),
    Query(String),
    /// `auth(sigv4 = "service")`: each attempt signed (AWS Signature V4).
    SigV4(String),
    /// `auth = "token"`: a bearer token from the configuration's token source.
    Token,
}

/// One capability (the runtime's `Capability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Capability {
    Chat,
    Stream,
    Tools,
    Vision,
    Reasoning,
    Embeddings,
    JsonMode,
    Images,
    Speech,
    Transcription,
    Rerank,
    Moderation,
    Batch,
}

impl Capability {
    pub(crate) const ALL: [Capability; 13] = [
        Capability::Chat,
        Capability::Stream,
        Capability::Tools,
        Capability::Vision,
        Capability::Reasoning,
        Capability::Embeddings,
        Capability::JsonMode,
        Capability::Images,
        Capability::Speech,
        Capability::Transcription,
        Capability::Rerank,
        Capability::Moderation,
        Capability::Batch,
    ];

    /// Without `capabilities(...)`.
    pub(crate) const DEFAULT: [Capability; 2] = [Capability::Chat, Capability::Stream];

    /// The name in `capabilities(...)`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Capability::Chat => "chat",
            Capability::Stream => "stream",
            Capability::Tools => "tools",
            Capability::Vision => "vision",
            Capability::Reasoning => "reasoning",
            Capability::Embeddings => "embeddings",
            Capability::JsonMode => "json_mode",
            Capability::Images => "images",
            Capability::Speech => "speech",
            Capability::Transcription => "transcription",
            Capability::Rerank => "rerank",
            Capability::Moderation => "moderation",
            Capability::Batch => "batch",
        }
    }

    /// The runtime's `Capability` variant.
    pub(crate) fn variant(self) -> &'static str {
        match self {
            Capability::Chat => "Chat",
            Capability::Stream => "Stream",
            Capability::Tools => "Tools",
            Capability::Vision => "Vision",
            Capability::Reasoning => "Reasoning",
            Capability::Embeddings => "Embeddings",
            Capability::JsonMode => "JsonMode",
            Capability::Images => "Images",
            Capability::Speech => "Speech",
            Capability::Transcription => "Transcription",
            Capability::Rerank => "Rerank",
            Capability::Moderation => "Moderation",
            Capability::Batch => "Batch",
        }
    }

    /// The runtime's marker trait for it, if it has one.
    pub(crate) fn marker(self) -> Option<&'static str> {
        match self {
            Capability::Stream => Some("SupportsStreaming"),
            Capability::Tools => Some("SupportsTools"),
            Capability::Vision => Some("SupportsVision"),
            Capability::Reasoning => Some("SupportsReasoning"),
            Capability::Embeddings => Some("SupportsEmbeddings"),
            Capability::Images => Some("SupportsImages"),
            Capability::Speech => Some("SupportsSpeech"),
            Capability::Transcription => Some("SupportsTranscription"),
            Capability::Rerank => Some("SupportsRerank"),
            Capability::Moderation => Some("SupportsModeration"),
            Capability::Batch => Some("SupportsBatch"),
            Capability::Chat | Capability::JsonMode => None,
        }
    }
}

/// A checked `base_url`.
#[derive(Debug, Clone)]
pub(crate) struct BaseUrl {
    /// As written, without a trailing `/`.
    pub(crate) url: String,
    pub(crate) https: bool,
    pub(crate) host: String,
    pub(crate) loopback: bool,
}

/// A checked `health = "METHOD /path"`.
#[derive(Debug, Clone)]
pub(crate) struct Health {
    pub(crate) method: String,
    pub(crate) path: String,
}

/// What `dialect` said, for the fallback.
pub(crate) enum DialectChoice {
    /// No `dialect` (the author implements `Transform`).
    Absent,
    /// A known dialect.
    Valid(Ident),
    /// Written (or misspelt) but not usable: the fallback delegates to `openai`
    /// so that no "has no transforms" error follows the real one.
    Invalid,
}

impl DialectChoice {
    /// The dialect, when a known one was declared.
    pub(crate) fn valid(&self) -> Option<&Ident> {
        match self {
            DialectChoice::Valid(ident) => Some(ident),
            DialectChoice::Absent | DialectChoice::Invalid => None,
        }
    }
}

/// The item the derive is on: everything the fallback needs.
pub(crate) struct Item {
    pub(crate) ident: Ident,
    pub(crate) vis: Visibility,
    pub(crate) shape: Option<Shape>,
    /// Generic, or without `#[provider]`, or with a bad `crate`: emit no fallback.
    pub(crate) no_fallback: bool,
    /// The path to the runtime (`::llm_runtime` unless `crate = "..."`).
    pub(crate) krate: Path,
    pub(crate) dialect: DialectChoice,
}

/// A declaration every rule accepted.
pub(crate) struct Declaration {
    pub(crate) item: Item,
    pub(crate) shape: Shape,
    pub(crate) name: String,
    pub(crate) base_url: BaseUrl,
    pub(crate) auth: Auth,
    pub(crate) api_key_env: Option<String>,
    pub(crate) base_url_env: Option<String>,
    /// Lowercased names.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) timeout_secs: Option<u64>,
    pub(crate) models: Vec<String>,
    pub(crate) default_model: Option<String>,
    pub(crate) capabilities: Vec<Capability>,
    /// `capabilities`, each with the span of its name where it was written
    /// (for errors the compiler finds, such as a capability the dialect
    /// cannot serve).
    pub(crate) capability_spans: Vec<(Capability, Option<proc_macro2::Span>)>,
    pub(crate) dialect: Option<Ident>,
    pub(crate) health: Option<Health>,
    pub(crate) error: Option<Path>,
    /// `errors(...)`: the declared error table.
    pub(crate) errors: Option<ErrorTable>,
    /// `rewrite = path`: the request rewrite hook.
    pub(crate) rewrite: Option<Path>,
    /// `rewrite_json = path`: the JSON body rewrite hook.
    pub(crate) rewrite_json: Option<Path>,
    pub(crate) allow_http: bool,
    pub(crate) docs: Option<String>,
    pub(crate) quirks: Quirks,
}

/// A checked `errors(...)`: the runtime's `ErrorTable`.
#[derive(Debug, Default)]
pub(crate) struct ErrorTable {
    /// The dotted path of the body field naming the error type.
    pub(crate) type_field: Option<String>,
    pub(crate) rows: Vec<ErrorRow>,
}

/// What one row of `errors(...)` matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ErrorMatch {
    Status(u16),
    Type(String),
}

/// One row: a match, the `ErrorKind` variant, and whether to retry when that
/// differs from the kind's own rule.
#[derive(Debug)]
pub(crate) struct ErrorRow {
    pub(crate) on: ErrorMatch,
    pub(crate) variant: &'static str,
    pub(crate) retry: Option<bool>,
}

/// Where a host differs from the wire format it speaks.
#[derive(Debug, Default)]
pub(crate) struct Quirks {
    /// `Param` variants the host does not accept.
    pub(crate) unsupported: Vec<&'static str>,
    /// The `MaxTokensField` variant, when declared.
    pub(crate) max_tokens_field: Option<&'static str>,
    /// `stream_options = false`.
    pub(crate) no_stream_options: bool,
    /// (placeholder, variable).
    pub(crate) url_vars: Vec<(String, String)>,
    /// (lowercased header name, variable).
    pub(crate) env_headers: Vec<(String, String)>,
    pub(crate) models_path: Option<String>,
}

/// `#krate::__private`, the root of every generated path.
pub(crate) fn private(krate: &Path) -> TokenStream {
    quote!(#krate::__private)
}

//! The `#[derive(Provider)]` macro of [llm-runtime](https://docs.rs/llm-runtime):
//! compile-time checked LLM provider declarations.
//!
//! Use it through `llm_runtime::Provider`; this crate is an implementation
//! detail and its generated code only names `llm_runtime::__private`.
//!
//! The stages, one file each: `attr` (parse the attribute into spanned raw
//! values), `check/` (one function per rule), `model` (the typed declaration),
//! `expand` (code generation) and `fallback` (what is emitted next to errors).

mod attr;
mod build;
mod check;
mod ctxt;
mod expand;
mod fallback;
mod model;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Declares an LLM provider: `#[derive(Provider)]` with a `#[provider(...)]`
/// attribute turns a struct into a provider of the runtime.
///
/// ```ignore
/// use llm_runtime::Provider;
///
/// /// Groq: OpenAI-compatible, so no transform code at all.
/// #[derive(Provider)]
/// #[provider(name = "groq", base_url = "https://api.groq.com/openai/v1",
///            auth = "bearer", env = "GROQ_API_KEY", dialect = openai)]
/// pub struct Groq;
///
/// let groq = Groq::from_env()?; // ProviderClient<Groq>
/// ```
///
/// The struct is a unit struct, or a struct with named fields holding provider
/// settings that the transforms read through `&self` (such a struct must
/// implement `Default`, which `config()` and `from_env()` start from;
/// `Name::config().settings(value)` replaces it).
/// Enums, unions, tuple structs and generic structs are rejected.
///
/// Every mistake in the attribute is reported at compile time, all at once,
/// each on the offending token, with "did you mean" for misspelt keys, auth
/// schemes, capabilities and dialects.
///
/// # Generated items
///
/// - `impl Provider for Name` with `const SPEC: ProviderSpec` holding the
///   declaration, `type Wire` (the wire format the runtime calls every
///   `Transform` method through: the dialect with `dialect = ...`, otherwise
///   `Name` itself, whose missing `Transform` impl is reported on the struct),
///   and `rewrite_request` / `map_error` when `rewrite = ...` / `error = ...` is given;
/// - a marker trait impl per declared capability (`SupportsStreaming`,
///   `SupportsTools`, `SupportsVision`, `SupportsReasoning`, `SupportsEmbeddings`);
/// - `type NameConfig = ProviderConfig<Name>`, with the struct's visibility;
/// - `Name::config() -> NameConfig` and `Name::from_env() -> Result<ProviderClient<Name>>`.
///
/// # Keys
///
/// | Key | Form | Default | Rule |
/// |---|---|---|---|
/// | `name` | `name = "groq"` | required | lowercase ASCII letters, digits, `_`, `-`, starting with a letter: the `name/model` routing prefix |
/// | `base_url` | `base_url = "https://api.groq.com/openai/v1"` | required | absolute `https://` URL with a host; no query, fragment, credentials or whitespace; a trailing `/` is dropped; plain `http://` only to a loopback host (`localhost`, `127.0.0.0/8`, `[::1]`) unless `allow_http = true` |
/// | `auth` | `auth = "bearer"`, `auth = "none"`, `auth(header = "x-api-key")`, `auth(query = "key")` | required | a header name is an RFC 9110 token and not client-managed; a query name uses unreserved URL characters |
/// | `env` | `env = "GROQ_API_KEY"` | none | SCREAMING_SNAKE_CASE; no effect (an error) with `auth = "none"` |
/// | `base_url_env` | `base_url_env = "GROQ_BASE_URL"` | none | SCREAMING_SNAKE_CASE; the variable overrides `base_url` |
/// | `headers` | `headers("anthropic-version" = "2023-06-01", ...)` | none | names are RFC 9110 tokens (sent lowercased), listed once (case-insensitively), not the header `auth` sets, not client-managed (`host`, `content-length`, `content-type`, `transfer-encoding`, `connection`, `accept-encoding` and hop-by-hop headers); values are ASCII without control characters or leading/trailing whitespace |
/// | `timeout_secs` | `timeout_secs = 60` | the runtime's default | 1 to 3600 |
/// | `models` | `models("llama-3.3-70b-versatile", "llama-3.1-8b-instant")` | none | non-empty ids, each listed once |
/// | `default_model` | `default_model = "llama-3.3-70b-versatile"` | none | one of `models(...)` when that is declared |
/// | `capabilities` | `capabilities(chat, stream, tools)` | `chat, stream` | any of `chat`, `stream`, `tools`, `vision`, `reasoning`, `embeddings`, `json_mode`, each once |
/// | `dialect` | `dialect = openai` | none: implement `Transform` | one of `openai`, `anthropic`, `gemini`, `ollama`, `cohere` |
/// | `health` | `health = "GET /models"` | none: the transform's `models_request` (`GET /models`) | `"METHOD /path"`, an uppercase HTTP method and a path starting with `/` |
/// | `error` | `error = my_errors::map_error` | the transform's `classify_error` | a path to `fn(u16, &HeaderMap, &[u8]) -> llm_runtime::Error` |
/// | `rewrite` | `rewrite = Self::deployment` | none: the wire's request as built | a path to `fn(&Name, HttpParts, Operation, &RequestContext<'_>) -> llm_runtime::Result<HttpParts>`: the one place a variant differs from its dialect (Azure: the deployment in the path, `api-version` in the query) |
/// | `allow_http` | `allow_http = true` | `false` | only where it has an effect: a plain `http://` URL to a non-loopback host |
/// | `crate` | `crate = "my_sdk::llm_runtime"` | `::llm_runtime` | a path to `llm_runtime` or a re-export of it, for crates that re-export the derive |
/// | `docs` | `docs = "https://console.groq.com/docs"` | none | an `https://` URL: the provider's API documentation, listed by `providers::specs()` and the README |
///
/// Quirks: where a host differs from the wire format it speaks. Each is data in the spec that the runtime reads.
///
/// | Key | Form | Default | Rule |
/// |---|---|---|---|
/// | `unsupported` | `unsupported(seed, tool_choice)` | none | request parameters the host does not accept (`temperature`, `top_p`, `max_tokens`, `stop`, `seed`, `tools`, `tool_choice`, `response_format`, `reasoning_effort`, `reasoning_budget`, `user`), each once; the unsupported-parameter policy (Reject, Drop, Passthrough) applies to them as to those the wire cannot send |
/// | `max_tokens_field` | `max_tokens_field = "max_completion_tokens"` | OpenAI's rule (`max_completion_tokens` for its reasoning models) | `"max_tokens"` or `"max_completion_tokens"`; only with `dialect = openai` |
/// | `stream_options` | `stream_options = false` | `true`: streams ask for usage with `stream_options` | only `false`, only with `dialect = openai` and `capabilities(stream)` |
/// | `url_vars` | `url_vars(account_id = "CLOUDFLARE_ACCOUNT_ID")` | none | each `{name}` of `base_url` (lowercase names; placeholders may be in the host or the path) is declared once with its SCREAMING_SNAKE_CASE variable, and each declared name is in `base_url`; at run time `with_env()` reads the variable, `.url_var(name, value)` sets it, and an unset one is a `Config` error naming the variable |
/// | `env_headers` | `env_headers("x-portkey-virtual-key" = "PORTKEY_VIRTUAL_KEY")` | none | a header every request needs, its value read from the variable (or `.header(...)`); the header rules of `headers` apply, across both lists; unset is a `Config` error naming the variable |
/// | `models_path` | `models_path = "/v1/models"` | `/models` | a path below the base URL for the model list and the default health probe; not with a native dialect, which has its own |
///
/// Several `#[provider(...)]` attributes on one struct are merged; a key may
/// appear once in all of them.
///
/// # Examples
///
/// A native API, with its own transforms:
///
/// ```ignore
/// use llm_runtime::{Provider, Transform};
///
/// #[derive(Provider)]
/// #[provider(name = "anthropic", base_url = "https://api.anthropic.com/v1",
///            auth(header = "x-api-key"), env = "ANTHROPIC_API_KEY",
///            headers("anthropic-version" = "2023-06-01"),
///            capabilities(chat, stream, tools, vision, reasoning))]
/// pub struct Anthropic;
///
/// impl Transform for Anthropic { /* build_request, parse_response, parse_stream_event, ... */ }
/// ```
///
/// Provider settings, read by the transforms through `&self`:
///
/// ```ignore
/// #[derive(Provider, Default)]
/// #[provider(name = "azure", base_url = "https://example.openai.azure.com/openai",
///            auth(header = "api-key"), env = "AZURE_OPENAI_API_KEY")]
/// pub struct Azure {
///     api_version: String,
/// }
/// ```
#[proc_macro_derive(Provider, attributes(provider))]
pub fn derive_provider(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}

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
#[cfg(test)]
mod reference;
mod symbol;

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
/// schemes, capabilities, dialects and error kinds. Every key, dialect and
/// auth form is named once, in the macro's symbol table; the reference below
/// is generated from it.
///
/// # Generated items
///
/// - `impl Provider for Name` with `const SPEC: ProviderSpec` holding the
///   declaration, `type Wire` (the wire format the runtime calls every
///   `Transform` method through: the dialect with `dialect = ...`, otherwise
///   `Name` itself, whose missing `Transform` impl is reported on the struct),
///   `rewrite_request` when `rewrite = ...` or `rewrite_json = ...` is given
///   (each path coerced to its fn-pointer type, so a hook of another shape
///   is a compile error naming the expected signature), and `map_error` when
///   `error = ...` or `errors(...)` is given (the table a constant the
///   runtime's `ErrorTable::apply` reads);
/// - per declared capability, with a dialect, a compile-time assertion that
///   the dialect serves it (`Transform::SERVES`);
/// - a marker trait impl per declared capability (`SupportsStreaming`,
///   `SupportsTools`, `SupportsVision`, `SupportsReasoning`, `SupportsEmbeddings`);
/// - `type NameConfig = ProviderConfig<Name>`, with the struct's visibility;
/// - `Name::config() -> NameConfig` and `Name::from_env() -> Result<ProviderClient<Name>>`.
///
#[doc = include_str!("reference.md")]
///
/// Several `#[provider(...)]` attributes on one struct are merged; a key may
/// appear once in all of them.
///
/// # Examples
///
/// A native API, with its own transforms:
///
/// ```ignore
/// use llm_runtime::{Provider, provider::Transform};
///
/// #[derive(Provider)]
/// #[provider(name = "anthropic", base_url = "https://api.anthropic.com/v1",
///            auth(header = "x-api-key"), env = "ANTHROPIC_API_KEY",
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

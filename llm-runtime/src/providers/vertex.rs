//! Google Vertex AI: Gemini (the Gemini wire under a publisher path) and
//! Claude (the Anthropic wire through `rawPredict`), with Google OAuth2
//! access tokens.
//!
//! Both are declarations plus one request rewrite. The project and location
//! fill the base URL's placeholders (`GOOGLE_CLOUD_PROJECT`,
//! `GOOGLE_CLOUD_LOCATION`, or `.project(..)` / `.location(..)`); `from_env()`
//! takes tokens from Google's Application Default Credentials
//! ([`GoogleCredentials::from_env`](crate::auth::GoogleCredentials::from_env)).

use std::collections::BTreeMap;

use bytes::Bytes;
use http::HeaderMap;
use serde_json::value::RawValue;

use crate::Provider;
use crate::config::ProviderConfig;
use crate::error::{Error, Result};
use crate::http::path_segment;
use crate::provider::{HttpParts, Operation, RequestContext as Ctx, Transform};
use crate::{dialects::anthropic::AnthropicDialect, dialects::gemini::GeminiDialect};

/// The `anthropic_version` Claude on Vertex AI takes in the body.
const VERTEX_ANTHROPIC_VERSION: &str = "vertex-2023-10-16";

/// Gemini on Vertex AI: `…/publishers/google/models/{model}:generateContent`
/// (and `:streamGenerateContent?alt=sse`) with a Google access token.
///
/// ```no_run
/// # async fn demo() -> llm_runtime::Result<()> {
/// use llm_runtime::{ChatRequest, providers::VertexGemini};
/// // GOOGLE_CLOUD_PROJECT, GOOGLE_CLOUD_LOCATION, and Application Default Credentials.
/// let vertex = VertexGemini::from_env()?;
/// let reply = vertex.chat(ChatRequest::new("gemini-2.5-flash").user("Hello")).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "vertex_gemini",
           base_url = "https://{location}-aiplatform.googleapis.com/v1/projects/{project}/locations/{location}",
           auth = "token", env = "GOOGLE_APPLICATION_CREDENTIALS",
           url_vars(project = "GOOGLE_CLOUD_PROJECT", location = "GOOGLE_CLOUD_LOCATION"),
           capabilities(chat, stream, tools, vision, reasoning, json_mode),
           default_model = "gemini-2.5-flash", dialect = gemini, rewrite = Self::publisher,
           docs = "https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/inference")]
pub struct VertexGemini;

impl VertexGemini {
    /// The Gemini path under the Google publisher (a model given as a
    /// resource of another collection, such as `endpoints/123`, is left
    /// there); the dialect made the model id one path segment.
    fn publisher(&self, mut parts: HttpParts, op: Operation, _ctx: &Ctx<'_>) -> Result<HttpParts> {
        only_chat(op)?;
        if let Some(model) = parts.path.strip_prefix("/models/") {
            parts.path = format!("/publishers/google/models/{model}");
        }
        Ok(parts)
    }
}

/// Claude on Vertex AI: `…/publishers/anthropic/models/{model}:rawPredict`
/// (`:streamRawPredict` streamed), the Messages body with
/// `anthropic_version: "vertex-2023-10-16"` and without `model`.
///
/// ```no_run
/// # async fn demo() -> llm_runtime::Result<()> {
/// use llm_runtime::{ChatRequest, providers::VertexAnthropic};
/// let claude = VertexAnthropic::from_env()?;
/// let reply = claude.chat(ChatRequest::new("claude-sonnet-4-5@20250929").user("Hello")).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "vertex_anthropic",
           base_url = "https://{location}-aiplatform.googleapis.com/v1/projects/{project}/locations/{location}",
           auth = "token", env = "GOOGLE_APPLICATION_CREDENTIALS",
           url_vars(project = "GOOGLE_CLOUD_PROJECT", location = "GOOGLE_CLOUD_LOCATION"),
           capabilities(chat, stream, tools, vision, reasoning),
           default_model = "claude-sonnet-4-5@20250929", dialect = anthropic,
           rewrite = Self::raw_predict, error = Self::vertex_error,
           docs = "https://cloud.google.com/vertex-ai/generative-ai/docs/partner-models/claude")]
pub struct VertexAnthropic;

impl VertexAnthropic {
    /// Vertex's front end refuses in `google.rpc.Status` (401, 403, 429 with
    /// `RetryInfo`), read as Gemini's errors are; Claude itself in Anthropic's shape.
    fn vertex_error(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
        let google = serde_json::from_slice::<serde_json::Value>(body)
            .is_ok_and(|v| v["error"]["status"].is_string());
        if google {
            GeminiDialect.classify_error(status, headers, body)
        } else {
            AnthropicDialect.classify_error(status, headers, body)
        }
    }

    /// `rawPredict` / `streamRawPredict` for the model, and the Vertex body.
    fn raw_predict(&self, mut parts: HttpParts, op: Operation, ctx: &Ctx<'_>) -> Result<HttpParts> {
        only_chat(op)?;
        let model = path_segment(ctx.model, "Vertex AI model id")?;
        let method = if ctx.stream {
            "streamRawPredict"
        } else {
            "rawPredict"
        };
        parts.path = format!("/publishers/anthropic/models/{model}:{method}");
        // Vertex takes the version in the body, not the dialect's header.
        parts
            .headers
            .retain(|(name, _)| name != "anthropic-version");
        let body = parts.body.as_deref().unwrap_or_default();
        // Each top-level field stays the text the dialect wrote: a tool call's
        // `input` goes on exactly as the model sent it (no `Value` round trip).
        let mut body: BTreeMap<String, &RawValue> = serde_json::from_slice(body).map_err(|e| {
            Error::invalid_request(format!("the Messages body is not a JSON object: {e}"))
        })?;
        let version = serde_json::value::to_raw_value(VERTEX_ANTHROPIC_VERSION).map_err(|e| {
            Error::invalid_request(format!("request body could not be serialized: {e}"))
        })?;
        body.remove("model");
        body.insert("anthropic_version".to_owned(), &version);
        let body = serde_json::to_vec(&body).map_err(|e| {
            Error::invalid_request(format!("request body could not be serialized: {e}"))
        })?;
        parts.body = Some(Bytes::from(body));
        Ok(parts)
    }
}

/// Vertex AI's model list is not under the project path: chat only.
fn only_chat(op: Operation) -> Result<()> {
    match op {
        Operation::Chat => Ok(()),
        _ => Err(Error::unsupported(
            "Vertex AI serves chat here; list publisher models with `gcloud ai model-garden models list`",
        )),
    }
}

macro_rules! vertex_settings {
    ($($ty:ident),*) => {$(
        impl ProviderConfig<$ty> {
            /// The Google Cloud project (the `{project}` of the base URL).
            #[must_use]
            pub fn project(self, project: impl Into<String>) -> Self {
                self.url_var("project", project)
            }

            /// The location (`us-central1`, `europe-west4`, or `global`, whose
            /// host is `aiplatform.googleapis.com`: the declared URL is chosen
            /// when the client is built, so the order of the calls does not matter).
            #[must_use]
            pub fn location(self, location: impl Into<String>) -> Self {
                self.url_var("location", location)
            }
        }
    )*};
}

vertex_settings!(VertexGemini, VertexAnthropic);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::StaticToken;
    use std::sync::Arc;

    fn base(config: ProviderConfig<VertexGemini>) -> String {
        config
            .token_source(Arc::new(StaticToken::new("t0ken")))
            .connect()
            .map(|c| crate::LlmProvider::info(&c).base_url.clone())
            .unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn regional_and_global_hosts() {
        assert_eq!(
            base(
                VertexGemini::config()
                    .project("p-1")
                    .location("europe-west4")
            ),
            "https://europe-west4-aiplatform.googleapis.com/v1/projects/p-1/locations/europe-west4"
        );
        assert_eq!(
            base(VertexGemini::config().project("p-1").location("global")),
            "https://aiplatform.googleapis.com/v1/projects/p-1/locations/global"
        );
        let missing = base(VertexGemini::config());
        assert!(missing.contains("GOOGLE_CLOUD_PROJECT"), "{missing}");
        assert!(missing.contains("GOOGLE_CLOUD_LOCATION"), "{missing}");
    }
}

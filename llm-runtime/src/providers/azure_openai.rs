//! Azure OpenAI: the OpenAI wire format with the deployment in the path, an
//! `api-version` query parameter and an `api-key` header.

use crate::Provider;
use crate::dialects::OpenAiDialect;
use crate::error::Result;
use crate::provider::{Control, Frame, HttpParts, RequestContext, Transform};
use crate::types::{ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, StreamEvent};

/// Azure OpenAI (`AZURE_OPENAI_API_KEY`, `AZURE_OPENAI_ENDPOINT` =
/// `https://<resource>.openai.azure.com/openai`, required: the declared base
/// URL is a placeholder on the reserved `.invalid` TLD). The request's model is
/// the deployment name.
#[derive(Debug, Clone, Provider)]
#[provider(
    name = "azure_openai",
    base_url = "https://your-resource.invalid/openai",
    auth(header = "api-key"),
    env = "AZURE_OPENAI_API_KEY",
    base_url_env = "AZURE_OPENAI_ENDPOINT",
    capabilities(chat, stream, tools, vision, reasoning, embeddings, json_mode)
)]
pub struct AzureOpenAi {
    /// The `api-version` query parameter.
    pub api_version: String,
}

impl Default for AzureOpenAi {
    fn default() -> Self {
        AzureOpenAi {
            api_version: "2024-10-21".to_owned(),
        }
    }
}

impl AzureOpenAi {
    fn deployment_path(&self, deployment: &str, endpoint: &str, mut parts: HttpParts) -> HttpParts {
        parts.path = format!("/deployments/{deployment}{endpoint}");
        parts.query("api-version", self.api_version.clone())
    }
}

impl Transform for AzureOpenAi {
    type StreamState = <OpenAiDialect as Transform>::StreamState;

    fn build_request(&self, request: &ChatRequest, ctx: &RequestContext<'_>) -> Result<HttpParts> {
        let parts = OpenAiDialect.build_request(request, ctx)?;
        Ok(self.deployment_path(ctx.model, "/chat/completions", parts))
    }

    fn parse_response(&self, body: &[u8], ctx: &RequestContext<'_>) -> Result<ChatResponse> {
        OpenAiDialect.parse_response(body, ctx)
    }

    fn parse_stream_event(
        &self,
        frame: &Frame,
        state: &mut Self::StreamState,
        out: &mut Vec<StreamEvent>,
    ) -> Result<Control> {
        OpenAiDialect.parse_stream_event(frame, state, out)
    }

    fn unsupported_params(&self, request: &ChatRequest) -> Vec<&'static str> {
        OpenAiDialect.unsupported_params(request)
    }

    fn build_embedding_request(
        &self,
        request: &EmbeddingRequest,
        ctx: &RequestContext<'_>,
    ) -> Result<HttpParts> {
        let parts = OpenAiDialect.build_embedding_request(request, ctx)?;
        Ok(self.deployment_path(&request.model, "/embeddings", parts))
    }

    fn parse_embedding_response(
        &self,
        body: &[u8],
        ctx: &RequestContext<'_>,
    ) -> Result<EmbeddingResponse> {
        OpenAiDialect.parse_embedding_response(body, ctx)
    }

    fn models_request(&self, _ctx: &RequestContext<'_>) -> Result<HttpParts> {
        Ok(HttpParts::get("/models").query("api-version", self.api_version.clone()))
    }
}

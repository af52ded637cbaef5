//! Azure OpenAI: the OpenAI wire format with the deployment in the path, an
//! `api-version` query parameter and an `api-key` header.

use crate::http::path_segment;
use crate::provider::{HttpParts, Operation, RequestContext as Ctx};
use crate::{Provider, Result};

/// Azure OpenAI (`AZURE_OPENAI_API_KEY`, `AZURE_OPENAI_ENDPOINT` =
/// `https://<resource>.openai.azure.com/openai`, required: the declared base
/// URL is a placeholder on the reserved `.invalid` TLD). The request's model is
/// the deployment name.
#[derive(Debug, Clone, Provider)]
#[provider(name = "azure_openai", docs = "https://learn.microsoft.com/azure/ai-foundry/openai/reference",
           base_url = "https://your-resource.invalid/openai",
           auth(header = "api-key"), env = "AZURE_OPENAI_API_KEY", base_url_env = "AZURE_OPENAI_ENDPOINT",
           capabilities(chat, stream, tools, vision, reasoning, embeddings, json_mode, images, speech, transcription),
           dialect = openai, rewrite = Self::deployment)]
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
    /// `/deployments/{model}` (one [`path_segment`]) before the OpenAI path (not for the model list), and `api-version`.
    fn deployment(&self, mut parts: HttpParts, op: Operation, ctx: &Ctx<'_>) -> Result<HttpParts> {
        if op != Operation::Models {
            let deployment = path_segment(ctx.model, "Azure OpenAI deployment")?;
            parts.path = format!("/deployments/{deployment}{}", parts.path);
        }
        Ok(parts.query("api-version", self.api_version.clone()))
    }
}

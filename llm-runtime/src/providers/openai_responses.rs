//! OpenAI's Responses API, at OpenAI and at Azure OpenAI: the
//! `openai_responses` dialect, stateless (`store: false`, reasoning sent back
//! encrypted) unless the request asks for server state.

use crate::provider::{HttpParts, Operation, RequestContext as Ctx};
use crate::{Provider, Result};

/// OpenAI through the Responses API (`OPENAI_API_KEY`, `OPENAI_BASE_URL`):
/// the same key and models as [`OpenAi`](crate::providers::OpenAi), on
/// `POST /responses`, where OpenAI's newest models and features are.
///
/// ```
/// use llm_runtime::providers::OpenAiResponses;
/// let client = OpenAiResponses::config().api_key("sk-test").connect().unwrap();
/// # let _ = client;
/// ```
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "openai_responses", base_url = "https://api.openai.com/v1", auth = "bearer",
           env = "OPENAI_API_KEY", base_url_env = "OPENAI_BASE_URL", default_model = "gpt-5-mini",
           docs = "https://platform.openai.com/docs/api-reference/responses",
           capabilities(chat, stream, tools, vision, reasoning, json_mode), dialect = openai_responses)]
pub struct OpenAiResponses;

/// Azure OpenAI through the Responses API (`AZURE_OPENAI_API_KEY`,
/// `AZURE_OPENAI_ENDPOINT` = `https://<resource>.openai.azure.com/openai`,
/// required: the declared base URL is a placeholder on the reserved
/// `.invalid` TLD). Requests go to the v1 API, `/openai/v1/responses`, with
/// the deployment name as the request's model; `api_version` adds an
/// `api-version` query parameter (`"preview"` for preview features).
#[derive(Debug, Clone, Default, Provider)]
#[provider(name = "azure_openai_responses", base_url = "https://your-resource.invalid/openai",
           auth(header = "api-key"), env = "AZURE_OPENAI_API_KEY", base_url_env = "AZURE_OPENAI_ENDPOINT",
           docs = "https://learn.microsoft.com/en-us/azure/ai-foundry/openai/how-to/responses",
           capabilities(chat, stream, tools, vision, reasoning, json_mode),
           dialect = openai_responses, rewrite = Self::v1)]
pub struct AzureOpenAiResponses {
    /// The `api-version` query parameter, if any (the v1 API needs none).
    pub api_version: Option<String>,
}

impl AzureOpenAiResponses {
    /// `/v1` before the Responses path (the model list too), and `api-version` when set.
    fn v1(&self, mut parts: HttpParts, _op: Operation, _ctx: &Ctx<'_>) -> Result<HttpParts> {
        parts.path = format!("/v1{}", parts.path);
        Ok(match &self.api_version {
            Some(version) => parts.query("api-version", version.clone()),
            None => parts,
        })
    }
}

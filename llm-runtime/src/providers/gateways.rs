//! Routers, gateways and cloud data platforms on OpenAI's chat-completions
//! format, including the account- and workspace-scoped ones whose base URL
//! has a `{placeholder}` filled from a variable (`url_vars(...)`).
//!
//! Each doc comment names the page read and when.

use crate::Provider;

/// Hugging Face Inference Providers, the router in front of many hosts (`HF_TOKEN`, a
/// fine-grained token allowed to call Inference Providers); `model:provider` picks a host.
/// Source: <https://huggingface.co/docs/inference-providers/index>, read 2026-12-01.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "huggingface", base_url = "https://router.huggingface.co/v1", auth = "bearer",
           env = "HF_TOKEN", docs = "https://huggingface.co/docs/inference-providers/index",
           capabilities(chat, stream, tools, vision, json_mode), dialect = openai)]
pub struct HuggingFace;

/// Vercel AI Gateway (`AI_GATEWAY_API_KEY`); model ids look like `openai/gpt-5`.
/// Source: <https://vercel.com/docs/ai-gateway/openai-compat>, read 2026-12-01.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "vercel", base_url = "https://ai-gateway.vercel.sh/v1", auth = "bearer",
           env = "AI_GATEWAY_API_KEY", docs = "https://vercel.com/docs/ai-gateway/openai-compat",
           capabilities(chat, stream, tools, vision, reasoning, embeddings, json_mode), dialect = openai)]
pub struct VercelAiGateway;

/// GitHub Models (`GITHUB_TOKEN`, a token with the `models` scope); ids look like `openai/gpt-4.1`.
/// Its model catalog is `https://models.github.ai/catalog/models`, outside the base URL, so
/// `list_models` does not reach it. Source: <https://docs.github.com/en/github-models/quickstart>, read 2026-12-01.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "github_models", base_url = "https://models.github.ai/inference", auth = "bearer",
           env = "GITHUB_TOKEN", headers("x-github-api-version" = "2022-11-28"),
           docs = "https://docs.github.com/en/github-models", capabilities(chat, stream, tools, vision, json_mode), dialect = openai)]
pub struct GitHubModels;

/// Cloudflare Workers AI (`CLOUDFLARE_API_KEY` and `CLOUDFLARE_ACCOUNT_ID`, as in Cloudflare's
/// example); ids look like `@cf/meta/llama-3.1-8b-instruct`. Tools not confirmed for the OpenAI endpoints.
/// Source: <https://developers.cloudflare.com/workers-ai/configuration/open-ai-compatibility/>, read 2026-12-01.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "cloudflare", base_url = "https://api.cloudflare.com/client/v4/accounts/{account_id}/ai/v1",
           auth = "bearer", env = "CLOUDFLARE_API_KEY", url_vars(account_id = "CLOUDFLARE_ACCOUNT_ID"),
           docs = "https://developers.cloudflare.com/workers-ai/configuration/open-ai-compatibility/",
           capabilities(chat, stream, embeddings), dialect = openai)]
pub struct CloudflareWorkersAi;

/// Databricks Model Serving (`DATABRICKS_TOKEN`, `DATABRICKS_WORKSPACE` = the `<workspace>` of
/// `https://<workspace>.cloud.databricks.com`, an AWS workspace); an Azure or GCP workspace sets the
/// whole URL in `DATABRICKS_BASE_URL`. The model is the serving endpoint's name. The variable names
/// for the workspace and base URL are this crate's. Source:
/// <https://docs.databricks.com/gcp/en/machine-learning/model-serving/score-chat-models>, read 2026-12-01.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "databricks", base_url = "https://{workspace}.cloud.databricks.com/serving-endpoints",
           auth = "bearer", env = "DATABRICKS_TOKEN", url_vars(workspace = "DATABRICKS_WORKSPACE"),
           base_url_env = "DATABRICKS_BASE_URL", docs = "https://docs.databricks.com/aws/en/machine-learning/model-serving/",
           capabilities(chat, stream, tools, embeddings, json_mode), dialect = openai)]
pub struct Databricks;

/// Snowflake Cortex Chat Completions API (`SNOWFLAKE_PAT`, a programmatic access token, and
/// `SNOWFLAKE_ACCOUNT`, the account identifier); both variable names are this crate's, Snowflake
/// names none. Source: <https://docs.snowflake.com/user-guide/snowflake-cortex/open_ai_sdk>, read 2026-12-01.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "snowflake", base_url = "https://{account}.snowflakecomputing.com/api/v2/cortex/v1",
           auth = "bearer", env = "SNOWFLAKE_PAT", url_vars(account = "SNOWFLAKE_ACCOUNT"),
           docs = "https://docs.snowflake.com/user-guide/snowflake-cortex/open_ai_sdk",
           capabilities(chat, stream, tools, json_mode), dialect = openai)]
pub struct SnowflakeCortex;

/// Voyage AI embeddings (`VOYAGE_API_KEY`), no chat. The OpenAI embeddings body this crate
/// sends (`encoding_format: "float"`, `dimensions`) is not confirmed against Voyage's reference,
/// which names `output_dimension`. Source: Voyage's SDK docs (default base URL), read 2026-12-01.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "voyage", base_url = "https://api.voyageai.com/v1", auth = "bearer",
           env = "VOYAGE_API_KEY", docs = "https://docs.voyageai.com/reference/embeddings-api",
           capabilities(embeddings, rerank), dialect = openai, rewrite_json = crate::dialects::operation_wire::rerank_top_k)]
pub struct Voyage;

/// Jina AI embeddings (`JINA_API_KEY`), no chat: an OpenAI-compatible `/v1/embeddings`.
/// Source: semantic-router's Jina encoder reference (OpenAI SDK on `https://api.jina.ai/v1`), read 2026-12-01.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "jina", base_url = "https://api.jina.ai/v1", auth = "bearer",
           env = "JINA_API_KEY", docs = "https://jina.ai/embeddings/",
           capabilities(embeddings, rerank), dialect = openai)]
pub struct Jina;

//! Hosted inference platforms serving open-weight models on OpenAI's
//! chat-completions format: declarations only, no transform code.
//!
//! Each doc comment names the page its base URL, key variable and
//! capabilities were read from, and when; what that page did not say is
//! marked "not confirmed".

use crate::Provider;

/// DeepInfra (`DEEPINFRA_API_KEY`): the OpenAI API is under `/v1/openai`, not `/v1`.
/// Source: <https://deepinfra.com/docs/advanced/openai_api>, read 2026-12-01 (the key
/// variable's name is the one LiteLLM and OpenClaw use; DeepInfra's page only says "token").
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "deepinfra", base_url = "https://api.deepinfra.com/v1/openai", auth = "bearer",
           env = "DEEPINFRA_API_KEY", docs = "https://deepinfra.com/docs/advanced/openai_api",
           capabilities(chat, stream, tools, vision, embeddings, json_mode), dialect = openai)]
pub struct DeepInfra;

/// SambaNova Cloud (`SAMBANOVA_API_KEY`).
/// Source: <https://docs.sambanova.ai/docs/en/features/openai-compatibility>, read 2026-12-01
/// (the base URL is on SambaNova's "API keys and URLs" page, confirmed through Pipecat's docs).
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "sambanova", base_url = "https://api.sambanova.ai/v1", auth = "bearer",
           env = "SAMBANOVA_API_KEY", docs = "https://docs.sambanova.ai/docs/en/features/openai-compatibility",
           capabilities(chat, stream, tools, vision, embeddings, json_mode), dialect = openai)]
pub struct SambaNova;

/// NVIDIA NIM on the API catalog (`NVIDIA_API_KEY`); self-hosted NIM containers speak
/// the same API at their own URL (`NVIDIA_NIM_BASE_URL`).
/// Source: <https://build.nvidia.com/> (API catalog docs), read 2026-12-01.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "nvidia_nim", base_url = "https://integrate.api.nvidia.com/v1", auth = "bearer",
           env = "NVIDIA_API_KEY", base_url_env = "NVIDIA_NIM_BASE_URL", docs = "https://docs.api.nvidia.com/nim/reference/",
           capabilities(chat, stream, tools, vision, embeddings, json_mode), dialect = openai)]
pub struct NvidiaNim;

/// Baseten Model APIs (`BASETEN_API_KEY`); dedicated deployments have their own URL.
/// Source: <https://docs.baseten.co/quickstart>, read 2026-12-01.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "baseten", base_url = "https://inference.baseten.co/v1", auth = "bearer",
           env = "BASETEN_API_KEY", docs = "https://docs.baseten.co/quickstart",
           capabilities(chat, stream, tools, json_mode), dialect = openai)]
pub struct Baseten;

/// Novita AI (`NOVITA_API_KEY`).
/// Source: <https://novita.ai/docs/guides/llm-api>, read 2026-12-01 through Promptfoo's and
/// OpenClaw's provider pages (`/openai/v1`); not confirmed on Novita's own page, and older
/// integrations use `https://api.novita.ai/v3/openai`.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "novita", base_url = "https://api.novita.ai/openai/v1", auth = "bearer",
           env = "NOVITA_API_KEY", docs = "https://novita.ai/docs/guides/llm-api",
           capabilities(chat, stream, tools, json_mode), dialect = openai)]
pub struct Novita;

/// Hyperbolic (`HYPERBOLIC_API_KEY`).
/// Source: Hyperbolic's API examples (`https://api.hyperbolic.xyz/v1/chat/completions`) as
/// quoted by Helicone's and Rig's docs, read 2026-12-01; tool support not confirmed.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "hyperbolic", base_url = "https://api.hyperbolic.xyz/v1", auth = "bearer",
           env = "HYPERBOLIC_API_KEY", docs = "https://docs.hyperbolic.xyz/",
           capabilities(chat, stream, vision), dialect = openai)]
pub struct Hyperbolic;

/// Nebius Token Factory, formerly AI Studio (`NEBIUS_API_KEY`).
/// Source: <https://docs.tokenfactory.nebius.com/api-reference/introduction>, read 2026-12-01.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "nebius", base_url = "https://api.tokenfactory.nebius.com/v1", auth = "bearer",
           env = "NEBIUS_API_KEY", docs = "https://docs.tokenfactory.nebius.com/api-reference/introduction",
           capabilities(chat, stream, tools, vision, embeddings, json_mode), dialect = openai)]
pub struct Nebius;

/// Featherless (`FEATHERLESS_API_KEY`).
/// Source: <https://featherless.ai/docs/overview>; not re-read on 2026-12-01 (base URL and
/// variable from LiteLLM's provider list); tools and vision not confirmed, so not declared.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "featherless", base_url = "https://api.featherless.ai/v1", auth = "bearer",
           env = "FEATHERLESS_API_KEY", docs = "https://featherless.ai/docs/overview",
           capabilities(chat, stream), dialect = openai)]
pub struct Featherless;

/// Scaleway Generative APIs (`SCW_SECRET_KEY`); a project-scoped URL is
/// `https://api.scaleway.ai/<project_id>/v1` (`SCALEWAY_BASE_URL`).
/// Source: <https://www.scaleway.com/en/docs/generative-apis/api-cli/using-generative-apis/>, read 2026-12-01.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "scaleway", base_url = "https://api.scaleway.ai/v1", auth = "bearer", env = "SCW_SECRET_KEY",
           base_url_env = "SCALEWAY_BASE_URL", docs = "https://www.scaleway.com/en/docs/generative-apis/",
           capabilities(chat, stream, tools, vision, embeddings, json_mode), dialect = openai)]
pub struct Scaleway;

/// OVHcloud AI Endpoints (`OVH_AI_ENDPOINTS_ACCESS_TOKEN`). The free, rate-limited tier
/// without a key is not reachable through this declaration (it always sends one).
/// Source: <https://endpoints.ai.cloud.ovh.net/> via Docker's and Strands' provider docs, read 2026-12-01.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "ovhcloud", base_url = "https://oai.endpoints.kepler.ai.cloud.ovh.net/v1", auth = "bearer",
           env = "OVH_AI_ENDPOINTS_ACCESS_TOKEN", docs = "https://endpoints.ai.cloud.ovh.net/",
           capabilities(chat, stream, tools, json_mode), dialect = openai)]
pub struct OvhCloud;

/// FriendliAI serverless endpoints (`FRIENDLI_TOKEN`, confirmed by Friendli's client docs).
/// Source: <https://friendli.ai/docs/guides/serverless_endpoints/openai-compatibility>, read
/// 2026-12-01; the `/serverless/v1` base URL itself is not confirmed there.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "friendli", base_url = "https://api.friendli.ai/serverless/v1", auth = "bearer",
           env = "FRIENDLI_TOKEN", docs = "https://friendli.ai/docs/guides/serverless_endpoints/openai-compatibility",
           capabilities(chat, stream, tools, json_mode), dialect = openai)]
pub struct Friendli;

/// SiliconFlow, international endpoint (`SILICONFLOW_API_KEY`; `api.siliconflow.cn` in mainland China).
/// Source: <https://docs.siliconflow.com/en/api-reference/chat-completions/chat-completions>;
/// not re-read on 2026-12-01 (not confirmed).
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "siliconflow", base_url = "https://api.siliconflow.com/v1", auth = "bearer",
           env = "SILICONFLOW_API_KEY", docs = "https://docs.siliconflow.com/",
           capabilities(chat, stream, tools, embeddings, json_mode), dialect = openai)]
pub struct SiliconFlow;

/// Nscale serverless inference (`NSCALE_API_KEY`).
/// Source: LiteLLM's Nscale page (listed next to NVIDIA NIM), read 2026-12-01; the base URL
/// and variable are not confirmed on Nscale's own docs.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "nscale", base_url = "https://inference.api.nscale.com/v1", auth = "bearer",
           env = "NSCALE_API_KEY", docs = "https://docs.nscale.com/",
           capabilities(chat, stream), dialect = openai)]
pub struct Nscale;

/// Weights & Biases Inference (`WANDB_API_KEY`).
/// Source: <https://docs.wandb.ai/inference/>; not re-read on 2026-12-01 (not confirmed).
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "wandb", base_url = "https://api.inference.wandb.ai/v1", auth = "bearer",
           env = "WANDB_API_KEY", docs = "https://docs.wandb.ai/inference/",
           capabilities(chat, stream, tools, json_mode), dialect = openai)]
pub struct WandbInference;

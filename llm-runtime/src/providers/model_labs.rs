//! Model makers' own APIs on OpenAI's chat-completions format (Moonshot,
//! Qwen, GLM, MiniMax, Mercury, Solar, Jamba, Llama...): declarations only.
//!
//! Each doc comment names the page read and when; what it did not say is
//! marked "not confirmed".

use crate::Provider;

/// Moonshot AI's Kimi API, global endpoint (`MOONSHOT_API_KEY`; `api.moonshot.cn` in China).
/// Source: <https://platform.moonshot.ai/docs/api>, read 2026-12-01 through Docker's and
/// Jambonz's provider pages.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "moonshot", base_url = "https://api.moonshot.ai/v1", auth = "bearer",
           env = "MOONSHOT_API_KEY", docs = "https://platform.moonshot.ai/docs/api",
           capabilities(chat, stream, tools, vision, reasoning, json_mode), dialect = openai)]
pub struct Moonshot;

/// Alibaba Cloud Model Studio (DashScope, Qwen), international endpoint (`DASHSCOPE_API_KEY`;
/// mainland China is `dashscope.aliyuncs.com`, set `DASHSCOPE_BASE_URL`).
/// Source: <https://www.alibabacloud.com/help/en/model-studio/compatibility-of-openai-with-dashscope>, read 2026-12-01.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "dashscope", base_url = "https://dashscope-intl.aliyuncs.com/compatible-mode/v1", auth = "bearer",
           env = "DASHSCOPE_API_KEY", base_url_env = "DASHSCOPE_BASE_URL", docs = "https://www.alibabacloud.com/help/en/model-studio/",
           capabilities(chat, stream, tools, vision, reasoning, embeddings, json_mode), dialect = openai)]
pub struct DashScope;

/// Z.ai (GLM), general endpoint (`ZAI_API_KEY`; Coding Plan subscribers use `/api/coding/paas/v4`).
/// Source: <https://docs.z.ai/guides/develop/http/introduction>, read 2026-12-01.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "zai", base_url = "https://api.z.ai/api/paas/v4", auth = "bearer",
           env = "ZAI_API_KEY", docs = "https://docs.z.ai/guides/develop/http/introduction",
           capabilities(chat, stream, tools, vision, reasoning, json_mode), dialect = openai)]
pub struct Zai;

/// Zhipu AI BigModel, the mainland-China GLM platform (`ZHIPUAI_API_KEY`).
/// Source: <https://docs.bigmodel.cn/>; not re-read on 2026-12-01 (the same API shape as Z.ai's
/// `/api/paas/v4`; not confirmed).
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "zhipu", base_url = "https://open.bigmodel.cn/api/paas/v4", auth = "bearer",
           env = "ZHIPUAI_API_KEY", docs = "https://docs.bigmodel.cn/",
           capabilities(chat, stream, tools, vision, reasoning, json_mode), dialect = openai)]
pub struct Zhipu;

/// MiniMax, international platform (`MINIMAX_API_KEY`; `api.minimaxi.com` in China). MiniMax
/// marks `max_tokens` deprecated, and its schema has no `seed`, `response_format` or
/// `tool_choice`: those are unsupported parameters here (Reject by default).
/// Source: <https://platform.minimax.io/docs/api-reference/text-openai-api>, read 2026-12-01; the
/// parameter list is AgentScope's reading of MiniMax's schema, not confirmed on MiniMax's page.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "minimax", base_url = "https://api.minimax.io/v1", auth = "bearer", env = "MINIMAX_API_KEY",
           docs = "https://platform.minimax.io/docs/api-reference/text-openai-api",
           max_tokens_field = "max_completion_tokens", unsupported(seed, response_format, tool_choice),
           capabilities(chat, stream, tools, reasoning), dialect = openai)]
pub struct MiniMax;

/// Inception Labs' Mercury diffusion models (`INCEPTION_API_KEY`).
/// Source: <https://docs.inceptionlabs.ai/>, read 2026-12-01 through LiteLLM's and Agno's pages.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "inception", base_url = "https://api.inceptionlabs.ai/v1", auth = "bearer",
           env = "INCEPTION_API_KEY", docs = "https://docs.inceptionlabs.ai/",
           capabilities(chat, stream, tools, json_mode), dialect = openai)]
pub struct Inception;

/// Upstage Solar (`UPSTAGE_API_KEY`).
/// Source: <https://console.upstage.ai/docs/capabilities/chat>; not re-read on 2026-12-01 (not confirmed).
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "upstage", base_url = "https://api.upstage.ai/v1", auth = "bearer",
           env = "UPSTAGE_API_KEY", docs = "https://console.upstage.ai/docs/",
           capabilities(chat, stream, tools, embeddings, json_mode), dialect = openai)]
pub struct Upstage;

/// AI21 Jamba (`AI21_API_KEY`), whose chat API is OpenAI-shaped under `/studio/v1`.
/// Source: <https://docs.ai21.com/reference/jamba-1-6-api-ref>; not re-read on 2026-12-01 (not confirmed).
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "ai21", base_url = "https://api.ai21.com/studio/v1", auth = "bearer",
           env = "AI21_API_KEY", docs = "https://docs.ai21.com/",
           capabilities(chat, stream, tools, json_mode), dialect = openai)]
pub struct Ai21;

/// Venice AI (`VENICE_API_KEY`).
/// Source: <https://docs.venice.ai/api-reference/api-spec>; not re-read on 2026-12-01 (not confirmed).
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "venice", base_url = "https://api.venice.ai/api/v1", auth = "bearer",
           env = "VENICE_API_KEY", docs = "https://docs.venice.ai/",
           capabilities(chat, stream, tools, vision, json_mode), dialect = openai)]
pub struct Venice;

/// Meta's Llama API, OpenAI-compatibility endpoint (`LLAMA_API_KEY`).
/// Source: <https://llama.developer.meta.com/docs/features/compatibility/>; not re-read on
/// 2026-12-01 (not confirmed).
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "llama_api", base_url = "https://api.llama.com/compat/v1", auth = "bearer",
           env = "LLAMA_API_KEY", docs = "https://llama.developer.meta.com/docs/",
           capabilities(chat, stream, tools, vision, json_mode), dialect = openai)]
pub struct LlamaApi;

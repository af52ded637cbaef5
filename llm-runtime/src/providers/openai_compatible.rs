//! OpenAI and the providers that speak its chat-completions format: no transform code.

use crate::Provider;

/// OpenAI (`OPENAI_API_KEY`, `OPENAI_BASE_URL`).
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "openai", docs = "https://platform.openai.com/docs/api-reference/chat",
           base_url = "https://api.openai.com/v1", auth = "bearer",
           env = "OPENAI_API_KEY", base_url_env = "OPENAI_BASE_URL", default_model = "gpt-4o-mini",
           capabilities(chat, stream, tools, vision, reasoning, embeddings, json_mode, images, speech,
                        transcription, moderation, batch), dialect = openai)]
pub struct OpenAi;

/// Mistral La Plateforme (`MISTRAL_API_KEY`).
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "mistral", docs = "https://docs.mistral.ai/api/",
           base_url = "https://api.mistral.ai/v1", auth = "bearer", env = "MISTRAL_API_KEY",
           default_model = "mistral-small-latest", capabilities(chat, stream, tools, vision, embeddings, json_mode), dialect = openai)]
pub struct Mistral;

/// Groq (`GROQ_API_KEY`).
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "groq", docs = "https://console.groq.com/docs/openai",
           base_url = "https://api.groq.com/openai/v1", auth = "bearer", env = "GROQ_API_KEY",
           default_model = "llama-3.3-70b-versatile",
           capabilities(chat, stream, tools, json_mode, transcription), dialect = openai)]
pub struct Groq;

/// DeepSeek (`DEEPSEEK_API_KEY`); `deepseek-reasoner` streams `reasoning_content`.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "deepseek", docs = "https://api-docs.deepseek.com/",
           base_url = "https://api.deepseek.com/v1", auth = "bearer", env = "DEEPSEEK_API_KEY",
           default_model = "deepseek-chat", capabilities(chat, stream, tools, reasoning, json_mode), dialect = openai)]
pub struct DeepSeek;

/// Together AI (`TOGETHER_API_KEY`).
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "together", docs = "https://docs.together.ai/docs/openai-api-compatibility",
           base_url = "https://api.together.xyz/v1", auth = "bearer", env = "TOGETHER_API_KEY",
           capabilities(chat, stream, tools, vision, embeddings, json_mode, images, rerank), dialect = openai)]
pub struct Together;

/// Fireworks AI (`FIREWORKS_API_KEY`).
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "fireworks", docs = "https://docs.fireworks.ai/tools-sdks/openai-compatibility",
           base_url = "https://api.fireworks.ai/inference/v1", auth = "bearer",
           env = "FIREWORKS_API_KEY", capabilities(chat, stream, tools, vision, embeddings, json_mode), dialect = openai)]
pub struct Fireworks;

/// OpenRouter (`OPENROUTER_API_KEY`): model ids look like `anthropic/claude-sonnet-4.5`.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "openrouter", docs = "https://openrouter.ai/docs/api-reference/overview",
           base_url = "https://openrouter.ai/api/v1", auth = "bearer", env = "OPENROUTER_API_KEY",
           capabilities(chat, stream, tools, vision, reasoning, json_mode), dialect = openai)]
pub struct OpenRouter;

/// xAI Grok (`XAI_API_KEY`).
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "xai", docs = "https://docs.x.ai/docs/api-reference",
           base_url = "https://api.x.ai/v1", auth = "bearer", env = "XAI_API_KEY",
           default_model = "grok-4", capabilities(chat, stream, tools, vision, reasoning, json_mode), dialect = openai)]
pub struct Xai;

/// Perplexity (`PERPLEXITY_API_KEY`).
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "perplexity", docs = "https://docs.perplexity.ai/api-reference/chat-completions-post",
           base_url = "https://api.perplexity.ai", auth = "bearer", env = "PERPLEXITY_API_KEY",
           default_model = "sonar", capabilities(chat, stream, json_mode), health = "GET /models", dialect = openai)]
pub struct Perplexity;

/// Cerebras (`CEREBRAS_API_KEY`).
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "cerebras", docs = "https://inference-docs.cerebras.ai/api-reference/chat-completions",
           base_url = "https://api.cerebras.ai/v1", auth = "bearer", env = "CEREBRAS_API_KEY",
           default_model = "llama3.1-8b", capabilities(chat, stream, tools, json_mode), dialect = openai)]
pub struct Cerebras;

/// Any OpenAI-compatible server (vLLM, LM Studio, llama.cpp server...):
/// `OPENAI_COMPATIBLE_BASE_URL` and `OPENAI_COMPATIBLE_API_KEY` (any non-empty
/// value for servers that check none).
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "openai_compatible", base_url = "http://localhost:8000/v1", auth = "bearer",
           env = "OPENAI_COMPATIBLE_API_KEY", base_url_env = "OPENAI_COMPATIBLE_BASE_URL",
           capabilities(chat, stream, tools, vision, embeddings, json_mode), dialect = openai)]
pub struct OpenAiCompatible;

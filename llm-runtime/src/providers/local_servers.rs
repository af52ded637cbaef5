//! Local model servers with an OpenAI-compatible endpoint: no key
//! (`auth = "none"`), a loopback default and a base-URL variable, which is
//! also what makes [`Client::from_env`](crate::Client::from_env) register one.
//! The variable names are this crate's (the servers define none). A server
//! started with an API key takes it as `.header("authorization", "Bearer ...")`,
//! or use [`OpenAiCompatible`](super::OpenAiCompatible).
//!
//! Each doc comment names the page its default address was read from, and when.

use crate::Provider;

/// vLLM's OpenAI-compatible server (`vllm serve`, port 8000; `VLLM_BASE_URL`).
/// Source: <https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html>; not re-read on 2026-12-01.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "vllm", base_url = "http://localhost:8000/v1", auth = "none", base_url_env = "VLLM_BASE_URL",
           docs = "https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html",
           capabilities(chat, stream, tools, vision, reasoning, embeddings, json_mode), dialect = openai)]
pub struct Vllm;

/// SGLang's OpenAI-compatible server (port 30000; `SGLANG_BASE_URL`).
/// Source: <https://docs.sglang.ai/basic_usage/openai_api.html>; not re-read on 2026-12-01.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "sglang", base_url = "http://localhost:30000/v1", auth = "none", base_url_env = "SGLANG_BASE_URL",
           docs = "https://docs.sglang.ai/basic_usage/openai_api.html",
           capabilities(chat, stream, tools, vision, reasoning, embeddings, json_mode), dialect = openai)]
pub struct SgLang;

/// llama.cpp's `llama-server` (port 8080; `LLAMACPP_BASE_URL`).
/// Source: <https://github.com/ggml-org/llama.cpp/tree/master/tools/server>; not re-read on 2026-12-01.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "llamacpp", base_url = "http://localhost:8080/v1", auth = "none", base_url_env = "LLAMACPP_BASE_URL",
           docs = "https://github.com/ggml-org/llama.cpp/tree/master/tools/server",
           capabilities(chat, stream, tools, vision, embeddings, json_mode), dialect = openai)]
pub struct LlamaCpp;

/// llamafile's built-in server (llama.cpp's, port 8080; `LLAMAFILE_BASE_URL`).
/// Source: <https://github.com/mozilla-ai/llamafile>; not re-read on 2026-12-01.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "llamafile", base_url = "http://localhost:8080/v1", auth = "none", base_url_env = "LLAMAFILE_BASE_URL",
           docs = "https://github.com/mozilla-ai/llamafile", capabilities(chat, stream, embeddings), dialect = openai)]
pub struct Llamafile;

/// LM Studio's local server (port 1234; `LMSTUDIO_BASE_URL`).
/// Source: <https://lmstudio.ai/docs/app/api/endpoints/openai>; not re-read on 2026-12-01.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "lmstudio", base_url = "http://localhost:1234/v1", auth = "none", base_url_env = "LMSTUDIO_BASE_URL",
           docs = "https://lmstudio.ai/docs/app/api/endpoints/openai",
           capabilities(chat, stream, tools, vision, embeddings, json_mode), dialect = openai)]
pub struct LmStudio;

/// LocalAI (port 8080; `LOCALAI_BASE_URL`).
/// Source: <https://localai.io/docs/features/text-generation/>, read 2026-12-01.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "localai", base_url = "http://localhost:8080/v1", auth = "none", base_url_env = "LOCALAI_BASE_URL",
           docs = "https://localai.io/docs/features/text-generation/",
           capabilities(chat, stream, tools, vision, embeddings, json_mode), dialect = openai)]
pub struct LocalAi;

/// Hugging Face Text Generation Inference's Messages API (TGI 1.4+; its docs' examples listen
/// on port 3000; `TGI_BASE_URL`). The model is `tgi`.
/// Source: <https://huggingface.co/docs/text-generation-inference/messages_api>, read 2026-12-01.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "tgi", base_url = "http://localhost:3000/v1", auth = "none", base_url_env = "TGI_BASE_URL",
           docs = "https://huggingface.co/docs/text-generation-inference/messages_api",
           default_model = "tgi", capabilities(chat, stream), dialect = openai)]
pub struct Tgi;

/// Docker Model Runner on the host (TCP port 12434; from a Docker Desktop container it is
/// `http://model-runner.docker.internal/engines/v1`; `DOCKER_MODEL_RUNNER_BASE_URL`).
/// Source: <https://docs.docker.com/ai/model-runner/api-reference/> via Spring AI's and Kestra's docs, read 2026-12-01.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "docker_model_runner", base_url = "http://localhost:12434/engines/v1", auth = "none",
           base_url_env = "DOCKER_MODEL_RUNNER_BASE_URL", docs = "https://docs.docker.com/ai/model-runner/",
           capabilities(chat, stream, tools, embeddings), dialect = openai)]
pub struct DockerModelRunner;

/// Xorbits Inference, `xinference-local` (port 9997; `XINFERENCE_BASE_URL`).
/// Source: <https://inference.readthedocs.io/en/latest/getting_started/using_xinference.html>, read 2026-12-01.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "xinference", base_url = "http://localhost:9997/v1", auth = "none", base_url_env = "XINFERENCE_BASE_URL",
           docs = "https://inference.readthedocs.io/", capabilities(chat, stream, tools, vision, embeddings), dialect = openai)]
pub struct Xinference;

/// Ollama's OpenAI-compatible endpoint (`/v1` on port 11434; `OLLAMA_OPENAI_BASE_URL`), next to
/// the native [`Ollama`](super::Ollama). Source: <https://docs.ollama.com/api/openai-compatibility>;
/// not re-read on 2026-12-01.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "ollama_openai", base_url = "http://localhost:11434/v1", auth = "none", base_url_env = "OLLAMA_OPENAI_BASE_URL",
           docs = "https://docs.ollama.com/api/openai-compatibility",
           capabilities(chat, stream, tools, vision, reasoning, embeddings, json_mode), dialect = openai)]
pub struct OllamaOpenAi;

/// Jan's local API server (port 1337; `JAN_BASE_URL`).
/// Source: <https://jan.ai/docs/api-server>; not re-read on 2026-12-01.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "jan", base_url = "http://localhost:1337/v1", auth = "none", base_url_env = "JAN_BASE_URL",
           docs = "https://jan.ai/docs/api-server", capabilities(chat, stream, tools), dialect = openai)]
pub struct Jan;

/// KoboldCpp's OpenAI-compatible API (port 5001; `KOBOLDCPP_BASE_URL`).
/// Source: <https://github.com/LostRuins/koboldcpp/wiki>; not re-read on 2026-12-01.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "koboldcpp", base_url = "http://localhost:5001/v1", auth = "none", base_url_env = "KOBOLDCPP_BASE_URL",
           docs = "https://github.com/LostRuins/koboldcpp/wiki", capabilities(chat, stream), dialect = openai)]
pub struct KoboldCpp;

/// text-generation-webui's OpenAI-compatible API (`--api`, port 5000; `TEXTGEN_WEBUI_BASE_URL`).
/// Source: its `docs/12 - OpenAI API.md`, read 2026-12-01.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "textgen_webui", base_url = "http://127.0.0.1:5000/v1", auth = "none", base_url_env = "TEXTGEN_WEBUI_BASE_URL",
           docs = "https://github.com/oobabooga/text-generation-webui/wiki", capabilities(chat, stream), dialect = openai)]
pub struct TextGenWebUi;

/// MLX LM's server on Apple silicon (`mlx_lm.server`, port 8080; `MLX_LM_BASE_URL`).
/// Source: <https://github.com/ml-explore/mlx-lm/blob/main/mlx_lm/SERVER.md>; not re-read on 2026-12-01.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "mlx_lm", base_url = "http://localhost:8080/v1", auth = "none", base_url_env = "MLX_LM_BASE_URL",
           docs = "https://github.com/ml-explore/mlx-lm/blob/main/mlx_lm/SERVER.md", capabilities(chat, stream, tools), dialect = openai)]
pub struct MlxLm;

/// GPT4All's local API server (port 4891; `GPT4ALL_BASE_URL`). No stream declared: its server
/// did not stream when last documented (not re-read on 2026-12-01).
/// Source: <https://docs.gpt4all.io/gpt4all_api_server/home.html>.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "gpt4all", base_url = "http://localhost:4891/v1", auth = "none", base_url_env = "GPT4ALL_BASE_URL",
           docs = "https://docs.gpt4all.io/gpt4all_api_server/home.html", capabilities(chat), dialect = openai)]
pub struct Gpt4All;

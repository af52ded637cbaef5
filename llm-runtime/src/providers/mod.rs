//! The built-in providers, each declared with `#[derive(Provider)]`.

mod cohere;
mod ollama;

pub use cohere::Cohere;
pub use ollama::Ollama;

mod azure_openai;
mod openai_compatible;

pub use azure_openai::AzureOpenAi;
pub use openai_compatible::{
    Cerebras, DeepSeek, Fireworks, Groq, Mistral, OpenAi, OpenAiCompatible, OpenRouter, Perplexity,
    Together, Xai,
};

mod anthropic;
mod gemini;

pub use anthropic::Anthropic;
pub use gemini::Gemini;

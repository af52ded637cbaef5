use llm_runtime::Provider;

#[derive(Provider)]
#[provider(name = "Groq Cloud", base_url = "https://api.groq.com/openai/v1", auth = "bearer", dialect = openai)]
pub struct Groq;

#[derive(Provider)]
#[provider(name = "open/router", base_url = "https://openrouter.ai/api/v1", auth = "bearer", dialect = openai)]
pub struct OpenRouter;

fn main() {}

use llm_runtime::Provider;

#[derive(Provider)]
#[provider(name = "ollama", base_url = "http://127.0.0.1:11434/v1", auth = "none", env = "OLLAMA_API_KEY", dialect = openai)]
pub struct Ollama;

fn main() {}

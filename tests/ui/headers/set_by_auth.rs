use llm_runtime::Provider;

#[derive(Provider)]
#[provider(name = "groq", base_url = "https://api.groq.com/openai/v1", auth = "bearer",
           headers("Authorization" = "Bearer sk-123"), dialect = openai)]
pub struct Groq;

#[derive(Provider)]
#[provider(name = "anthropic", base_url = "https://api.anthropic.com/v1", auth(header = "x-api-key"),
           headers("X-Api-Key" = "sk-123"), dialect = openai)]
pub struct Anthropic;

fn main() {}

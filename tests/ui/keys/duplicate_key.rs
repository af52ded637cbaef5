use llm_runtime::Provider;

#[derive(Provider)]
#[provider(name = "groq", base_url = "https://api.groq.com/openai/v1", auth = "bearer", dialect = openai)]
#[provider(env = "GROQ_API_KEY", name = "groq2")]
pub struct Groq;

fn main() {}

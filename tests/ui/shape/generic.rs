use llm_runtime::Provider;

#[derive(Provider)]
#[provider(name = "groq", base_url = "https://api.groq.com/openai/v1", auth = "bearer", dialect = openai)]
pub struct Groq<T> {
    settings: T,
}

fn main() {}

use llm_runtime::Provider;

// A misspelt scheme gives one error with a suggestion.
#[derive(Provider)]
#[provider(name = "groq", base_url = "https://api.groq.com/openai/v1", auth = "barer", env = "GROQ_API_KEY", dialect = openai)]
pub struct Groq;

#[derive(Provider)]
#[provider(name = "other", base_url = "https://api.example.com/v1", auth = "basic", dialect = openai)]
pub struct Other;

fn main() {}

use llm_runtime::Provider;

// A misspelt required key gives one error (not also "missing `base_url`").
#[derive(Provider)]
#[provider(name = "groq", base_ur = "https://api.groq.com/openai/v1", auth = "bearer", dialect = openai)]
pub struct Groq;

// A key that is nothing like any other lists them all.
#[derive(Provider)]
#[provider(name = "other", base_url = "https://api.example.com/v1", auth = "bearer", dialect = openai, retries = 3)]
pub struct Other;

fn main() {}

use llm_runtime::Provider;

#[derive(Provider)]
#[provider(name = "groq", dialect = openai)]
pub struct Groq;

#[derive(Provider)]
#[provider(name = "other", auth = "bearer", dialect = openai)]
pub struct Other;

fn main() {}

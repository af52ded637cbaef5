use llm_runtime::Provider;

#[derive(Provider)]
#[provider(crate = "not_a_crate::llm", name = "other", base_url = "https://api.example.com/v1", auth = "bearer", dialect = openai)]
pub struct Other;

fn main() {}

use llm_runtime::Provider;

#[derive(Provider)]
#[provider(name = "host", base_url = "https://api.example.com/v1", auth = "bearer", dialect = openai,
           unsupported(sead, tool_choice, tool_choice, "user"))]
pub struct Host;

fn main() {}

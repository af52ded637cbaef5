use llm_runtime::Provider;

#[derive(Provider)]
#[provider(name = "gw", base_url = "https://api.example.com/v1", auth = "bearer", dialect = openai,
           headers("x-team" = "a"),
           env_headers("authorization" = "GW_TOKEN", "x-team" = "GW_TEAM", "x-org" = "gw_org"))]
pub struct Gateway;

fn main() {}

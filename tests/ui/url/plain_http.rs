use llm_runtime::Provider;

// Plain http to a remote host needs `allow_http = true`.
#[derive(Provider)]
#[provider(name = "lan", base_url = "http://10.0.0.2:8080/v1", auth = "bearer", dialect = openai)]
pub struct Lan;

// Loopback hosts need nothing.
#[derive(Provider)]
#[provider(name = "local", base_url = "http://localhost:8080/v1", auth = "none", dialect = openai)]
pub struct Local;

fn main() {}

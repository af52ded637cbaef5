use llm_runtime::Provider;

/// `errors` takes a list of `match = kind` rows.
#[derive(Provider)]
#[provider(name = "a", base_url = "https://a.example/v1", auth = "bearer", dialect = openai,
           errors = "error_type")]
pub struct A;

#[derive(Provider)]
#[provider(name = "b", base_url = "https://b.example/v1", auth = "bearer", dialect = openai,
           errors(type_field = "", validation = invalid_request, 500 = "server_error", 503))]
pub struct B;

#[derive(Provider)]
#[provider(name = "c", base_url = "https://c.example/v1", auth = "bearer", dialect = openai,
           errors())]
pub struct C;

fn main() {}

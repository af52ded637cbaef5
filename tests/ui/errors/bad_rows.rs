use llm_runtime::Provider;

/// Every rule of `errors(...)`: kinds (with "did you mean"), statuses,
/// repeated rows, flags that change nothing, and the `type_field`.
#[derive(Provider)]
#[provider(
    name = "tgi",
    base_url = "http://127.0.0.1:8080",
    auth = "none",
    dialect = openai,
    errors(
        type_feild = "error_type",
        424 = server_eror,
        600 = server_error,
        204 = server_error,
        429 = rate_limited,
        429 = overloaded,
        "overloaded" = overloaded(retry),
        "validation" = invalid_request(no_retry),
        "queue" = network,
        "queue" = invalid_request(retyr),
    ),
)]
pub struct Tgi;

fn main() {}

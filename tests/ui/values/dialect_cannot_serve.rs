use llm_runtime::Provider;

/// The Messages API has no embeddings and no JSON mode: each is an error on its name.
#[derive(Provider)]
#[provider(
    name = "claude",
    base_url = "https://api.anthropic.com/v1",
    auth(header = "x-api-key"),
    dialect = anthropic,
    capabilities(chat, stream, embeddings, json_mode),
)]
pub struct Claude;

fn main() {}

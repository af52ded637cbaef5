use llm_runtime::Provider;

/// The Messages API has batches, but no speech and no rerank: each is an error on its name.
#[derive(Provider)]
#[provider(
    name = "claude",
    base_url = "https://api.anthropic.com/v1",
    auth(header = "x-api-key"),
    dialect = anthropic,
    capabilities(chat, stream, speech, rerank),
)]
pub struct Claude;

fn main() {}

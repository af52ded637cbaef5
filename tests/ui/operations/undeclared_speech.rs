use llm_runtime::{Provider, ProviderClient, types::SpeechRequest};

/// Chat only: `speech()` does not exist on its client.
#[derive(Provider)]
#[provider(
    name = "groq",
    base_url = "https://api.groq.com/openai/v1",
    auth = "bearer",
    dialect = openai,
    capabilities(chat, stream),
)]
pub struct Groq;

async fn speak(client: ProviderClient<Groq>) {
    let _ = client.speech(SpeechRequest::new("tts-1", "alloy", "Hello")).await;
}

fn main() {
    drop(speak);
}

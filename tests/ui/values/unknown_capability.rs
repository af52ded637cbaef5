use llm_runtime::Provider;

#[derive(Provider)]
#[provider(name = "groq", base_url = "https://api.groq.com/openai/v1", auth = "bearer",
           capabilities(chat, stream, tool, embedding, telepathy, chat), dialect = openai)]
pub struct Groq;

fn main() {}

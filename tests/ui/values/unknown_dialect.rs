use llm_runtime::Provider;

#[derive(Provider)]
#[provider(name = "groq", base_url = "https://api.groq.com/openai/v1", auth = "bearer", dialect = OpenAI)]
pub struct Groq;

#[derive(Provider)]
#[provider(name = "other", base_url = "https://api.example.com/v1", auth = "bearer", dialect = mistral)]
pub struct Other;

// The fallback delegates to a dialect, so using the providers adds no errors.
fn main() {
    let _ = Groq::config();
    let _ = Other::from_env();
}

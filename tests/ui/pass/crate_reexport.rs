/// A crate that re-exports the runtime under another name.
mod sdk {
    pub use ::llm_runtime as llm;
}

use sdk::llm::Provider;

#[derive(Provider)]
#[provider(crate = "crate::sdk::llm", name = "groq", base_url = "https://api.groq.com/openai/v1",
           auth = "bearer", env = "GROQ_API_KEY", dialect = openai)]
pub struct Groq;

fn main() {
    assert_eq!(Groq::SPEC.api_key_env, Some("GROQ_API_KEY"));
    let _config: GroqConfig = Groq::config();
}

use llm_runtime::{Provider, spec::Capability};

#[derive(Provider)]
#[provider(name = "groq", base_url = "https://api.groq.com/openai/v1", auth = "bearer", dialect = openai)]
pub struct Groq;

fn main() {
    let spec = <Groq as Provider>::SPEC;
    assert_eq!(spec.name, "groq");
    assert_eq!(spec.base_url, "https://api.groq.com/openai/v1");
    assert_eq!(spec.api_key_env, None);
    assert!(spec.supports(Capability::Chat) && spec.supports(Capability::Stream));
    assert!(!spec.supports(Capability::Tools));
    let _config: GroqConfig = Groq::config();
}

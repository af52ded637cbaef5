//! A signed provider and a token provider, declared with the derive.
use llm_runtime::{Provider, spec::AuthScheme};

#[derive(Debug, Default, Provider)]
#[provider(name = "signed", base_url = "https://bedrock-runtime.us-east-1.amazonaws.com",
           auth(sigv4 = "bedrock"), dialect = openai)]
pub struct Signed;

#[derive(Debug, Default, Provider)]
#[provider(name = "tokened", base_url = "https://aiplatform.googleapis.com/v1",
           auth = "token", dialect = gemini)]
pub struct Tokened;

fn main() {
    assert_eq!(Signed::SPEC.auth, AuthScheme::SigV4 { service: "bedrock" });
    assert_eq!(Tokened::SPEC.auth, AuthScheme::Token);
}

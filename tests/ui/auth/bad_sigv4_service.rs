use llm_runtime::Provider;

#[derive(Provider)]
#[provider(name = "cloud", base_url = "https://cloud.example/v1", auth(sigv4 = "Bed Rock"), dialect = openai)]
pub struct Cloud;

#[derive(Provider)]
#[provider(name = "cloud2", base_url = "https://cloud.example/v1", auth(sigv4), dialect = openai)]
pub struct Cloud2;

#[derive(Provider)]
#[provider(name = "cloud3", base_url = "https://cloud.example/v1", auth = "tokn", dialect = openai)]
pub struct Cloud3;

#[derive(Provider)]
#[provider(name = "cloud4", base_url = "https://cloud.example/v1", auth = "token",
           headers("authorization" = "Bearer x"), dialect = openai)]
pub struct Cloud4;

fn main() {}

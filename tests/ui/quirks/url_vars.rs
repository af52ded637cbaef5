use llm_runtime::Provider;

#[derive(Provider)]
#[provider(name = "cf", base_url = "https://api.example.com/accounts/{account_id}/ai/v1", auth = "bearer",
           dialect = openai)]
pub struct Undeclared;

#[derive(Provider)]
#[provider(name = "cf2", base_url = "https://api.example.com/accounts/{account_id}/ai/v1", auth = "bearer",
           url_vars(acount_id = "CF_ACCOUNT_ID"), dialect = openai)]
pub struct Misspelt;

#[derive(Provider)]
#[provider(name = "cf3", base_url = "https://api.example.com/accounts/{Account}/v1", auth = "bearer",
           dialect = openai)]
pub struct BadName;

#[derive(Provider)]
#[provider(name = "cf4", base_url = "https://{workspace}.example.com/v1", auth = "bearer",
           url_vars(workspace = "workspace_id"), dialect = openai)]
pub struct BadVariable;

fn main() {}

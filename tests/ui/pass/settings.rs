use llm_runtime::Provider;

/// Provider settings, read by the transforms through `&self`.
#[derive(Provider, Default)]
#[provider(name = "azure", base_url = "https://example.openai.azure.com/openai",
           auth(header = "api-key"), env = "AZURE_OPENAI_API_KEY", dialect = openai)]
pub struct Azure {
    pub api_version: String,
    pub deployment: Option<String>,
}

fn main() {
    assert_eq!(Azure::SPEC.name, "azure");
    let _config: AzureConfig = Azure::config();
    let settings = Azure { api_version: "2024-10-21".into(), deployment: None };
    assert_eq!(settings.api_version, "2024-10-21");
    assert!(settings.deployment.is_none());
}

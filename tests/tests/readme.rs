//! The README's provider table matches the built-in declarations.

use llm_runtime::providers::{
    Anthropic, AzureOpenAi, Cerebras, Cohere, DeepSeek, Fireworks, Gemini, Groq, Mistral, Ollama,
    OpenAi, OpenAiCompatible, OpenRouter, Perplexity, Together, Xai,
};
use llm_runtime::{Capability, Provider, ProviderSpec};

const README: &str = include_str!("../../README.md");

fn specs() -> Vec<&'static ProviderSpec> {
    vec![
        &OpenAi::SPEC,
        &Anthropic::SPEC,
        &Gemini::SPEC,
        &Mistral::SPEC,
        &AzureOpenAi::SPEC,
        &Groq::SPEC,
        &DeepSeek::SPEC,
        &Together::SPEC,
        &Fireworks::SPEC,
        &OpenRouter::SPEC,
        &Xai::SPEC,
        &Perplexity::SPEC,
        &Cerebras::SPEC,
        &Ollama::SPEC,
        &Cohere::SPEC,
        &OpenAiCompatible::SPEC,
    ]
}

#[test]
fn provider_table_matches_declarations() {
    let specs = specs();
    assert_eq!(specs.len(), 16);
    let rows: Vec<Vec<&str>> = README
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| l.trim_matches('|').split('|').map(str::trim).collect())
        .collect();
    assert_eq!(
        rows.len(),
        specs.len(),
        "one README row per built-in provider"
    );
    for spec in specs {
        let row = rows
            .iter()
            .find(|r| r[0] == format!("`{}`", spec.name))
            .unwrap_or_else(|| panic!("README has no row for {}", spec.name));
        for var in spec.api_key_env.iter().chain(spec.base_url_env.iter()) {
            assert!(
                row[1].contains(var),
                "{}: README key column lacks {var}",
                spec.name
            );
        }
        let caps: Vec<&str> = Capability::ALL
            .iter()
            .filter(|c| spec.supports(**c))
            .map(|c| c.name())
            .collect();
        let mut readme_caps: Vec<&str> = row[3].split(", ").collect();
        let mut declared = caps.clone();
        readme_caps.sort_unstable();
        declared.sort_unstable();
        assert_eq!(
            readme_caps, declared,
            "{}: README capabilities differ",
            spec.name
        );
    }
}

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

/// Issue 4: each OpenAI-compatible provider is declared in at most 10 lines
/// (doc comment, derive, attribute and struct), with no transform code.
#[test]
fn openai_compatible_declarations_are_at_most_ten_lines() {
    let source = include_str!("../../llm-runtime/src/providers/openai_compatible.rs");
    let mut block: Vec<&str> = Vec::new();
    let mut declared = 0;
    for line in source.lines() {
        if line.trim().is_empty() {
            block.clear();
            continue;
        }
        block.push(line);
        if line.starts_with("pub struct ") {
            let text = block.join("\n");
            assert!(
                text.contains("dialect = openai"),
                "{line} writes transform code"
            );
            assert!(block.len() <= 10, "{line} takes {} lines", block.len());
            declared += 1;
            block.clear();
        }
    }
    assert_eq!(
        declared, 11,
        "OpenAI, Mistral, Groq, DeepSeek, Together, Fireworks, OpenRouter, xAI, Perplexity, Cerebras, OpenAiCompatible"
    );
}

//! The README's provider table is generated from the built-in declarations
//! (`llm_runtime::providers::specs()`, the one table): any drift fails here.
//! Regenerate it with `UPDATE_README=1 cargo test -p tests --test readme`.

use llm_runtime::providers;
use llm_runtime::spec::{Capability, ProviderSpec};

const README_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
const BEGIN: &str =
    "<!-- providers:begin (generated from the declarations by tests/tests/readme.rs) -->";
const END: &str = "<!-- providers:end -->";

/// The variables a provider reads: the key (or `none`), `+` each placeholder's
/// and header's, then the base-URL override in parentheses.
fn variables(spec: &ProviderSpec) -> String {
    let mut out = match (spec.api_key_env, spec.auth) {
        (Some(var), auth) if auth.needs_key() => format!("`{var}`"),
        // A signing provider: AWS credentials, or its API key variable.
        (key, llm_runtime::spec::AuthScheme::SigV4 { .. }) => match key {
            Some(var) => format!("SigV4 (AWS credentials) or `{var}`"),
            None => "SigV4 (AWS credentials)".to_owned(),
        },
        // A token provider: the credentials variable its token source reads.
        (Some(var), llm_runtime::spec::AuthScheme::Token) => format!("token (`{var}`)"),
        _ => "none".to_owned(),
    };
    for (_, var) in spec.url_vars.iter().chain(spec.env_headers) {
        out.push_str(&format!(" + `{var}`"));
    }
    if let Some(var) = spec.base_url_env {
        out.push_str(&format!(" (`{var}`)"));
    }
    out
}

fn row(spec: &ProviderSpec) -> String {
    let caps: Vec<&str> = spec.capabilities.iter().map(Capability::name).collect();
    let docs = spec
        .docs
        .map_or_else(|| "—".to_owned(), |url| format!("[docs]({url})"));
    format!(
        "| `{}` | {} | {} | {} | {} |",
        spec.name,
        variables(spec),
        spec.dialect.unwrap_or("own"),
        caps.join(", "),
        docs
    )
}

/// The table as the README must hold it, between its markers.
fn generated_table() -> String {
    let mut lines = vec![
        BEGIN.to_owned(),
        "| name | variables | dialect | capabilities | docs |".to_owned(),
        "|---|---|---|---|---|".to_owned(),
    ];
    lines.extend(providers::specs().map(row));
    lines.push(END.to_owned());
    lines.join("\n")
}

#[test]
fn provider_table_is_generated_from_the_declarations() {
    let readme = std::fs::read_to_string(README_PATH).expect("README.md");
    let (Some(start), Some(end)) = (readme.find(BEGIN), readme.find(END)) else {
        panic!("README.md has no `{BEGIN}` ... `{END}` section");
    };
    let current = &readme[start..end + END.len()];
    let expected = generated_table();
    if current == expected {
        return;
    }
    if std::env::var_os("UPDATE_README").is_some() {
        let updated = readme.replacen(current, &expected, 1);
        std::fs::write(README_PATH, updated).expect("README.md is writable");
        return;
    }
    panic!(
        "README.md's provider table differs from the declarations; run `UPDATE_README=1 cargo test -p tests --test readme` and review the diff. Expected:\n{expected}"
    );
}

#[test]
fn the_table_has_one_row_per_built_in() {
    if std::env::var_os("UPDATE_README").is_some() {
        return; // the other test is rewriting the file
    }
    let readme = std::fs::read_to_string(README_PATH).expect("README.md");
    let section = readme
        .split(BEGIN)
        .nth(1)
        .and_then(|rest| rest.split(END).next())
        .expect("the providers section");
    let rows = section.lines().filter(|l| l.starts_with("| `")).count();
    assert_eq!(rows, providers::specs().count());
    assert!(rows >= 60, "60+ built-in providers, found {rows}");
}

/// Each OpenAI-compatible built-in is declared in at most 10 lines (derive,
/// attribute and struct; its doc comment aside), with no transform code.
#[test]
fn openai_compatible_declarations_are_at_most_ten_lines() {
    let sources = [
        include_str!("../../llm-runtime/src/providers/openai_compatible.rs"),
        include_str!("../../llm-runtime/src/providers/inference_hosts.rs"),
        include_str!("../../llm-runtime/src/providers/model_labs.rs"),
        include_str!("../../llm-runtime/src/providers/gateways.rs"),
        include_str!("../../llm-runtime/src/providers/local_servers.rs"),
    ];
    let mut declared = 0;
    for source in sources {
        assert!(
            !source.contains("impl "),
            "transform code in an OpenAI-compatible file"
        );
        let mut block: Vec<&str> = Vec::new();
        for line in source.lines() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with("//") {
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
    }
    let openai_dialect = providers::specs()
        .filter(|s| s.dialect == Some("openai") && s.name != "azure_openai")
        .count();
    assert_eq!(
        declared, openai_dialect,
        "every OpenAI-dialect built-in but Azure's rewrite is in these files"
    );
}

const OPS_BEGIN: &str =
    "<!-- operations:begin (generated from the declarations by tests/tests/readme.rs) -->";
const OPS_END: &str = "<!-- operations:end -->";

/// The capabilities beyond chat and embeddings, in declaration order.
const OPERATIONS: [Capability; 6] = [
    Capability::Images,
    Capability::Speech,
    Capability::Transcription,
    Capability::Rerank,
    Capability::Moderation,
    Capability::Batch,
];

/// Operations by provider: a row per built-in that declares one of them.
fn generated_operations() -> String {
    let names: Vec<&str> = OPERATIONS.iter().map(|c| c.name()).collect();
    let mut lines = vec![
        OPS_BEGIN.to_owned(),
        format!("| provider | {} |", names.join(" | ")),
        format!("|---|{}", "---|".repeat(names.len())),
    ];
    for spec in providers::specs() {
        if !OPERATIONS.iter().any(|c| spec.supports(*c)) {
            continue;
        }
        let cells: Vec<&str> = OPERATIONS
            .iter()
            .map(|c| if spec.supports(*c) { "yes" } else { "" })
            .collect();
        lines.push(format!("| `{}` | {} |", spec.name, cells.join(" | ")));
    }
    lines.push(OPS_END.to_owned());
    lines.join("\n")
}

#[test]
fn operations_table_is_generated_from_the_declarations() {
    let readme = std::fs::read_to_string(README_PATH).expect("README.md");
    let (Some(start), Some(end)) = (readme.find(OPS_BEGIN), readme.find(OPS_END)) else {
        panic!("README.md has no `{OPS_BEGIN}` ... `{OPS_END}` section");
    };
    let current = &readme[start..end + OPS_END.len()];
    let expected = generated_operations();
    if current == expected {
        return;
    }
    if std::env::var_os("UPDATE_README").is_some() {
        let updated = readme.replacen(current, &expected, 1);
        std::fs::write(README_PATH, updated).expect("README.md is writable");
        return;
    }
    panic!(
        "README.md's operations table differs from the declarations; run `UPDATE_README=1 cargo test -p tests --test readme` and review the diff. Expected:\n{expected}"
    );
}

/// Every capability beyond chat that a provider can declare is a column.
#[test]
fn every_operation_is_a_column() {
    let known = [
        Capability::Chat,
        Capability::Stream,
        Capability::Tools,
        Capability::Vision,
        Capability::Reasoning,
        Capability::Embeddings,
        Capability::JsonMode,
    ];
    for cap in Capability::ALL {
        assert!(
            known.contains(&cap) || OPERATIONS.contains(&cap),
            "`{}` is neither a chat capability nor a column of the operations table",
            cap.name()
        );
    }
}

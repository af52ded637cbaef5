//! The derive's reference docs, rendered from the symbol table: `reference.md`
//! (included in the derive's rustdoc) is this module's output, checked by a
//! test that fails when it is out of date. Regenerate it with
//! `LLM_MACROS_BLESS=1 cargo test -p llm-macros reference`.
//! Compiled for tests only: the docs are text, the test is what keeps them true.

use crate::model::{Capability, PARAMS};
use crate::symbol::{self, AUTH_FORMS, AuthShape, DIALECTS, KEYS, KINDS, Key, Section};

/// The Markdown of `reference.md`.
pub(crate) fn render() -> String {
    let mut out = String::from(
        "<!-- Generated from llm-macros/src/symbol.rs by `LLM_MACROS_BLESS=1 cargo test -p llm-macros reference`; do not edit. -->\n\n# Keys\n\n",
    );
    table(&mut out, Section::Main);
    out.push_str(
        "\nQuirks: where a host differs from the wire format it speaks. Each is data in the spec that the runtime reads.\n\n",
    );
    table(&mut out, Section::Quirk);
    out.push_str("\n# Dialects\n\n| Dialect | API |\n|---|---|\n");
    for dialect in DIALECTS {
        out.push_str(&format!("| `{}` | {} |\n", dialect.name, dialect.api));
    }
    out.push_str("\n# Auth forms\n\n| Form | Sends |\n|---|---|\n");
    for form in AUTH_FORMS {
        out.push_str(&format!(
            "| `{}` | {} |\n",
            form.written(),
            auth_meaning(form.name)
        ));
    }
    out
}

fn table(out: &mut String, section: Section) {
    out.push_str("| Key | Form | Default | Rule |\n|---|---|---|---|\n");
    for key in KEYS.iter().filter(|key| key.section == section) {
        out.push_str(&format!(
            "| `{}` | `{}` | {} | {} |\n",
            key.name,
            key.example,
            key.default,
            rule(key)
        ));
    }
}

/// The rule with its `{placeholders}` filled from the tables.
fn rule(key: &Key) -> String {
    let code_list = |names: Vec<&str>| {
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    key.rule
        .replace("{auth_forms}", &symbol::auth_forms_text())
        .replace("{dialects}", &code_list(symbol::dialect_names()))
        .replace(
            "{kinds}",
            &code_list(KINDS.iter().map(|k| k.name).collect()),
        )
        .replace(
            "{capabilities}",
            &code_list(Capability::ALL.iter().map(|c| c.name()).collect()),
        )
        .replace(
            "{params}",
            &code_list(PARAMS.iter().map(|(name, _)| *name).collect()),
        )
}

/// What each auth form sends.
fn auth_meaning(form: &str) -> &'static str {
    match form {
        symbol::AUTH_BEARER => "`Authorization: Bearer <key>`",
        symbol::AUTH_NONE => "nothing (a local server); `env` is then an error",
        symbol::AUTH_TOKEN => {
            "`Authorization: Bearer <token>` from the configuration's token source (OAuth2), cached and refreshed"
        }
        symbol::AUTH_HEADER => "the key as the value of this header",
        symbol::AUTH_QUERY => "the key as this query parameter",
        symbol::AUTH_SIGV4 => "each attempt signed with AWS Signature V4 for this service",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHECKED_IN: &str = include_str!("reference.md");

    #[test]
    fn reference_is_up_to_date() {
        let rendered = render();
        if rendered != CHECKED_IN && std::env::var_os("LLM_MACROS_BLESS").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/reference.md");
            std::fs::write(path, &rendered).expect("write reference.md");
            return;
        }
        assert!(
            rendered == CHECKED_IN,
            "llm-macros/src/reference.md is out of date: run `LLM_MACROS_BLESS=1 cargo test -p llm-macros reference`"
        );
    }

    /// Every key, dialect, auth form and kind is in the docs the derive shows.
    #[test]
    fn the_docs_name_every_symbol() {
        for key in KEYS {
            assert!(
                CHECKED_IN.contains(&format!("| `{}` |", key.name)),
                "key `{}` is missing from the reference docs",
                key.name
            );
        }
        for dialect in DIALECTS {
            assert!(
                CHECKED_IN.contains(&format!("| `{}` |", dialect.name)),
                "dialect `{}` is missing from the reference docs",
                dialect.name
            );
        }
        for form in AUTH_FORMS {
            assert!(
                CHECKED_IN.contains(&format!("| `{}` |", form.written())),
                "auth form `{}` is missing from the reference docs",
                form.name
            );
            assert!(!auth_meaning(form.name).is_empty(), "{}", form.name);
            if let AuthShape::Named { placeholder } = form.shape {
                assert!(!placeholder.is_empty());
            }
        }
        for kind in KINDS {
            assert!(
                CHECKED_IN.contains(&format!("`{}`", kind.name)),
                "{}",
                kind.name
            );
        }
    }

    /// Each key is named once, and no rule keeps an unfilled placeholder.
    #[test]
    fn the_table_is_consistent() {
        let mut names = symbol::key_names();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), KEYS.len(), "a key is listed twice");
        for key in KEYS {
            let rule = rule(key);
            for placeholder in [
                "{auth_forms}",
                "{dialects}",
                "{kinds}",
                "{capabilities}",
                "{params}",
            ] {
                assert!(!rule.contains(placeholder), "{}: {placeholder}", key.name);
            }
            assert!(key.example.starts_with(key.name), "{}", key.name);
        }
    }
}

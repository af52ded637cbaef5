//! What crates.io and docs.rs read from each published crate, checked against
//! the manifests as cargo reads them (`cargo metadata`): the metadata fields,
//! the README each names, and the features tables of `llm-runtime`'s README
//! and crate docs, which must list exactly the `[features]` of its Cargo.toml.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// `cargo metadata` of the workspace (its own members only).
fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(ROOT)
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata is JSON")
}

/// The members that are published (`publish` not `false`).
fn published(metadata: &Value) -> Vec<&Value> {
    let packages = metadata["packages"].as_array().expect("packages");
    packages
        .iter()
        .filter(|p| p["publish"] != serde_json::json!([]))
        .collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_published_crates_are_llm_runtime_and_llm_macros() {
    let metadata = metadata();
    let mut names: Vec<&str> = published(&metadata)
        .iter()
        .map(|p| p["name"].as_str().expect("name"))
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["llm-macros", "llm-runtime"]);
}

#[test]
fn each_published_crate_has_what_crates_io_and_docs_rs_show() {
    let metadata = metadata();
    for package in published(&metadata) {
        let name = package["name"].as_str().expect("name");
        for field in [
            "description",
            "license",
            "repository",
            "documentation",
            "readme",
            "rust_version",
        ] {
            let value = package[field].as_str().unwrap_or_default();
            assert!(!value.trim().is_empty(), "{name}: no `{field}`");
        }
        assert_eq!(
            package["documentation"],
            format!("https://docs.rs/{name}"),
            "{name}"
        );
        for list in ["keywords", "categories"] {
            let items = package[list].as_array().expect("a list");
            assert!(
                (1..=5).contains(&items.len()),
                "{name}: {list} {items:?} (crates.io takes 1 to 5)"
            );
        }
        let manifest = PathBuf::from(package["manifest_path"].as_str().expect("path"));
        let dir = manifest.parent().expect("a crate dir");
        let readme = read(&dir.join(package["readme"].as_str().expect("readme")));
        assert!(
            readme.starts_with(&format!("# {name}\n")),
            "{name}: its README is about another crate"
        );
    }
}

#[test]
fn llm_runtime_is_documented_on_docs_rs_with_every_feature_and_badges() {
    let metadata = metadata();
    let runtime = published(&metadata)
        .into_iter()
        .find(|p| p["name"] == "llm-runtime")
        .expect("llm-runtime");
    let docs_rs = &runtime["metadata"]["docs"]["rs"];
    assert_eq!(docs_rs["all-features"], true);
    assert_eq!(
        docs_rs["rustdoc-args"],
        serde_json::json!(["--cfg", "docsrs"])
    );
    let lib = read(&Path::new(ROOT).join("llm-runtime/src/lib.rs"));
    assert!(lib.contains("#![cfg_attr(docsrs, feature(doc_cfg))]"));
}

/// The rows `| \`name\` | default | ... |` of the features table in `text`.
fn feature_rows(text: &str) -> BTreeMap<String, bool> {
    text.lines()
        .map(|l| l.trim_start_matches("//!").trim())
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let name = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            let default = match *cells.get(2)? {
                "yes" => true,
                "no" => false,
                _ => return None,
            };
            Some((name.to_owned(), default))
        })
        .collect()
}

#[test]
fn the_features_tables_list_exactly_the_manifest_features() {
    let metadata = metadata();
    let runtime = published(&metadata)
        .into_iter()
        .find(|p| p["name"] == "llm-runtime")
        .expect("llm-runtime");
    let features = runtime["features"].as_object().expect("features");
    let defaults: Vec<&str> = features["default"]
        .as_array()
        .expect("a default list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let expected: BTreeMap<String, bool> = features
        .keys()
        .filter(|f| *f != "default")
        .map(|f| (f.clone(), defaults.contains(&f.as_str())))
        .collect();
    assert!(expected.len() >= 6, "{expected:?}");
    for path in ["llm-runtime/README.md", "llm-runtime/src/lib.rs"] {
        let rows = feature_rows(&read(&Path::new(ROOT).join(path)));
        assert_eq!(rows, expected, "the features table of {path}");
    }
}

#[test]
fn the_changelog_has_an_unreleased_section() {
    let changelog = read(&Path::new(ROOT).join("CHANGELOG.md"));
    assert!(changelog.starts_with("# Changelog\n"));
    assert!(changelog.contains("\n## [Unreleased]\n"));
}

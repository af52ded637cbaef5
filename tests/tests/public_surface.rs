//! Issue 24, item 6: a small crate root and one path per public item.
//!
//! Read from the runtime's sources: the crate root re-exports at most 25 names
//! (what a first program needs; its modules aside), and every other public
//! item is reachable by exactly one path: where it is defined, when that module
//! is public, or else the one `pub use` in a public module that exposes it.
//! Re-exports of other crates (`http`'s header types, `bytes`) are theirs, and
//! `#[doc(hidden)]` modules (the derive's paths) are not API.

use std::collections::{BTreeMap, BTreeSet};

mod source_scan;

use source_scan::{
    expand, module_of, non_test_code, root_reexports, rust_files, src, test_only_modules,
};

/// The crate's declared modules, each with whether it is public API
/// (`pub mod`, not `#[doc(hidden)]`, not test-only).
fn declared_modules(files: &[std::path::PathBuf]) -> BTreeMap<Vec<String>, bool> {
    let mut out = BTreeMap::new();
    for file in files {
        let source = std::fs::read_to_string(file).expect("readable");
        let (mut hidden, mut test) = (false, false);
        for line in source.lines().map(str::trim) {
            if line.starts_with("#[") {
                hidden |= line.starts_with("#[doc(hidden)]");
                test |= line.starts_with("#[cfg(test)]");
                continue;
            }
            let public = line.starts_with("pub mod ");
            let declared = line
                .strip_prefix("pub mod ")
                .or_else(|| line.strip_prefix("pub(crate) mod "))
                .or_else(|| line.strip_prefix("mod "));
            if let Some(name) = declared {
                let name = name.trim_end_matches([';', '{', ' ']);
                let mut module = module_of(file);
                module.push(name.to_owned());
                out.insert(module, public && !hidden && !test);
            }
            (hidden, test) = (false, false);
        }
    }
    out
}

/// `module` and all its ancestors are public.
fn reachable(module: &[String], modules: &BTreeMap<Vec<String>, bool>) -> bool {
    (1..=module.len()).all(|n| modules.get(&module[..n]).copied().unwrap_or(false))
}

/// A `pub use` of one item: where it is visible (module, name) and what it names.
struct Alias {
    module: Vec<String>,
    name: String,
    target: Vec<String>,
}

/// Every `pub use` of the crate outside the root and test code, resolved to
/// absolute paths; other crates' items are left out.
fn aliases(files: &[std::path::PathBuf], modules: &BTreeMap<Vec<String>, bool>) -> Vec<Alias> {
    let test_only = test_only_modules(files);
    let mut out = Vec::new();
    for file in files {
        let here = module_of(file);
        if here.is_empty() || test_only.iter().any(|t| here.starts_with(t)) {
            continue;
        }
        let source = std::fs::read_to_string(file).expect("readable");
        let code = non_test_code(&source);
        let mut hidden = false;
        for stmt in code.split(';') {
            let stmt = stmt.trim();
            let attrs_hidden = stmt.contains("#[doc(hidden)]");
            let Some(at) = stmt.find("pub use ") else {
                hidden = false;
                continue;
            };
            hidden |= attrs_hidden;
            let tree = &stmt[at + "pub use ".len()..];
            if hidden || tree.contains('$') {
                hidden = false;
                continue;
            }
            for path in expand(tree) {
                let (path, alias) = match path.split_once(" as ") {
                    Some((p, a)) => (p.trim().to_owned(), Some(a.trim().to_owned())),
                    None => (path.trim().to_owned(), None),
                };
                let segs: Vec<String> = path.split("::").map(|s| s.trim().to_owned()).collect();
                let absolute = match segs[0].as_str() {
                    "crate" => segs[1..].to_vec(),
                    "self" => [here.clone(), segs[1..].to_vec()].concat(),
                    "super" => {
                        let supers = segs.iter().take_while(|s| *s == "super").count();
                        [
                            here[..here.len() - supers].to_vec(),
                            segs[supers..].to_vec(),
                        ]
                        .concat()
                    }
                    "" => continue, // `::other_crate::...`
                    first => {
                        let mut child = here.clone();
                        child.push(first.to_owned());
                        if !modules.contains_key(&child) {
                            continue; // another crate
                        }
                        [here.clone(), segs].concat()
                    }
                };
                let name = alias.unwrap_or_else(|| absolute.last().cloned().unwrap_or_default());
                out.push(Alias {
                    module: here.clone(),
                    name,
                    target: absolute,
                });
            }
            hidden = false;
        }
    }
    out
}

#[test]
fn the_crate_root_holds_at_most_25_names() {
    let names = root_reexports();
    assert!(
        !names.contains_key("*"),
        "the root re-exports a whole module (`pub use ...::*`)"
    );
    assert!(
        names.contains_key("Client") && names.contains_key("ChatRequest"),
        "the scan read the root's re-exports: {names:?}"
    );
    assert!(
        names.len() <= 25,
        "the crate root re-exports {} names (at most 25): {:?}",
        names.len(),
        names.keys().collect::<Vec<_>>()
    );
}

#[test]
fn every_public_item_outside_the_root_has_one_path() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let modules = declared_modules(&files);
    let aliases = aliases(&files, &modules);
    assert!(
        aliases.len() > 50 && modules.values().filter(|p| **p).count() > 15,
        "the scan found the crate's modules and re-exports"
    );
    let by_place: BTreeMap<(Vec<String>, String), Vec<String>> = aliases
        .iter()
        .map(|a| ((a.module.clone(), a.name.clone()), a.target.clone()))
        .collect();
    // Follow re-exports of re-exports to the place the item is defined.
    let defined_at = |target: &Vec<String>| {
        let mut at = target.clone();
        for _ in 0..8 {
            let (module, name) = at.split_at(at.len() - 1);
            match by_place.get(&(module.to_vec(), name[0].clone())) {
                Some(next) if next != &at => at = next.clone(),
                _ => break,
            }
        }
        at
    };
    let mut paths: BTreeMap<Vec<String>, BTreeSet<String>> = BTreeMap::new();
    for alias in &aliases {
        if alias.name == "*" {
            let source = &alias.target[..alias.target.len() - 1];
            assert!(
                !reachable(source, &modules),
                "`pub use {}::*` in {} repeats a public module",
                source.join("::"),
                alias.module.join("::")
            );
            continue;
        }
        let item = defined_at(&alias.target);
        let home = &item[..item.len() - 1];
        if modules.contains_key(home) && reachable(home, &modules) {
            paths
                .entry(item.clone())
                .or_default()
                .insert(item.join("::"));
        }
        if reachable(&alias.module, &modules) {
            paths.entry(item).or_default().insert(format!(
                "{}::{}",
                alias.module.join("::"),
                alias.name
            ));
        }
    }
    if std::env::var("SURFACE_DEBUG").is_ok() {
        eprintln!("{modules:#?}");
        for (k, v) in &paths {
            eprintln!("{k:?} {v:?}");
        }
    }
    let repeated: Vec<String> = paths
        .values()
        .filter(|p| p.len() > 1)
        .map(|p| p.iter().cloned().collect::<Vec<_>>().join(" = "))
        .collect();
    assert!(
        repeated.is_empty(),
        "public items reachable by more than one path: {repeated:#?}"
    );
}

//! No runtime file imports a module that imports it back: the `use crate::...`
//! and `super::...` paths of every file in `llm-runtime/src`, resolved to the
//! file that defines them, form a graph without cycles. A `mod.rs` declaring
//! and re-exporting its own children is structure, not an import, so edges from
//! a module to its own descendants are left out (as is `lib.rs`, the root).

use std::collections::{BTreeMap, BTreeSet};

mod source_scan;

use source_scan::{
    imports, module_of, non_test_code, root_reexports, rust_files, src, test_only_modules,
};

/// The deepest module of `path` that is a file of the crate.
fn resolve(path: &[String], modules: &BTreeSet<Vec<String>>) -> Option<Vec<String>> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|m| modules.contains(m))
}

#[test]
fn no_runtime_file_imports_a_module_that_imports_it_back() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(f)).collect();
    let mut graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for file in &files {
        let from = module_of(file);
        if from.is_empty() || from.first().is_some_and(|m| m == "__private") {
            continue; // the crate root and the macro's path module
        }
        let source = std::fs::read_to_string(file).expect("readable");
        for path in imports(file, &source) {
            let Some(to) = resolve(&path, &modules) else {
                continue;
            };
            if to == from || to.starts_with(&from) {
                continue; // itself, or its own children
            }
            graph.entry(from.clone()).or_default().insert(to);
        }
    }
    // Every edge a -> b must not have a path b -> ... -> a.
    let reaches = |start: &Vec<String>, goal: &Vec<String>| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![start.clone()];
        while let Some(m) = todo.pop() {
            if &m == goal {
                return true;
            }
            if seen.insert(m.clone())
                && let Some(next) = graph.get(&m)
            {
                todo.extend(next.iter().cloned());
            }
        }
        false
    };
    let mut cycles = Vec::new();
    for (from, tos) in &graph {
        for to in tos {
            // A child importing its parent `mod.rs` (re-exports of siblings) is not a cycle.
            if from.starts_with(to) {
                continue;
            }
            if reaches(to, from) {
                cycles.push(format!("{} -> {}", from.join("::"), to.join("::")));
            }
        }
    }
    assert!(graph.len() > 20, "the scan found the crate's files");
    assert!(cycles.is_empty(), "import cycles: {cycles:#?}");
}

/// The first segment of every `crate::x` path written outside `use` statements
/// (e.g. `crate::http::mark_sensitive(..)` in a function body), before the
/// file's test section.
fn inline_crate_paths(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in non_test_code(source).lines() {
        for (at, _) in line.match_indices("crate::") {
            let before = line[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // `llm_runtime::...`-like identifiers ending in `crate`
            }
            let name: String = line[at + 7..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.push(name);
        }
    }
    out
}

/// Issue 24: the runtime's top-level modules are layers, not a knot. An
/// import of module `b` anywhere in module `a` (a `use`, an inline
/// `crate::b::..` path, or a root re-export that comes from `b`) is an edge
/// `a -> b`; test-only code is left out. The graph has no cycle.
#[test]
fn top_level_modules_import_each_other_without_a_cycle() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let test_only = test_only_modules(&files);
    let tops: BTreeSet<String> = files
        .iter()
        .filter_map(|f| module_of(f).first().cloned())
        .collect();
    let root = root_reexports();
    let mut edges: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let module = module_of(file);
        let Some(from) = module.first() else {
            continue; // the crate root
        };
        if test_only.iter().any(|t| module.starts_with(t)) {
            continue;
        }
        let source = std::fs::read_to_string(file).expect("readable");
        let mut targets: Vec<String> = imports(file, &source)
            .into_iter()
            .filter_map(|p| p.first().cloned())
            .collect();
        targets.extend(inline_crate_paths(&source));
        for target in targets {
            let to = if tops.contains(&target) {
                target
            } else if let Some(home) = root.get(&target).filter(|m| tops.contains(*m)) {
                home.clone()
            } else {
                continue;
            };
            if &to != from {
                let rel = file.strip_prefix(src()).expect("under src");
                edges
                    .entry((from.clone(), to))
                    .or_default()
                    .insert(rel.display().to_string());
            }
        }
    }
    let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        graph.entry(from).or_default().insert(to);
    }
    let reaches = |start: &str, goal: &str| {
        let (mut seen, mut todo) = (BTreeSet::new(), vec![start]);
        while let Some(m) = todo.pop() {
            if m == goal {
                return true;
            }
            if seen.insert(m) {
                todo.extend(graph.get(m).into_iter().flatten().copied());
            }
        }
        false
    };
    let cycles: Vec<String> = edges
        .iter()
        .filter(|((from, to), _)| reaches(to, from))
        .map(|((from, to), files)| format!("{from} -> {to} (in {files:?})"))
        .collect();
    assert!(
        tops.len() > 15 && edges.len() > 40,
        "the scan found the crate's modules ({}) and imports ({})",
        tops.len(),
        edges.len()
    );
    assert!(
        cycles.is_empty(),
        "top-level modules that import each other in a loop: {cycles:#?}"
    );
}

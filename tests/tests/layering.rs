//! No runtime file imports a module that imports it back: the `use crate::...`
//! and `super::...` paths of every file in `llm-runtime/src`, resolved to the
//! file that defines them, form a graph without cycles. A `mod.rs` declaring
//! and re-exporting its own children is structure, not an import, so edges from
//! a module to its own descendants are left out (as is `lib.rs`, the root).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../llm-runtime/src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file: `stream/chat_stream.rs` -> `["stream", "chat_stream"]`.
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).expect("under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// Expand `a::{b, c::{d}}` into `a::b`, `a::c::d`.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        return vec![tree.to_owned()];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[start..]);
    items
        .into_iter()
        .filter(|i| !i.trim().is_empty())
        .flat_map(expand)
        .map(|i| format!("{prefix}{i}"))
        .collect()
}

/// The module paths a file's `use` statements name, made absolute.
fn imports(file: &Path, source: &str) -> Vec<Vec<String>> {
    let here = module_of(file);
    let code: String = source
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .take_while(|l| !l.starts_with("#[cfg(test)]") && !l.starts_with("mod tests"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = Vec::new();
    for stmt in code.split(';') {
        let stmt = stmt.trim();
        let Some(tree) = stmt
            .strip_prefix("pub(crate) use ")
            .or_else(|| stmt.strip_prefix("pub use "))
            .or_else(|| stmt.strip_prefix("use "))
        else {
            continue;
        };
        for path in expand(tree) {
            let segs: Vec<String> = path
                .split("::")
                .map(|s| s.split_whitespace().next().unwrap_or("").to_owned())
                .collect();
            let absolute = match segs.first().map(String::as_str) {
                Some("crate") => segs[1..].to_vec(),
                Some("super") => {
                    // A file's module is its path; `super` is its parent, once per `super`.
                    let supers = segs.iter().take_while(|s| *s == "super").count();
                    let mut base = here.clone();
                    for _ in 0..supers {
                        base.pop();
                    }
                    base.extend(segs[supers..].iter().cloned());
                    base
                }
                Some("self") => {
                    let mut base = here.clone();
                    base.extend(segs[1..].iter().cloned());
                    base
                }
                _ => continue,
            };
            out.push(absolute);
        }
    }
    out
}

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

/// The modules compiled only for tests (`#[cfg(test)] mod name;` in their parent).
fn test_only_modules(files: &[PathBuf]) -> BTreeSet<Vec<String>> {
    let mut out = BTreeSet::new();
    for file in files {
        let source = std::fs::read_to_string(file).expect("readable");
        let mut test_attr = false;
        for line in source.lines().map(str::trim) {
            if line == "#[cfg(test)]" {
                test_attr = true;
            } else if test_attr && line.starts_with("#[") {
                continue;
            } else {
                if test_attr && let Some(name) = line.strip_prefix("mod ") {
                    let mut module = module_of(file);
                    module.push(name.trim_end_matches([';', '{', ' ']).to_owned());
                    out.insert(module);
                }
                test_attr = false;
            }
        }
    }
    out
}

/// The first segment of every `crate::x` path written outside `use` statements
/// (e.g. `crate::http::mark_sensitive(..)` in a function body), before the
/// file's test section.
fn inline_crate_paths(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in source
        .lines()
        .take_while(|l| !l.starts_with("#[cfg(test)]") && !l.starts_with("mod tests"))
        .filter(|l| !l.trim_start().starts_with("//"))
    {
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

/// The names the crate root re-exports, each with the top-level module it comes from.
fn root_reexports() -> BTreeMap<String, String> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).expect("lib.rs");
    let mut out = BTreeMap::new();
    for stmt in lib.split(';') {
        let stmt = stmt
            .lines()
            .filter(|l| !l.trim_start().starts_with("//") && !l.trim_start().starts_with("#"))
            .collect::<Vec<_>>()
            .join(" ");
        let Some(tree) = stmt.trim().strip_prefix("pub use ") else {
            continue;
        };
        for path in expand(tree) {
            let segs: Vec<&str> = path.split("::").map(str::trim).collect();
            let name = segs.last().copied().unwrap_or_default();
            let name = name.rsplit(" as ").next().unwrap_or(name).trim();
            out.insert(name.to_owned(), segs[0].to_owned());
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

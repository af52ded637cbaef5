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

//! Reading the runtime's sources as text, for the tests over its structure
//! (`layering.rs`, `public_surface.rs`): its files, the module each one is,
//! and the paths its `use` statements name.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The runtime's `src` directory.
pub(crate) fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../llm-runtime/src")
}

pub(crate) fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
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
pub(crate) fn module_of(file: &Path) -> Vec<String> {
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
pub(crate) fn expand(tree: &str) -> Vec<String> {
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

/// A file's code without comments and without what is compiled only for
/// tests: a `#[cfg(test)] mod name;` line is left out, and a `#[cfg(test)]`
/// block (`mod tests { .. }`, by convention at the end) ends the code.
pub(crate) fn non_test_code(source: &str) -> String {
    let mut out = Vec::new();
    let mut lines = source
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .peekable();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]" {
            while lines
                .peek()
                .is_some_and(|l| l.trim_start().starts_with("#["))
            {
                lines.next();
            }
            match lines.next() {
                Some(item) if item.trim_end().ends_with(';') => continue,
                _ => break,
            }
        }
        out.push(line);
    }
    out.join("\n")
}

/// The module paths a file's `use` statements name, made absolute.
pub(crate) fn imports(file: &Path, source: &str) -> Vec<Vec<String>> {
    let here = module_of(file);
    let code = non_test_code(source);
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

/// The modules compiled only for tests (`#[cfg(test)] mod name;` in their parent).
pub(crate) fn test_only_modules(files: &[PathBuf]) -> BTreeSet<Vec<String>> {
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

/// The names the crate root re-exports, each with the top-level module it comes from.
pub(crate) fn root_reexports() -> BTreeMap<String, String> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).expect("lib.rs");
    let code: String = lib
        .lines()
        .filter(|l| !l.trim_start().starts_with("//") && !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = BTreeMap::new();
    for stmt in code.split(';') {
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

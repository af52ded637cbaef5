//! The Python with the official SDKs, for the tests that use them as clients
//! (this package's `wire_formats.rs` and `llm-gateway`'s SDK tests, which
//! include this file by path).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Python that imports `modules` (`"anthropic, openai"`):
/// `LLM_RUNTIME_SDK_PYTHON`, else the venv `.ci/run` creates
/// (`target/sdk-venv`); the reason when it cannot.
pub(crate) fn sdk_python(modules: &str) -> Result<PathBuf, String> {
    let python = std::env::var_os("LLM_RUNTIME_SDK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/sdk-venv/bin/python")
        });
    if !python.exists() {
        return Err(format!(
            "{} does not exist (set LLM_RUNTIME_SDK_PYTHON to a Python with {modules})",
            python.display()
        ));
    }
    let probe = Command::new(&python)
        .args(["-c", &format!("import {modules}")])
        .output()
        .map_err(|e| format!("{} cannot run: {e}", python.display()))?;
    if !probe.status.success() {
        return Err(format!(
            "{} cannot import {modules}: {}",
            python.display(),
            String::from_utf8_lossy(&probe.stderr)
        ));
    }
    Ok(python)
}

/// [`sdk_python`], or `None` after printing why `test` is skipped. Under
/// `CI=true` (`.ci/run` always installs the SDKs) a missing one fails instead.
pub(crate) fn python_or_skip(test: &str, modules: &str) -> Option<PathBuf> {
    match sdk_python(modules) {
        Ok(python) => Some(python),
        Err(reason) if std::env::var("CI").as_deref() == Ok("true") => panic!("{test}: {reason}"),
        Err(reason) => {
            eprintln!("skipped {test}: {reason}");
            None
        }
    }
}

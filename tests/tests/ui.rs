//! The compile-time checks of `#[derive(Provider)]`: trybuild compile-fail
//! cases with reviewed `.stderr`, and pass cases that also run.
//!
//! Diagnostics change between compiler releases, so the cases run only on the
//! pinned toolchain and are skipped (not failed) on any other. Regenerate the
//! `.stderr` files with `TRYBUILD=overwrite cargo test -p tests --test ui` and
//! review the diff.

use std::process::Command;

/// The toolchain of `rust-toolchain.toml`, whose diagnostics the `.stderr` files hold.
const PINNED: &str = "1.95.0";

/// The compile-fail topics under `ui/`.
const TOPICS: &[&str] = &[
    "shape",
    "keys",
    "url",
    "auth",
    "env",
    "headers",
    "values",
    "transform",
    "quirks",
    "errors",
    "operations",
];

#[test]
fn ui() {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let version = Command::new(&rustc)
        .arg("-V")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default();
    if !version.starts_with(&format!("rustc {PINNED} ")) {
        eprintln!(
            "skipped: the UI cases hold rustc {PINNED} diagnostics, this is `{}`",
            version.trim()
        );
        return;
    }
    let cases = trybuild::TestCases::new();
    for topic in TOPICS {
        cases.compile_fail(format!("ui/{topic}/*.rs"));
    }
    cases.pass("ui/pass/*.rs");
}

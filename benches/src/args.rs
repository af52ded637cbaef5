//! The bench binaries' command line: `--name VALUE` options and `--flag` switches.

/// The value after `--name` on the command line, if any.
pub fn value(name: &str) -> Option<String> {
    let mut args = std::env::args().skip_while(|a| a != name);
    args.next()?;
    args.next()
}

/// The value after `--name`, parsed; `None` when absent or not a `T`.
pub fn parsed<T: std::str::FromStr>(name: &str) -> Option<T> {
    value(name)?.parse().ok()
}

/// Whether `--name` is on the command line.
pub fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

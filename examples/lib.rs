//! Placeholder so the package builds; the examples live in `examples/`.

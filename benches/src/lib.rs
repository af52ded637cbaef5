//! Benchmark harness for llm-runtime: a fast loopback upstream, wire-shaped
//! fixtures, and the small statistics the bench binaries print.
//!
//! - `cargo run -p benches --release --bin overhead`: latency, throughput and
//!   stream overhead against raw reqwest, side by side in one process.
//! - `cargo run -p benches --release --bin memory`: memory per open stream.
//! - `cargo run -p benches --release --all-features --bin routing`: the router's
//!   overhead per call, in-process and with Redis.
//! - `cargo run -p benches --release --bin gateway`: llm-gateway's added
//!   latency, throughput, CPU, memory and boot time against direct calls
//!   (`cargo build --release -p llm-gateway` first).
//! - `cargo bench -p benches`: criterion benches of framing and decoders.
//!
//! See `BENCHMARKS.md` at the workspace root for the targets and the latest figures.

pub mod args;
pub mod fixtures;
#[cfg(llm_bench_peers)]
pub mod peers;
pub mod raw;
pub mod redis_server;
pub mod stats;
pub mod upstream;

pub use upstream::{BenchUpstream, Reply, Routes};

//! `llm-gateway --config CONFIG.yaml --host 127.0.0.1 --port 4000`.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    llm_gateway::cli::main().await
}

//! The command line: LiteLLM's proxy flags (`--config`, `--host`, `--port`).

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::server::{self, ServeOptions};
use crate::state::AppState;

/// `llm-gateway` arguments.
#[derive(Debug, Parser)]
#[command(
    name = "llm-gateway",
    version,
    about = "An OpenAI- and Anthropic-compatible LLM gateway that runs LiteLLM's config.yaml"
)]
pub struct Args {
    /// LiteLLM's `config.yaml`. Without it the gateway serves offline on a
    /// loopback mock model (`mock`), for a first try.
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// The address to listen on. A non-loopback address needs a master key
    /// (`general_settings.master_key` or `LITELLM_MASTER_KEY`).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// The port to listen on (0: any free port; the address is printed).
    #[arg(long, default_value_t = 4000)]
    pub port: u16,
}

/// Parse the arguments, load the config, serve until SIGTERM or Ctrl-C.
pub async fn main() -> ExitCode {
    let args = Args::parse();
    server::raise_open_files_limit();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("llm-gateway: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let (state, mock) = match &args.config {
        Some(path) => {
            // From a file: SIGHUP and `POST /config/reload` read it again.
            let (state, warnings) = AppState::from_file(path).map_err(|e| e.to_string())?;
            for warning in &warnings {
                tracing::warn!(target: "llm_gateway::config", "{warning}");
                eprintln!("llm-gateway: warning: {warning}");
            }
            (state, None)
        }
        None => {
            let (config, mock) = crate::offline::config().await.map_err(|e| e.to_string())?;
            let state = AppState::from_config(config).map_err(|e| e.to_string())?;
            (state, Some(mock))
        }
    };
    // After the config: it may ask for OTLP export (`callbacks: ["otel"]`).
    let telemetry = crate::telemetry::init(&state.config);
    if let Some(gov) = crate::governance::wire::start(&state)
        .await
        .map_err(|e| e.to_string())?
    {
        let _ = state.governance.set(gov);
    }
    let addr = SocketAddr::new(args.host, args.port);
    let options = ServeOptions::from_state(&state);
    let listener = server::bind(addr, &state)
        .await
        .map_err(|e| e.to_string())?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    // The one line a script (and the tests) read to find the port; a reader
    // that stops reading after it must not stop the gateway.
    let _ = writeln!(std::io::stdout(), "llm-gateway listening on http://{local}");
    if mock.is_some() {
        eprintln!(
            "no --config: serving the offline mock model `mock`; try\n  curl http://{local}/v1/chat/completions -H 'content-type: application/json' -d '{{\"model\":\"mock\",\"messages\":[{{\"role\":\"user\",\"content\":\"Hello\"}}]}}'"
        );
    }
    server::serve(listener, state.clone(), options, server::shutdown_signal()).await;
    if let Some(gov) = state.governance.get() {
        gov.shutdown().await; // leases given back; acknowledged spend stored or spilled
    }
    drop(mock);
    telemetry.shutdown().await; // the spans still queued are sent
    Ok(())
}

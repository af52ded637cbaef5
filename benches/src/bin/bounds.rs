//! Memory bounded by what is kept, not by what the peer sends: peak RSS of
//! one call whose answer is huge but mostly thrown away.
//!
//! `nice -n 19 cargo run -p benches --release --bin bounds [-- --mib N]`
//!
//! The bench upstream runs in this (parent) process. Each variant runs in a
//! fresh child process (this binary with `--measure VARIANT`), so its
//! `/proc/self/status` counts the client alone:
//!
//! - `error-body`: one OpenAI chat call answered `400` with an N MiB error body
//!   (`{"error":{"message":..,"param":[0,0,0,...]}}`); the call fails with the
//!   typed error, of which only a few KiB are kept;
//! - `openai-tool-args`: one OpenAI chat stream whose single tool call streams
//!   N MiB of arguments (`{"a":[0,0,0,...]}` in 64 KiB pieces), read to the end
//!   with `collect_response()`;
//! - `anthropic-tool-args`: the same arguments as Anthropic `input_json_delta`s.
//!
//! The child makes one small call first (pool, runtime and allocator warm),
//! reads `VmRSS`, makes the measured call, and reads `VmHWM`: the peak over
//! the baseline is what the call cost at its worst moment.

use std::process::{Command, Stdio};

use benches::stats::proc_status_bytes;
use benches::{BenchUpstream, Reply, Routes, fixtures};
use bytes::Bytes;
use llm_runtime::providers::{Anthropic, OpenAi};
use llm_runtime::{ChatRequest, ChatResponse};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Result<T, E = BoxError> = std::result::Result<T, E>;

const KEY: &str = "sk-bench-0123456789";
/// Bytes of argument text per streamed piece.
const PIECE: usize = 64 * 1024;
const VARIANTS: [&str; 3] = ["error-body", "openai-tool-args", "anthropic-tool-args"];

fn main() -> Result<()> {
    let mib: usize = benches::args::value("--mib").map_or(Ok(60), |s| s.parse())?;
    match benches::args::value("--measure") {
        Some(variant) => {
            let base = benches::args::value("--base").ok_or("--measure needs --base")?;
            measure(&variant, &base)
        }
        None => parent(mib),
    }
}

/// Serve, run each variant in a child, print the table.
fn parent(mib: usize) -> Result<()> {
    let size = mib * 1024 * 1024;
    let routes = Routes::new()
        .route(
            "/ok/v1/chat/completions",
            Reply::json(fixtures::openai_chat_json()),
        )
        .route(
            "/ok/v1/messages",
            Reply::json(fixtures::anthropic_message_json()),
        )
        .route(
            "/error-body/v1/chat/completions",
            Reply::json_status(400, "Bad Request", error_body(size)),
        )
        .route(
            "/openai-tool-args/v1/chat/completions",
            Reply::sse(&openai_tool_events(size)),
        )
        .route(
            "/anthropic-tool-args/v1/messages",
            Reply::sse(&anthropic_tool_events(size)),
        );
    let upstream = BenchUpstream::start(routes)?;
    let exe = std::env::current_exe()?;
    println!("bounds bench: {mib} MiB answers, each variant in a fresh process");
    println!(
        "{:<22} {:>12} {:>12} {:>14} {:>14}",
        "variant", "RSS before", "HWM after", "peak - before", "kept bytes"
    );
    for variant in VARIANTS {
        let output = Command::new(&exe)
            .args(["--measure", variant, "--base", &upstream.url("")])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?
            .wait_with_output()?;
        let [before, hwm, kept] = benches::stats::child_result(&output, variant)?;
        println!(
            "{:<22} {:>8} MiB {:>8} MiB {:>10} MiB {:>14}",
            variant,
            before / (1024 * 1024),
            hwm / (1024 * 1024),
            hwm.saturating_sub(before) / (1024 * 1024),
            kept
        );
        println!("SUMMARY {variant} {before} {hwm} {kept}");
    }
    Ok(())
}

/// One variant in this (child) process; prints `RESULT before hwm kept`.
fn measure(variant: &str, base: &str) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let ok = format!("{base}/ok/v1");
        let url = format!("{base}/{variant}/v1");
        let request = ChatRequest::new("m").user("Hello");
        let (before, kept) = match variant {
            "error-body" => {
                let warm = OpenAi::config().api_key(KEY).base_url(&ok).connect()?;
                warm.chat(request.clone()).await?;
                let before = rss();
                let provider = OpenAi::config()
                    .api_key(KEY)
                    .base_url(&url)
                    .max_retries(0)
                    .connect()?;
                let e = provider
                    .chat(request)
                    .await
                    .err()
                    .ok_or("the call succeeded")?;
                let kept = (e.body().map_or(0, str::len) + e.message().len()) as u64;
                eprintln!(
                    "{variant}: {} (kept body {} B)",
                    e.kind(),
                    e.body().map_or(0, str::len)
                );
                (before, kept)
            }
            "openai-tool-args" => {
                let warm = OpenAi::config().api_key(KEY).base_url(&ok).connect()?;
                warm.chat(request.clone()).await?;
                let before = rss();
                let provider = OpenAi::config().api_key(KEY).base_url(&url).connect()?;
                let r = provider
                    .chat_stream(request)
                    .await?
                    .collect_response()
                    .await?;
                (before, arguments_len(&r)?)
            }
            "anthropic-tool-args" => {
                let warm = Anthropic::config().api_key(KEY).base_url(&ok).connect()?;
                warm.chat(request.clone()).await?;
                let before = rss();
                let provider = Anthropic::config().api_key(KEY).base_url(&url).connect()?;
                let r = provider
                    .chat_stream(request)
                    .await?
                    .collect_response()
                    .await?;
                (before, arguments_len(&r)?)
            }
            other => return Err(format!("unknown variant `{other}`").into()),
        };
        println!("RESULT {before} {} {kept}", hwm());
        Ok(())
    })
}

/// The length of the one tool call's arguments (checks the stream arrived whole).
fn arguments_len(r: &ChatResponse) -> Result<u64> {
    let call = r
        .message
        .tool_calls
        .first()
        .ok_or("no tool call came back")?;
    if !call.arguments.ends_with("]}") {
        return Err("the tool arguments arrived cut".into());
    }
    Ok(call.arguments.len() as u64)
}

/// `,0` repeated to about `size` bytes: the body of an array of zeros.
fn zeros(size: usize) -> String {
    ",0".repeat(size / 2)
}

/// An OpenAI-shaped error whose `param` is a `size`-byte array of zeros.
fn error_body(size: usize) -> Bytes {
    let body = format!(
        r#"{{"error":{{"message":"bad request","type":"invalid_request_error","param":[0{}]}}}}"#,
        zeros(size)
    );
    Bytes::from(body)
}

/// `{"a":[0,0,...]}` of about `size` bytes in pieces of [`PIECE`] bytes.
fn argument_pieces(size: usize) -> Vec<String> {
    let mut pieces = vec![r#"{\"a\":[0"#.to_owned()];
    let piece = zeros(PIECE);
    pieces.extend(std::iter::repeat_n(piece, size / PIECE));
    pieces.push("]}".to_owned());
    pieces
}

/// An OpenAI chat stream with one tool call of `size` bytes of arguments.
fn openai_tool_events(size: usize) -> Vec<Bytes> {
    const HEAD: &str = r#"data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":"#;
    let mut events = vec![format!(
        r#"{HEAD}{{"role":"assistant","tool_calls":[{{"index":0,"id":"call_1","type":"function","function":{{"name":"f","arguments":""}}}}]}},"finish_reason":null}}]}}"#
    )];
    for piece in argument_pieces(size) {
        events.push(format!(
            r#"{HEAD}{{"tool_calls":[{{"index":0,"function":{{"arguments":"{piece}"}}}}]}},"finish_reason":null}}]}}"#
        ));
    }
    events.push(format!(r#"{HEAD}{{}},"finish_reason":"tool_calls"}}]}}"#));
    events.push("data: [DONE]".to_owned());
    events
        .into_iter()
        .map(|e| Bytes::from(format!("{e}\n\n")))
        .collect()
}

/// An Anthropic message stream with one `tool_use` block of `size` bytes of input.
fn anthropic_tool_events(size: usize) -> Vec<Bytes> {
    let mut events = vec![
        r#"event: message_start
data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1}}}"#.to_owned(),
        r#"event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"f","input":{}}}"#.to_owned(),
    ];
    for piece in argument_pieces(size) {
        events.push(format!(
            "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"input_json_delta\",\"partial_json\":\"{piece}\"}}}}"
        ));
    }
    events.push(
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}".to_owned(),
    );
    events.push(
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":1}}".to_owned(),
    );
    events.push("event: message_stop\ndata: {\"type\":\"message_stop\"}".to_owned());
    events
        .into_iter()
        .map(|e| Bytes::from(format!("{e}\n\n")))
        .collect()
}

fn rss() -> u64 {
    proc_status_bytes("VmRSS").unwrap_or(0)
}

fn hwm() -> u64 {
    proc_status_bytes("VmHWM").unwrap_or(0)
}

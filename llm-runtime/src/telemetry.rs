//! The per-call span, with the OpenTelemetry GenAI semantic-convention
//! attribute names (semantic conventions v1.37: `gen_ai.provider.name`, which
//! replaced `gen_ai.system`), and the completion hook call.
//!
//! With `tracing-opentelemetry` installed (feature `otel` wires nothing more
//! than that crate's layer), the span's fields become the attributes of the
//! exported span; `otel.name` sets its name to `chat {model}` and `otel.kind`
//! to `client`. No prompt or completion text is recorded. A stream the caller
//! dropped before its end records the usage it had reported and
//! `llm.stream.dropped = true`.

use std::time::Duration;

use tracing::Span;
use tracing::field::Empty;

use crate::error::Error;
use crate::hooks::{Completion, Hooks};
use crate::types::{ChatResponse, Usage};

/// A call's span: the fields every call has (chat and the operations beyond
/// it, so one dashboard reads both), then the call's own.
macro_rules! call_span {
    ($name:literal, $provider:expr, $operation:expr, $server:expr, $($own:tt)*) => {
        tracing::info_span!(
            $name,
            provider = $provider,
            "otel.kind" = "client",
            "gen_ai.operation.name" = $operation,
            "gen_ai.provider.name" = $provider,
            "gen_ai.response.model" = Empty,
            "gen_ai.usage.input_tokens" = Empty,
            "gen_ai.usage.output_tokens" = Empty,
            "server.address" = %server_address($server),
            "error.type" = Empty,
            "llm.stream.dropped" = Empty,
            $($own)*
        )
    };
}

/// The span of one chat call (`llm.chat`).
pub(crate) fn chat_span(provider: &'static str, model: &str, stream: bool, server: &str) -> Span {
    call_span!(
        "llm.chat",
        provider,
        "chat",
        server,
        model = %model,
        stream,
        "otel.name" = %format_args!("chat {model}"),
        "gen_ai.request.model" = %model,
        "gen_ai.response.id" = Empty,
        "gen_ai.response.finish_reasons" = Empty,
    )
}

/// The host of a base URL (`server.address`), never its user info (a
/// configuration refuses one anyway).
fn server_address(base_url: &str) -> &str {
    let rest = base_url.split_once("://").map_or(base_url, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// The span of one call of an operation beyond chat (`llm.operation`):
/// `gen_ai.operation.name` is the method (`images`, `transcribe`,
/// `batch_create`...); the model is recorded once the call knows it.
pub(crate) fn operation_span(
    provider: &'static str,
    operation: &'static str,
    server: &str,
) -> Span {
    call_span!(
        "llm.operation",
        provider,
        operation,
        server,
        "otel.name" = operation,
        "gen_ai.request.model" = Empty,
        "llm.cost_usd" = Empty,
    )
}

/// What an operation's answer tells the span and the completion hooks.
#[derive(Debug, Clone, Default)]
pub(crate) struct Done {
    /// The model that answered (or was asked for).
    pub(crate) model: String,
    /// Token usage, where reported.
    pub(crate) usage: Option<Usage>,
    /// The cost, where the catalog prices the operation.
    pub(crate) cost_usd: Option<f64>,
    /// How many attempts the call took.
    pub(crate) attempts: u32,
    /// From the call to its end.
    pub(crate) latency: Duration,
    /// An answer streamed to the caller (speech).
    pub(crate) stream: bool,
    /// The caller dropped the stream before its end.
    pub(crate) dropped: bool,
}

/// Record an operation's answer on `span` and tell the hooks it completed.
pub(crate) fn operation_done(
    span: &Span,
    hooks: &Hooks,
    provider: &'static str,
    operation: &'static str,
    done: &Done,
) {
    if !span.is_disabled() {
        if !done.model.is_empty() {
            span.record("gen_ai.response.model", done.model.as_str());
        }
        if let Some(usage) = &done.usage {
            record_usage(span, usage);
        }
        if let Some(cost) = done.cost_usd {
            span.record("llm.cost_usd", cost);
        }
        if done.dropped {
            span.record("llm.stream.dropped", true);
        }
    }
    hooks.each(|h| {
        h.on_complete(&Completion {
            provider,
            operation,
            model: &done.model,
            stream: done.stream,
            usage: done.usage.as_ref(),
            finish_reason: None,
            cost: done.cost_usd,
            attempts: done.attempts,
            latency: done.latency,
            dropped: done.dropped,
        })
    });
}

/// Record what the answer says on the current span.
pub(crate) fn record_response(response: &ChatResponse) {
    record_on(&Span::current(), response);
}

/// Record what the answer says on `span`.
pub(crate) fn record_on(span: &Span, response: &ChatResponse) {
    if span.is_disabled() {
        return;
    }
    span.record("gen_ai.response.model", response.model.as_str());
    span.record("gen_ai.response.id", response.id.as_str());
    if let Some(usage) = &response.usage {
        record_usage(span, usage);
    }
    if let Some(reason) = &response.finish_reason {
        span.record("gen_ai.response.finish_reasons", reason.as_str());
    }
}

/// The token counts of `usage` on `span`.
fn record_usage(span: &Span, usage: &Usage) {
    span.record("gen_ai.usage.input_tokens", u64::from(usage.prompt_tokens));
    let output = u64::from(usage.completion_tokens);
    span.record("gen_ai.usage.output_tokens", output);
}

/// Record the error's kind on `span` (`error.type`), and hand the error back.
pub(crate) fn record_error(span: &Span, e: Error) -> Error {
    span.record("error.type", e.kind().as_str());
    e
}

/// Tell the hooks a call completed.
pub(crate) fn completed(
    hooks: &Hooks,
    provider: &'static str,
    model: &str,
    response: &ChatResponse,
    stream: bool,
) {
    report(hooks, provider, model, response, stream, false);
}

/// A stream the caller dropped before its end: the span and the hooks get
/// what it had reported so far (usage, and so cost), flagged as dropped.
pub(crate) fn stream_dropped(
    span: &Span,
    hooks: &Hooks,
    provider: &'static str,
    model: &str,
    response: &ChatResponse,
) {
    record_on(span, response);
    span.record("llm.stream.dropped", true);
    report(hooks, provider, model, response, true, true);
}

fn report(
    hooks: &Hooks,
    provider: &'static str,
    model: &str,
    response: &ChatResponse,
    stream: bool,
    dropped: bool,
) {
    if hooks.is_empty() {
        return;
    }
    let cost = crate::catalog::response_cost(response).map(|c| c.total_usd);
    hooks.each(|h| {
        h.on_complete(&Completion {
            provider,
            operation: "chat",
            model,
            stream,
            usage: response.usage.as_ref(),
            finish_reason: response.finish_reason.as_ref(),
            cost,
            attempts: response.meta.attempts,
            latency: response.meta.latency,
            dropped,
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_addresses() {
        assert_eq!(
            server_address("https://api.openai.com/v1"),
            "api.openai.com"
        );
        assert_eq!(server_address("http://127.0.0.1:8080/v1"), "127.0.0.1");
        assert_eq!(server_address("https://[::1]:9/x"), "[::1]");
        assert_eq!(server_address("no-scheme"), "no-scheme");
        assert_eq!(
            server_address("https://user:secret-pw@proxy.example.com:8443/v1"),
            "proxy.example.com"
        );
    }
}

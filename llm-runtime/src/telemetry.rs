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

use tracing::Span;
use tracing::field::Empty;

use crate::error::Error;
use crate::hooks::{Completion, Hooks};
use crate::types::ChatResponse;

/// The span of one chat call (`llm.chat`).
pub(crate) fn chat_span(provider: &'static str, model: &str, stream: bool, server: &str) -> Span {
    tracing::info_span!(
        "llm.chat",
        provider,
        model = %model,
        stream,
        "otel.name" = %format_args!("chat {model}"),
        "otel.kind" = "client",
        "gen_ai.operation.name" = "chat",
        "gen_ai.provider.name" = provider,
        "gen_ai.request.model" = %model,
        "gen_ai.response.model" = Empty,
        "gen_ai.response.id" = Empty,
        "gen_ai.usage.input_tokens" = Empty,
        "gen_ai.usage.output_tokens" = Empty,
        "gen_ai.response.finish_reasons" = Empty,
        "server.address" = %server_address(server),
        "error.type" = Empty,
        "llm.stream.dropped" = Empty,
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
        span.record("gen_ai.usage.input_tokens", u64::from(usage.prompt_tokens));
        span.record(
            "gen_ai.usage.output_tokens",
            u64::from(usage.completion_tokens),
        );
    }
    if let Some(reason) = &response.finish_reason {
        span.record("gen_ai.response.finish_reasons", reason.as_str());
    }
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

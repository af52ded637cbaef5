//! What the [`LlmProvider`](super::LlmProvider) trait's default `_with`
//! methods do with a call's [`ChatOptions`] for a hand-written provider,
//! whose calls do not go through the runtime's transport. Every option is
//! either applied here or refused with a `Config` error that names it;
//! none is dropped in silence:
//!
//! | option | the default `_with` |
//! |---|---|
//! | `timeout` | bounds the call (a stream: its opening) |
//! | `idle_timeout` | bounds each gap between two events of a stream |
//! | `unsupported_params` | set on a chat request that has no policy of its own; refused for other operations |
//! | `fallbacks` | the [`Client`](crate::Client) tries them; refused for operations beyond chat, as everywhere |
//! | `keep_wire` | keeps nothing: the provider speaks no wire format the runtime knows, and the answer's `wire_format()` says so |
//! | headers (idempotency key included), `retry_policy`, `max_retries`, hooks (the client's too) | refused: they act on the HTTP attempts the runtime makes, and the provider makes its own |

use std::future::Future;

use futures_util::StreamExt;

use super::ChatStream;
use crate::error::{Error, ErrorKind, Result};
use crate::options::ChatOptions;
use crate::types::ChatRequest;

/// What a call sends, for what its options may ask of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sends {
    /// One chat request (the unsupported-parameter policy is set on it).
    Chat,
    /// Chat requests inside an operation (a batch's items).
    ChatItems,
    /// No chat request.
    Other,
}

/// The error of the options `method`'s default cannot apply for
/// `provider`, after the checks every call of its kind makes.
pub(crate) fn refuse_unapplied(
    options: &ChatOptions,
    provider: &'static str,
    method: &str,
    sends: Sends,
) -> Result<()> {
    match sends {
        Sends::Chat => options.check()?,
        Sends::ChatItems | Sends::Other => {
            options.check_operation(method.trim_end_matches("_with"), sends == Sends::ChatItems)?
        }
    }
    let chat = sends == Sends::Chat;
    // Every field is named, so a new option does not compile until it is
    // either applied by the defaults or refused here.
    let ChatOptions {
        fallbacks: _,
        unsupported_params,
        headers,
        timeout: _,
        idle_timeout: _,
        retry,
        max_retries,
        hooks,
        invalid: _,
        keep_wire: _,
    } = options;
    let unapplied: Vec<&str> = [
        ("headers", !headers.is_empty()),
        ("a retry policy", retry.is_some()),
        ("max_retries", max_retries.is_some()),
        ("hooks", !hooks.is_empty()),
        (
            "an unsupported-parameter policy",
            !chat && unsupported_params.is_some(),
        ),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect();
    if unapplied.is_empty() {
        return Ok(());
    }
    Err(Error::config(format!(
        "the `{provider}` provider does not implement `{method}`, and the trait's default \
         cannot apply this call's {}: they act on the HTTP attempts the runtime makes, which \
         this provider's calls do not go through (implement `{method}` to apply them, or leave \
         them out)",
        unapplied.join(", ")
    ))
    .with_provider(provider))
}

/// The unsupported-parameter policy of the call on `request`, unless the
/// request has its own (as the [`Client`](crate::Client) does).
pub(crate) fn with_policy(mut request: ChatRequest, options: &ChatOptions) -> ChatRequest {
    if request.unsupported_params.is_none() {
        request.unsupported_params = options.unsupported_params;
    }
    request
}

/// `call` bounded by the call's `timeout`, if it has one.
pub(crate) async fn within<T>(
    options: &ChatOptions,
    provider: &'static str,
    method: &str,
    call: impl Future<Output = Result<T>>,
) -> Result<T> {
    let Some(bound) = options.timeout else {
        return call.await;
    };
    match tokio::time::timeout(bound, call).await {
        Ok(done) => done,
        Err(_) => Err(Error::new(
            ErrorKind::Timeout,
            format!("`{method}` did not finish within the call's timeout of {bound:?}"),
        )
        .with_provider(provider)),
    }
}

/// `stream` with each gap between two events bounded by the call's
/// `idle_timeout`, if it has one: a longer gap ends it with a `Timeout`.
pub(crate) fn idle_bounded(
    stream: ChatStream,
    options: &ChatOptions,
    provider: &'static str,
) -> ChatStream {
    let Some(idle) = options.idle_timeout else {
        return stream;
    };
    stream.wrap_events(move |inner| {
        futures_util::stream::unfold(Some(inner), move |state| async move {
            let mut inner = state?;
            match tokio::time::timeout(idle, inner.next()).await {
                Ok(Some(event)) => Some((event, Some(inner))),
                Ok(None) => None,
                Err(_) => {
                    let e = Error::new(
                        ErrorKind::Timeout,
                        format!("the stream sent no event for the call's idle timeout of {idle:?}"),
                    )
                    .with_provider(provider);
                    Some((Err(e), None))
                }
            }
        })
    })
}

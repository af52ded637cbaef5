//! The operations beyond chat and embeddings: the wire hooks of
//! [`Operations`] (each answering `Unsupported` by default, so a wire format
//! implements only what it serves) and the capability markers that give
//! [`ProviderClient`](crate::ProviderClient) its typed methods.

use super::{HttpParts, Provider, RequestContext};
use crate::error::{Error, Result};
use crate::types::operation_table;
use crate::types::{
    BatchJob, BatchRequest, BatchResult, ImageEditRequest, ImageRequest, ImageResponse,
    ModerationRequest, ModerationResponse, RerankRequest, RerankResponse, SpeechRequest,
    Transcription, TranscriptionRequest,
};

/// `Unsupported`, naming what the wire format lacks.
fn unserved<T>(what: &str) -> Result<T> {
    Err(Error::unsupported(format!(
        "this provider's wire format has no {what} API"
    )))
}

/// The hooks of [`Operations`], from the table: each with a default that
/// answers `Unsupported`, naming what the wire format lacks.
macro_rules! wire_hooks {
    ([] $($cap:ident $marker:ident $key:literal $methods:tt {
        $($(#[doc = $doc:literal])* fn $hook:ident($($arg:ident: $ty:ty),*) -> $ret:ty, $what:literal;)*
    })*) => {$($(
        $(#[doc = $doc])*
        fn $hook(&self, $($arg: $ty),*) -> Result<$ret> {
            let _ = ($($arg,)*);
            unserved($what)
        }
    )*)*};
}

/// The wire hooks of the operations beyond chat: images, speech,
/// transcription, rerank, moderation and batches. Every hook has a default
/// that answers [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported):
/// a wire format overrides the ones it serves and returns itself from
/// [`Transform::operations`](crate::provider::Transform::operations).
///
/// The runtime sends what a `build_*` hook returns through the one transport
/// (auth, retries, deadlines, hooks, redaction) and hands the successful
/// body to the matching `parse_*` hook.
pub trait Operations: Send + Sync {
    operation_table!(wire_hooks);
}

/// The wire of a format with none of these operations: every hook answers
/// `Unsupported` (the default of [`Transform::operations`](crate::provider::Transform::operations)).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoOperations;

impl Operations for NoOperations {}

/// Marker: the provider declares `capabilities(images)`, so
/// [`ProviderClient::images`](crate::ProviderClient::images) exists for it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not declare images",
    label = "add `images` to `capabilities(...)` in its `#[provider]` attribute"
)]
pub trait SupportsImages: Provider {}

/// Marker: the provider declares `capabilities(speech)`, so
/// [`ProviderClient::speech`](crate::ProviderClient::speech) exists for it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not declare speech",
    label = "add `speech` to `capabilities(...)` in its `#[provider]` attribute"
)]
pub trait SupportsSpeech: Provider {}

/// Marker: the provider declares `capabilities(transcription)`, so
/// [`ProviderClient::transcribe`](crate::ProviderClient::transcribe) exists for it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not declare transcription",
    label = "add `transcription` to `capabilities(...)` in its `#[provider]` attribute"
)]
pub trait SupportsTranscription: Provider {}

/// Marker: the provider declares `capabilities(rerank)`, so
/// [`ProviderClient::rerank`](crate::ProviderClient::rerank) exists for it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not declare rerank",
    label = "add `rerank` to `capabilities(...)` in its `#[provider]` attribute"
)]
pub trait SupportsRerank: Provider {}

/// Marker: the provider declares `capabilities(moderation)`, so
/// [`ProviderClient::moderate`](crate::ProviderClient::moderate) exists for it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not declare moderation",
    label = "add `moderation` to `capabilities(...)` in its `#[provider]` attribute"
)]
pub trait SupportsModeration: Provider {}

/// Marker: the provider declares `capabilities(batch)`, so
/// [`ProviderClient::batch`](crate::ProviderClient::batch) exists for it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not declare batch",
    label = "add `batch` to `capabilities(...)` in its `#[provider]` attribute"
)]
pub trait SupportsBatch: Provider {}

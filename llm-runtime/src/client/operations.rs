//! The operations beyond chat on [`Client`], routed as `"provider/model"`
//! like chat, generated from the one table (`types/operation_table.rs`): the
//! route's model replaces the request's (an empty model part keeps the
//! request's, or the provider's default). No fallbacks: images, voices,
//! scores and batches from another model are not the same answer.

use super::{Client, Route};
use crate::error::Result;
use crate::http::ByteStream;
use crate::options::{BatchWait, ChatOptions};
use crate::provider_client::Outcome;
use crate::types::{
    BatchJob, BatchOutcome, BatchRequest, BatchResults, ImageEditRequest, ImageRequest,
    ImageResponse, ModerationRequest, ModerationResponse, RerankRequest, RerankResponse,
    SpeechRequest, Transcription, TranscriptionRequest, operation_table,
};

/// The routed methods of [`Client`], from the table: each resolves the
/// route, applies its model as the table's `route` mode says, calls the
/// provider's `_with` method with the client's hooks and the call's
/// options, and names the route on the answer's metadata.
macro_rules! client_routes {
    ([] $($cap:ident $marker:ident $key:literal {
        $($(#[doc = $doc:literal])* fn $name:ident / $with:ident / $run:ident ($first:ident: $first_ty:ty $(, $arg:ident: $ty:ty)*) -> $ret:ty, route $route:ident, wire $wire:tt;)*
    } $hooks:tt)*) => {$($(
        $(#[doc = $doc])*
        ///
        #[doc = concat!("With the provider of `route` (`provider/model`). `Unsupported` when it does not declare `", $key, "`.")]
        pub async fn $name(&self, route: &str, $first: $first_ty $(, $arg: $ty)*) -> Result<$ret> {
            self.$with(route, $first, $($arg,)* &ChatOptions::default()).await
        }

        #[doc = concat!("[`Client::", stringify!($name), "`] with per-call options (timeout, headers, idempotency key, retries, hooks); fallbacks are refused.")]
        pub async fn $with(&self, route: &str, $first: $first_ty, $($arg: $ty,)* options: &ChatOptions) -> Result<$ret> {
            let options = self.inner.with_hooks(options);
            let (route, provider) = self.inner.resolve(route)?;
            let $first = routed!($route, $first, &route);
            let mut answer = provider.$with($first, $($arg,)* &options).await?;
            served(&mut answer, &route);
            Ok(answer)
        }
    )*)*};
}

/// How a route's model reaches the call's first argument (the table's `route` mode).
macro_rules! routed {
    (model, $request:ident, $route:expr) => {{
        let mut request = $request;
        if !$route.model.is_empty() {
            request.model.clone_from(&$route.model);
        }
        request
    }};
    (items, $request:ident, $route:expr) => {
        with_model($request, &$route.model)
    };
    (none, $first:ident, $route:expr) => {
        $first
    };
}

impl Client {
    operation_table!(client_routes);
}

/// Name the route on the answer's metadata, where it has one.
fn served<T: Outcome>(answer: &mut T, route: &Route) {
    if let Some(meta) = answer.meta_mut() {
        meta.route = Some(route.to_string());
    }
}

/// Items without a model get the route's.
fn with_model(mut request: BatchRequest, model: &str) -> BatchRequest {
    if !model.is_empty() {
        for item in &mut request.items {
            if item.request.model.is_empty() {
                model.clone_into(&mut item.request.model);
            }
        }
    }
    request
}

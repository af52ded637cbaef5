//! What [`ProviderClient::operate`](super::ProviderClient::operate) needs of
//! an operation's answer: its metadata (latency, route), what the span and
//! the completion hooks are told, and, for a stream, when it ends.

use crate::error::Result;
use crate::http::ByteStream;
use crate::telemetry::Done;
use crate::types::{
    BatchJob, BatchOutcome, BatchResults, ImageEditRequest, ImageRequest, ImageResponse,
    ModerationRequest, ModerationResponse, RerankRequest, RerankResponse, ResponseMeta,
    Transcription, TranscriptionRequest,
};

/// Tells the span and the hooks that a streamed answer ended (`true`: the
/// caller dropped it first).
pub(crate) type EndReport = Box<dyn FnOnce(bool) + Send + Sync>;

/// An operation's answer, as the layer that runs operations sees it.
pub(crate) trait Outcome {
    /// The answer's metadata, where it carries one.
    fn meta_mut(&mut self) -> Option<&mut ResponseMeta> {
        None
    }

    /// What the span and the completion hooks are told.
    fn done(&self) -> Done {
        Done::default()
    }

    /// Fill in who served the answer: the provider, the model asked for
    /// (where the API names none) and the transport's metadata.
    fn served(&mut self, provider: &str, model: &str, meta: ResponseMeta) {
        let _ = (provider, model, meta);
    }

    /// Keep `report` to run when the answer ends (a stream), or hand it
    /// back to run now (a whole answer).
    fn report_at_end(&mut self, report: EndReport) -> Option<EndReport> {
        Some(report)
    }
}

/// An answer with `model`, `meta` and (where named) `usage` fields.
macro_rules! whole_answers {
    ($($ty:ty $(, $usage:ident)?;)*) => {$(
        impl Outcome for $ty {
            fn meta_mut(&mut self) -> Option<&mut ResponseMeta> {
                Some(&mut self.meta)
            }

            fn served(&mut self, provider: &str, model: &str, meta: ResponseMeta) {
                provider.clone_into(&mut self.provider);
                if self.model.is_empty() {
                    model.clone_into(&mut self.model);
                }
                self.meta = meta;
            }

            fn done(&self) -> Done {
                Done {
                    model: self.model.clone(),
                    $($usage: self.$usage.clone(),)?
                    cost_usd: self.meta.cost_usd,
                    attempts: self.meta.attempts,
                    ..Done::default()
                }
            }
        }
    )*};
}

whole_answers! {
    ImageResponse, usage;
    Transcription, usage;
    RerankResponse, usage;
    ModerationResponse;
}

/// An answer checked against its request before it is handed back (the
/// default accepts it): every wire format's answers get the same checks.
pub(crate) trait Agrees<R>: Sized {
    fn agrees_with(self, request: &R) -> Result<Self> {
        let _ = request;
        Ok(self)
    }
}

impl Agrees<ImageRequest> for ImageResponse {}
impl Agrees<ImageEditRequest> for ImageResponse {}
impl Agrees<TranscriptionRequest> for Transcription {}
impl Agrees<ModerationRequest> for ModerationResponse {}

/// Indices in range, each once, most relevant first, no more than `top_n`.
impl Agrees<RerankRequest> for RerankResponse {
    fn agrees_with(self, request: &RerankRequest) -> Result<Self> {
        self.checked(request)
    }
}

/// Batch steps carry no transport metadata: the hooks hear of them, with
/// no model and no cost (a batch's cost is its items').
impl Outcome for BatchJob {}
impl Outcome for BatchResults {}
impl Outcome for Vec<BatchOutcome> {}

impl Outcome for ByteStream {
    fn meta_mut(&mut self) -> Option<&mut ResponseMeta> {
        Some(self.meta_mut())
    }

    fn done(&self) -> Done {
        Done {
            model: self.model().to_owned(),
            cost_usd: self.meta().cost_usd,
            attempts: self.meta().attempts,
            stream: true,
            ..Done::default()
        }
    }

    fn report_at_end(&mut self, report: EndReport) -> Option<EndReport> {
        self.on_end(report);
        None
    }
}

//! The operations beyond chat on [`ProviderClient`]: each a typed method that
//! exists only where the provider declares the capability (its marker trait),
//! and an unchecked twin the object-safe [`LlmProvider`](super::LlmProvider)
//! calls after checking the declaration at run time. Every one goes through
//! the one transport: auth, retries, deadlines, hooks, redaction, metadata.

use std::future::Future;
use std::time::{Duration, Instant};

use tracing::Instrument;

use super::ProviderClient;
use super::outcome::{Agrees as _, EndReport, Outcome};
use crate::error::{Error, Result};
use crate::http::ByteStream;
use crate::http::exchange::{Answer, Deadline, Expect};
use crate::options::{BatchWait, ChatOptions};
use crate::provider::{
    HttpParts, Operation, Operations, Provider, RequestContext, SupportsBatch, SupportsImages,
    SupportsModeration, SupportsRerank, SupportsSpeech, SupportsTranscription, Transform as _,
};
use crate::spec::Capability;
use crate::telemetry::{operation_done, operation_span, record_error};
use crate::transport::Sent;
use crate::types::{
    BatchJob, BatchOutcome, BatchRequest, BatchResults, ImageEditRequest, ImageRequest,
    ImageResponse, ModerationRequest, ModerationResponse, RerankRequest, RerankResponse,
    ResponseMeta, SpeechRequest, Transcription, TranscriptionRequest, operation_table,
};

/// The typed methods of `ProviderClient<P>`, from the table: each behind its
/// capability marker, with a `_with` twin taking per-call options.
macro_rules! typed_methods {
    ([] $($cap:ident $marker:ident $key:literal {
        $($(#[doc = $doc:literal])* fn $name:ident / $with:ident / $run:ident ($($arg:ident: $ty:ty),*) -> $ret:ty, route $route:ident, wire $wire:tt;)*
    } $hooks:tt)*) => {$(
        impl<P: $marker> ProviderClient<P> {$(
            $(#[doc = $doc])*
            #[doc = concat!("\n\nOnly for providers that declare `capabilities(", $key, ")`.")]
            pub async fn $name(&self, $($arg: $ty),*) -> Result<$ret> {
                self.$with($($arg,)* &ChatOptions::default()).await
            }

            #[doc = concat!("[`", stringify!($name), "`](Self::", stringify!($name), ") with per-call options: ")]
            #[doc = "timeout, headers, idempotency key, retries and hooks, as for [`chat_with`](Self::chat_with)."]
            pub async fn $with(&self, $($arg: $ty,)* options: &ChatOptions) -> Result<$ret> {
                let chat_items = stringify!($route) == "items";
                self.operate(stringify!($name), chat_items, options, self.$run($($arg,)* options)).await
            }
        )*}
        $(whole_run!($wire $run ($($arg: $ty),*) -> $ret);)*
    )*};
}

/// `method_run` of an operation of one request and one whole answer, from
/// the table's `wire(Op, build, parse(extra args,), cost)`; nothing for
/// `wire()` (written by hand).
macro_rules! whole_run {
    (() $($hand_written:tt)*) => {};
    (($op:ident, $build:ident, $parse:ident($($parse_arg:tt)*), $cost:ident)
        $run:ident ($request:ident: $ty:ty) -> $ret:ty) => {
        impl<P: Provider> ProviderClient<P> {
            pub(crate) async fn $run(&self, mut $request: $ty, options: &ChatOptions) -> Result<$ret> {
                $request.validate()?;
                $request.model = self.model_or_default(&$request.model)?;
                let step = Step::full(Operation::$op, &$request.model, options);
                let (answer, meta) = self
                    .exchange(
                        step,
                        |w, ctx| w.$build(&$request, ctx),
                        |w, body, ctx| w.$parse(body, $($parse_arg)* ctx),
                    )
                    .await?;
                let mut answer = answer
                    .agrees_with(&$request)
                    .map_err(|e| self.finisher(&$request.model).finish(e))?;
                answer.served(P::SPEC.name, &$request.model, meta);
                answer.meta.cost_usd = crate::catalog::$cost(P::SPEC.name, &$request, &answer);
                Ok(answer)
            }
        }
    };
}

operation_table!(typed_methods);

impl<P: Provider> ProviderClient<P> {
    /// `Unsupported` unless the provider declares `cap` (the object-safe path).
    pub(crate) fn declared(&self, cap: Capability) -> Result<()> {
        if P::SPEC.supports(cap) {
            return Ok(());
        }
        Err(Error::unsupported(format!(
            "the {} provider does not declare {}",
            P::SPEC.name,
            cap.name()
        ))
        .with_provider(P::SPEC.name))
    }

    /// Run one operation as chat runs a call: the per-call options checked
    /// first, inside its span (`gen_ai.operation.name` = `name`), then the
    /// latency, the span's answer fields and the completion hooks, or the
    /// error's kind on the span. `chat_items`: the operation sends chat
    /// requests (batches), so the unsupported-parameter policy applies.
    pub(crate) async fn operate<T: Outcome>(
        &self,
        name: &'static str,
        chat_items: bool,
        options: &ChatOptions,
        run: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let called = Instant::now();
        let span = operation_span(P::SPEC.name, name, &self.transport.base_url);
        let checked = options.check_operation(name, chat_items);
        let result = match checked {
            Ok(()) => run.instrument(span.clone()).await,
            Err(e) => Err(self.finisher("").finish(e)),
        };
        match result {
            Ok(mut out) => {
                if let Some(meta) = out.meta_mut() {
                    meta.latency = called.elapsed();
                }
                let mut done = out.done();
                let hooks = self.hooks(options);
                let report: EndReport = Box::new(move |dropped| {
                    done.latency = called.elapsed();
                    done.dropped = dropped;
                    operation_done(&span, &hooks, P::SPEC.name, name, &done);
                });
                if let Some(report) = out.report_at_end(report) {
                    report(false);
                }
                Ok(out)
            }
            Err(e) => Err(record_error(&span, e)),
        }
    }

    /// Build with the wire's operation hooks, rewrite, send (retrying as
    /// configured and as `options` say), and parse the whole answer.
    pub(super) async fn exchange<T>(
        &self,
        step: Step<'_>,
        build: impl FnOnce(&dyn Operations, &RequestContext<'_>) -> Result<HttpParts>,
        parse: impl FnOnce(&dyn Operations, &[u8], &RequestContext<'_>) -> Result<T>,
    ) -> Result<(T, ResponseMeta)> {
        let (op, model) = (step.op, step.model);
        let finisher = self.finisher(model);
        async {
            if !model.is_empty() {
                tracing::Span::current().record("gen_ai.request.model", model);
            }
            let ctx = self.ctx(model, false);
            let parts = self.build(op, &ctx, |w| build(w.operations(), &ctx))?;
            self.within_body_cap(&parts)?;
            let sent = self.send_step(&parts, step).await?;
            let Answer::Body { body, .. } = sent.answer else {
                return Err(Error::decode("expected a whole body, got a stream"));
            };
            let value = parse(self.provider.wire().operations(), &body, &ctx)
                .map_err(|e| sent.secrets.redact(e))?;
            Ok((value, sent.meta))
        }
        .await
        .map_err(|e| finisher.finish(e))
    }

    /// Send one step through the one transport with the call's options and hooks.
    async fn send_step(&self, parts: &HttpParts, step: Step<'_>) -> Result<Sent> {
        let hooks = self.hooks(step.options);
        self.send(parts, step.model, step.expect, true, step.options, &hooks)
            .await
    }

    /// A request body (an upload) larger than the configured body cap is
    /// refused before it is sent.
    fn within_body_cap(&self, parts: &HttpParts) -> Result<()> {
        let len = parts.body.as_ref().map_or(0, bytes::Bytes::len);
        if len > self.transport.max_body {
            return Err(Error::invalid_request(format!(
                "the request body is {len} bytes, over the {}-byte body cap",
                self.transport.max_body
            )));
        }
        Ok(())
    }

    /// The model, or the provider's default when the request names none.
    fn model_or_default(&self, model: &str) -> Result<String> {
        if !model.is_empty() {
            return Ok(model.to_owned());
        }
        P::SPEC.default_model.map(str::to_owned).ok_or_else(|| {
            Error::invalid_request(format!(
                "the request names no model and the {} provider declares no default_model",
                P::SPEC.name
            ))
            .with_provider(P::SPEC.name)
        })
    }

    pub(crate) async fn speech_run(
        &self,
        mut request: SpeechRequest,
        options: &ChatOptions,
    ) -> Result<ByteStream> {
        request.validate()?;
        request.model = self.model_or_default(&request.model)?;
        let finisher = self.finisher(&request.model);
        let timeouts = self
            .transport
            .timeouts
            .with(options.timeout, options.idle_timeout);
        async {
            tracing::Span::current().record("gen_ai.request.model", request.model.as_str());
            let ctx = self.ctx(&request.model, true);
            let parts = self.build(Operation::Speech, &ctx, |w| {
                w.operations().build_speech_request(&request, &ctx)
            })?;
            let step = Step {
                expect: Expect::Stream,
                ..Step::full(Operation::Speech, &request.model, options)
            };
            let sent = self.send_step(&parts, step).await?;
            let mut meta = sent.meta;
            meta.cost_usd = crate::catalog::speech_cost(P::SPEC.name, &request);
            match sent.answer {
                Answer::Stream(response) => Ok(ByteStream::new(
                    response,
                    timeouts.idle(),
                    Deadline::after(timeouts.stream.unwrap_or(Duration::MAX)),
                    meta,
                    {
                        let finisher = finisher.clone().with_call(sent.secrets);
                        Box::new(move |e| finisher.finish(e))
                    },
                )
                .for_model(request.model.clone())),
                // A 2xx JSON body is not audio (an in-band error was already raised).
                Answer::Body { body, .. } => {
                    Err(Error::decode("the speech answer is JSON, not audio").with_body(&body))
                }
            }
        }
        .await
        .map_err(|e| finisher.finish(e))
    }
}

/// What one HTTP exchange of an operation is: its kind (for the rewrite
/// hook), its model, how the answer is read and the call's options.
#[derive(Clone, Copy)]
pub(super) struct Step<'a> {
    pub(super) op: Operation,
    pub(super) model: &'a str,
    pub(super) expect: Expect,
    pub(super) options: &'a ChatOptions,
}

impl<'a> Step<'a> {
    /// A request whose whole answer is read.
    pub(super) fn full(op: Operation, model: &'a str, options: &'a ChatOptions) -> Self {
        Step {
            op,
            model,
            expect: Expect::Full,
            options,
        }
    }
}

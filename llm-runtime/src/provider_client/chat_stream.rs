use std::borrow::Cow;
use std::collections::VecDeque;
use std::mem;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tracing::{Instrument, Span};

use bytes::Bytes;
use futures_core::Stream;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use crate::error::{Error, ErrorKind, Result};
use crate::hooks::{AttemptFailure, Hooks};
use crate::http::exchange::Deadline;
use crate::provider::{Provider, RequestContext, Transform};
use crate::spec::ProviderSpec;
use crate::stream::read_ahead;
use crate::stream::{Control, Frame, Framer, ResponseAccumulator, StreamFormat, response_events};
use crate::telemetry::{completed, record_on, stream_dropped};
use crate::transport::ErrorFinisher;
use crate::types::ResponseMeta;
use crate::types::{ChatResponse, StreamEvent};

/// A streamed answer: a `Stream` of [`StreamEvent`]s, ending with `None` after
/// the provider's terminator, or with an `Err` (never a silent early end).
///
/// ```no_run
/// # async fn demo(client: llm_runtime::ProviderClient<llm_runtime::providers::OpenAi>) -> llm_runtime::Result<()> {
/// use futures_util::StreamExt;
/// use llm_runtime::{ChatRequest, StreamEvent};
/// let mut stream = client.chat_stream(ChatRequest::new("gpt-4o-mini").user("Hi")).await?;
/// while let Some(event) = stream.next().await {
///     if let StreamEvent::TextDelta { text } = event? {
///         print!("{text}");
///     }
/// }
/// # Ok(()) }
/// ```
pub struct ChatStream {
    inner: Pin<Box<dyn Stream<Item = Result<StreamEvent>> + Send>>,
    /// Borrowed from the declaration for a driven stream (no allocation per stream).
    provider: Cow<'static, str>,
    dropped_params: Vec<String>,
    /// The inner stream returned `None`: it is never polled again (fused).
    finished: bool,
    meta: ResponseMeta,
    /// The request's model, for a collected answer whose stream named none.
    request_model: String,
    /// The frames kept for [`ChatStream::take_frames`].
    tap: Option<FrameTap>,
}

/// The frames of a stream as the upstream sent them, kept for a call that
/// asked for the provider's format ([`ChatOptions::keep_wire`](crate::ChatOptions::keep_wire)):
/// the reader adds each frame once the wire format has parsed it without
/// error, the consumer takes them in order ([`ChatStream::take_frames`]).
/// A frame is added before its events reach the consumer, so the frames
/// taken after an event include the one that carried it.
#[derive(Clone)]
pub(crate) struct FrameTap {
    format: &'static str,
    frames: Arc<std::sync::Mutex<Vec<Frame>>>,
}

impl FrameTap {
    pub(crate) fn new(format: &'static str) -> Self {
        FrameTap {
            format,
            frames: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Frame>> {
        // Nothing panics while holding the lock; a poisoned one is still consistent.
        self.frames
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl std::fmt::Debug for FrameTap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameTap")
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl ChatStream {
    /// Wrap any stream of events (for tests and hand-written providers).
    pub fn new(
        provider: impl Into<String>,
        inner: impl Stream<Item = Result<StreamEvent>> + Send + 'static,
    ) -> Self {
        ChatStream::named(Cow::Owned(provider.into()), inner)
    }

    fn named(
        provider: Cow<'static, str>,
        inner: impl Stream<Item = Result<StreamEvent>> + Send + 'static,
    ) -> Self {
        ChatStream {
            inner: Box::pin(inner),
            provider,
            dropped_params: Vec::new(),
            finished: false,
            meta: ResponseMeta::default(),
            request_model: String::new(),
            tap: None,
        }
    }

    /// Drive a provider's answer: frame the body, parse each frame with the
    /// wire format, bound each wait, and finish every error the one way.
    pub(crate) fn drive<P: Provider>(
        provider: Arc<P>,
        source: StreamSource,
        setup: StreamSetup,
        ctx: OwnedContext,
    ) -> Self {
        let mut driver = Driver {
            body: None,
            framer: Framer::new(setup.format, setup.max_line),
            frames: Vec::with_capacity(1),
            state: Default::default(),
            // One event (~150 bytes) to start: most frames give one, and an
            // open stream should not hold four per buffer (the first step of growth).
            scratch: Vec::with_capacity(1),
            events: VecDeque::with_capacity(1),
            bytes_in: 0,
            sink: None,
            error: None,
            done: false,
            ended: false,
            started: false,
            observed: None,
            span: Span::current(),
            answered: false,
            failed: false,
            provider,
            setup,
            ctx,
        };
        if !driver.setup.hooks.is_empty() || !driver.span.is_disabled() {
            driver.observed = Some(Box::default());
        }
        let request_model = driver.ctx.model.clone();
        let tap = driver.setup.tap.clone();
        match source {
            StreamSource::Body(response) => {
                driver.body = Some(response.bytes_stream().boxed());
                // Read ahead in a task beside the connection's (bounded, see
                // `read_ahead`); inline where no tokio runtime is at hand.
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    let name = Cow::Borrowed(P::SPEC.name);
                    let mut stream = ChatStream::named(name, read_ahead(driver, &runtime));
                    stream.tap = tap;
                    return stream.with_request_model(request_model);
                }
            }
            StreamSource::Whole(body) => driver.whole(&body),
        }
        let stream = futures_util::stream::unfold(driver, |mut d| async move {
            let item = d.next_event().await?;
            Some((item, d))
        });
        let mut stream = ChatStream::named(Cow::Borrowed(P::SPEC.name), stream);
        stream.tap = tap;
        stream.with_request_model(request_model)
    }

    /// The model a collected answer gets when its stream named none.
    fn with_request_model(mut self, model: String) -> Self {
        self.request_model = model;
        self
    }

    /// The parameters the runtime dropped under the unsupported-parameter policy.
    pub(crate) fn with_dropped_params(mut self, dropped: Vec<String>) -> Self {
        self.dropped_params = dropped;
        self
    }

    /// The same stream with its events passed through `wrap` (the router's
    /// settling), keeping what it carries beside them: provider, metadata,
    /// dropped parameters and request model.
    pub(crate) fn wrap_events<S>(mut self, wrap: impl FnOnce(ChatStream) -> S) -> ChatStream
    where
        S: Stream<Item = Result<StreamEvent>> + Send + 'static,
    {
        let provider = self.provider.clone();
        let dropped_params = mem::take(&mut self.dropped_params);
        let meta = mem::take(&mut self.meta);
        let request_model = mem::take(&mut self.request_model);
        let tap = self.tap.clone();
        ChatStream {
            inner: Box::pin(wrap(self)),
            provider,
            dropped_params,
            finished: false,
            meta,
            request_model,
            tap,
        }
    }

    /// The wire format whose frames this stream keeps
    /// ([`ChatOptions::keep_wire`](crate::ChatOptions::keep_wire)); `None`
    /// when it keeps none (not asked, another format served the call, or the
    /// upstream answered the stream with one JSON document).
    pub fn wire_format(&self) -> Option<&'static str> {
        self.tap.as_ref().map(|t| t.format)
    }

    /// Move the frames read so far, in the upstream's order, to `into`:
    /// each frame the wire format parsed without error (a frame it failed on
    /// ends the stream with that error instead), up to the terminator.
    /// Nothing when the stream keeps no frames.
    pub fn take_frames(&self, into: &mut Vec<Frame>) {
        if let Some(tap) = &self.tap {
            into.append(&mut tap.lock());
        }
    }

    /// Set the metadata known when the stream starts.
    pub(crate) fn with_meta(mut self, meta: ResponseMeta) -> Self {
        self.meta = meta;
        self
    }

    /// What the transport knew when the stream started: request id, rate
    /// limits, attempts, latency to headers, route.
    pub fn meta(&self) -> &ResponseMeta {
        &self.meta
    }

    /// The metadata, mutable (the [`Client`](crate::Client) sets the route).
    pub(crate) fn meta_mut(&mut self) -> &mut ResponseMeta {
        &mut self.meta
    }

    /// The provider that serves it.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// Read the whole stream and assemble the same [`ChatResponse`] a
    /// non-streamed call gives.
    pub async fn collect_response(mut self) -> Result<ChatResponse> {
        let mut acc = ResponseAccumulator::default();
        while let Some(event) = self.next().await {
            acc.push(event?);
        }
        let mut response = acc.finish();
        if response.model.is_empty() {
            response.model = mem::take(&mut self.request_model);
        }
        response.provider = self.provider.into_owned();
        response.dropped_params = self.dropped_params;
        response.meta = self.meta;
        Ok(response)
    }
}

impl std::fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatStream")
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

impl Stream for ChatStream {
    type Item = Result<StreamEvent>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.finished {
            return Poll::Ready(None);
        }
        let item = self.inner.as_mut().poll_next(cx);
        if let Poll::Ready(None) = item {
            self.finished = true;
        }
        item
    }
}

/// The longest wait for the body's end after the provider's terminator, so the
/// connection can go back to the pool (documented in the timeout table of
/// [`ProviderConfig::timeout`](crate::ProviderConfig::timeout)).
pub(crate) const DRAIN_BOUND: Duration = Duration::from_secs(1);

/// What a stream is read from.
pub(crate) enum StreamSource {
    /// A 2xx streaming body.
    Body(reqwest::Response),
    /// A stream request answered with one JSON document (some proxies do):
    /// decoded as the whole response, then given as the events a stream of it
    /// would have carried.
    Whole(Bytes),
}

/// What the driver needs from the call: framing, bounds, and how to finish an error.
pub(crate) struct StreamSetup {
    pub(crate) format: StreamFormat,
    pub(crate) max_line: usize,
    /// The longest gap between two chunks.
    pub(crate) idle: Duration,
    /// The whole-stream deadline, if one was configured.
    pub(crate) deadline: Option<Deadline>,
    pub(crate) finisher: ErrorFinisher,
    /// The hooks told when the stream completes or fails.
    pub(crate) hooks: Hooks,
    /// The attempts it took to open the stream.
    pub(crate) attempts: u32,
    /// When the call started.
    pub(crate) called: Instant,
    /// Where the frames go when the call keeps them.
    pub(crate) tap: Option<FrameTap>,
}

/// The owned parts of a [`RequestContext`], for parsing a whole body later.
pub(crate) struct OwnedContext {
    spec: &'static ProviderSpec,
    model: String,
}

impl OwnedContext {
    pub(crate) fn new(spec: &'static ProviderSpec, model: &str) -> Self {
        OwnedContext {
            spec,
            model: model.to_owned(),
        }
    }

    fn get(&self) -> RequestContext<'_> {
        RequestContext::new(self.spec, &self.model, true)
    }
}

struct Driver<P: Provider> {
    provider: Arc<P>,
    body: Option<BoxStream<'static, reqwest::Result<Bytes>>>,
    framer: Framer,
    frames: Vec<Frame>,
    state: <P::Wire as Transform>::StreamState,
    scratch: Vec<StreamEvent>,
    events: VecDeque<StreamEvent>,
    /// Body bytes read since the read-ahead last counted them.
    bytes_in: usize,
    /// With a read-ahead task, where the events go (instead of `events`).
    sink: Option<read_ahead::Reader>,
    error: Option<Error>,
    done: bool,
    ended: bool,
    /// A `Start` was handed on: later ones are dropped, so each parser may emit
    /// one whenever it sees an id or a model.
    started: bool,
    setup: StreamSetup,
    ctx: OwnedContext,
    /// What the completion hooks and the span are told, when anyone listens
    /// (boxed: an open stream nobody observes does not carry its ~230 bytes).
    observed: Option<Box<ResponseAccumulator>>,
    span: Span,
    /// An event other than `Start` or `Usage` was handed on.
    answered: bool,
    /// An error was recorded (so the stream's end is not judged again).
    failed: bool,
}

impl<P: Provider> Driver<P> {
    fn fail(&mut self, e: Error) {
        self.error = Some(self.setup.finisher.finish(e));
        self.failed = true;
        self.ended = true;
    }

    /// Fail with a framing error unless parsing the frames before it already
    /// failed or reached the terminator (then the bytes after it do not matter).
    fn fail_after_frames(&mut self, e: Error) {
        if self.error.is_none() && !self.done {
            self.fail(e);
        } else {
            self.ended = true;
        }
    }

    /// Move what the parser emitted to the caller's queue (one `Start` at most).
    fn emit(&mut self) {
        for mut event in self.scratch.drain(..) {
            if let StreamEvent::Start { model, .. } = &mut event {
                if self.started {
                    continue;
                }
                self.started = true;
                // A wire format whose API names no model leaves it empty.
                if model.is_empty() {
                    model.clone_from(&self.ctx.model);
                }
            } else if !matches!(event, StreamEvent::Usage { .. }) {
                self.answered = true;
            }
            if let Some(observed) = &mut self.observed
                && !matches!(
                    event,
                    StreamEvent::TextDelta { .. } | StreamEvent::ToolCallDelta { .. }
                )
            {
                observed.push(event.clone());
            }
            match &mut self.sink {
                Some(reader) => reader.push(event),
                None => self.events.push_back(event),
            }
        }
    }

    /// The stream ended (well or not): tell the span and the hooks, once.
    fn report_end(&mut self) {
        let Some(observed) = self.observed.take() else {
            return;
        };
        let response = self.observed_response(*observed);
        match &self.error {
            None => {
                record_on(&self.span, &response);
                completed(
                    &self.setup.hooks,
                    self.setup.finisher.provider,
                    &self.ctx.model,
                    &response,
                    true,
                );
            }
            Some(e) => {
                self.span.record("error.type", e.kind().as_str());
                let (provider, model) = (self.setup.finisher.provider, self.ctx.model.as_str());
                self.setup.hooks.each(|h| {
                    h.on_error(&AttemptFailure {
                        provider,
                        model,
                        attempt: self.setup.attempts,
                        error: e,
                        retry_in: None,
                    })
                });
            }
        }
    }

    /// What was observed so far, as the response it makes.
    fn observed_response(&self, observed: ResponseAccumulator) -> ChatResponse {
        let mut response = observed.finish();
        response.meta.attempts = self.setup.attempts;
        response.meta.latency = self.setup.called.elapsed();
        response
    }

    /// Run the transform over the frames the framer produced.
    fn parse_frames(&mut self) {
        let mut frames = std::mem::take(&mut self.frames);
        for frame in frames.drain(..) {
            if self.done {
                break;
            }
            let parsed =
                self.provider
                    .wire()
                    .parse_stream_event(&frame, &mut self.state, &mut self.scratch);
            self.emit();
            if let (Ok(_), Some(tap)) = (&parsed, &self.setup.tap) {
                tap.lock().push(frame);
            }
            match parsed {
                Ok(Control::Continue) => {}
                Ok(Control::Done) => self.done = true,
                Err(e) => {
                    self.fail(e);
                    break;
                }
            }
        }
        // Keep the allocation for the next chunk.
        self.frames = frames;
    }

    /// The byte stream ended: flush the framer, then the parser.
    fn end_of_body(&mut self) {
        let finished = self.framer.finish(&mut self.frames);
        self.parse_frames();
        if let Err(e) = finished {
            self.fail_after_frames(e);
            return;
        }
        if self.done || self.ended {
            self.ended = true;
            return;
        }
        let finished = self
            .provider
            .wire()
            .finish_stream(&mut self.state, &mut self.scratch);
        self.emit();
        match finished {
            Ok(()) => self.ended = true,
            Err(e) => self.fail(e),
        }
    }

    /// One chunk of the body.
    fn chunk(&mut self, chunk: &[u8]) {
        self.bytes_in += chunk.len();
        match self.framer.feed(chunk, &mut self.frames) {
            Ok(()) => self.parse_frames(),
            Err(e) => {
                // Frames completed before the bad bytes come first, so the
                // earliest error in stream order wins, however the bytes were split.
                self.parse_frames();
                self.fail_after_frames(e);
            }
        }
    }

    /// A whole JSON body: the response it holds, as the events a stream of it
    /// gives. A body that is not a whole response (a stream sent as
    /// `application/json`) is framed as the stream it is; if that fails too,
    /// the whole-response error is the one reported.
    fn whole(&mut self, body: &[u8]) {
        let parsed = self.provider.wire().parse_response(body, &self.ctx.get());
        match parsed {
            Ok(response) => {
                self.scratch.extend(response_events(response));
                self.emit();
                self.done = true;
                self.ended = true;
            }
            Err(whole_error) => {
                self.chunk(body);
                if !self.ended {
                    self.end_of_body();
                }
                if self.error.is_some() {
                    self.events.clear();
                    self.error = Some(self.setup.finisher.finish(whole_error));
                    self.failed = true;
                }
                self.ended = true;
            }
        }
    }

    async fn next_event(&mut self) -> Option<Result<StreamEvent>> {
        loop {
            if let Some(event) = self.events.pop_front() {
                return Some(Ok(event));
            }
            if self.ended && !self.answered && !self.failed {
                // A terminator with nothing before it (`data: [DONE]` alone, a
                // whole body that is not a completion) is no answer at all.
                self.fail(Error::decode(
                    "the stream ended without an answer: no text, tool call, reasoning or finish reason",
                ));
            }
            if self.ended {
                self.report_end();
            }
            if let Some(e) = self.error.take() {
                return Some(Err(e));
            }
            if self.ended {
                return None;
            }
            let body = self.body.as_mut()?;
            if let Some(reader) = &mut self.sink {
                // What the last chunk gave goes to the consumer now (the
                // drain below may take a while).
                reader.flush(mem::take(&mut self.bytes_in), false);
            }
            if self.done {
                // Read the body to its end (bounded) so the connection is reusable.
                let _ = tokio::time::timeout(DRAIN_BOUND, async {
                    while let Some(Ok(_)) = body.next().await {}
                })
                .await;
                self.ended = true;
                continue;
            }
            if let Some(reader) = &self.sink {
                // Backpressure: the body is read on only while the consumer keeps up.
                reader.room().await;
            }
            let idle = self.setup.idle;
            let left = self.setup.deadline.and_then(Deadline::remaining);
            let (bound, whole) = match left {
                Some(left) if left < idle => (left, true),
                _ => (idle, false),
            };
            match tokio::time::timeout(bound, body.next()).await {
                Err(_) if whole => self.fail(Error::new(
                    ErrorKind::Timeout,
                    "the stream did not finish within its whole-stream deadline",
                )),
                Err(_) => self.fail(Error::new(
                    ErrorKind::Timeout,
                    format!("the stream sent nothing for {idle:?}"),
                )),
                Ok(Some(Err(e))) => {
                    let e = crate::http::body_read_error(e);
                    let e = if e.kind() == ErrorKind::Network {
                        e.with_kind(ErrorKind::StreamTruncated)
                    } else {
                        e
                    };
                    self.fail(e);
                }
                Ok(Some(Ok(chunk))) => self.chunk(&chunk),
                Ok(None) => self.end_of_body(),
            }
        }
    }
}

/// A stream dropped before its end (the caller stopped reading, the read-ahead
/// task was aborted with it): what it reported so far still reaches the span
/// and the hooks, once, so its usage and cost are not lost.
impl<P: Provider> Drop for Driver<P> {
    fn drop(&mut self) {
        let Some(observed) = self.observed.take() else {
            return;
        };
        let response = self.observed_response(*observed);
        stream_dropped(
            &self.span,
            &self.setup.hooks,
            self.setup.finisher.provider,
            &self.ctx.model,
            &response,
        );
    }
}

/// Run `driver` in a task on `runtime`, handing its events over through a
/// bounded read-ahead; the task is aborted when the stream is dropped.
fn read_ahead<P: Provider>(
    mut driver: Driver<P>,
    runtime: &tokio::runtime::Handle,
) -> read_ahead::Consumer {
    let (reader, mut consumer) = read_ahead::channel();
    driver.sink = Some(reader);
    // A span nobody listens to is not carried into the task.
    let span = (!driver.span.is_disabled()).then(|| driver.span.clone());
    // Events go to the sink as they are parsed; `next_event` gives back only
    // the error that ends the stream, then `None`.
    let run = async move {
        while let Some(item) = driver.next_event().await {
            if let (Err(e), Some(reader)) = (item, &mut driver.sink) {
                reader.fail(e);
            }
        }
        if let Some(reader) = &mut driver.sink {
            reader.flush(mem::take(&mut driver.bytes_in), true);
        }
    };
    let task = match span {
        Some(span) => runtime.spawn(run.instrument(span)),
        None => runtime.spawn(run),
    };
    consumer.abort_on_drop(task.abort_handle());
    consumer
}

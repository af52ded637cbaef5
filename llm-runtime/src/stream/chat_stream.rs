use std::collections::{BTreeMap, VecDeque};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use secrecy::ExposeSecret;

use super::Framer;
use crate::error::{Error, ErrorKind, Result};
use crate::provider::{Control, Frame, Provider};
use crate::provider_client::Inner;
use crate::types::{ChatResponse, FinishReason, Part, StreamEvent, ToolCall};

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
    provider: String,
    dropped_params: Vec<String>,
}

impl ChatStream {
    /// Wrap any stream of events (for tests and hand-written providers).
    pub fn new(
        provider: impl Into<String>,
        inner: impl Stream<Item = Result<StreamEvent>> + Send + 'static,
    ) -> Self {
        ChatStream {
            inner: Box::pin(inner),
            provider: provider.into(),
            dropped_params: Vec::new(),
        }
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
        response.provider = self.provider;
        response.dropped_params = self.dropped_params;
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
        self.inner.as_mut().poll_next(cx)
    }
}

/// Builds a [`ChatResponse`] from stream events.
#[derive(Debug, Default)]
pub struct ResponseAccumulator {
    id: String,
    model: String,
    text: String,
    reasoning: String,
    refusal: String,
    calls: BTreeMap<usize, ToolCall>,
    usage: Option<crate::types::Usage>,
    finish: Option<FinishReason>,
}

impl ResponseAccumulator {
    /// Take one event in.
    pub fn push(&mut self, event: StreamEvent) {
        match event {
            StreamEvent::Start { id, model } => {
                if self.id.is_empty() {
                    self.id = id;
                }
                if self.model.is_empty() {
                    self.model = model;
                }
            }
            StreamEvent::TextDelta { text } => self.text.push_str(&text),
            StreamEvent::ReasoningDelta { text } => self.reasoning.push_str(&text),
            StreamEvent::RefusalDelta { text } => self.refusal.push_str(&text),
            StreamEvent::ToolCallStart { index, id, name } => {
                let call = self.calls.entry(index).or_insert_with(|| ToolCall {
                    id: String::new(),
                    name: String::new(),
                    arguments: String::new(),
                });
                if call.id.is_empty() {
                    call.id = id;
                }
                if call.name.is_empty() {
                    call.name = name;
                }
            }
            StreamEvent::ToolCallDelta { index, arguments } => {
                self.calls
                    .entry(index)
                    .or_insert_with(|| ToolCall {
                        id: String::new(),
                        name: String::new(),
                        arguments: String::new(),
                    })
                    .arguments
                    .push_str(&arguments);
            }
            StreamEvent::Usage { usage } => self.usage = Some(usage),
            StreamEvent::Finish { reason } => self.finish = Some(reason),
        }
    }

    /// The assembled response (provider and dropped params left empty).
    pub fn finish(self) -> ChatResponse {
        let mut r = ChatResponse::empty();
        r.id = self.id;
        r.model = self.model;
        if !self.text.is_empty() {
            r.message.content.push(Part::text(self.text));
        }
        r.message.tool_calls = self.calls.into_values().collect();
        r.usage = self.usage;
        r.finish_reason = self.finish;
        r.reasoning = (!self.reasoning.is_empty()).then_some(self.reasoning);
        r.refusal = (!self.refusal.is_empty()).then_some(self.refusal);
        r
    }
}

/// The longest wait for the body's end after the provider's terminator, so the
/// connection can go back to the pool.
const DRAIN_BOUND: Duration = Duration::from_secs(1);

struct Driver<P: Provider> {
    inner: Arc<Inner<P>>,
    body: BoxStream<'static, reqwest::Result<Bytes>>,
    framer: Framer,
    frames: Vec<Frame>,
    state: P::StreamState,
    scratch: Vec<StreamEvent>,
    events: VecDeque<StreamEvent>,
    error: Option<Error>,
    done: bool,
    ended: bool,
    model: String,
}

impl<P: Provider> Driver<P> {
    fn fail(&mut self, e: Error) {
        let e = e.or_context(P::SPEC.name, &self.model);
        let e = match &self.inner.config.api_key {
            Some(k) => e.redact(k.expose_secret()),
            None => e,
        };
        self.error = Some(e);
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

    /// Run the transform over the frames the framer produced.
    fn parse_frames(&mut self) {
        for frame in self.frames.drain(..) {
            if self.done {
                break;
            }
            match self
                .inner
                .provider
                .parse_stream_event(&frame, &mut self.state, &mut self.scratch)
            {
                Ok(Control::Continue) => {}
                Ok(Control::Done) => self.done = true,
                Err(e) => {
                    self.events.extend(self.scratch.drain(..));
                    let e = e.or_context(P::SPEC.name, &self.model);
                    self.error = Some(match &self.inner.config.api_key {
                        Some(k) => e.redact(k.expose_secret()),
                        None => e,
                    });
                    self.ended = true;
                    return;
                }
            }
            self.events.extend(self.scratch.drain(..));
        }
    }

    async fn next_event(&mut self) -> Option<Result<StreamEvent>> {
        loop {
            if let Some(event) = self.events.pop_front() {
                return Some(Ok(event));
            }
            if let Some(e) = self.error.take() {
                return Some(Err(e));
            }
            if self.ended {
                return None;
            }
            if self.done {
                // Read the body to its end (bounded) so the connection is reusable.
                let _ = tokio::time::timeout(DRAIN_BOUND, async {
                    while let Some(Ok(_)) = self.body.next().await {}
                })
                .await;
                self.ended = true;
                continue;
            }
            let idle = self.inner.config.idle_timeout;
            match tokio::time::timeout(idle, self.body.next()).await {
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
                Ok(Some(Ok(chunk))) => match self.framer.feed(&chunk, &mut self.frames) {
                    Ok(()) => self.parse_frames(),
                    Err(e) => {
                        // Frames completed before the bad bytes come first, so the
                        // earliest error in stream order wins, however the bytes were split.
                        self.parse_frames();
                        self.fail_after_frames(e);
                    }
                },
                Ok(None) => {
                    let finished = self.framer.finish(&mut self.frames);
                    self.parse_frames();
                    if let Err(e) = finished {
                        self.fail_after_frames(e);
                        continue;
                    }
                    if !self.done && !self.ended {
                        match self
                            .inner
                            .provider
                            .finish_stream(&mut self.state, &mut self.scratch)
                        {
                            Ok(()) => {
                                self.events.extend(self.scratch.drain(..));
                                self.ended = true;
                            }
                            Err(e) => {
                                self.events.extend(self.scratch.drain(..));
                                self.fail(e);
                            }
                        }
                    } else {
                        self.ended = true;
                    }
                }
            }
        }
    }
}

/// Turn a 2xx streaming response into a [`ChatStream`].
pub(crate) fn from_response<P: Provider>(
    inner: Arc<Inner<P>>,
    response: reqwest::Response,
    model: String,
    dropped_params: Vec<String>,
) -> ChatStream {
    let format = inner.provider.stream_format();
    let max_line = inner.config.max_line;
    let driver = Driver {
        body: response.bytes_stream().boxed(),
        framer: Framer::new(format, max_line),
        frames: Vec::new(),
        state: P::StreamState::default(),
        scratch: Vec::new(),
        events: VecDeque::new(),
        error: None,
        done: false,
        ended: false,
        model,
        inner,
    };
    let stream = futures_util::stream::unfold(driver, |mut d| async move {
        let item = d.next_event().await?;
        Some((item, d))
    });
    ChatStream {
        inner: Box::pin(stream),
        provider: P::SPEC.name.to_owned(),
        dropped_params,
    }
}

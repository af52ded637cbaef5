//! A binary answer (generated audio) delivered as it arrives, with the same
//! bounds as a chat stream: the longest gap between two chunks (the idle
//! bound) and, when set, the whole stream's deadline.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use tokio::time::{Instant, Sleep};

use super::exchange::Deadline;
use crate::error::{Error, ErrorKind, Result};
use crate::types::ResponseMeta;

type Chunks = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// The bytes of a binary answer (text to speech), as they arrive: a
/// `Stream<Item = Result<Bytes>>`. A gap longer than the idle bound ends it
/// with [`ErrorKind::Timeout`]; a broken connection with
/// [`ErrorKind::Network`]. [`ByteStream::collect_bytes`] gathers it whole.
pub struct ByteStream {
    chunks: Chunks,
    idle: Duration,
    deadline: Deadline,
    timer: Pin<Box<Sleep>>,
    content_type: Option<String>,
    meta: ResponseMeta,
    model: String,
    finisher: Finisher,
    /// Told when the stream ends (`false`) or is dropped before (`true`).
    on_end: Option<OnEnd>,
    done: bool,
}

/// Run once the stream ends: `true` when the caller dropped it first.
pub(crate) type OnEnd = Box<dyn FnOnce(bool) + Send + Sync>;

/// Adds the call's context to an error and redacts its secrets (the
/// transport's finisher, which sits above this module).
pub(crate) type Finisher = Box<dyn Fn(Error) -> Error + Send + Sync>;

impl std::fmt::Debug for ByteStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ByteStream")
            .field("content_type", &self.content_type)
            .field("idle", &self.idle)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl ByteStream {
    pub(crate) fn new(
        response: reqwest::Response,
        idle: Duration,
        deadline: Deadline,
        meta: ResponseMeta,
        finisher: Finisher,
    ) -> Self {
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let timer = Box::pin(tokio::time::sleep_until(next_wake(idle, deadline)));
        ByteStream {
            chunks: Box::pin(response.bytes_stream()),
            idle,
            deadline,
            timer,
            content_type,
            meta,
            model: String::new(),
            finisher,
            on_end: None,
            done: false,
        }
    }

    /// The model that speaks.
    pub(crate) fn for_model(mut self, model: String) -> Self {
        self.model = model;
        self
    }

    /// Run `report` when the stream ends or is dropped before its end.
    pub(crate) fn on_end(&mut self, report: OnEnd) {
        self.on_end = Some(report);
    }

    /// The model asked for.
    pub fn model(&self) -> &str {
        &self.model
    }

    pub(crate) fn meta_mut(&mut self) -> &mut ResponseMeta {
        &mut self.meta
    }

    /// The answer's `Content-Type` (`audio/mpeg`...), where sent.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// What the transport knows about the answer (request id, attempts...).
    pub fn meta(&self) -> &ResponseMeta {
        &self.meta
    }

    /// Every byte, once the stream ends.
    ///
    /// # Errors
    /// The stream's error; [`ErrorKind::Decode`] once more than `max_bytes` arrived.
    pub async fn collect_bytes(mut self, max_bytes: usize) -> Result<Bytes> {
        use futures_util::StreamExt;
        let mut out = Vec::new();
        while let Some(chunk) = self.next().await {
            let chunk = chunk?;
            if out.len().saturating_add(chunk.len()) > max_bytes {
                return Err(Error::decode(format!(
                    "the audio is larger than the {max_bytes}-byte cap"
                )));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(out))
    }

    fn fail(&mut self, e: Error) -> Poll<Option<Result<Bytes>>> {
        self.done = true;
        // A failed stream is reported as its error, not as completed.
        self.on_end = None;
        Poll::Ready(Some(Err((self.finisher)(e))))
    }
}

impl Drop for ByteStream {
    fn drop(&mut self) {
        if let Some(report) = self.on_end.take() {
            report(true);
        }
    }
}

/// When the timer fires: after the idle bound, or at the deadline if sooner.
fn next_wake(idle: Duration, deadline: Deadline) -> Instant {
    let idle_at = Instant::now() + idle;
    match deadline.instant() {
        Some(at) => idle_at.min(Instant::from_std(at)),
        None => idle_at,
    }
}

impl Stream for ByteStream {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.chunks.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                let wake = next_wake(self.idle, self.deadline);
                self.timer.as_mut().reset(wake);
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => self.fail(super::body_read_error(e)),
            Poll::Ready(None) => {
                self.done = true;
                if let Some(report) = self.on_end.take() {
                    report(false);
                }
                Poll::Ready(None)
            }
            Poll::Pending => match self.timer.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    let past_deadline = self.deadline.remaining().is_some_and(|r| r.is_zero());
                    let message = if past_deadline {
                        "the audio stream did not end within the deadline".to_owned()
                    } else {
                        format!("the audio stream sent nothing for {:?}", self.idle)
                    };
                    self.fail(Error::new(ErrorKind::Timeout, message))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

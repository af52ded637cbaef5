//! A bounded read-ahead between a stream's reader task and its consumer.
//!
//! The task that reads the body (framing and parsing it) runs beside the HTTP
//! connection's own task, so each body chunk is a cheap same-thread hand-off
//! there rather than a wake-up of the consumer; the consumer then takes every
//! event that is ready in one lock. The read-ahead is bounded in bytes: the
//! reader stops reading the body while the events it handed over and the
//! consumer has not taken stand for [`READ_AHEAD_BYTES`] of the wire or more,
//! so at most about twice that (plus one body chunk) is held per stream
//! whatever the consumer's pace, and a slow consumer slows the upstream
//! (TCP backpressure) instead of growing memory.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::mem;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use futures_core::Stream;
use tokio::task::AbortHandle;

use crate::error::{Error, ErrorKind, Result};
use crate::types::StreamEvent;

/// Wire bytes whose events may wait for the consumer before the reader pauses.
pub(crate) const READ_AHEAD_BYTES: usize = 64 * 1024;

type Item = Result<StreamEvent>;

#[derive(Default)]
struct State {
    /// Handed over, not yet taken (events only: an error is rare and ends the stream).
    queue: VecDeque<StreamEvent>,
    /// The error that ends the stream, after `queue`.
    error: Option<Error>,
    /// Wire bytes behind `queue`.
    bytes: usize,
    /// The reader handed over its last item.
    finished: bool,
    /// The reader is gone (ended, or dropped with its runtime).
    gone: bool,
    consumer: Option<Waker>,
    reader: Option<Waker>,
}

struct Shared(Mutex<State>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; a poisoned one is still consistent.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Store `cx`'s waker in `slot` unless the same one is there.
fn register(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

/// The reader's end.
pub(crate) struct Reader {
    shared: Arc<Shared>,
}

/// The consumer's end: a `Stream` of the items in order.
pub(crate) struct Consumer {
    shared: Arc<Shared>,
    local: VecDeque<StreamEvent>,
    task: Option<AbortHandle>,
    done: bool,
}

/// A connected pair.
///
/// The two queues swap buffers, so a busy stream reuses them; they start at
/// one event and double (an event is about 150 bytes, and an idle stream should
/// not hold four of them per queue, `VecDeque`'s first step), and a consumer
/// that has caught up lets go of a buffer a burst grew past four events.
pub(crate) fn channel() -> (Reader, Consumer) {
    let state = State {
        queue: VecDeque::with_capacity(1),
        ..State::default()
    };
    let shared = Arc::new(Shared(Mutex::new(state)));
    (
        Reader {
            shared: Arc::clone(&shared),
        },
        Consumer {
            shared,
            local: VecDeque::with_capacity(1),
            task: None,
            done: false,
        },
    )
}

impl Reader {
    /// Wait until the consumer has taken enough for the reader to read on.
    pub(crate) async fn room(&self) {
        poll_fn(|cx| {
            let mut s = self.shared.lock();
            // Nothing waiting for the consumer (one long event still being
            // framed counts nothing here: the framer's line cap bounds it).
            if s.bytes < READ_AHEAD_BYTES || s.queue.is_empty() {
                Poll::Ready(())
            } else {
                register(&mut s.reader, cx);
                Poll::Pending
            }
        })
        .await;
    }

    /// Queue an event; the consumer is told at [`flush`](Self::flush).
    pub(crate) fn push(&mut self, event: StreamEvent) {
        let mut s = self.shared.lock();
        // Doubling from one, not `VecDeque`'s jump from one to four.
        let len = s.queue.len();
        if len == s.queue.capacity() {
            s.queue.reserve_exact(len.max(1));
        }
        s.queue.push_back(event);
    }

    /// The error that ends the stream, after the queued events.
    pub(crate) fn fail(&mut self, e: Error) {
        self.shared.lock().error = Some(e);
    }

    /// Tell the consumer what was queued, which `bytes` of the wire gave;
    /// `last` when nothing follows.
    pub(crate) fn flush(&mut self, bytes: usize, last: bool) {
        let waker = {
            let mut s = self.shared.lock();
            s.finished |= last;
            if s.queue.is_empty() && s.error.is_none() && !last {
                // Nothing new: no wake-up, and nothing the bytes could be
                // waiting behind (they sit in the framer, under its line cap).
                return;
            }
            s.bytes += bytes;
            s.consumer.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let waker = {
            let mut s = self.shared.lock();
            s.gone = true;
            s.consumer.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl Consumer {
    /// Abort `task` (the reader) when the consumer is dropped.
    pub(crate) fn abort_on_drop(&mut self, task: AbortHandle) {
        self.task = Some(task);
    }
}

impl Stream for Consumer {
    type Item = Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Item>> {
        let this = &mut *self;
        if let Some(event) = this.local.pop_front() {
            return Poll::Ready(Some(Ok(event)));
        }
        if this.done {
            return Poll::Ready(None);
        }
        let mut s = this.shared.lock();
        if !s.queue.is_empty() {
            // Everything ready, in one lock; the reader may read on.
            mem::swap(&mut s.queue, &mut this.local);
            s.bytes = 0;
            let waker = s.reader.take();
            drop(s);
            if let Some(w) = waker {
                w.wake();
            }
            return Poll::Ready(this.local.pop_front().map(Ok));
        }
        if let Some(e) = s.error.take() {
            return Poll::Ready(Some(Err(e)));
        }
        if s.finished {
            this.done = true;
            return Poll::Ready(None);
        }
        if s.gone {
            // The reader was dropped before its end: its runtime shut down.
            this.done = true;
            return Poll::Ready(Some(Err(Error::new(
                ErrorKind::StreamTruncated,
                "the stream's reader task stopped before the stream ended (its runtime shut down)",
            ))));
        }
        register(&mut s.consumer, cx);
        drop(s);
        // Caught up: an idle stream keeps no buffer (a burst may have grown it
        // to the read-ahead bound); the next batch brings one.
        if this.local.capacity() > 4 {
            this.local = VecDeque::new();
        }
        Poll::Pending
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    fn text(t: &str) -> StreamEvent {
        StreamEvent::TextDelta { text: t.to_owned() }
    }

    #[tokio::test]
    async fn items_arrive_in_order_and_the_end_is_seen() {
        let (mut reader, mut consumer) = channel();
        let task = tokio::spawn(async move {
            for i in 0..100 {
                reader.room().await;
                reader.push(text(&i.to_string()));
                reader.flush(10, i == 99);
            }
        });
        let mut got = Vec::new();
        while let Some(item) = consumer.next().await {
            match item {
                Ok(StreamEvent::TextDelta { text }) => got.push(text),
                other => panic!("{other:?}"),
            }
        }
        task.await.expect("the reader ends");
        let want: Vec<String> = (0..100).map(|i| i.to_string()).collect();
        assert_eq!(got, want);
    }

    #[tokio::test]
    async fn the_reader_waits_while_the_bound_is_reached() {
        let (mut reader, mut consumer) = channel();
        reader.push(text("big"));
        reader.flush(READ_AHEAD_BYTES, false);
        // Full: room() stays pending until the consumer takes the queue.
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(20), reader.room());
        assert!(waiting.await.is_err(), "the reader read past the bound");
        assert!(matches!(consumer.next().await, Some(Ok(_))));
        reader.room().await;
        reader.flush(0, true);
        assert!(consumer.next().await.is_none());
    }

    #[tokio::test]
    async fn an_error_comes_after_the_events_before_it() {
        let (mut reader, mut consumer) = channel();
        reader.push(text("a"));
        reader.push(text("b"));
        reader.fail(Error::new(ErrorKind::Decode, "bad chunk"));
        reader.flush(3, true);
        assert!(matches!(
            consumer.next().await,
            Some(Ok(StreamEvent::TextDelta { .. }))
        ));
        assert!(matches!(
            consumer.next().await,
            Some(Ok(StreamEvent::TextDelta { .. }))
        ));
        let e = consumer.next().await;
        assert!(
            matches!(&e, Some(Err(e)) if e.kind() == ErrorKind::Decode),
            "{e:?}"
        );
        assert!(consumer.next().await.is_none());
    }

    #[tokio::test]
    async fn a_reader_gone_without_its_end_is_an_error() {
        let (mut reader, mut consumer) = channel();
        reader.push(text("a"));
        reader.flush(1, false);
        drop(reader);
        assert!(matches!(consumer.next().await, Some(Ok(_))));
        let end = consumer.next().await;
        assert!(
            matches!(&end, Some(Err(e)) if e.kind() == ErrorKind::StreamTruncated),
            "{end:?}"
        );
        assert!(consumer.next().await.is_none());
    }
}

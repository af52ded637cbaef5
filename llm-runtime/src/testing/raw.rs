//! Playing a [`MockResponse::raw`] response: the connection is taken back from
//! hyper and the scripted bytes are written to the socket as they are.

use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::response::{Fault, MockResponse};

/// What a raw response writes, and how it ends.
#[derive(Debug)]
pub(super) struct RawReply {
    chunks: Vec<Bytes>,
    delay: Duration,
    chunk_delay: Duration,
    /// How many chunks go out before the fault, with the fault; `None`: all, then a FIN.
    fault: Option<(usize, Fault)>,
}

impl RawReply {
    /// The raw reply `script` holds, if it is a raw response.
    pub(super) fn of(script: &mut MockResponse) -> Option<RawReply> {
        let chunks = script.raw.take()?;
        let fault = script
            .fault
            .and_then(|fault| fault.chunks_before().map(|n| (n, fault)));
        Some(RawReply {
            chunks,
            delay: script.delay,
            chunk_delay: script.chunk_delay,
            fault,
        })
    }
}

/// The hand-over of a raw reply from the request's service to the connection task.
#[derive(Debug, Default)]
pub(super) struct Takeover {
    reply: Mutex<Option<RawReply>>,
    ready: tokio::sync::Notify,
}

impl Takeover {
    /// Asks the connection task to write `reply` itself.
    pub(super) fn request(&self, reply: RawReply) {
        *self
            .reply
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(reply);
        self.ready.notify_one();
    }

    /// Waits for a reply to take over with.
    pub(super) async fn requested(&self) -> RawReply {
        loop {
            self.ready.notified().await;
            let taken = self
                .reply
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            if let Some(reply) = taken {
                return reply;
            }
        }
    }
}

/// How a raw reply ended, for the connection task to act on.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum RawEnding {
    /// Close with a FIN.
    Close,
    /// Close with a RST.
    Reset,
}

/// Writes `reply` to `io`, then says how to end the connection; a stall never returns.
pub(super) async fn play<W: AsyncWrite + Unpin>(io: &mut W, reply: RawReply) -> RawEnding {
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let count = reply.fault.map_or(usize::MAX, |(n, _)| n);
    for (index, chunk) in reply.chunks.iter().take(count).enumerate() {
        if index > 0 && !reply.chunk_delay.is_zero() {
            tokio::time::sleep(reply.chunk_delay).await;
        }
        // The client may have gone away: then there is nobody left to write to.
        if io.write_all(chunk).await.is_err() || io.flush().await.is_err() {
            return RawEnding::Close;
        }
    }
    match reply.fault {
        Some((_, Fault::StallAfterChunks(_))) => std::future::pending().await,
        Some((_, Fault::ResetAfterChunks(_))) => RawEnding::Reset,
        _ => {
            let _ = io.shutdown().await;
            RawEnding::Close
        }
    }
}

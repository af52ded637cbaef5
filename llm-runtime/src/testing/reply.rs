//! Serving one [`MockResponse`]: delays, faults, gzip and chunk-by-chunk bodies.

use std::convert::Infallible;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use http::header::{CONTENT_ENCODING, CONTENT_TYPE};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;

use super::control::ConnControl;
use super::response::{Fault, MockResponse, ScriptedBody};

/// The body type of every mock response.
pub(super) type ReplyBody = UnsyncBoxBody<Bytes, Infallible>;

/// Plays `script` on the connection `control` belongs to.
///
/// Returns only when headers are due; a fault before the headers never returns
/// (the connection task drops the connection, or the stall lasts until it does).
pub(super) async fn play(script: MockResponse, control: &Arc<ConnControl>) -> Response<ReplyBody> {
    if !script.setup_errors.is_empty() {
        return setup_error(&script.setup_errors.join("; "));
    }
    let Ok(status) = StatusCode::from_u16(script.status) else {
        return setup_error(&format!("invalid status {}", script.status));
    };
    if !script.delay.is_zero() {
        tokio::time::sleep(script.delay).await;
    }
    match script.fault {
        Some(Fault::ResetBeforeHeaders) => return abort_forever(control, true).await,
        Some(Fault::CloseBeforeHeaders) => return abort_forever(control, false).await,
        Some(Fault::StallBeforeHeaders) => return std::future::pending().await,
        _ => {}
    }

    let mut headers = script.headers;
    if let Some(content_type) = script.default_content_type {
        headers.entry(CONTENT_TYPE).or_insert(content_type);
    }
    let after_chunks = script.fault.and_then(Fault::chunks_before);
    let body = chunked_for_fault(script.body, after_chunks);
    let body = if script.gzip {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        match gzip(body) {
            Ok(body) => body,
            Err(error) => return setup_error(&format!("gzip failed: {error}")),
        }
    } else {
        body
    };
    let body = reply_body(
        body,
        after_chunks,
        script.chunk_delay,
        Ending::after(script.fault),
        control,
    );
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// A whole body becomes one chunk when a fault comes after chunks, so the
/// fault has chunks to come after.
fn chunked_for_fault(body: ScriptedBody, after_chunks: Option<usize>) -> ScriptedBody {
    match (body, after_chunks) {
        (ScriptedBody::Whole(body), None) => ScriptedBody::Whole(body),
        (ScriptedBody::Whole(body), Some(_)) => ScriptedBody::Chunks(vec![body]),
        (chunks @ ScriptedBody::Chunks(_), _) => chunks,
    }
}

/// The body as played: whole, or chunk by chunk (the first `after_chunks`
/// only) with `ending` after the last.
fn reply_body(
    body: ScriptedBody,
    after_chunks: Option<usize>,
    chunk_delay: Duration,
    ending: Ending,
    control: &Arc<ConnControl>,
) -> ReplyBody {
    match body {
        ScriptedBody::Whole(bytes) => Full::new(bytes).boxed_unsync(),
        ScriptedBody::Chunks(mut chunks) => {
            if let Some(n) = after_chunks {
                chunks.truncate(n);
            }
            chunked(ChunkPlayer {
                chunks: chunks.into_iter(),
                chunk_delay,
                ending,
                control: Arc::clone(control),
                sent: 0,
            })
        }
    }
}

/// Asks the connection task to drop the connection, then waits for it to.
async fn abort_forever<T>(control: &ConnControl, reset: bool) -> T {
    control.abort(reset);
    std::future::pending().await
}

/// A `500` explaining a mistake in the test's script.
fn setup_error(message: &str) -> Response<ReplyBody> {
    let body =
        serde_json::json!({ "error": { "message": format!("invalid mock response: {message}") } });
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())).boxed_unsync());
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Gzip-encodes a body; a chunked body stays chunked, each chunk ending with a
/// sync flush so it decodes on arrival, and the gzip trailer riding on the last.
fn gzip(body: ScriptedBody) -> std::io::Result<ScriptedBody> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    match body {
        ScriptedBody::Whole(bytes) => {
            encoder.write_all(&bytes)?;
            Ok(ScriptedBody::Whole(Bytes::from(encoder.finish()?)))
        }
        ScriptedBody::Chunks(chunks) => {
            let count = chunks.len();
            let mut encoded = Vec::with_capacity(count.max(1));
            for (index, chunk) in chunks.into_iter().enumerate() {
                encoder.write_all(&chunk)?;
                if index + 1 < count {
                    encoder.flush()?;
                    encoded.push(Bytes::from(std::mem::take(encoder.get_mut())));
                }
            }
            encoded.push(Bytes::from(encoder.finish()?));
            Ok(ScriptedBody::Chunks(encoded))
        }
    }
}

/// How a chunked body ends once its chunks are out.
#[derive(Debug, Clone, Copy)]
enum Ending {
    /// The terminating zero-length chunk: a well-formed body.
    Finish,
    /// No terminating chunk: the connection is dropped (RST when `reset`).
    Abort { reset: bool },
    /// No terminating chunk and no more bytes, ever.
    Stall,
}

impl Ending {
    /// How a chunked body ends under `fault`.
    fn after(fault: Option<Fault>) -> Self {
        match fault {
            Some(Fault::ResetAfterChunks(_)) => Ending::Abort { reset: true },
            Some(Fault::CloseAfterChunks(_)) => Ending::Abort { reset: false },
            Some(Fault::StallAfterChunks(_)) => Ending::Stall,
            _ => Ending::Finish,
        }
    }
}

/// The state of a chunked body being played.
struct ChunkPlayer {
    chunks: std::vec::IntoIter<Bytes>,
    chunk_delay: Duration,
    ending: Ending,
    control: Arc<ConnControl>,
    sent: usize,
}

fn chunked(player: ChunkPlayer) -> ReplyBody {
    let frames = futures_util::stream::unfold(player, |mut player| async move {
        match player.chunks.next() {
            Some(chunk) => {
                if player.sent > 0 {
                    pause(player.chunk_delay).await;
                }
                player.sent += 1;
                Some((Ok(Frame::data(chunk)), player))
            }
            None => match player.ending {
                Ending::Finish => None,
                Ending::Abort { reset } => {
                    // Let hyper flush the headers and the last chunk before the connection goes.
                    tokio::task::yield_now().await;
                    abort_forever(&player.control, reset).await
                }
                Ending::Stall => std::future::pending().await,
            },
        }
    });
    BodyExt::boxed_unsync(StreamBody::new(frames))
}

/// Waits between two chunks. Even with no delay the body yields once: hyper
/// flushes what it has buffered whenever the body is pending, so each chunk
/// leaves in its own write instead of being coalesced with the next.
async fn pause(delay: Duration) {
    if delay.is_zero() {
        tokio::task::yield_now().await;
    } else {
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use flate2::read::GzDecoder;

    use super::*;

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .expect("the encoder's output is valid gzip");
        out
    }

    #[test]
    fn gzip_keeps_chunks_and_each_prefix_decodes() {
        let chunks = vec![
            Bytes::from("data: one\n\n"),
            Bytes::from("data: two\n\n"),
            Bytes::from("data: three\n\n"),
        ];
        let Ok(ScriptedBody::Chunks(encoded)) = gzip(ScriptedBody::Chunks(chunks)) else {
            panic!("chunked input must give chunked output");
        };
        assert_eq!(encoded.len(), 3);
        let whole: Vec<u8> = encoded.concat();
        assert_eq!(gunzip(&whole), b"data: one\n\ndata: two\n\ndata: three\n\n");

        // A sync flush makes the first chunk decodable on its own (the stream is just unfinished).
        let mut first = Vec::new();
        let _ = GzDecoder::new(&encoded[0][..]).read_to_end(&mut first);
        assert_eq!(first, b"data: one\n\n");
    }

    #[test]
    fn gzip_whole_body_round_trips() {
        let Ok(ScriptedBody::Whole(encoded)) = gzip(ScriptedBody::Whole(Bytes::from("{\"a\":1}")))
        else {
            panic!("a whole body must stay whole");
        };
        assert_eq!(gunzip(&encoded), b"{\"a\":1}");
    }

    #[test]
    fn gzip_of_no_chunks_is_one_valid_chunk() {
        let Ok(ScriptedBody::Chunks(encoded)) = gzip(ScriptedBody::Chunks(Vec::new())) else {
            panic!("chunked input must give chunked output");
        };
        assert_eq!(encoded.len(), 1);
        assert_eq!(gunzip(&encoded[0]), b"");
    }
}

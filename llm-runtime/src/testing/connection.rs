//! One accepted TCP connection: HTTP/1.1 with keep-alive, and the means for a
//! fault to drop it (with a FIN or a RST) from inside a response.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::control::ConnControl;
use super::raw::{self, RawEnding, RawReply};
use super::recorded::RecordedRequest;
use super::reply::{self, ReplyBody};
use super::shared::{OpenConnection, Shared};

/// Serves HTTP/1.1 on `stream` until the client closes it, a fault aborts it,
/// or the task is aborted because the server was dropped.
pub(super) async fn serve(stream: TcpStream, shared: Arc<Shared>, open: OpenConnection) {
    // SSE chunks are small: Nagle's algorithm would hold one back until the
    // previous one is acknowledged. Failing to set it only costs latency.
    let _ = stream.set_nodelay(true);
    let connection_id = open.id();
    let control = Arc::new(ConnControl::default());
    let io = TokioIo::new(ConnectionIo {
        stream,
        control: Arc::clone(&control),
    });
    let service = {
        let control = Arc::clone(&control);
        service_fn(move |request| {
            let shared = Arc::clone(&shared);
            let control = Arc::clone(&control);
            async move { Ok::<_, Infallible>(answer(request, &shared, &control, connection_id).await) }
        })
    };
    let mut connection = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::select! {
        // An error here is the client's doing (it went away, sent garbage): nothing to report.
        _ = &mut connection => {}
        () = control.abort.notified() => {}
        reply = control.takeover.requested() => {
            // hyper has read the request and written nothing for it: the socket is ours.
            let mut io = connection.into_parts().io.into_inner();
            tokio::select! {
                ending = raw::play(&mut io, reply) => {
                    if ending == RawEnding::Reset {
                        control.reset.store(true, Ordering::SeqCst);
                    }
                }
                () = control.abort.notified() => {}
            }
        }
    }
    // Dropping `connection` here closes the socket; `open` then counts it closed.
    drop(open);
}

/// Reads and records one request, then plays the scripted response.
async fn answer(
    request: Request<Incoming>,
    shared: &Shared,
    control: &Arc<ConnControl>,
    connection_id: usize,
) -> Response<ReplyBody> {
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        // The client sent a broken body or went away mid-body: nothing to record.
        Err(_) => return bad_request(),
    };
    let mut script = shared.next_response(parts.method.as_str(), parts.uri.path());
    shared.record(RecordedRequest::new(&parts, body, connection_id));
    if let Some(raw) = RawReply::of(&mut script) {
        // The connection task writes it; this response is never produced.
        control.takeover.request(raw);
        return std::future::pending().await;
    }
    reply::play(script, control).await
}

fn bad_request() -> Response<ReplyBody> {
    let mut response = Response::new(Full::new(Bytes::from_static(b"")).boxed_unsync());
    *response.status_mut() = StatusCode::BAD_REQUEST;
    response
}

/// The TCP stream, which turns its close into a RST when a fault asked for one.
struct ConnectionIo {
    stream: TcpStream,
    control: Arc<ConnControl>,
}

impl Drop for ConnectionIo {
    fn drop(&mut self) {
        if self.control.reset.load(Ordering::SeqCst) {
            // With a zero linger, close() discards unsent data and sends a RST.
            // Should it fail, the close below is a plain FIN: still an abrupt end.
            let _ = self.stream.set_zero_linger();
        }
    }
}

impl AsyncRead for ConnectionIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ConnectionIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

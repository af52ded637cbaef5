//! [`BenchUpstream`]: a loopback HTTP/1.1 upstream that answers as fast as the
//! loopback lets it, for measuring the client side.
//!
//! A hand-written responder on tokio rather than a hyper server (and rather
//! than `llm_runtime::testing::MockServer`, which records every request): the
//! server's own cost is in every figure the benchmarks take, baseline and
//! runtime alike, so it must be small and constant for the ratios to show the
//! client's overhead. Per request it only finds the end of the headers, reads
//! `content-length` body bytes, matches the path against a few routes and
//! writes bytes rendered once at start-up (the whole stream in one write when
//! there is no delay). No allocation per request beyond the read buffer's
//! growth, no header map, no body type machinery. It also makes holding a
//! stream open mid-body (for the memory bench) a few lines.
//!
//! It speaks just enough HTTP/1.1 for reqwest: keep-alive, `content-length`
//! request bodies, `connection: close`. Responses are `content-length` JSON or
//! `transfer-encoding: chunked` streams with one HTTP chunk per event, as real
//! providers send them.
//!
//! It binds `127.0.0.1` only, runs on its own thread (so the client's runtime
//! measures only the client), and stops when the [`BenchUpstream`] is dropped.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;

/// What a route answers.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status line and headers, ending with the blank line.
    head: Bytes,
    /// The body pieces, already framed for the wire (chunked framing included).
    pieces: Vec<Bytes>,
    /// `head` and all `pieces` in one buffer, for a single write.
    whole: Bytes,
    delay: Option<Duration>,
    hold_after: Option<usize>,
}

impl Reply {
    /// A `200` JSON body with `content-length`.
    pub fn json(body: impl Into<Bytes>) -> Reply {
        Reply::json_status(200, "OK", body)
    }

    /// A JSON body with `content-length` answered with `status` (an error
    /// answer when it is not 2xx).
    pub fn json_status(status: u16, reason: &str, body: impl Into<Bytes>) -> Reply {
        let body = body.into();
        let head = format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        Reply::from_parts(Bytes::from(head), vec![body])
    }

    /// A `200` stream of `events` (`text/event-stream`), one HTTP chunk per event.
    pub fn sse(events: &[Bytes]) -> Reply {
        Reply::chunked("text/event-stream", events)
    }

    /// A `200` NDJSON stream (`application/x-ndjson`), one HTTP chunk per line.
    pub fn ndjson(lines: &[Bytes]) -> Reply {
        Reply::chunked("application/x-ndjson", lines)
    }

    fn chunked(content_type: &str, events: &[Bytes]) -> Reply {
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"
        );
        let mut pieces: Vec<Bytes> = events
            .iter()
            .filter(|e| !e.is_empty())
            .map(|e| {
                let mut piece = format!("{:x}\r\n", e.len()).into_bytes();
                piece.extend_from_slice(e);
                piece.extend_from_slice(b"\r\n");
                Bytes::from(piece)
            })
            .collect();
        pieces.push(Bytes::from_static(b"0\r\n\r\n"));
        Reply::from_parts(Bytes::from(head), pieces)
    }

    fn from_parts(head: Bytes, pieces: Vec<Bytes>) -> Reply {
        let mut whole = head.to_vec();
        for p in &pieces {
            whole.extend_from_slice(p);
        }
        Reply {
            head,
            pieces,
            whole: Bytes::from(whole),
            delay: None,
            hold_after: None,
        }
    }

    /// Wait `delay` after each body piece (a model generating tokens).
    pub fn chunk_delay(mut self, delay: Duration) -> Reply {
        self.delay = Some(delay).filter(|d| !d.is_zero());
        self
    }

    /// Send the headers and the first `n` pieces, then keep the stream open
    /// until [`BenchUpstream::release_held`] or the client hangs up.
    pub fn hold_after(mut self, n: usize) -> Reply {
        self.hold_after = Some(n);
        self
    }
}

/// The routes, matched by exact path (query ignored).
#[derive(Debug, Default)]
pub struct Routes {
    routes: Vec<(String, Reply)>,
}

impl Routes {
    /// No routes: every request gets `404`.
    pub fn new() -> Routes {
        Routes::default()
    }

    /// Answer requests for `path` with `reply`, whatever the method.
    pub fn route(mut self, path: impl Into<String>, reply: Reply) -> Routes {
        self.routes.push((path.into(), reply));
        self
    }

    fn find(&self, path: &[u8]) -> Option<&Reply> {
        let path = match path.iter().position(|&b| b == b'?') {
            Some(q) => &path[..q],
            None => path,
        };
        self.routes
            .iter()
            .find(|(p, _)| p.as_bytes() == path)
            .map(|(_, r)| r)
    }
}

const NOT_FOUND: &[u8] = b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 38\r\n\r\n{\"error\":{\"message\":\"no bench route\"}}";
const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
/// Request heads larger than this are refused: reqwest's are a few hundred bytes.
const MAX_HEAD: usize = 64 * 1024;

/// A running bench upstream. Dropping it closes the port and every connection.
#[derive(Debug)]
pub struct BenchUpstream {
    addr: SocketAddr,
    release: watch::Sender<bool>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl BenchUpstream {
    /// Bind `127.0.0.1` on an ephemeral port and serve `routes` on a new
    /// thread with a single-threaded tokio runtime.
    pub fn start(routes: Routes) -> io::Result<BenchUpstream> {
        BenchUpstream::start_with_threads(routes, 1)
    }

    /// [`start`](BenchUpstream::start) with `threads` runtime worker threads.
    pub fn start_with_threads(routes: Routes, threads: usize) -> io::Result<BenchUpstream> {
        let runtime = if threads <= 1 {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
        } else {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
                .enable_all()
                .build()?
        };
        // Bound with std so `start` also works from inside another runtime.
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (release, released) = watch::channel(false);
        let (stop, stopped) = oneshot::channel();
        let routes = Arc::new(routes);
        let thread = std::thread::Builder::new()
            .name("bench-upstream".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = TcpListener::from_std(listener) else {
                        return;
                    };
                    tokio::select! {
                        () = accept_loop(listener, routes, released) => {}
                        _ = stopped => {}
                    }
                });
                // Dropping the runtime here drops every connection task.
            })?;
        Ok(BenchUpstream {
            addr,
            release,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` followed by `path` (e.g. `/openai/v1` for a base URL).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Let every held stream (see [`Reply::hold_after`]) finish.
    pub fn release_held(&self) {
        let _ = self.release.send(true);
    }

    /// Hold streams again after [`BenchUpstream::release_held`] (the next
    /// proxy's turn).
    pub fn hold_again(&self) {
        let _ = self.release.send(false);
    }
}

impl Drop for BenchUpstream {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(listener: TcpListener, routes: Arc<Routes>, released: watch::Receiver<bool>) {
    // The set owns the connection tasks: they end with this loop.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((socket, _)) = accepted else { continue };
                // Without it a response written in two pieces waits for the client's ACK (Nagle).
                let _ = socket.set_nodelay(true);
                connections.spawn(serve(socket, Arc::clone(&routes), released.clone()));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Serve one keep-alive connection until the client closes it.
async fn serve(
    mut socket: TcpStream,
    routes: Arc<Routes>,
    mut released: watch::Receiver<bool>,
) -> io::Result<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    loop {
        let Some(head_end) = read_head(&mut socket, &mut buf).await? else {
            return Ok(());
        };
        let Some(RequestHead {
            path,
            body_len,
            close,
        }) = parse_head(&buf[..head_end])
        else {
            socket.write_all(BAD_REQUEST).await?;
            return Ok(());
        };
        let total = head_end + body_len;
        while buf.len() < total {
            if socket.read_buf(&mut buf).await? == 0 {
                return Ok(());
            }
        }
        buf.drain(..total);
        match routes.find(&path) {
            None => socket.write_all(NOT_FOUND).await?,
            Some(reply) => {
                if !write_reply(&mut socket, reply, &mut released).await? {
                    return Ok(());
                }
            }
        }
        if close {
            return Ok(());
        }
    }
}

/// Read until the buffer holds a whole request head; its length with the blank
/// line, or `None` when the client closed between requests.
async fn read_head(socket: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<Option<usize>> {
    let mut scanned = 0;
    loop {
        if let Some(i) = find(&buf[scanned..], b"\r\n\r\n") {
            return Ok(Some(scanned + i + 4));
        }
        scanned = buf.len().saturating_sub(3);
        if buf.len() > MAX_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request head too large",
            ));
        }
        if buf.capacity() == buf.len() {
            buf.reserve(4096);
        }
        if socket.read_buf(buf).await? == 0 {
            return Ok(None);
        }
    }
}

struct RequestHead {
    path: Vec<u8>,
    body_len: usize,
    close: bool,
}

fn parse_head(head: &[u8]) -> Option<RequestHead> {
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let request_line = lines.next()?;
    let mut parts = request_line.split(|&b| b == b' ');
    let _method = parts.next()?;
    let path = parts.next()?.to_vec();
    let mut body_len = 0;
    let mut close = false;
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if name.eq_ignore_ascii_case(b"content-length") {
            body_len = std::str::from_utf8(value).ok()?.parse().ok()?;
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            // reqwest sends byte bodies with content-length; chunked uploads are not served.
            return None;
        } else if name.eq_ignore_ascii_case(b"connection") {
            close = value.eq_ignore_ascii_case(b"close");
        }
    }
    Some(RequestHead {
        path,
        body_len,
        close,
    })
}

/// Write `reply`; `false` when the connection must close (the client hung up on a held stream).
async fn write_reply(
    socket: &mut TcpStream,
    reply: &Reply,
    released: &mut watch::Receiver<bool>,
) -> io::Result<bool> {
    if reply.delay.is_none() && reply.hold_after.is_none() {
        socket.write_all(&reply.whole).await?;
        return Ok(true);
    }
    socket.write_all(&reply.head).await?;
    for (i, piece) in reply.pieces.iter().enumerate() {
        if reply.hold_after == Some(i) && !*released.borrow() {
            let mut probe = [0u8; 1];
            tokio::select! {
                _ = released.wait_for(|r| *r) => {}
                // Any read result while holding means the client is gone (or misbehaving).
                _ = socket.read(&mut probe) => return Ok(false),
            }
        }
        socket.write_all(piece).await?;
        if let Some(d) = reply.delay {
            tokio::time::sleep(d).await;
        }
    }
    Ok(true)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_reqwest_head() {
        let head = b"POST /openai/v1/chat/completions?x=1 HTTP/1.1\r\nContent-Length: 42\r\nConnection: keep-alive\r\n\r\n";
        let parsed = parse_head(head).expect("a valid head");
        assert_eq!(parsed.path, b"/openai/v1/chat/completions?x=1");
        assert_eq!(parsed.body_len, 42);
        assert!(!parsed.close);
        let routes = Routes::new().route("/openai/v1/chat/completions", Reply::json("{}"));
        assert!(routes.find(&parsed.path).is_some());
    }

    #[test]
    fn chunked_framing() {
        let reply = Reply::sse(&[Bytes::from_static(b"data: 1\n\n")]);
        assert!(reply.whole.ends_with(b"9\r\ndata: 1\n\n\r\n0\r\n\r\n"));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn serves_reqwest_with_keep_alive() -> Result<(), Box<dyn std::error::Error>> {
        let upstream =
            BenchUpstream::start(Routes::new().route("/a", Reply::json(r#"{"ok":true}"#)))?;
        let client = reqwest::Client::new();
        for _ in 0..3 {
            let body = client
                .post(upstream.url("/a"))
                .body("{}")
                .send()
                .await?
                .text()
                .await?;
            assert_eq!(body, r#"{"ok":true}"#);
        }
        let status = client.get(upstream.url("/missing")).send().await?.status();
        assert_eq!(status.as_u16(), 404);
        Ok(())
    }
}

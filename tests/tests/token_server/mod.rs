//! A scripted OAuth2 token endpoint on 127.0.0.1 that counts the requests it
//! has in flight: the `n`-th request gets `script[n]` (the last one repeats),
//! and a request counts as in flight from its arrival until its answer is
//! written (a stalled one stays in flight even if the client goes away, so a
//! restarted fetch shows as two at once).
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the endpoint does with one request.
#[derive(Debug, Clone)]
pub(crate) enum Act {
    /// Wait `after`, then answer `status` with the JSON `body`.
    Answer {
        after: Duration,
        status: u16,
        body: String,
    },
    /// Never answer.
    Stall,
}

impl Act {
    /// `200` with an access token valid for `expires_in` seconds, at once.
    pub(crate) fn token(token: &str, expires_in: u64) -> Act {
        Act::Answer {
            after: Duration::ZERO,
            status: 200,
            body: format!(
                r#"{{"token_type":"Bearer","expires_in":{expires_in},"access_token":"{token}"}}"#
            ),
        }
    }

    /// `status` with an OAuth2 error body, after `after`.
    pub(crate) fn fail(status: u16, after: Duration) -> Act {
        Act::Answer {
            after,
            status,
            body: r#"{"error":"temporarily_unavailable","error_description":"try later"}"#
                .to_owned(),
        }
    }
}

#[derive(Default)]
struct Counts {
    requests: AtomicUsize,
    answered: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// The endpoint; it stops when dropped.
pub(crate) struct TokenEndpoint {
    url: String,
    counts: Arc<Counts>,
    accept: JoinHandle<()>,
}

impl TokenEndpoint {
    /// Serve `script` on a free loopback port.
    pub(crate) async fn start(script: Vec<Act>) -> TokenEndpoint {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let counts = Arc::new(Counts::default());
        let script = Arc::new(Mutex::new(script));
        let shared = Arc::clone(&counts);
        let accept = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((socket, _)) = listener.accept().await {
                let (counts, script) = (Arc::clone(&shared), Arc::clone(&script));
                connections.spawn(serve(socket, counts, script));
            }
        });
        TokenEndpoint {
            url,
            counts,
            accept,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Requests received.
    pub(crate) fn requests(&self) -> usize {
        self.counts.requests.load(Ordering::SeqCst)
    }

    /// Answers written.
    pub(crate) fn answered(&self) -> usize {
        self.counts.answered.load(Ordering::SeqCst)
    }

    /// The most requests that were in flight at once.
    pub(crate) fn max_in_flight(&self) -> usize {
        self.counts.max_in_flight.load(Ordering::SeqCst)
    }
}

impl Drop for TokenEndpoint {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Counts a request in flight until dropped.
struct InFlight(Arc<Counts>);

impl InFlight {
    fn enter(counts: &Arc<Counts>) -> InFlight {
        let now = counts.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        counts.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(Arc::clone(counts))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One connection: one request, one answer (`connection: close`).
async fn serve(mut socket: TcpStream, counts: Arc<Counts>, script: Arc<Mutex<Vec<Act>>>) {
    if !read_request(&mut socket).await {
        return;
    }
    let n = counts.requests.fetch_add(1, Ordering::SeqCst);
    let _in_flight = InFlight::enter(&counts);
    let act = {
        let script = script.lock().expect("script");
        script[n.min(script.len() - 1)].clone()
    };
    let (after, status, body) = match act {
        Act::Stall => std::future::pending().await,
        Act::Answer {
            after,
            status,
            body,
        } => (after, status, body),
    };
    tokio::time::sleep(after).await;
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    if socket.write_all(head.as_bytes()).await.is_ok()
        && socket.write_all(body.as_bytes()).await.is_ok()
    {
        counts.answered.fetch_add(1, Ordering::SeqCst);
    }
}

/// Read one request's head and body; `false` when the client went away first.
async fn read_request(socket: &mut TcpStream) -> bool {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return true;
            }
        }
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

//! [`MockServer`]: the listener, its accept loop, and the state tests script and read.

use std::future::poll_fn;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::connection;
use super::recorded::RecordedRequest;
use super::response::MockResponse;
use super::shared::{Shared, lock};

/// A scripted HTTP/1.1 upstream on `127.0.0.1`, for tests that send real HTTP
/// without the network.
///
/// It speaks plain HTTP/1.1 only (no TLS, no HTTP/2): point a client at
/// [`url`](MockServer::url), as a provider's `base_url` for instance.
///
/// It binds an ephemeral loopback port (never another interface), serves
/// keep-alive connections on its own tokio tasks, records every request, and
/// stops when dropped: the port is closed at once and every connection task is
/// aborted, so a client still waiting sees its connection end.
///
/// Requests match routes by method and path (without the query); a request no
/// route matches gets `404` with `{"error":{"message":"no mock route for POST /x"}}`
/// unless a [`fallback`](MockServer::fallback) is set.
///
/// ```no_run
/// use llm_runtime::testing::{MockResponse, MockServer};
/// use serde_json::json;
///
/// #[tokio::main]
/// async fn main() -> Result<(), reqwest::Error> {
///     let server = MockServer::start().await;
///     server.on(
///         "POST",
///         "/v1/chat/completions",
///         MockResponse::json(200, json!({"choices": [{"message": {"content": "hi"}}]})),
///     );
///
///     let client = reqwest::Client::builder().no_proxy().build()?;
///     let reply: serde_json::Value = client
///         .post(format!("{}/v1/chat/completions", server.url()))
///         .json(&json!({"model": "gpt-4o-mini"}))
///         .send()
///         .await?
///         .json()
///         .await?;
///
///     assert_eq!(reply["choices"][0]["message"]["content"], "hi");
///     assert_eq!(server.requests()[0].body_json()["model"], "gpt-4o-mini");
///     assert_eq!(server.connections_accepted(), 1);
///     Ok(())
/// }
/// ```
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept_task: JoinHandle<()>,
}

impl MockServer {
    /// Binds `127.0.0.1:0` and starts serving.
    ///
    /// Needs a tokio runtime with the IO and time drivers enabled, as
    /// `#[tokio::test]` gives (either flavor).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, or when no loopback port can be bound (see
    /// [`MockServer::try_start`] to handle that).
    pub async fn start() -> MockServer {
        // Binding an ephemeral loopback port fails only on a host without a
        // loopback interface or out of ports: no test can run there, and the
        // panic says why instead of a confusing failure later.
        MockServer::try_start()
            .await
            .expect("the mock server could not bind 127.0.0.1:0")
    }

    /// Binds `127.0.0.1:0` and starts serving, or reports why it could not bind.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub async fn try_start() -> io::Result<MockServer> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            listener: Mutex::new(Some(listener)),
            script: Mutex::default(),
            requests: Mutex::default(),
            request_count: watch::Sender::new(0),
            accepted: AtomicUsize::new(0),
            open: watch::Sender::new(0),
        });
        let accept_task = tokio::spawn(accept_loop(Arc::clone(&shared)));
        Ok(MockServer {
            addr,
            shared,
            accept_task,
        })
    }

    /// The base URL, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address, `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Answers `method path` with `response`, every time. `method` is matched
    /// case-insensitively, `path` exactly and without the query. Replaces an
    /// earlier route for the same method and path; takes effect for the next
    /// request, even on an open connection.
    pub fn on(&self, method: &str, path: &str, response: MockResponse) -> &Self {
        self.on_sequence(method, path, vec![response])
    }

    /// Answers `method path` with `responses` in order, then repeats the last
    /// one (a retry test: `vec![json(503, ..), json(200, ..)]`). An empty
    /// sequence removes the route.
    pub fn on_sequence(&self, method: &str, path: &str, responses: Vec<MockResponse>) -> &Self {
        lock(&self.shared.script).set_route(method, path, responses);
        self
    }

    /// Answers every request no route matches with `response` instead of the 404.
    pub fn fallback(&self, response: MockResponse) -> &Self {
        lock(&self.shared.script).set_fallback(response);
        self
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// The requests received after the first `n`, in arrival order: what one
    /// call sent, given [`request_count`](Self::request_count) before it,
    /// without copying the whole record.
    pub fn requests_since(&self, n: usize) -> Vec<RecordedRequest> {
        lock(&self.shared.requests)
            .get(n..)
            .map(<[RecordedRequest]>::to_vec)
            .unwrap_or_default()
    }

    /// How many requests were received so far.
    pub fn request_count(&self) -> usize {
        *self.shared.request_count.borrow()
    }

    /// Waits until `n` requests have been received; `false` on timeout.
    ///
    /// Useful to know that a request a test cannot await (one that stalls, or
    /// runs in another task) has reached the server.
    pub async fn wait_for_request_count(&self, n: usize, timeout: Duration) -> bool {
        let mut count = self.shared.request_count.subscribe();
        matches!(
            tokio::time::timeout(timeout, count.wait_for(|count| *count >= n)).await,
            Ok(Ok(_))
        )
    }

    /// How many TCP connections were accepted so far (a client that reuses its
    /// connections keeps this at 1).
    pub fn connections_accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// How many accepted connections are still open. A connection counts as
    /// closed once the server has seen the client close it (or dropped it
    /// itself, e.g. for a [`Fault`](super::Fault)).
    pub fn connections_open(&self) -> usize {
        *self.shared.open.borrow()
    }

    /// Waits until exactly `n` connections are open; `false` on timeout.
    ///
    /// A test that drops a client (or a stream) waits for `0` to see that the
    /// connection was really closed.
    pub async fn wait_for_connections_open(&self, n: usize, timeout: Duration) -> bool {
        let mut open = self.shared.open.subscribe();
        matches!(
            tokio::time::timeout(timeout, open.wait_for(|open| *open == n)).await,
            Ok(Ok(_))
        )
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        // Close the listening socket now rather than when the aborted task is
        // next polled, so a connect right after the drop is refused.
        drop(lock(&self.shared.listener).take());
        // The connection tasks live in the accept task's JoinSet: they go with it.
        self.accept_task.abort();
    }
}

/// How long to wait after a failed accept (e.g. out of file descriptors)
/// instead of spinning on the error.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

async fn accept_loop(shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = poll_fn(|cx| shared.poll_accept(cx)) => match accepted {
                Some(Ok((stream, _peer))) => {
                    let open = shared.open_connection();
                    connections.spawn(connection::serve(stream, Arc::clone(&shared), open));
                }
                Some(Err(_)) => tokio::time::sleep(ACCEPT_BACKOFF).await,
                None => break,
            },
            // Reap finished connections so the set does not grow with every one.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

//! The state the mock server's accept loop, its connections and the
//! [`MockServer`](super::MockServer) handle share.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::recorded::RecordedRequest;
use super::response::MockResponse;
use super::script::Script;

/// The state the accept loop, the connections and the [`MockServer`] share.
#[derive(Debug)]
pub(super) struct Shared {
    /// `None` once the server is dropped.
    pub(super) listener: Mutex<Option<TcpListener>>,
    pub(super) script: Mutex<Script>,
    pub(super) requests: Mutex<Vec<RecordedRequest>>,
    pub(super) request_count: watch::Sender<usize>,
    pub(super) accepted: AtomicUsize,
    pub(super) open: watch::Sender<usize>,
}

impl Shared {
    /// The scripted response for `method path`.
    pub(super) fn next_response(&self, method: &str, path: &str) -> MockResponse {
        lock(&self.script).respond(method, path)
    }

    /// Appends a request to the record.
    pub(super) fn record(&self, request: RecordedRequest) {
        let mut requests = lock(&self.requests);
        requests.push(request);
        let count = requests.len();
        // Still under the lock, so counts are published in order.
        self.request_count.send_replace(count);
    }

    /// Polls the listener; `None` once the server has been dropped.
    pub(super) fn poll_accept(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<io::Result<(TcpStream, SocketAddr)>>> {
        match lock(&self.listener).as_ref() {
            Some(listener) => listener.poll_accept(cx).map(Some),
            None => Poll::Ready(None),
        }
    }

    /// Counts a newly accepted connection, open until the returned guard drops.
    pub(super) fn open_connection(self: &Arc<Self>) -> OpenConnection {
        let id = self.accepted.fetch_add(1, Ordering::SeqCst) + 1;
        self.open.send_modify(|open| *open += 1);
        OpenConnection {
            id,
            shared: Arc::clone(self),
        }
    }
}

/// One open connection: counted open from accept until dropped, which also
/// happens when its task is aborted.
#[derive(Debug)]
pub(super) struct OpenConnection {
    id: usize,
    shared: Arc<Shared>,
}

impl OpenConnection {
    /// The connection's number, from 1 in accept order.
    pub(super) fn id(&self) -> usize {
        self.id
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.shared
            .open
            .send_modify(|open| *open = open.saturating_sub(1));
    }
}

/// Locks `mutex`, ignoring poisoning: every critical section leaves the data
/// consistent, and a panicking test must not hide its own message behind a
/// poison error from the server.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

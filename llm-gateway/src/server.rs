//! The listener: TCP_NODELAY, HTTP/1.1 and h2c on one port, a header (and
//! idle keep-alive) timeout, and graceful shutdown.
//!
//! On shutdown the listener closes at once (new connections are refused),
//! every connection is told to finish (HTTP/1.1: after its response in
//! flight; h2: GOAWAY), and what is still running after
//! [`ServerLimits::shutdown_grace`](crate::state::ServerLimits) is dropped.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::state::SharedState;

/// How the listener serves connections.
#[derive(Debug, Clone, Copy)]
pub struct ServeOptions {
    /// Time to send a request's headers; an idle keep-alive connection is closed after it too.
    pub header_timeout: Duration,
    /// Time in-flight calls get after the shutdown signal.
    pub shutdown_grace: Duration,
}

impl ServeOptions {
    /// The options `general_settings` gives.
    pub fn from_state(state: &SharedState) -> Self {
        ServeOptions {
            header_timeout: state.limits.header_timeout,
            shutdown_grace: state.limits.shutdown_grace,
        }
    }
}

/// Refuse a non-loopback address without a master key (the gateway would
/// otherwise spend its providers' keys for anyone who can reach it).
pub fn check_address(addr: SocketAddr, has_master_key: bool) -> io::Result<()> {
    if addr.ip().is_loopback() || has_master_key {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!(
            "refusing to listen on {addr} without a master key: set general_settings.master_key \
             (or LITELLM_MASTER_KEY), or listen on 127.0.0.1"
        ),
    ))
}

/// Bind `addr` after [`check_address`].
pub async fn bind(addr: SocketAddr, state: &SharedState) -> io::Result<TcpListener> {
    check_address(addr, state.master_key.is_some())?;
    TcpListener::bind(addr).await
}

/// Serve `listener` until `shutdown` completes, then shut down gracefully.
pub async fn serve(
    listener: TcpListener,
    state: SharedState,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send,
) {
    // Each request is served by the state current when it arrives; a reload
    // (SIGHUP, `POST /config/reload`) swaps it for the requests after it.
    let live = crate::reload::Live::new(state);
    let sighup = live.reload_on_sighup();
    let app = live.app();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(options.header_timeout));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        configure(&stream);
        let service = TowerToHyperService::new(app.clone());
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
        let conn = graceful.watch(conn.into_owned());
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
    drop(listener);
    if let Some(task) = sighup {
        task.abort();
    }
    tracing::info!("shutting down: finishing in-flight requests");
    if tokio::time::timeout(options.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_s = options.shutdown_grace.as_secs_f64(),
            "in-flight requests cut at the shutdown deadline"
        );
    }
}

/// Raise the process's soft limit of open files to its hard limit: every
/// open stream holds two descriptors (the caller's connection and the
/// upstream's), and the usual soft limit of 1024 refuses connections past
/// about 500 streams. Returns the soft limit in force (`None`: unlimited or
/// not known on this platform).
pub fn raise_open_files_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let mut limit = getrlimit(Resource::Nofile);
        if let (Some(soft), Some(hard)) = (limit.current, limit.maximum)
            && soft < hard
        {
            limit.current = Some(hard);
            if let Err(e) = setrlimit(Resource::Nofile, limit) {
                tracing::warn!(error = %e, soft, hard, "the open-files limit could not be raised");
            }
        }
        getrlimit(Resource::Nofile).current
    }
    #[cfg(not(unix))]
    None
}

/// Set up an accepted connection: TCP_NODELAY, so small SSE frames go out as written.
pub fn configure(stream: &tokio::net::TcpStream) {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, "TCP_NODELAY could not be set");
    }
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// A gateway serving in this process (tests, embedding): its address, and
/// a handle to stop it.
#[derive(Debug)]
pub struct Running {
    /// The bound address.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Running {
    /// Start the graceful shutdown and wait until it is done.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Bind `addr` (port 0: a free one) and serve `state` on a task.
pub async fn spawn(state: SharedState, addr: SocketAddr) -> io::Result<Running> {
    let listener = bind(addr, &state).await?;
    let addr = listener.local_addr()?;
    let options = ServeOptions::from_state(&state);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, state, options, async move {
        let _ = stopped.await;
    }));
    Ok(Running {
        addr,
        stop: Some(stop),
        task,
    })
}

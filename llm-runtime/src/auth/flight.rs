//! [`Flight`]: the one shared, refreshing credential of a provider
//! configuration (an access token, AWS credentials), fetched by one task at a
//! time whatever the number of callers.
//!
//! - **Single flight, never cancelled by a waiter.** The fetch runs in its own
//!   task; callers wait on its shared result. A caller that gives up (its
//!   deadline, a dropped handler) stops waiting; the fetch goes on for the
//!   others, bounded by [`FETCH_TIMEOUT`].
//! - **Everyone sees the result**, error included, and a failure is kept for
//!   [`FAILURE_CACHE`]: the callers of that window get it at once (with a
//!   `retry_after` that ends it) instead of each asking a failing endpoint.
//! - **Refresh ahead, in the background.** A value within its refresh margin
//!   is still served while one background fetch replaces it; if that fetch
//!   fails, the old value keeps serving until it really expires.
//! - **Bounded lifetimes.** However short or long a lifetime the source
//!   reports, the value is kept between [`MIN_CACHED_LIFETIME`] and
//!   [`MAX_TOKEN_LIFETIME`], and refreshed at the latest halfway through it:
//!   never a fetch on every call, never forever.
//!
//! The schedule runs on tokio's clock, so tests can pause it.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::error::{Error, ErrorKind, Result};

/// The longest a credential fetch may run, whoever waits for it: a token
/// endpoint answers in milliseconds, and a fetch nobody can see end would
/// keep every later caller waiting.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a failed fetch is kept: the callers of that window share its
/// error instead of each asking a failing endpoint again.
pub const FAILURE_CACHE: Duration = Duration::from_secs(2);

/// The longest a credential is kept, whatever lifetime its source reports
/// (a token "valid for a century" is fetched again after this).
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// The shortest a credential is kept, whatever its source reports (one that
/// is already expired included): no source can make every call fetch.
pub const MIN_CACHED_LIFETIME: Duration = Duration::from_secs(1);

/// What a fetch brings: the value, and how long it is valid from now (`None`:
/// no known expiry, kept until refused).
pub(crate) struct Fetched<T> {
    pub(crate) value: T,
    pub(crate) lifetime: Option<Duration>,
}

/// A fetch, ready to run in its own task.
pub(crate) type FetchFuture<T> = Pin<Box<dyn Future<Output = Result<Fetched<T>>> + Send>>;

/// The one shared credential of a configuration; see the module docs.
pub(crate) struct Flight<T> {
    inner: Arc<Inner<T>>,
}

struct Inner<T> {
    /// What is fetched, for messages ("access token").
    what: &'static str,
    refresh_ahead: Duration,
    state: Mutex<State<T>>,
    fetches: AtomicU64,
}

struct State<T> {
    current: Option<Held<T>>,
    failed: Option<Failed>,
    /// The fetch in progress, if any: its result, once it lands.
    flight: Option<watch::Receiver<Option<Landed<T>>>>,
}

struct Held<T> {
    value: T,
    refresh_at: Option<Instant>,
    expires_at: Option<Instant>,
}

struct Failed {
    error: Arc<Error>,
    until: Instant,
}

/// A fetch's outcome as every waiter sees it.
type Landed<T> = std::result::Result<T, (Arc<Error>, Instant)>;

/// What a caller does once it looked at the state.
enum Next<T> {
    Serve(T),
    Fail(Error),
    Wait(watch::Receiver<Option<Landed<T>>>),
}

impl<T: Clone + Send + Sync + 'static> Flight<T> {
    /// An empty cell for `what`, refreshed `refresh_ahead` before expiry.
    pub(crate) fn new(what: &'static str, refresh_ahead: Duration) -> Self {
        Flight {
            inner: Arc::new(Inner {
                what,
                refresh_ahead,
                state: Mutex::new(State {
                    current: None,
                    failed: None,
                    flight: None,
                }),
                fetches: AtomicU64::new(0),
            }),
        }
    }

    /// How many fetches were started.
    pub(crate) fn fetches(&self) -> u64 {
        self.inner.fetches.load(Ordering::Relaxed)
    }

    /// The current value, or the result of the one fetch that gets it
    /// (`fetch` is called only when a fetch starts). Cancel-safe: dropping
    /// the returned future stops this caller's wait, never the fetch.
    pub(crate) async fn get(&self, fetch: impl FnOnce() -> FetchFuture<T>) -> Result<T> {
        let next = {
            let mut state = self.inner.lock();
            self.next(&mut state, fetch)
        };
        let mut landed = match next {
            Next::Serve(value) => return Ok(value),
            Next::Fail(e) => return Err(e),
            Next::Wait(rx) => rx,
        };
        let outcome = match landed.wait_for(Option::is_some).await {
            Ok(outcome) => outcome.clone(),
            // The task always lands a result, even when dropped; this is a
            // runtime shutting down under it.
            Err(_) => None,
        };
        match outcome {
            Some(Ok(value)) => Ok(value),
            Some(Err((error, until))) => Err(failure(&error, until)),
            None => Err(Error::new(
                ErrorKind::Network,
                format!("the {} fetch ended without a result", self.inner.what),
            )),
        }
    }

    /// Forget the current value if `refused` says it is the one the
    /// upstream refused (a value fetched since is kept).
    pub(crate) fn invalidate(&self, refused: impl Fn(&T) -> bool) {
        let mut state = self.inner.lock();
        if state
            .current
            .as_ref()
            .is_some_and(|held| refused(&held.value))
        {
            state.current = None;
        }
    }

    fn next(&self, state: &mut State<T>, fetch: impl FnOnce() -> FetchFuture<T>) -> Next<T> {
        let now = Instant::now();
        let failing = state
            .failed
            .as_ref()
            .filter(|f| now < f.until)
            .map(|f| (Arc::clone(&f.error), f.until));
        if let Some(held) = &state.current
            && held.expires_at.is_none_or(|at| now < at)
        {
            let value = held.value.clone();
            let due = held.refresh_at.is_some_and(|at| now >= at);
            if due && state.flight.is_none() && failing.is_none() {
                // Served now; replaced in the background. A failure to start
                // is met again by the next caller, once this value expires.
                let _ = self.start(state, fetch());
            }
            return Next::Serve(value);
        }
        if let Some((error, until)) = failing {
            return Next::Fail(failure(&error, until));
        }
        match &state.flight {
            Some(rx) => Next::Wait(rx.clone()),
            None => match self.start(state, fetch()) {
                Ok(rx) => Next::Wait(rx),
                Err(e) => Next::Fail(e),
            },
        }
    }

    /// Spawn `fetch` and record it as the flight in progress.
    fn start(
        &self,
        state: &mut State<T>,
        fetch: FetchFuture<T>,
    ) -> Result<watch::Receiver<Option<Landed<T>>>> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::config(format!(
                "fetching the {} needs a tokio runtime",
                self.inner.what
            ))
        })?;
        let (tx, rx) = watch::channel(None);
        state.flight = Some(rx.clone());
        self.inner.fetches.fetch_add(1, Ordering::Relaxed);
        let landing = Landing {
            inner: Arc::clone(&self.inner),
            tx: Some(tx),
        };
        runtime.spawn(async move {
            let outcome = match tokio::time::timeout(FETCH_TIMEOUT, fetch).await {
                Ok(outcome) => outcome,
                Err(_) => Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "the {} fetch did not finish within {FETCH_TIMEOUT:?}",
                        landing.inner.what
                    ),
                )),
            };
            landing.land(outcome);
        });
        Ok(rx)
    }
}

impl<T> Inner<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // The state is consistent between statements: a panic elsewhere
        // while it was held does not make it unusable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// When a value that lives `lifetime` from `now` is refreshed, and when
    /// it expires.
    fn schedule(
        &self,
        now: Instant,
        lifetime: Option<Duration>,
    ) -> (Option<Instant>, Option<Instant>) {
        let Some(lifetime) = lifetime else {
            return (None, None);
        };
        let lifetime = lifetime.clamp(MIN_CACHED_LIFETIME, MAX_TOKEN_LIFETIME);
        // A margin as long as the lifetime would refetch on every call: at
        // most half of it.
        let margin = self.refresh_ahead.min(lifetime / 2);
        (
            now.checked_add(lifetime - margin),
            now.checked_add(lifetime),
        )
    }
}

/// The result of one spawned fetch, landed exactly once: by the task, or
/// by its drop when the task panicked or was dropped with its runtime.
struct Landing<T> {
    inner: Arc<Inner<T>>,
    tx: Option<watch::Sender<Option<Landed<T>>>>,
}

impl<T: Clone> Landing<T> {
    fn land(mut self, outcome: Result<Fetched<T>>) {
        self.settle(outcome);
    }

    fn settle(&mut self, outcome: Result<Fetched<T>>) {
        let Some(tx) = self.tx.take() else { return };
        let now = Instant::now();
        let landed = {
            let mut state = self.inner.lock();
            state.flight = None;
            match outcome {
                Ok(fetched) => {
                    let (refresh_at, expires_at) = self.inner.schedule(now, fetched.lifetime);
                    state.failed = None;
                    state.current = Some(Held {
                        value: fetched.value.clone(),
                        refresh_at,
                        expires_at,
                    });
                    Ok(fetched.value)
                }
                Err(e) => {
                    // Past the representable range only on a broken clock:
                    // then nothing is cached.
                    let until = now.checked_add(FAILURE_CACHE).unwrap_or(now);
                    let error = Arc::new(e);
                    state.failed = Some(Failed {
                        error: Arc::clone(&error),
                        until,
                    });
                    Err((error, until))
                }
            }
        };
        // The state is updated first: a waiter that wakes and asks again
        // sees the value (or the failure) already.
        let _ = tx.send(Some(landed));
    }
}

impl<T> Drop for Landing<T> {
    fn drop(&mut self) {
        let Some(tx) = self.tx.take() else { return };
        let error = Arc::new(Error::new(
            ErrorKind::Network,
            format!(
                "the {} fetch stopped before it finished (it panicked, or its runtime shut down)",
                self.inner.what
            ),
        ));
        let now = Instant::now();
        let until = now.checked_add(FAILURE_CACHE).unwrap_or(now);
        {
            let mut state = self.inner.lock();
            state.flight = None;
            state.failed = Some(Failed {
                error: Arc::clone(&error),
                until,
            });
        }
        let _ = tx.send(Some(Err((error, until))));
    }
}

/// A copy of a shared failure for one caller, with a `retry_after` that
/// ends when the failure stops being served (a retry before that would
/// only meet it again).
fn failure(error: &Error, until: Instant) -> Error {
    let left = until.saturating_duration_since(Instant::now());
    let retry_after = error.retry_after().map_or(left, |after| after.max(left));
    let mut copy = Error::new(error.kind(), error.message())
        .with_retry_after(Some(retry_after))
        .with_should_retry(error.should_retry_hint())
        .with_request_id(error.request_id().map(str::to_owned));
    if let Some(status) = error.status() {
        copy = copy.with_status(status);
    }
    if let Some(code) = error.code() {
        copy = copy.with_code(code);
    }
    if let Some(body) = error.body() {
        copy = copy.with_body(body.as_bytes());
    }
    if let Some(provider) = error.provider() {
        copy = copy.with_provider(provider.to_owned());
    }
    if let Some(model) = error.model() {
        copy = copy.with_model(model);
    }
    copy
}

#[cfg(test)]
mod tests;

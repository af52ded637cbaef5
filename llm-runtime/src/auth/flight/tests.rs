//! The schedule of [`Flight`] on tokio's paused clock: single flight, shared
//! results, failures kept briefly, refresh ahead in the background, bounded
//! lifetimes, and a fetch no waiter can cancel.

use super::*;
use std::sync::atomic::AtomicU32;

/// How each fetch of a [`Script`] behaves.
#[derive(Clone, Copy)]
enum Step {
    /// Answers `v{n}` after `took`, valid for `lifetime`.
    Answer {
        took: Duration,
        lifetime: Option<Duration>,
    },
    /// Fails after `took`.
    Fail { took: Duration },
    /// Never answers.
    Stall,
    /// Panics.
    Panic,
}

/// A source whose `n`-th fetch does `steps[n]` (the last step repeats).
struct Script {
    steps: Vec<Step>,
    started: AtomicU32,
    finished: Arc<AtomicU32>,
}

impl Script {
    fn new(steps: Vec<Step>) -> Arc<Script> {
        Arc::new(Script {
            steps,
            started: AtomicU32::new(0),
            finished: Arc::new(AtomicU32::new(0)),
        })
    }

    /// The next fetch, as the cell starts it.
    fn fetch(self: &Arc<Self>) -> impl FnOnce() -> FetchFuture<String> + use<> {
        let script = Arc::clone(self);
        move || {
            let n = script.started.fetch_add(1, Ordering::SeqCst);
            let step = script.steps[(n as usize).min(script.steps.len() - 1)];
            let finished = Arc::clone(&script.finished);
            Box::pin(async move {
                let outcome = match step {
                    Step::Answer { took, lifetime } => {
                        tokio::time::sleep(took).await;
                        Ok(Fetched {
                            value: format!("v{n}"),
                            lifetime,
                        })
                    }
                    Step::Fail { took } => {
                        tokio::time::sleep(took).await;
                        Err(
                            Error::new(ErrorKind::ServerError, format!("fetch {n} failed"))
                                .with_status(503),
                        )
                    }
                    Step::Stall => std::future::pending().await,
                    Step::Panic => panic!("the source panicked"),
                };
                finished.fetch_add(1, Ordering::SeqCst);
                outcome
            })
        }
    }
}

async fn get(flight: &Flight<String>, script: &Arc<Script>) -> Result<String> {
    flight.get(script.fetch()).await
}

fn answer(secs: u64) -> Step {
    Step::Answer {
        took: Duration::from_millis(100),
        lifetime: Some(Duration::from_secs(secs)),
    }
}

const FAIL: Step = Step::Fail {
    took: Duration::from_millis(100),
};

#[tokio::test(start_paused = true)]
async fn concurrent_callers_share_one_fetch_and_its_error() {
    let flight = Arc::new(Flight::new("token", Duration::from_secs(60)));
    let script = Script::new(vec![FAIL, answer(3600)]);
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let (flight, script) = (Arc::clone(&flight), Arc::clone(&script));
            tokio::spawn(async move { get(&flight, &script).await })
        })
        .collect();
    for call in calls {
        let e = call.await.expect("joined").expect_err("shared failure");
        assert_eq!(e.kind(), ErrorKind::ServerError);
        assert_eq!(e.status(), Some(503));
        assert_eq!(e.message(), "fetch 0 failed");
    }
    assert_eq!(flight.fetches(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_failure_is_kept_for_the_failure_window_then_fetched_again() {
    let flight = Flight::new("token", Duration::from_secs(60));
    let script = Script::new(vec![FAIL, answer(3600)]);
    get(&flight, &script).await.expect_err("first fetch fails");
    tokio::time::sleep(FAILURE_CACHE / 2).await;
    let kept = get(&flight, &script).await.expect_err("kept");
    assert_eq!(kept.message(), "fetch 0 failed");
    let wait = kept.retry_after().expect("a wait that ends the window");
    assert!(
        wait > Duration::ZERO && wait <= FAILURE_CACHE / 2,
        "{wait:?}"
    );
    assert_eq!(flight.fetches(), 1, "not asked again within the window");
    tokio::time::sleep(wait).await;
    assert_eq!(get(&flight, &script).await.expect("fetched again"), "v1");
    assert_eq!(flight.fetches(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_caller_that_gives_up_does_not_cancel_the_fetch() {
    let flight = Flight::new("token", Duration::from_secs(60));
    let slow = Step::Answer {
        took: Duration::from_secs(3),
        lifetime: Some(Duration::from_secs(3600)),
    };
    let script = Script::new(vec![slow]);
    for _ in 0..5 {
        let gave_up = tokio::time::timeout(Duration::from_millis(500), get(&flight, &script)).await;
        assert!(gave_up.is_err(), "the caller's own bound");
    }
    assert_eq!(
        flight.fetches(),
        1,
        "no restart by the callers that came back"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(script.finished.load(Ordering::SeqCst), 1, "ran to its end");
    assert_eq!(get(&flight, &script).await.expect("cached"), "v0");
    assert_eq!(flight.fetches(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_stalled_fetch_ends_at_its_own_bound_for_every_waiter() {
    let flight = Arc::new(Flight::new("token", Duration::from_secs(60)));
    let script = Script::new(vec![Step::Stall, answer(3600)]);
    let started = Instant::now();
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let (flight, script) = (Arc::clone(&flight), Arc::clone(&script));
            tokio::spawn(async move { get(&flight, &script).await })
        })
        .collect();
    for waiter in waiters {
        let e = waiter.await.expect("joined").expect_err("timed out");
        assert_eq!(e.kind(), ErrorKind::Timeout);
    }
    assert_eq!(started.elapsed(), FETCH_TIMEOUT);
    assert_eq!(flight.fetches(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_fetch_lands_an_error_and_frees_the_flight() {
    let flight = Flight::new("token", Duration::from_secs(60));
    let script = Script::new(vec![Step::Panic, answer(3600)]);
    let e = get(&flight, &script).await.expect_err("panicked");
    assert_eq!(e.kind(), ErrorKind::Network);
    assert!(e.message().contains("stopped before it finished"), "{e}");
    tokio::time::sleep(FAILURE_CACHE).await;
    assert_eq!(get(&flight, &script).await.expect("fetched again"), "v1");
}

#[tokio::test(start_paused = true)]
async fn refresh_ahead_serves_the_old_value_and_survives_a_failed_refresh() {
    let flight = Flight::new("token", Duration::from_secs(60));
    let script = Script::new(vec![answer(600), FAIL, answer(600)]);
    assert_eq!(get(&flight, &script).await.expect("first"), "v0");
    // Within the last minute: served, and one refresh starts behind it.
    tokio::time::sleep(Duration::from_secs(550)).await;
    assert_eq!(get(&flight, &script).await.expect("served"), "v0");
    assert_eq!(flight.fetches(), 2);
    tokio::time::sleep(Duration::from_secs(1)).await;
    // The refresh failed: the old value still serves, and no refresh starts
    // while the failure is kept.
    for _ in 0..3 {
        assert_eq!(get(&flight, &script).await.expect("still valid"), "v0");
    }
    assert_eq!(flight.fetches(), 2);
    tokio::time::sleep(FAILURE_CACHE).await;
    assert_eq!(get(&flight, &script).await.expect("served"), "v0");
    assert_eq!(flight.fetches(), 3, "refreshed again after the window");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(get(&flight, &script).await.expect("replaced"), "v2");
}

#[tokio::test(start_paused = true)]
async fn an_expired_value_is_never_served() {
    let flight = Flight::new("token", Duration::from_secs(60));
    let script = Script::new(vec![answer(600), FAIL]);
    get(&flight, &script).await.expect("first");
    tokio::time::sleep(Duration::from_secs(601)).await;
    // Past expiry: this caller waits for the fetch, and it fails.
    let e = get(&flight, &script).await.expect_err("no stale value");
    assert_eq!(e.kind(), ErrorKind::ServerError);
}

#[tokio::test(start_paused = true)]
async fn lifetimes_are_bounded_both_ways() {
    // Already expired, or zero: kept for the minimum, refreshed halfway.
    for lifetime in [Duration::ZERO, Duration::from_millis(1)] {
        let flight = Flight::new("token", Duration::from_secs(60));
        let script = Script::new(vec![Step::Answer {
            took: Duration::ZERO,
            lifetime: Some(lifetime),
        }]);
        for _ in 0..10 {
            get(&flight, &script).await.expect("token");
        }
        assert_eq!(flight.fetches(), 1, "{lifetime:?}: not a fetch per call");
        tokio::time::sleep(MIN_CACHED_LIFETIME / 2).await;
        get(&flight, &script).await.expect("token");
        assert_eq!(flight.fetches(), 2, "{lifetime:?}: refreshed halfway");
    }
    // "Forever": fetched again after the maximum.
    let flight = Flight::new("token", Duration::from_secs(60));
    let script = Script::new(vec![Step::Answer {
        took: Duration::ZERO,
        lifetime: Some(Duration::MAX),
    }]);
    get(&flight, &script).await.expect("token");
    tokio::time::sleep(MAX_TOKEN_LIFETIME - Duration::from_secs(61)).await;
    get(&flight, &script).await.expect("token");
    assert_eq!(flight.fetches(), 1, "fresh until its refresh margin");
    tokio::time::sleep(Duration::from_secs(2)).await;
    get(&flight, &script).await.expect("token");
    assert_eq!(flight.fetches(), 2, "refreshed before the maximum");
}

#[tokio::test(start_paused = true)]
async fn a_margin_longer_than_the_lifetime_refreshes_halfway() {
    let flight = Flight::new("token", Duration::from_secs(3600));
    let script = Script::new(vec![Step::Answer {
        took: Duration::ZERO,
        lifetime: Some(Duration::from_secs(100)),
    }]);
    get(&flight, &script).await.expect("token");
    tokio::time::sleep(Duration::from_secs(49)).await;
    get(&flight, &script).await.expect("token");
    assert_eq!(flight.fetches(), 1);
    tokio::time::sleep(Duration::from_secs(1)).await;
    get(&flight, &script).await.expect("token");
    assert_eq!(flight.fetches(), 2);
}

#[tokio::test(start_paused = true)]
async fn no_expiry_is_kept_until_invalidated() {
    let flight = Flight::new("token", Duration::from_secs(60));
    let script = Script::new(vec![Step::Answer {
        took: Duration::ZERO,
        lifetime: None,
    }]);
    get(&flight, &script).await.expect("token");
    tokio::time::sleep(MAX_TOKEN_LIFETIME * 2).await;
    assert_eq!(get(&flight, &script).await.expect("kept"), "v0");
    flight.invalidate(|v| v == "v0");
    assert_eq!(get(&flight, &script).await.expect("refetched"), "v1");
    flight.invalidate(|v| v == "v0");
    assert_eq!(get(&flight, &script).await.expect("kept"), "v1");
    assert_eq!(flight.fetches(), 2);
}

#[test]
fn outside_a_runtime_is_a_config_error() {
    let flight: Flight<String> = Flight::new("token", Duration::from_secs(60));
    let script = Script::new(vec![answer(60)]);
    let e = futures_util::FutureExt::now_or_never(get(&flight, &script))
        .expect("answers at once")
        .expect_err("no runtime");
    assert_eq!(e.kind(), ErrorKind::Config);
}

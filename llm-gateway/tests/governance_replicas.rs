//! Governance across two replica processes sharing a real Postgres and a
//! real Redis (each started here on a free loopback port): limits and
//! budgets hold, spend is exact (streams, disconnects, restarts, a database
//! outage), revocation propagates, and a Redis outage has the configured
//! outcome with no call past its deadline.

mod support;

/// One cluster at a time: each test starts Postgres, Redis and two
/// processes, and the machine may have two cores; a test's limits are
/// exact only while Redis answers within its timeout.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::replica::{MASTER, Replica, price, serve_from_env};
use support::servers::{Postgres, Redis, Scratch};

/// Every client call's deadline: a call still running then fails the test.
const DEADLINE: Duration = Duration::from_secs(5);
/// How long a background effect (a flush, a reload) may take to show.
const PATIENCE: Duration = Duration::from_secs(15);

/// The replica process's entry point (run by [`Replica`], not by `cargo test`).
#[test]
#[ignore = "the body of a replica process started by the other tests"]
fn replica_process() {
    serve_from_env();
}

struct Cluster {
    pg: Postgres,
    redis: Redis,
    a: Replica,
    b: Replica,
    _dir: Scratch,
    http: reqwest::Client,
}

fn cluster(fail_open_b: bool) -> Option<Cluster> {
    let pg = Postgres::postgres()?;
    let redis = Redis::redis()?;
    let dir = Scratch::new("replicas");
    let env = |name: &str, fail_open: bool| {
        vec![
            ("GOV_DATABASE_URL", pg.url()),
            ("GOV_REDIS_URL", redis.url()),
            (
                "GOV_SPILL",
                dir.path()
                    .join(format!("{name}.jsonl"))
                    .display()
                    .to_string(),
            ),
            (
                "GOV_FAIL_OPEN",
                if fail_open { "1" } else { "0" }.to_owned(),
            ),
        ]
    };
    let a = Replica::start(&env("a", true));
    let b = Replica::start(&env("b", fail_open_b));
    let http = reqwest::Client::builder()
        .timeout(DEADLINE)
        .build()
        .expect("client");
    Some(Cluster {
        pg,
        redis,
        a,
        b,
        _dir: dir,
        http,
    })
}

impl Cluster {
    async fn admin(&self, base: &str, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{base}{path}"))
            .bearer_auth(MASTER)
            .json(&body)
            .send()
            .await
            .expect("management call within its deadline");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn admin_get(&self, base: &str, path: &str) -> Value {
        self.http
            .get(format!("{base}{path}"))
            .bearer_auth(MASTER)
            .send()
            .await
            .expect("management call within its deadline")
            .json()
            .await
            .expect("json")
    }

    /// A new key made on replica a, returned once replica b knows it too.
    async fn new_key(&self, body: Value) -> String {
        let (status, v) = self.admin(&self.a.url(), "/key/generate", body).await;
        assert_eq!(status, 200, "{v}");
        let key = v["key"].as_str().expect("the key, shown once").to_owned();
        let deadline = Instant::now() + PATIENCE;
        while self.authenticates(&self.b.url(), &key).await != Some(true) {
            assert!(
                Instant::now() < deadline,
                "replica b never learned the new key"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        key
    }

    /// Whether `base` accepts `key`, without reserving anything: a body the
    /// route cannot parse is refused after authentication (422) or by it (401).
    async fn authenticates(&self, base: &str, key: &str) -> Option<bool> {
        let r = self
            .http
            .post(format!("{base}/v1/chat/completions"))
            .bearer_auth(key)
            .json(&json!({}))
            .send()
            .await
            .expect("answers within its deadline");
        match r.status().as_u16() {
            401 => Some(false),
            422 => Some(true),
            _ => None,
        }
    }

    /// A non-stream call: (status, call id).
    async fn chat(&self, base: &str, key: &str, body: Value) -> (u16, Option<String>) {
        let r = self
            .http
            .post(format!("{base}/v1/chat/completions"))
            .header("x-api-key", key)
            .json(&body)
            .send()
            .await
            .expect("a chat call answers within its deadline");
        let id = r
            .headers()
            .get("x-call-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let status = r.status().as_u16();
        let _ = r.bytes().await;
        (status, id)
    }

    async fn spend_logs(&self, key: &str) -> Vec<Value> {
        let v = self
            .admin_get(&self.a.url(), &format!("/spend/logs?api_key={key}"))
            .await;
        v.as_array().cloned().unwrap_or_default()
    }

    /// Wait until the store has `n` spend rows for `key`, then return them.
    async fn settled_logs(&self, key: &str, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let logs = self.spend_logs(key).await;
            if logs.len() >= n || Instant::now() > deadline {
                return logs;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn key_spend(&self, key: &str) -> Value {
        self.admin_get(&self.b.url(), &format!("/key/info?key={key}"))
            .await["info"]["spend"]
            .clone()
    }
}

fn call(prompt: i64, max: i64, completion: i64, delay_ms: u64) -> Value {
    json!({"model": "gpt-test", "prompt_tokens": prompt, "max_tokens": max,
           "completion_tokens": completion, "delay_ms": delay_ms})
}

fn nanos(logs: &[Value]) -> i64 {
    logs.iter()
        .map(|l| l["spend_nanos"].as_i64().expect("spend_nanos"))
        .sum()
}

/// 60 concurrent calls, 30 through each replica, on a key with rpm_limit 20.
async fn burst(c: &Cluster, key: &str, n: usize, body: Value) -> Vec<(u16, Option<String>)> {
    let calls = (0..n).map(|i| {
        let base = if i % 2 == 0 { c.a.url() } else { c.b.url() };
        let body = body.clone();
        async move { c.chat(&base, key, body).await }
    });
    futures_util::future::join_all(calls).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rpm_limit_holds_across_two_replicas() {
    let _serial = SERIAL.lock().await;
    let Some(c) = cluster(true) else { return };
    let key = c.new_key(json!({"rpm_limit": 20})).await;
    let results = burst(&c, &key, 60, call(10, 10, 5, 50)).await;
    let ok = results.iter().filter(|(s, _)| *s == 200).count();
    let limited = results.iter().filter(|(s, _)| *s == 429).count();
    eprintln!("RPM: 60 concurrent calls, rpm_limit 20: {ok} succeeded, {limited} got 429");
    // Redis healthy: one atomic window for both replicas, no slack.
    assert_eq!((ok, limited), (20, 40));
}

/// Calls from 8 callers (4 per replica) until `stop` says so: (200s, 429s).
async fn load(
    c: &Cluster,
    key: &str,
    stop: impl Fn(usize, Option<Instant>) -> bool,
) -> (usize, usize) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (ok, limited) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let first_refusal = std::sync::Mutex::new(None::<Instant>);
    let caller = |i: usize| {
        let (ok, limited, first_refusal, stop) = (&ok, &limited, &first_refusal, &stop);
        let base = if i.is_multiple_of(2) {
            c.a.url()
        } else {
            c.b.url()
        };
        async move {
            loop {
                let refused_at = *first_refusal.lock().expect("lock");
                if stop(ok.load(Ordering::SeqCst), refused_at) {
                    return;
                }
                match c.chat(&base, key, call(1, 1, 1, 0)).await.0 {
                    200 => ok.fetch_add(1, Ordering::SeqCst),
                    429 => {
                        first_refusal
                            .lock()
                            .expect("lock")
                            .get_or_insert_with(Instant::now);
                        limited.fetch_add(1, Ordering::SeqCst)
                    }
                    other => panic!("status {other}"),
                };
            }
        }
    };
    futures_util::future::join_all((0..8).map(caller)).await;
    (ok.into_inner(), limited.into_inner())
}

/// At full speed a replica admits most calls from its leases (few Redis
/// scripts per call), and the rpm limit is still exact across the two
/// processes: a key whose limit is about two seconds of traffic, called
/// until well after it is used up, serves exactly its limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn at_full_speed_leases_keep_the_rpm_limit_exact() {
    let _serial = SERIAL.lock().await;
    let Some(c) = cluster(true) else { return };
    // The rate, and the scripts per call once leases have grown (after 1 s).
    let free = c.new_key(json!({"rpm_limit": 100_000_000})).await;
    let started = Instant::now();
    load(&c, &free, |_, _| {
        started.elapsed() >= Duration::from_secs(1)
    })
    .await;
    let (scripts, t0) = (c.redis.scripts_run(), Instant::now());
    let (calls, _) = load(&c, &free, |_, _| t0.elapsed() >= Duration::from_secs(2)).await;
    let scripts = c.redis.scripts_run() - scripts;
    let per_second = calls as f64 / t0.elapsed().as_secs_f64();
    eprintln!(
        "LEASES: {calls} calls in 2 s over two replicas ({per_second:.0}/s) took {scripts} Redis scripts"
    );
    assert!(calls > 200, "too few calls to tell: {calls}");
    assert!(
        scripts * 4 < calls as i64,
        "{scripts} scripts for {calls} calls"
    );

    let limit = ((per_second * 2.0) as usize).max(300);
    let key = c.new_key(json!({"rpm_limit": limit})).await;
    let t0 = Instant::now();
    // Past the limit, go on for 2.5 s: every lease that held unused
    // requests has retired and given them back, and the callers took them.
    let (ok, limited) = load(&c, &key, |_, refused_at| {
        refused_at.is_some_and(|at| at.elapsed() >= Duration::from_millis(2500))
            || t0.elapsed() >= Duration::from_secs(25)
    })
    .await;
    eprintln!(
        "LEASES RPM: rpm_limit {limit}, 8 callers over two replicas for {:.1} s: {ok} ok, {limited} x 429",
        t0.elapsed().as_secs_f64()
    );
    assert_eq!(ok, limit, "exactly the limit, over {limited} refusals");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_budget_holds_and_key_info_is_the_sum() {
    let _serial = SERIAL.lock().await;
    let Some(c) = cluster(true) else { return };
    let p = price();
    let max_cost = p.cost(100, 400);
    let actual_cost = p.cost(100, 100);
    let budget_nanos = 5 * max_cost;
    let key = c
        .new_key(json!({"max_budget": budget_nanos as f64 / 1e9, "budget_duration": "1d"}))
        .await;
    let results = burst(&c, &key, 40, call(100, 400, 100, 100)).await;
    let ok: Vec<String> = results
        .iter()
        .filter(|(s, _)| *s == 200)
        .filter_map(|(_, id)| id.clone())
        .collect();
    let logs = c.settled_logs(&key, ok.len()).await;
    let spent = nanos(&logs);
    eprintln!(
        "BUDGET: budget {budget_nanos} nanos (5 x max cost {max_cost}), 40 concurrent calls: \
         {} succeeded, spend {spent} nanos",
        ok.len()
    );
    assert!(
        !ok.is_empty() && spent <= budget_nanos,
        "spend {spent} > budget {budget_nanos}"
    );
    assert_eq!(logs.len(), ok.len());
    assert_eq!(spent, ok.len() as i64 * actual_cost);
    assert_eq!(c.key_spend(&key).await, json!(spent as f64 / 1e9));
    let (status, _) = c.chat(&c.b.url(), &key, call(100, 400, 100, 0)).await;
    assert_eq!(
        status,
        if spent + max_cost > budget_nanos {
            400
        } else {
            200
        }
    );
}

async fn stream(
    c: &Cluster,
    key: &str,
    completion: i64,
    delay_ms: u64,
    read: Option<usize>,
) -> String {
    let mut body = call(10, 100, completion, delay_ms);
    body["stream"] = json!(true);
    let r = c
        .http
        .post(format!("{}/v1/chat/completions", c.a.url()))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .expect("stream starts");
    assert_eq!(r.status().as_u16(), 200);
    let id = r.headers()["x-call-id"].to_str().expect("ascii").to_owned();
    let mut r = r;
    let mut chunks = 0;
    while let Some(_chunk) = r.chunk().await.expect("chunk") {
        chunks += 1;
        if read.is_some_and(|n| chunks >= n) {
            break; // the client goes away mid-stream
        }
    }
    drop(r);
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn streams_are_billed_exactly_and_a_disconnect_once() {
    let _serial = SERIAL.lock().await;
    let Some(c) = cluster(true) else { return };
    let key = c.new_key(json!({})).await;
    let whole = stream(&c, &key, 20, 5, None).await;
    let cut = stream(&c, &key, 200, 20, Some(3)).await;
    let logs = c.settled_logs(&key, 2).await;
    // Let any late (double) bill arrive before counting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let logs_again = c.spend_logs(&key).await;
    assert_eq!(logs.len(), 2);
    assert_eq!(logs_again.len(), 2, "a disconnect is billed once");
    let row = |id: &str| {
        logs.iter()
            .find(|l| l["request_id"] == id)
            .expect("billed")
            .clone()
    };
    let w = row(&whole);
    assert_eq!(
        (w["prompt_tokens"].as_i64(), w["completion_tokens"].as_i64()),
        (Some(10), Some(20))
    );
    assert_eq!(w["spend_nanos"].as_i64(), Some(price().cost(10, 20)));
    let d = row(&cut);
    let seen = d["completion_tokens"].as_i64().expect("tokens");
    eprintln!("DISCONNECT: billed {seen} of 200 output tokens after reading 3 chunks");
    assert!((3..200).contains(&seen), "billed what was streamed: {seen}");
    assert_eq!(d["spend_nanos"].as_i64(), Some(price().cost(10, seen)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn spend_is_identical_after_a_restart_and_a_database_outage() {
    let _serial = SERIAL.lock().await;
    let Some(mut c) = cluster(true) else { return };
    let key = c.new_key(json!({"max_budget": 100.0})).await;
    for _ in 0..5 {
        assert_eq!(c.chat(&c.a.url(), &key, call(10, 10, 10, 0)).await.0, 200);
    }
    c.a.restart(); // SIGTERM: flushes its queue
    let logs = c.settled_logs(&key, 5).await;
    assert_eq!(nanos(&logs), 5 * price().cost(10, 10));
    assert_eq!(c.key_spend(&key).await, json!(nanos(&logs) as f64 / 1e9));

    c.pg.stop();
    for _ in 0..5 {
        // Auth from the snapshot, limits from Redis: no database on the path.
        assert_eq!(c.chat(&c.b.url(), &key, call(10, 10, 10, 0)).await.0, 200);
    }
    tokio::time::sleep(Duration::from_millis(500)).await; // batches fail and spill
    c.pg.restart();
    let logs = c.settled_logs(&key, 10).await;
    assert_eq!(logs.len(), 10);
    assert_eq!(nanos(&logs), 10 * price().cost(10, 10));
    assert_eq!(c.key_spend(&key).await, json!(nanos(&logs) as f64 / 1e9));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deleted_key_is_refused_on_the_other_replica() {
    let _serial = SERIAL.lock().await;
    let Some(c) = cluster(true) else { return };
    let key = c.new_key(json!({})).await;
    let deadline = Instant::now() + PATIENCE;
    while c.chat(&c.b.url(), &key, call(1, 1, 1, 0)).await.0 != 200 {
        assert!(
            Instant::now() < deadline,
            "replica b never learned the new key"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let t0 = Instant::now();
    let (status, _) = c
        .admin(&c.a.url(), "/key/delete", json!({"keys": [key]}))
        .await;
    assert_eq!(status, 200);
    loop {
        let (status, _) = c.chat(&c.b.url(), &key, call(1, 1, 1, 0)).await;
        if status == 401 {
            break;
        }
        assert_eq!(status, 200);
        assert!(
            t0.elapsed() < PATIENCE,
            "replica b still accepts a deleted key"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    eprintln!(
        "REVOCATION: /key/delete on a -> 401 on b after {:?}",
        t0.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_down_fails_open_or_closed_and_recovers() {
    let _serial = SERIAL.lock().await;
    let Some(mut c) = cluster(false) else { return };
    let key = c.new_key(json!({"rpm_limit": 1000})).await;
    assert_eq!(c.chat(&c.b.url(), &key, call(1, 1, 1, 0)).await.0, 200);
    c.redis.stop();
    // Every call below answers within DEADLINE (the client's timeout).
    assert_eq!(
        c.chat(&c.a.url(), &key, call(1, 1, 1, 0)).await.0,
        200,
        "a fails open"
    );
    assert_eq!(
        c.chat(&c.b.url(), &key, call(1, 1, 1, 0)).await.0,
        503,
        "b fails closed"
    );
    c.redis.restart();
    let deadline = Instant::now() + PATIENCE;
    while c.chat(&c.b.url(), &key, call(1, 1, 1, 0)).await.0 != 200 {
        assert!(
            Instant::now() < deadline,
            "b did not recover when Redis came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

//! Governance through the real `llm-gateway` binary: two gateway processes
//! on one config (master key, Postgres `database_url`, `redis_host`) in
//! front of a loopback mock upstream, on a real Postgres and Redis started
//! here. Limits hold across the two, spend equals what the upstream
//! reported at the configured prices, streams included.

mod support;

/// One cluster at a time: each test starts Postgres, Redis and two
/// processes, and the machine may have two cores; a test's limits are
/// exact only while Redis answers within its timeout.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use llm_runtime::testing::{MockResponse, MockServer};
use serde_json::{Value, json};
use support::servers::{Postgres, Redis, Scratch, free_port};

const MASTER: &str = "sk-gateway-master-test";
const DEADLINE: Duration = Duration::from_secs(10);
const PATIENCE: Duration = Duration::from_secs(20);
/// The config's prices, in nano-dollars per token.
const IN_NANOS: i64 = 1_000;
const OUT_NANOS: i64 = 2_000;
/// What the mock upstream reports for every call.
const PROMPT: i64 = 10;
const COMPLETION: i64 = 5;

fn config(mock: &MockServer, pg: &Postgres, redis: &Redis) -> String {
    let group = |name: &str, prefix: &str| {
        format!(
            "  - model_name: {name}\n    litellm_params:\n      model: openai/{name}\n      \
             api_base: {}{prefix}/v1\n      api_key: sk-upstream\n      \
             input_cost_per_token: 0.000001\n      output_cost_per_token: 0.000002\n",
            mock.url()
        )
    };
    format!(
        "model_list:\n{}{}router_settings:\n  redis_host: 127.0.0.1\n  redis_port: {}\n\
         general_settings:\n  master_key: {MASTER}\n  database_url: {}\n",
        group("gpt-test", ""),
        group("gpt-stream", "/stream") + &group("gpt-slow", "/slow"),
        redis.port,
        pg.url()
    )
}

fn completion() -> Value {
    json!({"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-test",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": PROMPT, "completion_tokens": COMPLETION, "total_tokens": PROMPT + COMPLETION}})
}

fn stream_events() -> Vec<String> {
    let chunk = |delta: Value, usage: Value| {
        json!({"id": "c", "object": "chat.completion.chunk", "model": "gpt-stream",
            "choices": if delta.is_null() { json!([]) } else { json!([{"index": 0, "delta": delta, "finish_reason": null}]) },
            "usage": usage})
        .to_string()
    };
    let mut events: Vec<String> = (0..5)
        .map(|i| chunk(json!({"content": format!("w{i} ")}), Value::Null))
        .collect();
    events.push(chunk(
        Value::Null,
        json!({"prompt_tokens": PROMPT, "completion_tokens": COMPLETION, "total_tokens": PROMPT + COMPLETION}),
    ));
    events.push("[DONE]".to_owned());
    events
}

struct GatewayProcess {
    child: Child,
    port: u16,
}

impl GatewayProcess {
    fn start(config: &std::path::Path, dir: &std::path::Path) -> GatewayProcess {
        let port = free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_llm-gateway"))
            .arg("--config")
            .arg(config)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .current_dir(dir) // its spill file lives here
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn llm-gateway");
        let deadline = Instant::now() + PATIENCE;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("llm-gateway exited during startup: {status}");
            }
            assert!(Instant::now() < deadline, "llm-gateway did not listen");
            std::thread::sleep(Duration::from_millis(25));
        }
        GatewayProcess { child, port }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

struct Setup {
    _pg: Postgres,
    _redis: Redis,
    mock: MockServer,
    a: GatewayProcess,
    b: GatewayProcess,
    _dirs: [Scratch; 2],
    http: reqwest::Client,
}

async fn setup() -> Option<Setup> {
    setup_with(config).await
}

/// [`setup`] with the config `config` writes.
async fn setup_with(config: fn(&MockServer, &Postgres, &Redis) -> String) -> Option<Setup> {
    let pg = Postgres::postgres()?;
    let redis = Redis::redis()?;
    let mock = MockServer::start().await;
    mock.on(
        "POST",
        "/v1/chat/completions",
        MockResponse::json(200, completion()).delay(Duration::from_millis(100)),
    );
    for path in ["/d1/v1/chat/completions", "/d2/v1/chat/completions"] {
        mock.on(
            "POST",
            path,
            MockResponse::json(200, completion()).delay(Duration::from_millis(50)),
        );
    }
    mock.on(
        "POST",
        "/stream/v1/chat/completions",
        MockResponse::sse_data(stream_events()).chunk_delay(Duration::from_millis(5)),
    );
    let slow: Vec<String> = (0..200)
        .map(|i| json!({"id": "c", "object": "chat.completion.chunk", "model": "gpt-slow",
            "choices": [{"index": 0, "delta": {"content": format!("w{i} ")}, "finish_reason": null}]}).to_string())
        .collect();
    mock.on(
        "POST",
        "/slow/v1/chat/completions",
        MockResponse::sse_data(slow).chunk_delay(Duration::from_millis(20)),
    );
    let dirs = [Scratch::new("gw-a"), Scratch::new("gw-b")];
    let path = dirs[0].path().join("config.yaml");
    std::fs::write(&path, config(&mock, &pg, &redis)).expect("write the config");
    let a = GatewayProcess::start(&path, dirs[0].path());
    let b = GatewayProcess::start(&path, dirs[1].path());
    let http = reqwest::Client::builder()
        .timeout(DEADLINE)
        .build()
        .expect("client");
    Some(Setup {
        _pg: pg,
        _redis: redis,
        mock,
        a,
        b,
        _dirs: dirs,
        http,
    })
}

impl Setup {
    async fn admin(&self, base: &str, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{base}{path}"))
            .bearer_auth(MASTER)
            .json(&body)
            .send()
            .await
            .expect("answers");
        assert_eq!(r.status().as_u16(), 200);
        r.json().await.expect("json")
    }

    async fn get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.b.url()))
            .bearer_auth(MASTER)
            .send()
            .await
            .expect("answers")
            .json()
            .await
            .expect("json")
    }

    /// A key made on a, returned once b accepts it (a bad body: 400 or 422
    /// after authentication, 401 before).
    async fn key(&self, body: Value) -> String {
        let key = self.admin(&self.a.url(), "/key/generate", body).await["key"]
            .as_str()
            .expect("key")
            .to_owned();
        let deadline = Instant::now() + PATIENCE;
        loop {
            let status = self
                .chat_raw(&self.b.url(), &key, json!({"messages": "not a list"}))
                .await
                .0;
            if status != 401 {
                return key;
            }
            assert!(Instant::now() < deadline, "b never learned the key");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn chat_raw(&self, base: &str, key: &str, body: Value) -> (u16, String) {
        let r = self
            .http
            .post(format!("{base}/v1/chat/completions"))
            .bearer_auth(key)
            .json(&body)
            .send()
            .await
            .expect("a call answers within its deadline");
        let status = r.status().as_u16();
        (status, r.text().await.unwrap_or_default())
    }

    async fn burst(&self, key: &str, n: usize, model: &str) -> Vec<u16> {
        let calls = (0..n).map(|i| {
            let base = if i % 2 == 0 { self.a.url() } else { self.b.url() };
            let body = json!({"model": model, "max_tokens": 50, "messages": [{"role": "user", "content": "Hi"}]});
            async move { self.chat_raw(&base, key, body).await.0 }
        });
        futures_util::future::join_all(calls).await
    }

    async fn logs(&self, key: &str, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let logs = self
                .get(&format!("/spend/logs?api_key={key}"))
                .await
                .as_array()
                .cloned()
                .unwrap_or_default();
            if logs.len() >= n || Instant::now() > deadline {
                return logs;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

const CALL_NANOS: i64 = PROMPT * IN_NANOS + COMPLETION * OUT_NANOS;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gateway_rpm_limit_holds_across_two_processes() {
    let _serial = SERIAL.lock().await;
    let Some(s) = setup().await else { return };
    let key = s.key(json!({"rpm_limit": 20})).await;
    let statuses = s.burst(&key, 60, "gpt-test").await;
    let ok = statuses.iter().filter(|s| **s == 200).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    eprintln!(
        "GATEWAY RPM: 60 concurrent calls over two gateway processes, rpm_limit 20: {ok} ok, {limited} x 429"
    );
    assert_eq!((ok, limited), (20, 40));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gateway_budget_holds_and_spend_is_the_upstreams_usage() {
    let _serial = SERIAL.lock().await;
    let Some(s) = setup().await else { return };
    // About 5 calls' worth of reservations (counted "Hi" + 50 output tokens).
    let budget_nanos: i64 = 5 * (12 * IN_NANOS + 50 * OUT_NANOS);
    let key = s
        .key(json!({"max_budget": budget_nanos as f64 / 1e9}))
        .await;
    let statuses = s.burst(&key, 40, "gpt-test").await;
    let ok = statuses.iter().filter(|s| **s == 200).count();
    let logs = s.logs(&key, ok).await;
    let spent: i64 = logs
        .iter()
        .map(|l| l["spend_nanos"].as_i64().expect("nanos"))
        .sum();
    eprintln!(
        "GATEWAY BUDGET: budget {budget_nanos} nanos, 40 concurrent calls: {ok} ok, spend {spent} nanos"
    );
    assert!(ok > 0 && spent <= budget_nanos);
    assert_eq!((logs.len(), spent), (ok, ok as i64 * CALL_NANOS));
    let info = s.get(&format!("/key/info?key={key}")).await;
    assert_eq!(info["info"]["spend"], json!(spent as f64 / 1e9));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gateway_streams_are_billed_from_the_upstreams_usage() {
    let _serial = SERIAL.lock().await;
    let Some(s) = setup().await else { return };
    let key = s.key(json!({})).await;
    let body = json!({"model": "gpt-stream", "stream": true, "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": "Hi"}]});
    let (status, text) = s.chat_raw(&s.a.url(), &key, body).await;
    assert_eq!(status, 200, "{text}");
    let logs = s.logs(&key, 1).await;
    assert_eq!(logs.len(), 1);
    assert_eq!(
        (
            logs[0]["prompt_tokens"].as_i64(),
            logs[0]["completion_tokens"].as_i64(),
            logs[0]["spend_nanos"].as_i64()
        ),
        (Some(PROMPT), Some(COMPLETION), Some(CALL_NANOS))
    );
    assert!(s.mock.request_count() >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gateway_revocation_reaches_the_other_process() {
    let _serial = SERIAL.lock().await;
    let Some(s) = setup().await else { return };
    let key = s.key(json!({})).await;
    let t0 = Instant::now();
    s.admin(&s.a.url(), "/key/delete", json!({"keys": [key]}))
        .await;
    loop {
        let status = s
            .chat_raw(&s.b.url(), &key, json!({"messages": "not a list"}))
            .await
            .0;
        if status == 401 {
            break;
        }
        assert!(t0.elapsed() < PATIENCE, "b still accepts a deleted key");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    eprintln!(
        "GATEWAY REVOCATION: /key/delete on a -> 401 on b after {:?}",
        t0.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gateway_bills_a_disconnect_once_from_what_was_streamed() {
    let _serial = SERIAL.lock().await;
    let Some(s) = setup().await else { return };
    let key = s.key(json!({})).await;
    let body = json!({"model": "gpt-slow", "stream": true, "max_tokens": 500,
        "messages": [{"role": "user", "content": "Hi"}]});
    let mut r = s
        .http
        .post(format!("{}/v1/chat/completions", s.a.url()))
        .bearer_auth(&key)
        .json(&body)
        .send()
        .await
        .expect("stream starts");
    assert_eq!(r.status().as_u16(), 200);
    let call_id = r.headers()["x-litellm-call-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let mut read = 0;
    while read < 5 {
        let chunk = r.chunk().await.expect("chunk").expect("more");
        read += String::from_utf8_lossy(&chunk).matches("data:").count();
    }
    drop(r); // the client goes away mid-stream
    let logs = s.logs(&key, 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await; // a second bill would land by now
    let again = s.logs(&key, 1).await;
    assert_eq!((logs.len(), again.len()), (1, 1), "billed once");
    let row = &logs[0];
    assert_eq!(
        row["request_id"],
        json!(call_id),
        "the spend row is the gateway's call id"
    );
    let (prompt, completion) = (
        row["prompt_tokens"].as_i64().expect("p"),
        row["completion_tokens"].as_i64().expect("c"),
    );
    eprintln!(
        "GATEWAY DISCONNECT: billed {prompt} input + {completion} output tokens after 5 of 200 chunks"
    );
    assert!(prompt > 0 && (5..200).contains(&completion), "{row}");
    assert_eq!(
        row["spend_nanos"].as_i64(),
        Some(prompt * IN_NANOS + completion * OUT_NANOS)
    );
}

/// `g`: two deployments with their own rpm (3 and 4, enforced under
/// `usage-based-routing`) on the mock's `/d1` and `/d2`.
fn routed_config(mock: &MockServer, pg: &Postgres, redis: &Redis) -> String {
    let deployment = |id: &str, rpm: u32| {
        format!(
            "  - model_name: g\n    litellm_params:\n      model: openai/gpt-test\n      \
             api_base: {}/{id}/v1\n      api_key: sk-upstream\n      rpm: {rpm}\n      \
             input_cost_per_token: 0.000001\n      output_cost_per_token: 0.000002\n    \
             model_info:\n      id: {id}\n",
            mock.url()
        )
    };
    format!(
        "model_list:\n{}{}router_settings:\n  routing_strategy: usage-based-routing\n  \
         redis_host: 127.0.0.1\n  redis_port: {}\ngeneral_settings:\n  master_key: {MASTER}\n  \
         database_url: {}\n",
        deployment("d1", 3),
        deployment("d2", 4),
        redis.port,
        pg.url()
    )
}

/// Sum of a counters' window hash's fields of one kind (`r` requests, `t` tokens).
fn window_sum(con: &mut redis::Connection, scope: &str, kind: char) -> i64 {
    let fields: std::collections::HashMap<String, i64> = redis::cmd("HGETALL")
        .arg(format!("{{llm-gw}}:{scope}:w"))
        .query(con)
        .expect("HGETALL");
    fields
        .iter()
        .filter(|(f, _)| f.starts_with(kind))
        .map(|(_, v)| v)
        .sum()
}

fn in_flight(con: &mut redis::Connection, scope: &str) -> i64 {
    redis::cmd("ZCARD")
        .arg(format!("{{llm-gw}}:{scope}:f"))
        .query(con)
        .expect("ZCARD")
}

/// Key, team and deployment limits in one reservation: 40 concurrent calls
/// of two keys of one team over two processes never pass any of them, and
/// the deployments' refusals leave the keys' and team's counters exactly at
/// what the served calls used.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn key_team_and_deployment_limits_hold_in_one_reservation() {
    let _serial = SERIAL.lock().await;
    let Some(s) = setup_with(routed_config).await else {
        return;
    };
    let team = s
        .admin(&s.a.url(), "/team/new", json!({"rpm_limit": 10}))
        .await["team_id"]
        .as_str()
        .expect("team id")
        .to_owned();
    let keys = [
        s.key(json!({"rpm_limit": 8, "team_id": team})).await,
        s.key(json!({"rpm_limit": 8, "team_id": team})).await,
    ];
    let calls = (0..40).map(|i| {
        let base = if i % 2 == 0 { s.a.url() } else { s.b.url() };
        let key = keys[(i / 2) % 2].clone();
        let body = json!({"model": "g", "max_tokens": 50, "messages": [{"role": "user", "content": "Hi"}]});
        let s = &s;
        async move { (key.clone(), s.chat_raw(&base, &key, body).await.0) }
    });
    let results = futures_util::future::join_all(calls).await;
    let ok: Vec<&String> = results
        .iter()
        .filter(|(_, st)| *st == 200)
        .map(|(k, _)| k)
        .collect();
    let served = |path: &str| s.mock.requests().iter().filter(|r| r.path == path).count();
    let (d1, d2) = (
        served("/d1/v1/chat/completions"),
        served("/d2/v1/chat/completions"),
    );
    eprintln!(
        "ROUTED LIMITS: 40 calls, 2 keys (rpm 8) of a team (rpm 10), deployments rpm 3 + 4: {} ok (d1 {d1}, d2 {d2})",
        ok.len()
    );
    // The deployments bind first (3 + 4 < 8 < 10), exactly.
    assert_eq!((d1, d2, ok.len()), (3, 4, 7));
    assert!(results.iter().all(|(_, st)| *st == 200 || *st == 429));

    // The counters: exactly the served calls, settled with their usage
    // (10 + 5 tokens each), nothing left in flight, nothing from the refusals.
    let mut con = redis::Client::open(s._redis.url())
        .expect("redis url")
        .get_connection()
        .expect("redis");
    let per_key: Vec<i64> = keys
        .iter()
        .map(|k| ok.iter().filter(|o| **o == k).count() as i64)
        .collect();
    let scopes: Vec<(String, i64)> = vec![
        (
            format!(
                "key:{}",
                llm_gateway::governance::secret::hash_key(&keys[0])
            ),
            per_key[0],
        ),
        (
            format!(
                "key:{}",
                llm_gateway::governance::secret::hash_key(&keys[1])
            ),
            per_key[1],
        ),
        (format!("team:{team}"), 7),
        ("deployment:g/d1".to_owned(), 3),
        ("deployment:g/d2".to_owned(), 4),
    ];
    let deadline = Instant::now() + PATIENCE;
    while scopes
        .iter()
        .any(|(scope, _)| in_flight(&mut con, scope) > 0)
    {
        assert!(Instant::now() < deadline, "reservations never settled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for (scope, n) in &scopes {
        assert_eq!(
            (
                window_sum(&mut con, scope, 'r'),
                window_sum(&mut con, scope, 't')
            ),
            (*n, n * (PROMPT + COMPLETION)),
            "{scope}"
        );
    }
}

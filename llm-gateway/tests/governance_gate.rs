//! The request path of governance on one replica (SQLite store, in-process
//! counters): who may call, what is refused and why, and what is billed.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use llm_gateway::governance::gate::{Caller, Estimate, TokenPrice, Usage};
use llm_gateway::governance::model::{KeyRecord, Limits, Spend, SpendFilter, TeamRecord, now_ms};
use llm_gateway::governance::secret::ApiKey;
use llm_gateway::governance::spend::SpendWriterConfig;
use llm_gateway::governance::{Governance, GovernanceConfig};
use support::servers::Scratch;

const MASTER: &str = "sk-master-gate-test";

async fn governance(dir: &Scratch) -> Arc<Governance> {
    let mut config = GovernanceConfig::new(Some(MASTER.to_owned()));
    config.sqlite_path = dir.path().join("gate.db");
    config.spend = SpendWriterConfig::new(dir.path().join("spill.jsonl"));
    Governance::start(config).await.expect("starts")
}

fn record(key: &ApiKey, team: Option<&str>, limits: Limits) -> KeyRecord {
    KeyRecord {
        token_hash: key.hash(),
        key_name: key.display_name(),
        key_alias: None,
        team_id: team.map(str::to_owned),
        user_id: None,
        models: vec![],
        limits,
        spend: Spend::default(),
        expires_at: None,
        blocked: false,
        metadata: serde_json::json!({}),
        created_at: 0,
        updated_at: 0,
    }
}

async fn add_key(gov: &Governance, k: KeyRecord) {
    gov.store().insert_key(&k).await.expect("insert");
    gov.reload().await;
}

fn bearer(key: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        "authorization",
        format!("Bearer {key}").parse().expect("ascii"),
    );
    h
}

fn estimate(prompt: i64, max: i64, price: Option<TokenPrice>) -> Estimate {
    Estimate {
        model: "gpt-test".to_owned(),
        prompt_tokens: prompt,
        max_tokens: max,
        price,
        call_id: None,
    }
}

fn price() -> TokenPrice {
    TokenPrice::per_million(1.0, 2.0)
}

async fn logs(gov: &Governance, key: &ApiKey) -> Vec<llm_gateway::governance::model::SpendRecord> {
    gov.flush_spend().await;
    gov.store()
        .spend_logs(&SpendFilter {
            token_hash: Some(key.hash()),
            team_id: None,
            limit: 100,
        })
        .await
        .expect("logs")
}

#[tokio::test]
async fn who_may_call() {
    let dir = Scratch::new("gate-auth");
    let gov = governance(&dir).await;
    assert!(matches!(
        gov.authenticate(&bearer(MASTER)),
        Ok(Caller::Master)
    ));
    let status = |h: &HeaderMap| {
        gov.authenticate(h)
            .err()
            .map(|e| (e.status.as_u16(), e.code))
    };
    assert_eq!(status(&HeaderMap::new()), Some((401, "invalid_api_key")));
    assert_eq!(
        status(&bearer("sk-unknown")),
        Some((401, "invalid_api_key"))
    );

    let ok = ApiKey::generate();
    add_key(&gov, record(&ok, None, Limits::default())).await;
    assert_eq!(status(&bearer(ok.expose())), None);

    let blocked = ApiKey::generate();
    add_key(
        &gov,
        KeyRecord {
            blocked: true,
            ..record(&blocked, None, Limits::default())
        },
    )
    .await;
    assert_eq!(
        status(&bearer(blocked.expose())),
        Some((403, "key_blocked"))
    );

    let expired = ApiKey::generate();
    add_key(
        &gov,
        KeyRecord {
            expires_at: Some(now_ms() - 1),
            ..record(&expired, None, Limits::default())
        },
    )
    .await;
    assert_eq!(
        status(&bearer(expired.expose())),
        Some((401, "key_expired"))
    );

    let team = TeamRecord {
        team_id: "frozen".into(),
        team_alias: None,
        models: vec![],
        limits: Limits::default(),
        spend: Spend::default(),
        blocked: true,
        metadata: serde_json::json!({}),
        created_at: 0,
        updated_at: 0,
    };
    gov.store().insert_team(&team).await.expect("team");
    let member = ApiKey::generate();
    add_key(&gov, record(&member, Some("frozen"), Limits::default())).await;
    assert_eq!(
        status(&bearer(member.expose())),
        Some((403, "team_blocked"))
    );

    let narrow = ApiKey::generate();
    add_key(
        &gov,
        KeyRecord {
            models: vec!["other".into()],
            ..record(&narrow, None, Limits::default())
        },
    )
    .await;
    let caller = gov.authenticate(&bearer(narrow.expose())).expect("known");
    let refused = gov
        .admit(&caller, estimate(1, 1, Some(price())))
        .await
        .expect_err("model");
    assert_eq!(
        (refused.status.as_u16(), refused.code),
        (403, "model_not_allowed")
    );
}

#[tokio::test]
async fn an_unpriced_model_is_refused_with_a_budget_and_marked_without() {
    let dir = Scratch::new("gate-unpriced");
    let gov = governance(&dir).await;
    let budgeted = ApiKey::generate();
    add_key(
        &gov,
        record(
            &budgeted,
            None,
            Limits {
                max_budget_nanos: Some(1_000_000),
                ..Limits::default()
            },
        ),
    )
    .await;
    let caller = gov.authenticate(&bearer(budgeted.expose())).expect("known");
    let refused = gov
        .admit(&caller, estimate(10, 10, None))
        .await
        .expect_err("unpriced");
    assert_eq!(
        (refused.status.as_u16(), refused.code),
        (400, "unpriced_model")
    );

    let free = ApiKey::generate();
    add_key(&gov, record(&free, None, Limits::default())).await;
    let caller = gov.authenticate(&bearer(free.expose())).expect("known");
    let admission = gov
        .admit(&caller, estimate(10, 10, None))
        .await
        .expect("allowed");
    admission
        .settle(Usage {
            prompt_tokens: 10,
            completion_tokens: 3,
        })
        .await;
    let rows = logs(&gov, &free).await;
    assert_eq!(rows.len(), 1);
    assert!(rows[0].unpriced);
    assert_eq!(rows[0].spend_nanos, 0);
}

#[tokio::test]
async fn a_team_budget_caps_its_keys() {
    let dir = Scratch::new("gate-team");
    let gov = governance(&dir).await;
    let max_cost = price().cost(10, 100);
    let team = TeamRecord {
        team_id: "t".into(),
        team_alias: None,
        models: vec![],
        limits: Limits {
            max_budget_nanos: Some(2 * max_cost),
            ..Limits::default()
        },
        spend: Spend::default(),
        blocked: false,
        metadata: serde_json::json!({}),
        created_at: 0,
        updated_at: 0,
    };
    gov.store().insert_team(&team).await.expect("team");
    let (k1, k2) = (ApiKey::generate(), ApiKey::generate());
    add_key(&gov, record(&k1, Some("t"), Limits::default())).await;
    add_key(&gov, record(&k2, Some("t"), Limits::default())).await;
    let c1 = gov.authenticate(&bearer(k1.expose())).expect("k1");
    let c2 = gov.authenticate(&bearer(k2.expose())).expect("k2");
    let a = gov
        .admit(&c1, estimate(10, 100, Some(price())))
        .await
        .expect("first");
    let b = gov
        .admit(&c2, estimate(10, 100, Some(price())))
        .await
        .expect("second");
    let refused = gov
        .admit(&c1, estimate(10, 100, Some(price())))
        .await
        .expect_err("team full");
    assert_eq!(
        (refused.status.as_u16(), refused.code),
        (400, "budget_exceeded")
    );
    assert!(refused.message.contains("team:t"));
    // Settling refunds the unused part of the reservations: room again.
    a.settle(Usage {
        prompt_tokens: 10,
        completion_tokens: 1,
    })
    .await;
    b.settle(Usage {
        prompt_tokens: 10,
        completion_tokens: 1,
    })
    .await;
    assert!(
        gov.admit(&c2, estimate(10, 100, Some(price())))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_dropped_admission_bills_what_was_seen_once_and_a_failed_one_nothing() {
    let dir = Scratch::new("gate-drop");
    let gov = governance(&dir).await;
    let key = ApiKey::generate();
    add_key(
        &gov,
        record(
            &key,
            None,
            Limits {
                max_parallel_requests: Some(1),
                ..Limits::default()
            },
        ),
    )
    .await;
    let caller = gov.authenticate(&bearer(key.expose())).expect("known");

    let seen = gov
        .admit(&caller, estimate(7, 100, Some(price())))
        .await
        .expect("granted");
    let busy = gov
        .admit(&caller, estimate(7, 100, Some(price())))
        .await
        .expect_err("one at a time");
    assert_eq!(busy.code, "parallel_limit_exceeded");
    seen.observe(Usage {
        prompt_tokens: 7,
        completion_tokens: 4,
    });
    let id = seen.id().to_owned();
    drop(seen); // a client that went away

    let failed = wait_admitted(&gov, &caller).await;
    failed.failed();
    drop(failed);
    let last = wait_admitted(&gov, &caller).await;
    last.settle(Usage {
        prompt_tokens: 7,
        completion_tokens: 2,
    })
    .await;

    let rows = logs(&gov, &key).await;
    assert_eq!(rows.len(), 2, "the failed call is not billed");
    let dropped = rows.iter().find(|r| r.request_id == id).expect("billed");
    assert_eq!(
        (dropped.completion_tokens, dropped.spend_nanos),
        (4, price().cost(7, 4))
    );
}

/// Admit once the slot of the previous (dropped, settling in a task) call is free.
async fn wait_admitted(
    gov: &Arc<Governance>,
    caller: &Caller,
) -> llm_gateway::governance::gate::Admission {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match gov.admit(caller, estimate(7, 100, Some(price()))).await {
            Ok(a) => return a,
            Err(e) => assert!(Instant::now() < deadline, "slot never freed: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn api(
    gov: &Arc<Governance>,
    method: &str,
    path: &str,
    auth: &str,
    body: &str,
) -> (u16, serde_json::Value) {
    use tower::ServiceExt;
    let request = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {auth}"))
        .body(axum::body::Body::from(body.to_owned()))
        .expect("request");
    let response = llm_gateway::governance::api::routes(Arc::clone(gov))
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn the_management_api_under_the_master_key() {
    let dir = Scratch::new("gate-api");
    let gov = governance(&dir).await;
    // `curl -d` without a JSON content type is accepted.
    let (status, made) = api(
        &gov,
        "POST",
        "/key/generate",
        MASTER,
        r#"{"rpm_limit": 3, "budget_duration": "1d", "max_budget": 2.5}"#,
    )
    .await;
    assert_eq!(status, 200, "{made}");
    let key = made["key"].as_str().expect("shown once").to_owned();
    assert_eq!(
        (made["rpm_limit"].as_i64(), made["max_budget"].as_f64()),
        (Some(3), Some(2.5))
    );

    assert_eq!(
        api(&gov, "POST", "/key/generate", &key, "{}").await.0,
        403,
        "a virtual key is not the master key"
    );
    assert_eq!(
        api(&gov, "POST", "/key/generate", "sk-nobody", "{}")
            .await
            .0,
        401
    );
    assert_eq!(
        api(&gov, "POST", "/key/generate", MASTER, "{not json")
            .await
            .0,
        400
    );
    assert_eq!(
        api(
            &gov,
            "POST",
            "/key/generate",
            MASTER,
            r#"{"budget_duration": "soon"}"#
        )
        .await
        .0,
        400
    );
    assert_eq!(
        api(
            &gov,
            "POST",
            "/key/generate",
            MASTER,
            r#"{"team_id": "absent"}"#
        )
        .await
        .0,
        400
    );

    let (status, info) = api(&gov, "GET", &format!("/key/info?key={key}"), MASTER, "").await;
    assert_eq!(status, 200);
    assert!(!info.to_string().contains(&key), "info never shows the key");
    assert_eq!(
        info["info"]["key_name"],
        serde_json::json!(format!("sk-...{}", &key[key.len() - 4..]))
    );

    let (status, fresh) = api(
        &gov,
        "POST",
        "/key/regenerate",
        MASTER,
        &format!(r#"{{"key": "{key}"}}"#),
    )
    .await;
    assert_eq!(status, 200);
    let new_key = fresh["key"].as_str().expect("new key").to_owned();
    assert!(
        gov.authenticate(&bearer(&key)).is_err(),
        "the old key stops at once here"
    );
    assert!(gov.authenticate(&bearer(&new_key)).is_ok());
    assert_eq!(fresh["rpm_limit"].as_i64(), Some(3), "settings kept");

    let (status, _) = api(
        &gov,
        "POST",
        "/key/block",
        MASTER,
        &format!(r#"{{"key": "{new_key}"}}"#),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        gov.authenticate(&bearer(&new_key)).err().map(|e| e.code),
        Some("key_blocked")
    );
    api(
        &gov,
        "POST",
        "/key/unblock",
        MASTER,
        &format!(r#"{{"key": "{new_key}"}}"#),
    )
    .await;
    assert!(gov.authenticate(&bearer(&new_key)).is_ok());

    let (status, list) = api(&gov, "GET", "/key/list", MASTER, "").await;
    assert_eq!((status, list["total_count"].as_u64()), (200, Some(1)));
    let (status, _) = api(
        &gov,
        "POST",
        "/key/delete",
        MASTER,
        &format!(r#"{{"keys": ["{new_key}"]}}"#),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        gov.authenticate(&bearer(&new_key)).err().map(|e| e.code),
        Some("invalid_api_key")
    );

    let (status, team) = api(
        &gov,
        "POST",
        "/team/new",
        MASTER,
        r#"{"team_id": "t1", "max_budget": 1}"#,
    )
    .await;
    assert_eq!((status, team["team_id"].as_str()), (200, Some("t1")));
    assert_eq!(
        api(&gov, "POST", "/team/new", MASTER, r#"{"team_id": "t1"}"#)
            .await
            .0,
        400,
        "ids are unique"
    );
    let (status, updated) = api(
        &gov,
        "POST",
        "/team/update",
        MASTER,
        r#"{"team_id": "t1", "rpm_limit": 9}"#,
    )
    .await;
    assert_eq!(
        (
            status,
            updated["rpm_limit"].as_i64(),
            updated["max_budget"].as_f64()
        ),
        (200, Some(9), Some(1.0))
    );
    assert_eq!(
        api(&gov, "GET", "/team/info?team_id=t1", MASTER, "")
            .await
            .0,
        200
    );
    assert_eq!(
        api(
            &gov,
            "POST",
            "/team/delete",
            MASTER,
            r#"{"team_ids": ["t1"]}"#
        )
        .await
        .0,
        200
    );
    assert_eq!(
        api(&gov, "GET", "/team/info?team_id=t1", MASTER, "")
            .await
            .0,
        404
    );
}

/// The model group's limit in the same reservation as the key's, through
/// the runtime's router on the gateway's router state: a call the group
/// refuses leaves the key's counters as they were (the key's next call, to
/// another group, still fits), and a call the key refuses is answered with
/// the key's refusal.
#[tokio::test]
async fn a_group_refusal_through_the_router_leaves_the_key_untouched() {
    use llm_gateway::governance::routed::{GovernedState, route_with, scope};
    use llm_runtime::router::{Deployment, InProcessState, ModelGroup};
    use llm_runtime::testing::{MockResponse, MockServer};

    let dir = Scratch::new("gate-routed");
    let gov = governance(&dir).await;
    let key = ApiKey::generate();
    let limits = Limits {
        rpm_limit: Some(3),
        ..Limits::default()
    };
    add_key(&gov, record(&key, None, limits)).await;
    let caller = gov.authenticate(&bearer(key.expose())).expect("known");
    let mock = MockServer::start().await;
    mock.on(
        "POST",
        "/v1/chat/completions",
        MockResponse::json(
            200,
            serde_json::json!({"id": "c", "object": "chat.completion", "model": "gpt-test",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}}),
        ),
    );
    let deployment = || {
        let provider = llm_runtime::providers::OpenAi::config()
            .api_key("sk-up")
            .base_url(format!("{}/v1", mock.url()))
            .connect()
            .expect("connects");
        Deployment::new(provider, "gpt-test")
    };
    let state = Arc::new(GovernedState::new(Arc::new(InProcessState::new()), None));
    state.bind(&gov);
    let client = llm_runtime::Client::builder()
        .router_state(Arc::clone(&state) as _)
        .group(ModelGroup::new("g").rpm(2).deployment(deployment()))
        .group(ModelGroup::new("h").deployment(deployment()))
        .build()
        .expect("router");
    let mut outcomes = Vec::new();
    for group in ["g", "g", "g", "h", "h"] {
        let admission = gov
            .prepare(&caller, estimate(5, 10, Some(price())))
            .expect("prepared");
        let request = llm_runtime::ChatRequest::new("").user("Hi");
        let answer = scope(async {
            assert!(route_with(admission.held()));
            client.chat(group, request).await
        })
        .await;
        let refusal = admission.refusal().map(|r| r.code);
        match answer {
            Ok(_) => {
                admission
                    .settle(Usage {
                        prompt_tokens: 5,
                        completion_tokens: 2,
                    })
                    .await
            }
            Err(_) => admission.failed(),
        }
        outcomes.push((group, refusal));
    }
    assert_eq!(
        outcomes,
        [
            ("g", None),
            ("g", None),
            ("g", None), // the group's rpm 2 refused: the router's error, not the key's
            ("h", None), // the key's 3rd request: the refused one was not counted
            ("h", Some("rpm_limit_exceeded")),
        ]
    );
    assert_eq!(mock.request_count(), 3);
}

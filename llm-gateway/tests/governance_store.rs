//! The governance store's queries, run unchanged against SQLite (a file in a
//! throwaway directory) and a real Postgres started here.

mod support;

use llm_gateway::governance::model::{
    KeyRecord, Limits, Spend, SpendFilter, SpendRecord, TeamRecord,
};
use llm_gateway::governance::store::{SqlStore, Store};
use proptest::prelude::*;
use support::servers::{Postgres, Scratch};

fn key(hash: &str, team: Option<&str>) -> KeyRecord {
    KeyRecord {
        token_hash: hash.to_owned(),
        key_name: "sk-...abcd".to_owned(),
        key_alias: Some("alias".to_owned()),
        team_id: team.map(str::to_owned),
        user_id: None,
        models: vec!["gpt-4o".to_owned()],
        limits: Limits {
            max_budget_nanos: Some(5_000),
            budget_duration_secs: Some(60),
            rpm_limit: Some(20),
            tpm_limit: None,
            max_parallel_requests: Some(3),
        },
        spend: Spend {
            total: 0,
            period: 0,
            reset_at: Some(1_000),
        },
        expires_at: None,
        blocked: false,
        metadata: serde_json::json!({"owner": "tests"}),
        created_at: 1,
        updated_at: 1,
    }
}

fn team(id: &str) -> TeamRecord {
    TeamRecord {
        team_id: id.to_owned(),
        team_alias: None,
        models: vec![],
        limits: Limits::default(),
        spend: Spend::default(),
        blocked: false,
        metadata: serde_json::Value::Null,
        created_at: 1,
        updated_at: 1,
    }
}

fn spend(id: &str, hash: &str, team: Option<&str>, nanos: i64) -> SpendRecord {
    SpendRecord {
        request_id: id.to_owned(),
        token_hash: hash.to_owned(),
        team_id: team.map(str::to_owned),
        model: "gpt-4o".to_owned(),
        prompt_tokens: 10,
        completion_tokens: 5,
        spend_nanos: nanos,
        unpriced: false,
        start_time: 10,
        end_time: 20,
    }
}

/// Each store the test can reach: SQLite always, Postgres when installed.
async fn stores(pg: Option<&Postgres>, dir: &Scratch) -> Vec<(&'static str, SqlStore)> {
    let mut out = vec![(
        "sqlite",
        SqlStore::connect(&SqlStore::sqlite_url(&dir.path().join("gateway.db")))
            .await
            .expect("sqlite store"),
    )];
    if let Some(pg) = pg {
        out.push((
            "postgres",
            SqlStore::connect(&pg.url()).await.expect("postgres store"),
        ));
    }
    out
}

async fn crud(name: &str, store: &SqlStore) {
    let v0 = store.version().await.expect("version");
    store.insert_team(&team("t1")).await.expect("team");
    store.insert_key(&key("h1", Some("t1"))).await.expect("key");
    assert!(
        store.insert_key(&key("h1", None)).await.is_err(),
        "{name}: duplicate hash"
    );
    let got = store.key("h1").await.expect("read").expect("present");
    assert_eq!(got, key("h1", Some("t1")), "{name}");
    let mut changed = got.clone();
    changed.blocked = true;
    changed.limits.rpm_limit = None;
    assert!(store.update_key(&changed).await.expect("update"), "{name}");
    assert_eq!(
        store.key("h1").await.expect("read"),
        Some(changed),
        "{name}"
    );
    assert!(
        store
            .rehash_key("h1", "h2", "sk-...wxyz")
            .await
            .expect("rehash")
    );
    assert_eq!(store.key("h1").await.expect("read"), None, "{name}");
    assert_eq!(
        store
            .key("h2")
            .await
            .expect("read")
            .expect("moved")
            .key_name,
        "sk-...wxyz"
    );
    let contents = store.contents().await.expect("contents");
    assert_eq!(
        (contents.keys.len(), contents.teams.len()),
        (1, 1),
        "{name}"
    );
    assert!(contents.version > v0, "{name}: changes bump the version");
    assert_eq!(contents.version, store.version().await.expect("version"));
    assert_eq!(
        store
            .delete_keys(&["h2".into(), "nope".into()])
            .await
            .expect("del"),
        1
    );
    assert_eq!(store.delete_teams(&["t1".into()]).await.expect("del"), 1);
    assert_eq!(store.team("t1").await.expect("read"), None, "{name}");
}

async fn budget_reset(name: &str, store: &SqlStore) {
    store.insert_key(&key("r1", None)).await.expect("key");
    store
        .record_spend(&[spend("req-r1", "r1", None, 700)])
        .await
        .expect("spend");
    assert_eq!(
        store.reset_budgets(999).await.expect("reset"),
        0,
        "{name}: not due"
    );
    assert_eq!(
        store.reset_budgets(1_000).await.expect("reset"),
        1,
        "{name}: due"
    );
    let k = store.key("r1").await.expect("read").expect("present");
    assert_eq!(
        k.spend,
        Spend {
            total: 700,
            period: 0,
            reset_at: Some(61_000)
        },
        "{name}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_queries_hold_on_sqlite_and_postgres() {
    let pg = Postgres::postgres();
    let dir = Scratch::new("sqlite");
    for (name, store) in stores(pg.as_ref(), &dir).await {
        crud(name, &store).await;
        budget_reset(name, &store).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_store_keeps_keys_across_a_restart() {
    let dir = Scratch::new("sqlite-restart");
    let url = SqlStore::sqlite_url(&dir.path().join("gateway.db"));
    SqlStore::connect(&url)
        .await
        .expect("first start")
        .insert_key(&key("kept", None))
        .await
        .expect("key");
    let again = SqlStore::connect(&url)
        .await
        .expect("second start, migrations again");
    assert!(again.key("kept").await.expect("read").is_some());
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_runs_below_the_calls_priority() {
    use llm_gateway::governance::store::background::{sqlite_thread_nice, sqlite_threads};
    let calls = rustix::process::getpriority_process(None).expect("own priority");
    let dir = Scratch::new("sqlite-nice");
    let store = SqlStore::connect(&SqlStore::sqlite_url(&dir.path().join("gateway.db")))
        .await
        .expect("sqlite store");
    store.insert_key(&key("k", None)).await.expect("a write");
    let nices: Vec<i32> = sqlite_threads()
        .into_iter()
        .map(|t| rustix::process::getpriority_process(Some(t)).expect("its priority"))
        .collect();
    // sqlx names its threads so; a rename would leave them at full priority.
    assert!(!nices.is_empty(), "no SQLite connection thread found");
    let want = sqlite_thread_nice(calls);
    assert!(want > calls.min(18), "{want} is not below {calls}");
    assert!(nices.iter().all(|&n| n == want), "{nices:?}");
    // The calls' threads keep theirs.
    assert_eq!(
        rustix::process::getpriority_process(None).expect("own priority"),
        calls
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Any batches (up to a few multi-row inserts), with replays of earlier
    /// rows mixed in, in later batches or the same one: each request id is
    /// billed once, and the key's and team's spend equal the sum of the
    /// distinct rows, on both databases.
    #[test]
    fn replayed_spend_is_billed_once(
        (costs, batch) in prop_oneof![
            (prop::collection::vec(0i64..1_000_000, 1..40), 1usize..8),
            // Batches past one insert statement's rows, replays in the same batch.
            (prop::collection::vec(0i64..1_000_000, 90..260), 100usize..300),
        ],
        replays in prop::collection::vec(any::<prop::sample::Index>(), 0..20),
    ) {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async {
            let pg = PG.with(|pg| pg.as_ref().map(|p| p.url()));
            let dir = Scratch::new("prop");
            let mut urls = vec![SqlStore::sqlite_url(&dir.path().join("g.db"))];
            urls.extend(pg);
            for url in urls {
                let store = SqlStore::connect(&url).await.expect("store");
                let tag = format!("{:x}", fastrand_u64());
                let hash = format!("key-{tag}");
                let team_id = format!("team-{tag}");
                store.insert_team(&team(&team_id)).await.expect("team");
                store.insert_key(&key(&hash, Some(&team_id))).await.expect("key");
                let rows: Vec<SpendRecord> = costs
                    .iter()
                    .enumerate()
                    .map(|(i, c)| spend(&format!("{tag}-{i}"), &hash, Some(&team_id), *c))
                    .collect();
                let mut sent: Vec<SpendRecord> = rows.clone();
                sent.extend(replays.iter().map(|i| i.get(&rows).clone()));
                let mut new = 0;
                for chunk in sent.chunks(batch) {
                    new += store.record_spend(chunk).await.expect("record");
                }
                let expected: i64 = costs.iter().sum();
                prop_assert_eq!(new, rows.len() as u64);
                let k = store.key(&hash).await.expect("read").expect("present");
                prop_assert_eq!(k.spend.total, expected);
                let t = store.team(&team_id).await.expect("read").expect("present");
                prop_assert_eq!(t.spend.total, expected);
                let logs = store
                    .spend_logs(&SpendFilter { token_hash: Some(hash.clone()), team_id: None, limit: 1000 })
                    .await
                    .expect("logs");
                prop_assert_eq!(logs.iter().map(|r| r.spend_nanos).sum::<i64>(), expected);
            }
            Ok(())
        })?;
    }
}

fn fastrand_u64() -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).expect("randomness");
    u64::from_le_bytes(b)
}

thread_local! {
    /// One Postgres for every proptest case of this thread.
    static PG: Option<Postgres> = Postgres::postgres();
}

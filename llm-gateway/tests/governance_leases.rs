//! Leases ([`llm_gateway::governance::lease`]) over a real `redis-server`:
//! a steady key is admitted with few round trips, two replicas together
//! never pass a limit whatever the schedule, a call still running when its
//! lease retires keeps only its own share, and what was reserved ahead is
//! given back exactly (the counters end at what the calls used).

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use llm_gateway::governance::counters::{Actual, Ask, Counters, ScopeAsk, Verdict};
use llm_gateway::governance::lease::LeasedCounters;
use llm_gateway::governance::model::{Limits, now_ms};
use llm_gateway::governance::redis_counters::{RedisCounters, RedisCountersConfig};
use proptest::prelude::*;
use support::servers::Redis;

/// One Redis at a time (each test starts its own).
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

const SCOPE: &str = "key:lease-test";

fn replica(redis: &Redis, period: Duration) -> LeasedCounters {
    let mut config = RedisCountersConfig::new(redis.url());
    config.timeout = Duration::from_secs(2);
    config.lease_period = period;
    let shared = RedisCounters::connect(config).expect("redis url");
    LeasedCounters::new(Arc::new(shared), period)
}

fn ask(id: &str, limits: &Limits, tokens: i64, cost: i64) -> Ask {
    let now = now_ms();
    Ask {
        id: id.to_owned(),
        scopes: vec![ScopeAsk {
            scope: SCOPE.to_owned(),
            limits: limits.clone(),
            period_spend: 0,
            period: 0,
            tokens: None,
        }],
        tokens,
        cost,
        now,
        expires: now + 600_000,
        cooldown: None,
    }
}

/// What Redis counts for [`SCOPE`]: requests and tokens in the window,
/// spend, reservations held, cost held, calls in flight held.
#[derive(Debug, PartialEq, Eq)]
struct Counted {
    requests: i64,
    tokens: i64,
    spend: i64,
    reservations: i64,
    cost_held: i64,
    slots_held: i64,
}

fn counted(redis: &Redis) -> Counted {
    let mut con = redis::Client::open(redis.url())
        .expect("url")
        .get_connection()
        .expect("redis");
    counted_on(&mut con)
}

/// One atomic read (the replicas' gives land in the background).
fn counted_on(con: &mut redis::Connection) -> Counted {
    let key = |suffix: &str| format!("{{llm-gw}}:{SCOPE}:{suffix}");
    #[allow(clippy::type_complexity)]
    let (window, spend, reservations, cost, slots): (
        HashMap<String, i64>,
        Option<i64>,
        i64,
        Vec<i64>,
        Vec<i64>,
    ) = redis::pipe()
        .atomic()
        .cmd("HGETALL")
        .arg(key("w"))
        .cmd("GET")
        .arg(key("s:0"))
        .cmd("ZCARD")
        .arg(key("f"))
        .cmd("HVALS")
        .arg(key("c"))
        .cmd("HVALS")
        .arg(key("p"))
        .query(con)
        .expect("MULTI");
    let sum = |kind: char| {
        window
            .iter()
            .filter(|(f, _)| f.starts_with(kind))
            .map(|(_, v)| v)
            .sum()
    };
    Counted {
        requests: sum('r'),
        tokens: sum('t'),
        spend: spend.unwrap_or(0),
        reservations,
        cost_held: cost.iter().sum(),
        slots_held: slots.iter().sum(),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn generous() -> Limits {
    Limits {
        rpm_limit: Some(1_000_000),
        tpm_limit: Some(1_000_000_000),
        max_parallel_requests: Some(10_000),
        max_budget_nanos: Some(1_000_000_000_000),
        ..Limits::default()
    }
}

#[test]
fn a_steady_key_is_admitted_with_few_round_trips_and_counted_exactly() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let Some(redis) = Redis::redis() else { return };
    runtime().block_on(async {
        let period = Duration::from_millis(200);
        let a = replica(&redis, period);
        let limits = generous();
        // Two periods to learn the rate, then measure two more.
        let mut calls = 0i64;
        let mut measured = (0i64, 0i64);
        let started = std::time::Instant::now();
        while started.elapsed() < period * 4 {
            if started.elapsed() >= period * 2 && measured == (0, 0) {
                measured = (calls, redis.scripts_run());
            }
            let ask = ask(&format!("call-{calls}"), &limits, 30, 500);
            assert_eq!(a.reserve(&ask).await.expect("reserve"), Verdict::Granted);
            let actual = Actual {
                tokens: 20,
                cost: 300,
            };
            a.settle(&ask, actual).await.expect("settle");
            calls += 1;
        }
        let (calls_measured, scripts) = (calls - measured.0, redis.scripts_run() - measured.1);
        eprintln!(
            "LEASES: {calls_measured} calls in two lease periods took {scripts} Redis scripts \
             ({calls} calls in all)"
        );
        assert!(
            calls_measured > 40,
            "too few calls to tell: {calls_measured}"
        );
        // Without leases: two scripts a call. With them: about two a lease.
        assert!(
            scripts * 10 <= calls_measured,
            "{scripts} scripts for {calls_measured} calls"
        );
        a.release().await;
        assert_eq!(
            counted(&redis),
            Counted {
                requests: calls,
                tokens: 20 * calls,
                spend: 300 * calls,
                reservations: 0,
                cost_held: 0,
                slots_held: 0,
            },
            "given back exactly"
        );
    });
}

#[test]
fn a_call_running_when_its_lease_retires_keeps_only_its_own_share() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let Some(redis) = Redis::redis() else { return };
    runtime().block_on(async {
        let period = Duration::from_millis(200);
        let (a, b) = (replica(&redis, period), replica(&redis, period));
        // A budget of 1000 calls, 100 in flight at once.
        let limits = Limits {
            max_parallel_requests: Some(100),
            max_budget_nanos: Some(1000 * 1000),
            ..Limits::default()
        };
        let mut n = 0;
        let started = std::time::Instant::now();
        while started.elapsed() < period * 2 {
            let ask = ask(&format!("warm-{n}"), &limits, 10, 1000);
            assert_eq!(a.reserve(&ask).await.expect("reserve"), Verdict::Granted);
            a.settle(
                &ask,
                Actual {
                    tokens: 10,
                    cost: 0,
                },
            )
            .await
            .expect("settle");
            n += 1;
        }
        // One more call from a's (now larger) lease, still running after it retires.
        let long = ask("long", &limits, 10, 1000);
        assert_eq!(a.reserve(&long).await.expect("reserve"), Verdict::Granted);
        tokio::time::sleep(period * 3).await;
        let held = counted(&redis);
        assert_eq!(
            (held.cost_held, held.slots_held, held.reservations),
            (1000, 1, 1),
            "only the running call's cost and slot stay reserved"
        );
        // So the other replica can take every other slot at once.
        let mut others = Vec::new();
        for i in 0..99 {
            let ask = ask(&format!("b-{i}"), &limits, 10, 1000);
            assert_eq!(
                b.reserve(&ask).await.expect("reserve"),
                Verdict::Granted,
                "slot {i}"
            );
            others.push(ask);
        }
        let refused = ask("b-100", &limits, 10, 1000);
        assert!(matches!(
            b.reserve(&refused).await.expect("reserve"),
            Verdict::Denied { .. }
        ));
        for ask in &others {
            b.settle(
                ask,
                Actual {
                    tokens: 10,
                    cost: 1000,
                },
            )
            .await
            .expect("settle");
        }
        a.settle(
            &long,
            Actual {
                tokens: 10,
                cost: 1000,
            },
        )
        .await
        .expect("settle");
        a.release().await;
        b.release().await;
        let end = counted(&redis);
        assert_eq!(
            (end.spend, end.reservations, end.cost_held, end.slots_held),
            (100 * 1000, 0, 0, 0)
        );
    });
}

/// One step of a schedule.
#[derive(Debug, Clone)]
enum Step {
    /// Reserve a call on replica `0`/`1` with these estimated tokens and cost.
    Call(usize, i64, i64),
    /// Settle the `i`-th call in flight (modulo) with this share of its estimate, in %.
    Settle(usize, i64),
    /// Let this share of a lease period pass, in % (0: to the next period).
    Wait(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0..2usize, 1..50i64, 0..400i64).prop_map(|(r, t, c)| Step::Call(r, t, c)),
        4 => (0..64usize, 0..=100i64).prop_map(|(i, p)| Step::Settle(i, p)),
        1 => (5..120u64).prop_map(Step::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// Whatever the schedule over two replicas, every limit holds at every
    /// step (counting what the calls hold, as the replicas admitted them),
    /// and once both give their leases back Redis counts exactly what the
    /// calls used.
    #[test]
    fn two_replicas_never_pass_a_limit_and_end_exact(
        steps in prop::collection::vec(step(), 20..90),
        rpm in prop::option::of(5..600i64),
        tpm in prop::option::of(100..20_000i64),
        parallel in prop::option::of(1..200i64),
        budget in prop::option::of(500..100_000i64),
    ) {
        let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        let Some(redis) = Redis::redis() else { return Ok(()) };
        runtime().block_on(async {
            let period = Duration::from_millis(100);
            let replicas = [replica(&redis, period), replica(&redis, period)];
            let limits = Limits {
                rpm_limit: rpm,
                tpm_limit: tpm,
                max_parallel_requests: parallel,
                max_budget_nanos: budget,
                ..Limits::default()
            };
            let mut con = redis::Client::open(redis.url())
                .expect("url")
                .get_connection()
                .expect("redis");
            let mut flying: Vec<(usize, Ask)> = Vec::new();
            let (mut granted, mut used_tokens, mut spent) = (0i64, 0i64, 0i64);
            let mut n = 0;
            // Warm both replicas' rates, then start the schedule in the
            // next lease period: its leases are about 45 calls each.
            let warm = |r| [Step::Call(r, 1, 1), Step::Settle(0, 100)];
            for step in std::iter::repeat_n(warm(0), 30)
                .chain(std::iter::repeat_n(warm(1), 30))
                .flatten()
                .chain([Step::Wait(0)])
                .chain(steps)
            {
                match step {
                    Step::Call(r, tokens, cost) => {
                        let ask = ask(&format!("c{n}"), &limits, tokens, cost);
                        n += 1;
                        if replicas[r].reserve(&ask).await.expect("reserve") == Verdict::Granted {
                            granted += 1;
                            flying.push((r, ask));
                        }
                    }
                    Step::Settle(i, share) if !flying.is_empty() => {
                        let (r, ask) = flying.remove(i % flying.len());
                        let actual = Actual {
                            tokens: ask.tokens * share / 100,
                            cost: ask.cost * share / 100,
                        };
                        used_tokens += actual.tokens;
                        spent += actual.cost;
                        replicas[r].settle(&ask, actual).await.expect("settle");
                    }
                    Step::Settle(..) => {}
                    // To the next period's start.
                    Step::Wait(0) => {
                        let ms = period.as_millis() as i64;
                        let next = (now_ms() / ms + 1) * ms + 2;
                        tokio::time::sleep(Duration::from_millis((next - now_ms()).max(0) as u64)).await;
                    }
                    Step::Wait(share) => tokio::time::sleep(period * share as u32 / 100).await,
                }
                let in_flight_tokens: i64 = flying.iter().map(|(_, a)| a.tokens).sum();
                let in_flight_cost: i64 = flying.iter().map(|(_, a)| a.cost).sum();
                let within = |limit: Option<i64>, n: i64| limit.is_none_or(|l| n <= l);
                prop_assert!(within(rpm, granted), "{granted} requests > rpm {rpm:?}");
                prop_assert!(within(tpm, used_tokens + in_flight_tokens), "tokens over {tpm:?}");
                prop_assert!(within(parallel, flying.len() as i64), "{} in flight > {parallel:?}", flying.len());
                prop_assert!(within(budget, spent + in_flight_cost), "spend over {budget:?}");
                // Whatever the replicas admitted is reserved in Redis, so
                // the other replica sees it (not only near a limit).
                let held = counted_on(&mut con);
                prop_assert!(held.requests >= granted, "{held:?} < {granted} requests");
                if tpm.is_some() {
                    prop_assert!(held.tokens >= used_tokens + in_flight_tokens, "{held:?}: tokens");
                }
                if budget.is_some() {
                    prop_assert!(held.spend + held.cost_held >= spent + in_flight_cost, "{held:?}: cost");
                }
                if parallel.is_some() {
                    prop_assert!(held.slots_held >= flying.len() as i64, "{held:?}: slots");
                }
            }
            for (r, ask) in flying.drain(..) {
                used_tokens += ask.tokens;
                spent += ask.cost;
                let actual = Actual { tokens: ask.tokens, cost: ask.cost };
                replicas[r].settle(&ask, actual).await.expect("settle");
            }
            for r in &replicas {
                r.release().await;
            }
            prop_assert_eq!(
                counted(&redis),
                Counted {
                    requests: granted,
                    tokens: used_tokens,
                    // The period's counter exists for a budget only.
                    spend: if budget.is_some() { spent } else { 0 },
                    reservations: 0,
                    cost_held: 0,
                    slots_held: 0,
                }
            );
            Ok(())
        })?;
    }
}

//! [`LeasedCounters`]: the shared counters without a Redis round trip on
//! most calls. A replica reserves a slice of its scopes' limits (a lease of
//! several units, each one request, the calls' estimated tokens and maximum
//! cost, and one call in flight) in one Lua step, admits calls from it in
//! process until it is used up or a lease period old, then gives back what
//! its calls did not use.
//!
//! Limits stay exact: a lease is reserved in Redis before any of its units
//! is admitted, so every replica together never admits more than a limit
//! allows. What a lease costs is under-use, bounded:
//! - a lease takes more than one unit only from a replica that admitted
//!   calls of the same scopes in the previous lease period (about as many as
//!   it admitted then, half again), and only while each scope has at least
//!   [`MIN_ROOM`] units left, and then at most half of them. A burst on a
//!   quiet key, and every call near a limit, is reserved one call at a time,
//!   as without leases;
//! - what a lease holds unused is given back when it retires: after one
//!   lease period (`lease_period`, 1 s by default) or when its units are
//!   used, whichever is first. So a call refused by one replica may find up
//!   to half of a scope's room reserved by another's lease, for at most one
//!   lease period;
//! - a lease's requests and tokens count in the second it retires in
//!   (never earlier than its calls), so the sliding minute can only end
//!   late for them, by at most one lease period;
//! - a cooldown another replica sets on a deployment is seen at this
//!   replica's next lease of it, within one lease period; one this replica
//!   sets retires its leases of that deployment at once;
//! - a replica that stops gives its leases back ([`Counters::release`]);
//!   one that crashes holds them until they lapse, [`LEASE_GRACE`] after
//!   their period (calls in flight: their reservation's own expiry).

use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use async_trait::async_trait;
use foldhash::{HashMap, HashSet};

use super::counters::{Actual, Ask, CounterError, Counters, ScopeAsk, Verdict};
use super::model::{Nanos, now_ms};
use super::redis_counters::{Adjustment, RedisCounters, Units};

/// Below this many units of room left in a scope, a lease is one call.
pub const MIN_ROOM: i64 = 64;
/// The most units one lease asks for.
pub const MAX_UNITS: i64 = 100_000;
/// How long an unreturned lease outlives its period in Redis (a crashed
/// replica's lease lapses then).
pub const LEASE_GRACE: Duration = Duration::from_secs(30);

/// The shared counters, admitting most calls from this replica's leases.
pub struct LeasedCounters {
    shared: Arc<RedisCounters>,
    period_ms: i64,
    table: Arc<Mutex<Table>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Work for the task that talks to Redis for the leases.
#[derive(Debug)]
enum Job {
    Give(Give),
    /// Answered once every earlier give is applied.
    Barrier(tokio::sync::oneshot::Sender<()>),
}

impl std::fmt::Debug for LeasedCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeasedCounters")
            .field("shared", &self.shared)
            .field("period_ms", &self.period_ms)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct Table {
    /// Gives to Redis, applied in order by one task.
    out: Outbox,
    /// Lease key → its leases that still admit calls.
    live: HashMap<u64, Vec<u64>>,
    leases: HashMap<u64, Lease>,
    /// Lease key → calls admitted per lease period.
    demand: HashMap<u64, Demand>,
    /// Call id → what it holds of which lease.
    calls: HashMap<String, Hold>,
    /// Lease keys with a lease being reserved ahead.
    fetching: HashSet<u64>,
    /// Released: nothing more is reserved ahead.
    closed: bool,
    next: u64,
}

/// The queue to the task that gives back to Redis. It sits in the
/// [`Table`] and is written under its lock, so gives are applied in the
/// order they were worked out (a lease's last give never lands before an
/// earlier one), and a barrier queued after a change comes after its gives
/// (a give worked out by the sweep is never left behind a release).
#[derive(Debug, Default)]
struct Outbox(Option<tokio::sync::mpsc::UnboundedSender<Job>>);

impl Outbox {
    fn give(&self, give: Option<Give>) {
        if let (Some(out), Some(give)) = (&self.0, give) {
            let _ = out.send(Job::Give(give));
        }
    }

    /// Answered once every give queued so far is applied (`None`: no task
    /// gives back).
    fn barrier(&self) -> Option<tokio::sync::oneshot::Receiver<()>> {
        let out = self.0.as_ref()?;
        let (done, wait) = tokio::sync::oneshot::channel();
        out.send(Job::Barrier(done)).ok().map(|()| wait)
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Demand {
    period: i64,
    this: i64,
    last: i64,
}

#[derive(Debug)]
struct Lease {
    /// Its reservation's id in Redis.
    id: String,
    key: u64,
    scopes: Vec<ScopeAsk>,
    cooldown: Option<String>,
    /// The second its requests and tokens count in.
    bucket: i64,
    retire_at: i64,
    /// Its expiry in Redis while it admits.
    expires: i64,
    /// Its expiry in Redis now.
    redis_expires: i64,
    /// The latest expiry of a call it admitted.
    call_expires: i64,
    retired: bool,
    units: i64,
    used: i64,
    /// Requests Redis counts for it now.
    counted: i64,
    pools: Vec<Pool>,
    /// Calls that hold part of it.
    in_flight: i64,
}

/// One scope's part of a lease.
#[derive(Debug, Default, Clone)]
struct Pool {
    /// Tokens Redis counts for the lease now.
    tokens_counted: i64,
    tokens_in_flight: i64,
    tokens_used: i64,
    /// Cost Redis holds for the lease now (a scope with a budget).
    cost_held: Nanos,
    cost_in_flight: Nanos,
    /// Spend settled and not yet added to the period's counter.
    spent: Nanos,
    /// Calls in flight Redis counts for the lease now (a parallel limit).
    slots_held: i64,
    in_flight: i64,
}

#[derive(Debug)]
struct Hold {
    lease: u64,
    /// Pool index, tokens and cost held there.
    parts: Vec<(usize, i64, Nanos)>,
}

/// A lease's reservation brought to what it holds (run off the lock).
#[derive(Debug)]
struct Give {
    id: String,
    bucket: i64,
    expires: i64,
    scopes: Vec<ScopeAsk>,
    adjustments: Vec<Adjustment>,
}

fn lock(table: &Mutex<Table>) -> std::sync::MutexGuard<'_, Table> {
    table.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The scopes (with their limits and budget period) and cooldown a lease
/// serves, hashed: calls with the same key share leases ([`Lease::serves`]
/// checks a hit).
fn lease_key(ask: &Ask) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    // One seed per process: the key names leases in this process only.
    static SEED: std::sync::LazyLock<foldhash::fast::RandomState> =
        std::sync::LazyLock::new(foldhash::fast::RandomState::default);
    let mut h = SEED.build_hasher();
    for s in &ask.scopes {
        s.scope.hash(&mut h);
        limits_of(s).hash(&mut h);
    }
    ask.cooldown.hash(&mut h);
    h.finish()
}

/// What of a scope a lease depends on.
fn limits_of(s: &ScopeAsk) -> (&super::model::Limits, i64, bool) {
    (&s.limits, s.period, s.tokens.is_some())
}

impl Lease {
    /// Whether it was reserved for `ask`'s scopes, limits and cooldown.
    fn serves(&self, ask: &Ask) -> bool {
        self.cooldown == ask.cooldown
            && self.scopes.len() == ask.scopes.len()
            && self
                .scopes
                .iter()
                .zip(&ask.scopes)
                .all(|(a, b)| a.scope == b.scope && limits_of(a) == limits_of(b))
    }

    /// Admit `ask` (whose scopes are this lease's, in order), if it fits.
    fn fits(&self, ask: &Ask, now: i64) -> bool {
        if self.retired || now >= self.retire_at || self.used >= self.units {
            return false;
        }
        self.scopes
            .iter()
            .zip(&self.pools)
            .zip(&ask.scopes)
            .all(|((s, p), a)| {
                // Slots need no check: a lease holds one per unit, and
                // admits no more calls than units.
                let l = &s.limits;
                let tokens_free = p.tokens_counted - p.tokens_in_flight - p.tokens_used;
                let cost_free = p.cost_held - p.cost_in_flight - p.spent;
                (l.tpm_limit.is_none() || tokens_free >= a.tokens_of(ask))
                    && (l.max_budget_nanos.is_none() || cost_free >= ask.cost)
            })
    }

    fn take(&mut self, ask: &Ask) -> Vec<(usize, i64, Nanos)> {
        self.used += 1;
        self.in_flight += 1;
        self.call_expires = self.call_expires.max(ask.expires);
        let mut parts = Vec::with_capacity(self.pools.len());
        for (i, (p, a)) in self.pools.iter_mut().zip(&ask.scopes).enumerate() {
            let tokens = a.tokens_of(ask);
            p.tokens_in_flight += tokens;
            p.cost_in_flight += ask.cost;
            p.in_flight += 1;
            parts.push((i, tokens, ask.cost));
        }
        parts
    }

    /// What to tell Redis so that it holds what this lease holds now: its
    /// used requests and tokens, its calls in flight (their tokens, cost and
    /// slots), and the spend settled since the last time; `None` when
    /// Redis holds that already.
    fn give(&mut self) -> Option<Give> {
        let requests = self.used - self.counted;
        let mut changed = requests != 0;
        self.counted = self.used;
        let flying = self.in_flight > 0;
        let adjustments = self
            .scopes
            .iter()
            .zip(self.pools.iter_mut())
            .map(|(s, p)| {
                let tokens = p.tokens_used + p.tokens_in_flight;
                let delta = tokens - p.tokens_counted;
                p.tokens_counted = tokens;
                let before = (p.cost_held, p.slots_held);
                if s.limits.max_budget_nanos.is_some() {
                    p.cost_held = p.cost_in_flight;
                }
                if s.limits.max_parallel_requests.is_some() {
                    p.slots_held = p.in_flight;
                }
                let spend = std::mem::take(&mut p.spent);
                changed |= delta != 0 || spend != 0 || before != (p.cost_held, p.slots_held);
                Adjustment {
                    requests,
                    tokens: delta,
                    held_cost: p.cost_held,
                    // Settled only into a scope with a budget.
                    spend,
                    // The reservation lives while any call of the lease does.
                    in_flight: if flying { p.in_flight.max(1) } else { 0 },
                }
            })
            .collect();
        let expires = if flying {
            self.call_expires
        } else {
            self.expires
        };
        changed |= !flying || expires != self.redis_expires;
        self.redis_expires = expires;
        changed.then(|| Give {
            id: self.id.clone(),
            bucket: self.bucket,
            expires,
            scopes: self.scopes.clone(),
            adjustments,
        })
    }
}

/// A lease to reserve in Redis.
#[derive(Debug)]
struct Fetch {
    /// The reservation: a call's scopes, under the lease's id and expiry.
    ask: Ask,
    units: Units,
    /// The latest expiry of a call it may admit.
    call_expires: i64,
}

impl Fetch {
    /// A lease of up to `want` units of calls like `ask`. A lease of one is
    /// the call's own reservation, as without leases.
    fn new(ask: &Ask, want: i64, period_ms: i64) -> Fetch {
        let now = ask.now;
        let (id, expires, bucket) = if want == 1 {
            (ask.id.clone(), ask.expires, now / 1000)
        } else {
            let grace = i64::try_from(LEASE_GRACE.as_millis()).unwrap_or(i64::MAX);
            (
                format!("lease-{}", crate::ids::new_id()),
                now + period_ms + grace,
                (now + period_ms) / 1000,
            )
        };
        Fetch {
            ask: Ask {
                id,
                expires,
                ..ask.clone()
            },
            units: Units {
                want,
                bucket,
                min_room: MIN_ROOM,
            },
            call_expires: ask.expires,
        }
    }
}

impl Table {
    /// A live lease of `granted` units reserved by `fetch`; its number.
    fn install(&mut self, key: u64, fetch: Fetch, granted: i64, period_ms: i64) -> u64 {
        let n = self.next;
        self.next += 1;
        let ask = &fetch.ask;
        let pools = ask
            .scopes
            .iter()
            .map(|s| Pool {
                tokens_counted: granted.saturating_mul(s.tokens_of(ask)),
                cost_held: if s.limits.max_budget_nanos.is_some() {
                    granted.saturating_mul(ask.cost)
                } else {
                    0
                },
                slots_held: if s.limits.max_parallel_requests.is_some() {
                    granted
                } else {
                    0
                },
                ..Pool::default()
            })
            .collect();
        let lease = Lease {
            key,
            scopes: ask.scopes.clone(),
            cooldown: ask.cooldown.clone(),
            bucket: fetch.units.bucket,
            retire_at: ask.now + period_ms,
            expires: ask.expires,
            redis_expires: ask.expires,
            call_expires: fetch.call_expires,
            retired: false,
            units: granted,
            used: 0,
            counted: granted,
            pools,
            in_flight: 0,
            id: fetch.ask.id,
        };
        self.leases.insert(n, lease);
        self.live.entry(key).or_default().push(n);
        n
    }

    /// Whether to reserve the next lease of `key` now, before its youngest
    /// is used up or retires (so that no call waits for it): once that one
    /// is three quarters used or old, one fetch at a time, for a lease of
    /// more than one unit.
    fn prefetch(&mut self, key: u64, now: i64, period_ms: i64) -> bool {
        if self.closed || self.fetching.contains(&key) {
            return false;
        }
        let youngest = self
            .live
            .get(&key)
            .and_then(|live| live.iter().rev().find_map(|n| self.leases.get(n)));
        let due = youngest.is_some_and(|l| {
            l.units > 1
                && (4 * l.used >= 3 * l.units
                    || 4 * (now - (l.retire_at - period_ms)) >= 3 * period_ms)
        });
        if due {
            self.fetching.insert(key);
        }
        due
    }

    fn note_demand(&mut self, key: u64, period: i64) {
        let d = self.demand.entry(key).or_default();
        if d.period != period {
            d.last = if d.period + 1 == period { d.this } else { 0 };
            d.this = 0;
            d.period = period;
        }
        d.this += 1;
    }

    /// Units to ask for: about what the previous period admitted, half again.
    fn want(&self, key: u64, period: i64) -> i64 {
        let last = match self.demand.get(&key) {
            Some(d) if d.period == period => d.last,
            Some(d) if d.period + 1 == period => d.this,
            _ => 0,
        };
        (last + last / 2).clamp(1, MAX_UNITS)
    }

    /// Retire lease `n`: it admits no more; what it holds unused goes back.
    fn retire(&mut self, n: u64) {
        let Some(lease) = self.leases.get_mut(&n) else {
            return;
        };
        if lease.retired {
            return;
        }
        lease.retired = true;
        if let Some(live) = self.live.get_mut(&lease.key) {
            live.retain(|m| *m != n);
            if live.is_empty() {
                self.live.remove(&lease.key);
            }
        }
        self.out.give(lease.give());
        if lease.in_flight == 0 {
            self.leases.remove(&n);
        }
    }

    /// Retire the live leases `which` picks.
    fn retire_where(&mut self, which: impl Fn(&Lease) -> bool) {
        let picked: Vec<u64> = self
            .live
            .values()
            .flatten()
            .filter(|n| self.leases.get(n).is_some_and(&which))
            .copied()
            .collect();
        for n in picked {
            self.retire(n);
        }
    }

    /// Release what call `ask.id` holds in `ask`'s scopes, settled with
    /// `actual`: `None` when it holds nothing of a lease, else whether that
    /// queued a give (its lease's last).
    fn settle(&mut self, ask: &Ask, actual: Actual) -> Option<bool> {
        let hold = self.calls.get_mut(&ask.id)?;
        let n = hold.lease;
        let Some(lease) = self.leases.get_mut(&n) else {
            self.calls.remove(&ask.id);
            return Some(false);
        };
        hold.parts.retain(|&(i, tokens, cost)| {
            let (Some(scope), Some(p)) = (lease.scopes.get(i), lease.pools.get_mut(i)) else {
                return false;
            };
            if !ask.scopes.iter().any(|s| s.scope == scope.scope) {
                return true;
            }
            p.tokens_in_flight -= tokens;
            p.tokens_used += actual.tokens;
            p.cost_in_flight -= cost;
            if scope.limits.max_budget_nanos.is_some() {
                p.spent += actual.cost;
            }
            p.in_flight -= 1;
            false
        });
        if !hold.parts.is_empty() {
            return Some(false);
        }
        self.calls.remove(&ask.id);
        lease.in_flight -= 1;
        if lease.retired && lease.in_flight == 0 {
            let give = lease.give();
            let gave = give.is_some();
            self.out.give(give);
            self.leases.remove(&n);
            return Some(gave);
        }
        Some(false)
    }

    /// Admit `ask` from lease `n` (which fits it), retiring the lease when
    /// that was its last unit; the call counts in `key`'s demand of `period`.
    fn admit_from(&mut self, n: u64, key: u64, period: i64, ask: &Ask) {
        let Some(lease) = self.leases.get_mut(&n) else {
            return;
        };
        let parts = lease.take(ask);
        let used_up = lease.used >= lease.units;
        self.calls.insert(ask.id.clone(), Hold { lease: n, parts });
        self.note_demand(key, period);
        if used_up {
            self.retire(n);
        }
    }

    /// Admit `ask` from a live lease of `key`, retiring those past their
    /// period; the call counts in `key`'s demand of `period`.
    fn admit(&mut self, key: u64, period: i64, ask: &Ask, now: i64) -> bool {
        let Some(live) = self.live.get(&key) else {
            return false;
        };
        let mut found = None;
        let mut old = Vec::new();
        for n in live {
            let Some(lease) = self.leases.get(n) else {
                continue;
            };
            if now >= lease.retire_at {
                old.push(*n);
            } else if found.is_none() && lease.serves(ask) && lease.fits(ask, now) {
                found = Some(*n);
            }
        }
        for n in old {
            self.retire(n);
        }
        let Some(n) = found else {
            return false;
        };
        self.admit_from(n, key, period, ask);
        true
    }
}

impl LeasedCounters {
    /// Leases of `period` over `shared`. Call it inside a Tokio runtime:
    /// one task retires leases past their period, one gives back to Redis.
    pub fn new(shared: Arc<RedisCounters>, period: Duration) -> Self {
        let period_ms = i64::try_from(period.as_millis()).unwrap_or(i64::MAX).max(1);
        let (gives, jobs) = tokio::sync::mpsc::unbounded_channel();
        let table = Arc::new(Mutex::new(Table {
            out: Outbox(Some(gives)),
            ..Table::default()
        }));
        let tasks = match tokio::runtime::Handle::try_current() {
            Ok(handle) => vec![
                handle.spawn(give_back(Arc::clone(&shared), jobs)),
                handle.spawn(sweep(Arc::downgrade(&table), period_ms)),
            ],
            Err(_) => {
                tracing::error!("governance: leases started outside a runtime, none given back");
                Vec::new()
            }
        };
        LeasedCounters {
            shared,
            period_ms,
            table,
            tasks,
        }
    }

    /// Reserve the next lease of `key` (up to `want` calls like `ask`) in
    /// the background.
    fn prefetch(&self, key: u64, ask: &Ask, want: i64) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            lock(&self.table).fetching.remove(&key);
            return;
        };
        let now = now_ms();
        let fetch = Fetch::new(
            &Ask {
                now,
                expires: now + (ask.expires - ask.now),
                ..ask.clone()
            },
            want.max(2),
            self.period_ms,
        );
        let (shared, table, period_ms) = (
            Arc::clone(&self.shared),
            Arc::clone(&self.table),
            self.period_ms,
        );
        handle.spawn(async move {
            let answer = shared.reserve_units(&fetch.ask, fetch.units).await;
            let mut t = lock(&table);
            t.fetching.remove(&key);
            match answer {
                Ok((Verdict::Granted, granted)) => {
                    let n = t.install(key, fetch, granted, period_ms);
                    if t.closed {
                        // Landed after a release gave up waiting for it.
                        t.retire(n);
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::debug!(error = %e, "governance: a lease was not reserved ahead"),
            }
        });
    }

    /// Wait until every give so far is applied.
    async fn barrier(&self) {
        let wait = lock(&self.table).out.barrier();
        if let Some(wait) = wait {
            let _ = wait.await;
        }
    }
}

impl Drop for LeasedCounters {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Tell Redis what each lease now holds, in the order asked (failures are
/// logged: the reservation then holds more than it uses until it lapses).
async fn give_back(
    shared: Arc<RedisCounters>,
    mut jobs: tokio::sync::mpsc::UnboundedReceiver<Job>,
) {
    while let Some(job) = jobs.recv().await {
        match job {
            Job::Give(g) => {
                let done = shared
                    .adjust(&g.id, g.bucket, false, g.expires, &g.scopes, &g.adjustments)
                    .await;
                if let Err(e) = done {
                    tracing::warn!(error = %e, "governance: a lease was not given back");
                }
            }
            Job::Barrier(done) => {
                let _ = done.send(());
            }
        }
    }
}

/// Every half period, retire the leases past their period.
async fn sweep(table: Weak<Mutex<Table>>, period_ms: i64) {
    let every = Duration::from_millis(u64::try_from(period_ms / 2).unwrap_or(0).max(10));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(table) = table.upgrade() else {
            return;
        };
        let mut t = lock(&table);
        let now = now_ms();
        t.retire_where(|l| now >= l.retire_at);
        let Table { live, demand, .. } = &mut *t;
        demand.retain(|k, d| live.contains_key(k) || d.period + 2 >= now / period_ms);
    }
}

#[async_trait]
impl Counters for LeasedCounters {
    async fn reserve(&self, ask: &Ask) -> Result<Verdict, CounterError> {
        if ask.scopes.is_empty() {
            return Ok(Verdict::Granted);
        }
        let key = lease_key(ask);
        let now = ask.now;
        let period = now / self.period_ms;
        let want = {
            let mut t = lock(&self.table);
            if t.admit(key, period, ask, now) {
                let ahead = t
                    .prefetch(key, now, self.period_ms)
                    .then(|| t.want(key, period));
                drop(t);
                if let Some(want) = ahead {
                    self.prefetch(key, ask, want);
                }
                return Ok(Verdict::Granted);
            }
            t.want(key, period)
        };
        let fetch = Fetch::new(ask, want, self.period_ms);
        let (verdict, granted) = match self.shared.reserve_units(&fetch.ask, fetch.units).await {
            Ok(answer) => answer,
            Err(e) => return Ok(self.shared.unavailable(ask, &e)),
        };
        let mut t = lock(&self.table);
        if verdict != Verdict::Granted {
            // Another call's lease may have landed meanwhile.
            if t.admit(key, period, ask, now_ms()) {
                return Ok(Verdict::Granted);
            }
            return Ok(verdict);
        }
        let n = t.install(key, fetch, granted, self.period_ms);
        t.admit_from(n, key, period, ask);
        if t.closed {
            // Released meanwhile: nothing more is admitted from it.
            t.retire(n);
        }
        Ok(Verdict::Granted)
    }

    async fn settle(&self, ask: &Ask, actual: Actual) -> Result<(), CounterError> {
        let settled = lock(&self.table).settle(ask, actual);
        match settled {
            // Not admitted from a lease (Redis did not answer then).
            None => self.shared.settle(ask, actual).await,
            // Settled in Redis before this returns, as a call reserved
            // alone would be (in order after the lease's earlier gives).
            Some(true) => {
                self.barrier().await;
                Ok(())
            }
            Some(false) => Ok(()),
        }
    }

    fn settle_in_place(&self, ask: &Ask, actual: Actual) -> bool {
        // Queued in order after the lease's earlier gives, without waiting.
        lock(&self.table).settle(ask, actual).is_some()
    }

    async fn cooled(&self, cooldown: &str) {
        lock(&self.table).retire_where(|l| l.cooldown.as_deref() == Some(cooldown));
    }

    async fn release(&self) {
        lock(&self.table).closed = true;
        // A lease being reserved ahead lands (or fails) within the script's
        // timeout; it is then given back too.
        let deadline = tokio::time::Instant::now() + self.shared.timeout() * 2;
        while !lock(&self.table).fetching.is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // Queued under the table's lock: after every give worked out before
        // (the sweep's included), and before the barrier.
        lock(&self.table).retire_where(|_| true);
        self.barrier().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::governance::model::Limits;

    fn ask(id: &str) -> Ask {
        let now = now_ms();
        Ask {
            id: id.to_owned(),
            scopes: vec![ScopeAsk {
                scope: "key:k".to_owned(),
                limits: Limits {
                    rpm_limit: Some(1000),
                    tpm_limit: Some(100_000),
                    ..Limits::default()
                },
                period_spend: 0,
                period: 0,
                tokens: None,
            }],
            tokens: 10,
            cost: 5,
            now,
            expires: now + 60_000,
            cooldown: None,
        }
    }

    fn next(jobs: &mut tokio::sync::mpsc::UnboundedReceiver<Job>) -> Option<Job> {
        jobs.try_recv().ok()
    }

    /// The sweep, a settle and a release each queue their gives before the
    /// table's lock is let go, so a barrier queued afterwards (a release's,
    /// a settle's) always comes after them: a release never returns while a
    /// give the sweep worked out is still on its way.
    #[test]
    fn gives_are_queued_in_the_order_they_are_worked_out_and_before_a_barrier() {
        let (out, mut jobs) = tokio::sync::mpsc::unbounded_channel();
        let mut t = Table {
            out: Outbox(Some(out)),
            ..Table::default()
        };
        let first = ask("c1");
        let key = lease_key(&first);
        let n = t.install(key, Fetch::new(&first, 10, 100), 10, 100);
        t.admit_from(n, key, 0, &first);
        assert!(next(&mut jobs).is_none(), "nothing to give while it admits");

        // Retired (as the sweep does) with its call in flight: the nine
        // unused requests and their tokens go back at once.
        t.retire_where(|_| true);
        let Some(Job::Give(g)) = next(&mut jobs) else {
            panic!("the retirement's give is queued under the lock");
        };
        assert_eq!(
            (g.adjustments[0].requests, g.adjustments[0].tokens),
            (-9, -90)
        );
        assert_eq!(g.adjustments[0].in_flight, 1);

        // Its last call settles: the reservation ends.
        let settled = t.settle(&first, Actual { tokens: 7, cost: 5 });
        assert_eq!(settled, Some(true));
        let barrier = t.out.barrier().expect("a queue");
        let Some(Job::Give(last)) = next(&mut jobs) else {
            panic!("the last give is queued before the barrier");
        };
        assert_eq!(
            (last.adjustments[0].tokens, last.adjustments[0].in_flight),
            (-3, 0)
        );
        assert!(matches!(next(&mut jobs), Some(Job::Barrier(_))));
        assert!(next(&mut jobs).is_none());
        drop(barrier);
        let nothing = Actual { tokens: 0, cost: 0 };
        assert_eq!(t.settle(&ask("unknown"), nothing), None);
    }
}

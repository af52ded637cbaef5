//! [`RedisCounters`]: the rules of [`InProcessCounters`] shared by every
//! replica, one Lua script per step (atomic over every scope of the call, one
//! round trip), with a short timeout and a configured failure mode.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::counters::{
    Actual, Ask, CounterError, Counters, FailOpen, InProcessCounters, Refusal, ScopeAsk, Verdict,
    WINDOW_SECS,
};
use super::model::Nanos;

/// Reserve a lease of up to `want` units (a unit: one request, the
/// scope's tokens, the call's cost and one call in flight) against every
/// scope, all or nothing; a single call is a lease of one unit.
///
/// Per scope: KEYS `w` (hash of per-second buckets `r:SEC`/`t:SEC`), `f`
/// (sorted set: reservation id → expiry), `c` (hash: id → reserved cost,
/// for a scope with a budget), `s` (the period's spend), `p` (hash: id →
/// calls in flight it holds, for a scope with `max_parallel_requests`).
/// ARGV: now, id, cost per unit, expires, window, want, the second the
/// units count in, the room (in units) below which only one unit is
/// granted; then per scope rpm, tpm, parallel, budget (-1: none), period
/// spend, period counter TTL in ms (0: none), its tokens per unit. Then,
/// optionally, a cooldown key as the last KEY (the router's, for a
/// deployment): while it lives the answer is {-2, 'cooling', its ms left}.
/// Returns {-1, '', units granted} or {scope index, reason, 0}.
const RESERVE: &str = r#"
local now, id = tonumber(ARGV[1]), ARGV[2]
local cost, expires = tonumber(ARGV[3]), tonumber(ARGV[4])
local window, want, bucket = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local min_room = tonumber(ARGV[8])
local sec = math.floor(now / 1000)
local n = math.floor(#KEYS / 5)
if #KEYS > 5 * n then
  local cool = redis.call('PTTL', KEYS[#KEYS])
  if cool > 0 then return {-2, 'cooling', cool} end
end
local k = want
-- The units that fit in `room` at `per` each: none, the call's one, or,
-- with plenty left, up to half of what is left (a lease never takes it all).
local function fit(room, per)
  if room < 0 or (per > 0 and room < per) then return 0 end
  if per <= 0 then return k end
  local units = math.floor(room / per)
  if units < min_room then return 1 end
  return math.min(k, math.floor(units / 2))
end
for i = 0, n - 1 do
  local w, f, c, s, p = KEYS[5*i+1], KEYS[5*i+2], KEYS[5*i+3], KEYS[5*i+4], KEYS[5*i+5]
  local a = 9 + 7 * i
  local rpm, tpm, par, budget = tonumber(ARGV[a]), tonumber(ARGV[a+1]), tonumber(ARGV[a+2]), tonumber(ARGV[a+3])
  local base, ttl = ARGV[a+4], tonumber(ARGV[a+5])
  local tokens = tonumber(ARGV[a+6])
  local dead = redis.call('ZRANGEBYSCORE', f, '-inf', now)
  if #dead > 0 then
    redis.call('ZREM', f, unpack(dead))
    redis.call('HDEL', c, unpack(dead))
    redis.call('HDEL', p, unpack(dead))
  end
  if rpm >= 0 or tpm >= 0 then
    local all = redis.call('HGETALL', w)
    local r, t, stale = 0, 0, {}
    for j = 1, #all, 2 do
      local field = all[j]
      if tonumber(string.sub(field, 3)) <= sec - window then
        stale[#stale + 1] = field
      elseif string.sub(field, 1, 1) == 'r' then
        r = r + tonumber(all[j + 1])
      else
        t = t + tonumber(all[j + 1])
      end
    end
    if #stale > 0 then redis.call('HDEL', w, unpack(stale)) end
    if rpm >= 0 then
      local u = fit(rpm - r, 1)
      if u == 0 then return {i, 'requests', 0} end
      k = math.min(k, u)
    end
    if tpm >= 0 then
      local u = fit(tpm - t, tokens)
      if u == 0 then return {i, 'tokens', 0} end
      k = math.min(k, u)
    end
  end
  if par >= 0 then
    local flying = 0
    for _, v in ipairs(redis.call('HVALS', p)) do flying = flying + tonumber(v) end
    local u = fit(par - flying, 1)
    if u == 0 then return {i, 'parallel', 0} end
    k = math.min(k, u)
  end
  if budget >= 0 then
    if ttl > 0 then
      redis.call('SET', s, base, 'NX', 'PX', ttl)
    else
      redis.call('SET', s, base, 'NX')
    end
    local reserved = 0
    for _, v in ipairs(redis.call('HVALS', c)) do reserved = reserved + tonumber(v) end
    local u = fit(budget - tonumber(redis.call('GET', s)) - reserved, cost)
    if u == 0 then return {i, 'budget', 0} end
    k = math.min(k, u)
  end
end
for i = 0, n - 1 do
  local w, f, c, p = KEYS[5*i+1], KEYS[5*i+2], KEYS[5*i+3], KEYS[5*i+5]
  local a = 9 + 7 * i
  local par, budget, tokens = tonumber(ARGV[a+2]), tonumber(ARGV[a+3]), tonumber(ARGV[a+6])
  redis.call('HINCRBY', w, 'r:' .. bucket, k)
  redis.call('HINCRBY', w, 't:' .. bucket, k * tokens)
  redis.call('EXPIRE', w, 2 * window)
  redis.call('ZADD', f, expires, id)
  redis.call('PEXPIREAT', f, expires + 1000)
  if budget >= 0 then
    redis.call('HSET', c, id, k * cost)
    redis.call('PEXPIREAT', c, expires + 1000)
  end
  if par >= 0 then
    redis.call('HSET', p, id, k)
    redis.call('PEXPIREAT', p, expires + 1000)
  end
end
return {-1, '', k}
"#;

/// Bring a reservation (a call's, or a lease's) to what it holds now.
/// KEYS as for [`RESERVE`] (no cooldown); ARGV: id, the second its units
/// count in, 1 to change the window only while the reservation is still
/// held (a single call, which may have been granted by this replica's
/// fail-open counters instead), its new expiry; then per scope: requests
/// and tokens to add to its bucket (negative: refunded), the cost it
/// still holds, spend to add to the period's counter, the calls still in
/// flight (0: the reservation ends).
const ADJUST: &str = r#"
local id, bucket = ARGV[1], ARGV[2]
local guarded, expires = ARGV[3] == '1', tonumber(ARGV[4])
local n = math.floor(#KEYS / 5)
for i = 0, n - 1 do
  local w, f, c, s, p = KEYS[5*i+1], KEYS[5*i+2], KEYS[5*i+3], KEYS[5*i+4], KEYS[5*i+5]
  local a = 5 + 5 * i
  local dr, dt = tonumber(ARGV[a]), tonumber(ARGV[a+1])
  local held, spend, flying = tonumber(ARGV[a+2]), tonumber(ARGV[a+3]), tonumber(ARGV[a+4])
  local live = redis.call('ZSCORE', f, id)
  if (live or not guarded) and redis.call('HEXISTS', w, 'r:' .. bucket) == 1 then
    if dr ~= 0 then redis.call('HINCRBY', w, 'r:' .. bucket, dr) end
    if dt ~= 0 then redis.call('HINCRBY', w, 't:' .. bucket, dt) end
  end
  if live then
    if flying > 0 then
      redis.call('ZADD', f, 'XX', expires, id)
      redis.call('PEXPIREAT', f, expires + 1000)
      if redis.call('HEXISTS', c, id) == 1 then
        redis.call('HSET', c, id, held)
        redis.call('PEXPIREAT', c, expires + 1000)
      end
      if redis.call('HEXISTS', p, id) == 1 then
        redis.call('HSET', p, id, flying)
        redis.call('PEXPIREAT', p, expires + 1000)
      end
    else
      redis.call('ZREM', f, id)
      redis.call('HDEL', c, id)
      redis.call('HDEL', p, id)
    end
  end
  -- A missing period counter is seeded from the store at the next reserve,
  -- which by then includes this spend (written behind).
  if spend ~= 0 and redis.call('EXISTS', s) == 1 then
    redis.call('INCRBY', s, spend)
  end
end
return 1
"#;

/// How the shared counters are reached.
#[derive(Debug, Clone)]
pub struct RedisCountersConfig {
    /// `redis://host:port/`.
    pub url: String,
    /// Prefix of every key (one `{...}` hash tag, so a cluster keeps a call's keys together).
    pub prefix: String,
    /// Each script's own timeout (also bounded by the call's deadline).
    pub timeout: Duration,
    /// When Redis does not answer, per limit kind: count in this process
    /// (open: the limits then apply to each replica) or refuse (closed).
    pub fail_open: FailOpen,
    /// How long a replica admits calls from a slice of the limits it
    /// reserved ahead ([`super::lease`]); zero: one reservation per call.
    pub lease_period: Duration,
}

impl RedisCountersConfig {
    /// Defaults: prefix `llm-gw`, 250 ms, fail open, leases of 1 s.
    pub fn new(url: impl Into<String>) -> Self {
        RedisCountersConfig {
            url: url.into(),
            prefix: "llm-gw".to_owned(),
            timeout: Duration::from_millis(250),
            fail_open: FailOpen::all(true),
            lease_period: Duration::from_secs(1),
        }
    }
}

/// The counters shared by every replica through Redis.
pub struct RedisCounters {
    manager: ConnectionManager,
    config: RedisCountersConfig,
    reserve: Script,
    adjust: Script,
    local: Arc<InProcessCounters>,
}

impl std::fmt::Debug for RedisCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCounters")
            .field("prefix", &self.config.prefix)
            .field("timeout", &self.config.timeout)
            .field("fail_open", &self.config.fail_open)
            .finish_non_exhaustive()
    }
}

fn redis_error(what: &str, e: &redis::RedisError) -> CounterError {
    // The error's text may quote the URL (a password): only its kind is kept.
    CounterError(format!("redis {what} failed ({:?})", e.kind()))
}

impl RedisCounters {
    /// Counters on `config.url`, connecting lazily (builds while Redis is down).
    pub fn connect(config: RedisCountersConfig) -> Result<Self, CounterError> {
        let client =
            redis::Client::open(config.url.as_str()).map_err(|e| redis_error("open", &e))?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.timeout))
            .set_response_timeout(Some(config.timeout))
            .set_number_of_retries(1)
            .set_max_delay(config.timeout);
        let manager = ConnectionManager::new_lazy_with_config(client, manager_config)
            .map_err(|e| redis_error("connect", &e))?;
        Ok(RedisCounters {
            manager,
            config,
            reserve: Script::new(RESERVE),
            adjust: Script::new(ADJUST),
            local: Arc::new(InProcessCounters::default()),
        })
    }

    /// Open the connection and load the scripts now, so that the first
    /// calls do not spend their timeout on it. Failure is only logged: the
    /// counters reconnect on use.
    pub async fn warm_up(&self) {
        let mut con = self.manager.clone();
        let loaded = async {
            self.reserve.load_async(&mut con).await?;
            self.adjust.load_async(&mut con).await
        };
        match tokio::time::timeout(self.config.timeout * 4, loaded).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %redis_error("warm-up", &e), "governance: Redis not ready")
            }
            Err(_) => tracing::warn!("governance: Redis warm-up timed out"),
        }
    }

    fn keys<'a>(&'a self, scopes: &'a [ScopeAsk]) -> impl Iterator<Item = String> + 'a {
        let p = &self.config.prefix;
        scopes.iter().flat_map(move |s| {
            let scope = &s.scope;
            [
                format!("{{{p}}}:{scope}:w"),
                format!("{{{p}}}:{scope}:f"),
                format!("{{{p}}}:{scope}:c"),
                format!("{{{p}}}:{scope}:s:{}", s.period),
                format!("{{{p}}}:{scope}:p"),
            ]
        })
    }

    async fn run<T: redis::FromRedisValue>(
        &self,
        what: &str,
        invocation: redis::ScriptInvocation<'_>,
    ) -> Result<T, CounterError> {
        let mut con = self.manager.clone();
        match tokio::time::timeout(self.config.timeout, invocation.invoke_async(&mut con)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(redis_error(what, &e)),
            Err(_) => Err(CounterError(format!(
                "redis {what}: no answer within {:?}",
                self.config.timeout
            ))),
        }
    }

    /// Each script's own timeout.
    pub fn timeout(&self) -> Duration {
        self.config.timeout
    }

    /// Reserve up to `units.want` units of `ask` (each: one request, each
    /// scope's tokens, `ask.cost`, one call in flight) under `ask.id`, all
    /// or nothing: the verdict and, when granted, how many units (at least
    /// one; more only while each scope has `units.min_room` units left, and
    /// then at most half of them).
    pub async fn reserve_units(
        &self,
        ask: &Ask,
        units: Units,
    ) -> Result<(Verdict, i64), CounterError> {
        let mut inv = self.reserve.prepare_invoke();
        for key in self.keys(&ask.scopes) {
            inv.key(key);
        }
        if let Some(cooling) = &ask.cooldown {
            inv.key(cooling);
        }
        inv.arg(ask.now)
            .arg(&ask.id)
            .arg(ask.cost)
            .arg(ask.expires)
            .arg(WINDOW_SECS)
            .arg(units.want.max(1))
            .arg(units.bucket)
            .arg(units.min_room);
        for s in &ask.scopes {
            let l = &s.limits;
            let ttl = if l.budget_duration_secs.is_some() {
                (s.period - ask.now).max(0) + 60_000
            } else {
                0
            };
            inv.arg(l.rpm_limit.unwrap_or(-1))
                .arg(l.tpm_limit.unwrap_or(-1))
                .arg(l.max_parallel_requests.unwrap_or(-1))
                .arg(l.max_budget_nanos.unwrap_or(-1))
                .arg(s.period_spend)
                .arg(ttl)
                .arg(s.tokens_of(ask));
        }
        let (index, reason, granted): (i64, String, i64) = self.run("reserve", inv).await?;
        if index == -2 {
            let scope = ask.cooldown.clone().unwrap_or_default();
            let refusal = Refusal::Cooling;
            return Ok((Verdict::Denied { scope, refusal }, 0));
        }
        let Ok(index) = usize::try_from(index) else {
            return Ok((Verdict::Granted, granted.max(1)));
        };
        let refusal = match reason.as_str() {
            "requests" => Refusal::Requests,
            "tokens" => Refusal::Tokens,
            "parallel" => Refusal::Parallel,
            _ => Refusal::Budget,
        };
        let scope = ask
            .scopes
            .get(index)
            .map(|s| s.scope.clone())
            .unwrap_or_default();
        Ok((Verdict::Denied { scope, refusal }, 0))
    }

    /// Bring reservation `id` (its units counted in second `bucket`) to what
    /// each scope's [`Adjustment`] says; `guarded`: change the window only
    /// while the reservation is held (see [`Counters::settle`]).
    pub async fn adjust(
        &self,
        id: &str,
        bucket: i64,
        guarded: bool,
        expires: i64,
        scopes: &[ScopeAsk],
        adjustments: &[Adjustment],
    ) -> Result<(), CounterError> {
        let mut inv = self.adjust.prepare_invoke();
        for key in self.keys(scopes) {
            inv.key(key);
        }
        inv.arg(id)
            .arg(bucket)
            .arg(if guarded { "1" } else { "0" })
            .arg(expires);
        for a in adjustments {
            inv.arg(a.requests)
                .arg(a.tokens)
                .arg(a.held_cost)
                .arg(a.spend)
                .arg(a.in_flight);
        }
        let _: i64 = self.run("adjust", inv).await?;
        Ok(())
    }

    /// The verdict while Redis does not answer (`error`): counted in this
    /// replica, or refused when one of `ask`'s limits fails closed.
    pub fn unavailable(&self, ask: &Ask, error: &CounterError) -> Verdict {
        match self.config.fail_open.closed_scope(&ask.scopes) {
            None => {
                tracing::warn!(error = %error, "governance: Redis unavailable, counting in this replica");
                self.local.reserve_now(ask)
            }
            Some(closed) => {
                tracing::warn!(error = %error, "governance: Redis unavailable, refusing (a limit fails closed)");
                Verdict::Denied {
                    scope: closed.scope.clone(),
                    refusal: Refusal::Unavailable,
                }
            }
        }
    }
}

/// How many units a reservation asks for, and where they count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Units {
    /// At most this many (a single call: 1).
    pub want: i64,
    /// The second (unix) its requests and tokens count in.
    pub bucket: i64,
    /// Below this many units left in a scope, only one is granted.
    pub min_room: i64,
}

/// What one scope of a reservation changes to (see [`RedisCounters::adjust`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Adjustment {
    /// Requests added to its bucket (negative: refunded).
    pub requests: i64,
    /// Tokens added to its bucket (negative: refunded).
    pub tokens: i64,
    /// The cost the reservation still holds against the budget.
    pub held_cost: Nanos,
    /// Spend added to the period's counter.
    pub spend: Nanos,
    /// Calls still in flight under it (0: it ends).
    pub in_flight: i64,
}

#[async_trait]
impl Counters for RedisCounters {
    async fn reserve(&self, ask: &Ask) -> Result<Verdict, CounterError> {
        let one = Units {
            want: 1,
            bucket: ask.now / 1000,
            min_room: i64::MAX,
        };
        match self.reserve_units(ask, one).await {
            Ok((verdict, _)) => Ok(verdict),
            Err(e) => Ok(self.unavailable(ask, &e)),
        }
    }

    async fn settle(&self, ask: &Ask, actual: Actual) -> Result<(), CounterError> {
        // A fail-open grant lives in the local counters; settling both is
        // harmless (settling an unknown reservation only adds the cost).
        self.local.settle_now(ask, actual);
        let adjustments: Vec<Adjustment> = ask
            .scopes
            .iter()
            .map(|s| Adjustment {
                requests: 0,
                tokens: actual.tokens - s.tokens_of(ask),
                held_cost: 0,
                spend: if s.limits.max_budget_nanos.is_some() {
                    actual.cost
                } else {
                    0
                },
                in_flight: 0,
            })
            .collect();
        self.adjust(
            &ask.id,
            ask.now / 1000,
            true,
            ask.expires,
            &ask.scopes,
            &adjustments,
        )
        .await
    }
}

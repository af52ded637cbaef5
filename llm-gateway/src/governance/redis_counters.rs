//! [`RedisCounters`]: the rules of [`InProcessCounters`] shared by every
//! replica, one Lua script per step (atomic over every scope of the call, one
//! round trip), with a short timeout and a configured failure mode.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::counters::{
    Actual, Ask, CounterError, Counters, FailOpen, InProcessCounters, Refusal, Verdict, WINDOW_SECS,
};

/// Per scope: KEYS `w` (hash of per-second buckets `r:SEC`/`t:SEC`), `f`
/// (sorted set: call id → expiry), `c` (hash: call id → reserved cost), `s`
/// (the period's spend). ARGV: now, id, tokens, cost, expires, window, then
/// per scope rpm, tpm, parallel, budget (-1: none), period spend, period
/// counter TTL in ms (0: none), its tokens. Then, optionally, a cooldown key
/// as the last KEY (the router's, for a deployment): while it lives the
/// answer is {-2, 'cooling', its ms left}. Returns {-1} or {scope index, reason}.
const RESERVE: &str = r#"
local now, id = tonumber(ARGV[1]), ARGV[2]
local cost, expires = tonumber(ARGV[4]), tonumber(ARGV[5])
local window = tonumber(ARGV[6])
local sec = math.floor(now / 1000)
local n = math.floor(#KEYS / 4)
if #KEYS > 4 * n then
  local cool = redis.call('PTTL', KEYS[#KEYS])
  if cool > 0 then return {-2, 'cooling', cool} end
end
for i = 0, n - 1 do
  local w, f, c, s = KEYS[4*i+1], KEYS[4*i+2], KEYS[4*i+3], KEYS[4*i+4]
  local a = 7 + 7 * i
  local rpm, tpm, par, budget = tonumber(ARGV[a]), tonumber(ARGV[a+1]), tonumber(ARGV[a+2]), tonumber(ARGV[a+3])
  local base, ttl = ARGV[a+4], tonumber(ARGV[a+5])
  local tokens = tonumber(ARGV[a+6])
  local dead = redis.call('ZRANGEBYSCORE', f, '-inf', now)
  if #dead > 0 then
    redis.call('ZREM', f, unpack(dead))
    redis.call('HDEL', c, unpack(dead))
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
    if rpm >= 0 and r + 1 > rpm then return {i, 'requests', 0} end
    if tpm >= 0 and t + tokens > tpm then return {i, 'tokens', 0} end
  end
  if par >= 0 and redis.call('ZCARD', f) + 1 > par then return {i, 'parallel', 0} end
  if budget >= 0 then
    if ttl > 0 then
      redis.call('SET', s, base, 'NX', 'PX', ttl)
    else
      redis.call('SET', s, base, 'NX')
    end
    local reserved = 0
    for _, v in ipairs(redis.call('HVALS', c)) do reserved = reserved + tonumber(v) end
    if tonumber(redis.call('GET', s)) + reserved + cost > budget then return {i, 'budget', 0} end
  end
end
for i = 0, n - 1 do
  local w, f, c = KEYS[4*i+1], KEYS[4*i+2], KEYS[4*i+3]
  local tokens = tonumber(ARGV[13 + 7 * i])
  redis.call('HINCRBY', w, 'r:' .. sec, 1)
  redis.call('HINCRBY', w, 't:' .. sec, tokens)
  redis.call('EXPIRE', w, 2 * window)
  redis.call('ZADD', f, expires, id)
  redis.call('HSET', c, id, cost)
  redis.call('PEXPIREAT', f, expires + 1000)
  redis.call('PEXPIREAT', c, expires + 1000)
end
return {-1, '', 0}
"#;

/// KEYS as for [`RESERVE`]; ARGV: id, reserve second, reserved tokens,
/// actual tokens, actual cost, then per scope 1 when it has a budget.
const SETTLE: &str = r#"
local id, sec = ARGV[1], ARGV[2]
local delta = tonumber(ARGV[4]) - tonumber(ARGV[3])
local cost = tonumber(ARGV[5])
local n = #KEYS / 4
for i = 0, n - 1 do
  local w, f, c, s = KEYS[4*i+1], KEYS[4*i+2], KEYS[4*i+3], KEYS[4*i+4]
  if redis.call('ZREM', f, id) == 1 and redis.call('HEXISTS', w, 't:' .. sec) == 1 then
    redis.call('HINCRBY', w, 't:' .. sec, delta)
  end
  redis.call('HDEL', c, id)
  -- A missing period counter is seeded from the store at the next reserve,
  -- which by then includes this call's spend (written behind).
  if ARGV[6 + i] == '1' and redis.call('EXISTS', s) == 1 then
    redis.call('INCRBY', s, cost)
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
}

impl RedisCountersConfig {
    /// Defaults: prefix `llm-gw`, 250 ms, fail open.
    pub fn new(url: impl Into<String>) -> Self {
        RedisCountersConfig {
            url: url.into(),
            prefix: "llm-gw".to_owned(),
            timeout: Duration::from_millis(250),
            fail_open: FailOpen::all(true),
        }
    }
}

/// The counters shared by every replica through Redis.
pub struct RedisCounters {
    manager: ConnectionManager,
    config: RedisCountersConfig,
    reserve: Script,
    settle: Script,
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
            settle: Script::new(SETTLE),
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
            self.settle.load_async(&mut con).await
        };
        match tokio::time::timeout(self.config.timeout * 4, loaded).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %redis_error("warm-up", &e), "governance: Redis not ready")
            }
            Err(_) => tracing::warn!("governance: Redis warm-up timed out"),
        }
    }

    fn keys<'a>(&'a self, ask: &'a Ask) -> impl Iterator<Item = String> + 'a {
        let p = &self.config.prefix;
        ask.scopes.iter().flat_map(move |s| {
            let scope = &s.scope;
            [
                format!("{{{p}}}:{scope}:w"),
                format!("{{{p}}}:{scope}:f"),
                format!("{{{p}}}:{scope}:c"),
                format!("{{{p}}}:{scope}:s:{}", s.period),
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

    async fn reserve_shared(&self, ask: &Ask) -> Result<Verdict, CounterError> {
        let mut inv = self.reserve.prepare_invoke();
        for key in self.keys(ask) {
            inv.key(key);
        }
        if let Some(cooling) = &ask.cooldown {
            inv.key(cooling);
        }
        inv.arg(ask.now)
            .arg(&ask.id)
            .arg(ask.tokens)
            .arg(ask.cost)
            .arg(ask.expires)
            .arg(WINDOW_SECS);
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
        let (index, reason, _ms): (i64, String, i64) = self.run("reserve", inv).await?;
        if index == -2 {
            let scope = ask.cooldown.clone().unwrap_or_default();
            return Ok(Verdict::Denied {
                scope,
                refusal: Refusal::Cooling,
            });
        }
        let Ok(index) = usize::try_from(index) else {
            return Ok(Verdict::Granted);
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
        Ok(Verdict::Denied { scope, refusal })
    }
}

#[async_trait]
impl Counters for RedisCounters {
    async fn reserve(&self, ask: &Ask) -> Result<Verdict, CounterError> {
        let e = match self.reserve_shared(ask).await {
            Ok(verdict) => return Ok(verdict),
            Err(e) => e,
        };
        match self.config.fail_open.closed_scope(&ask.scopes) {
            None => {
                tracing::warn!(error = %e, "governance: Redis unavailable, counting in this replica");
                Ok(self.local.reserve_now(ask))
            }
            Some(closed) => {
                tracing::warn!(error = %e, "governance: Redis unavailable, refusing (a limit fails closed)");
                Ok(Verdict::Denied {
                    scope: closed.scope.clone(),
                    refusal: Refusal::Unavailable,
                })
            }
        }
    }

    async fn settle(&self, ask: &Ask, actual: Actual) -> Result<(), CounterError> {
        // A fail-open grant lives in the local counters; settling both is
        // harmless (settling an unknown reservation only adds the cost).
        self.local.settle_now(ask, actual);
        let mut inv = self.settle.prepare_invoke();
        for key in self.keys(ask) {
            inv.key(key);
        }
        inv.arg(&ask.id)
            .arg(ask.now / 1000)
            .arg(ask.tokens)
            .arg(actual.tokens)
            .arg(actual.cost);
        for s in &ask.scopes {
            inv.arg(if s.limits.max_budget_nanos.is_some() {
                "1"
            } else {
                "0"
            });
        }
        let _: i64 = self.run("settle", inv).await?;
        Ok(())
    }
}

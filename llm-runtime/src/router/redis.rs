//! [`RedisState`]: limits, cooldowns and latency averages shared by every
//! process that routes with the same Redis, each step one atomic Lua script
//! (one round trip: the scripts are sent once per server, then called by
//! their SHA1 with `EVALSHA`, loaded again only when Redis answers `NOSCRIPT`).
//!
//! # Consistency
//!
//! - While Redis answers, a reservation is checked and taken over every scope
//!   in one script, on the Redis server's clock: `rpm` and `max_in_flight`
//!   hold exactly across processes, `tpm` as the [module docs](super) say.
//! - Latency: a successful call's settle folds its latency into the
//!   deployment's moving average in Redis (same weight as in process); each
//!   reservation's answer brings back the averages of its group's
//!   deployments, which the next call's strategy uses
//!   ([`RouterState::shared_latency`]). No round trip of its own: a process
//!   sees another's measurements one reservation late. Averages unused for
//!   10 minutes expire; ones this process heard more than a minute ago are
//!   not used (its own average is).
//! - Each call has its own short timeout ([`RedisConfig::timeout`], also
//!   bounded by the caller's deadline). A call that fails or times out counts
//!   as "unreachable": a fail-open limit ([`Limits::fail_open`](super::Limits::fail_open))
//!   is then counted in this process only (slack: up to the limit once per
//!   process for the outage), a fail-closed one refuses the call. When Redis
//!   answers again the connection manager reconnects; after the first
//!   reservation it answers, the router carries in what this process admitted
//!   during the outage (one more round trip, once): each reservation still
//!   within its window, with its tokens and, while its call runs, its
//!   in-flight slot. From then on the shared limits count the outage's calls
//!   too (a limit overrun during the outage delays later admissions until the
//!   window has room). A hand-over that fails is dropped with a warning.
//! - A settle that does not reach Redis leaves its reservation as reserved:
//!   its tokens stay counted until the window expires, and its in-flight slot
//!   until [`RedisConfig::in_flight_ttl`].
//! - Keys share one hash tag (`{prefix}`), so they live in one slot of a cluster.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::error::{Error, ErrorKind, Result};

use super::health::EWMA_ALPHA;
use super::state::{
    Admission, Ask, Carried, Denial, DenialReason, Reservation, RouterState, ScopeUsage, WINDOW,
};

/// Expire a scope's window: drop entries older than the window from the
/// request set, their tokens from the running total.
const EXPIRE: &str = r"
local function expire(w, h, f, now, window)
  local old = redis.call('ZRANGEBYSCORE', w, '-inf', now - window)
  local freed = 0
  for _, id in ipairs(old) do
    freed = freed + (tonumber(redis.call('HGET', h, id)) or 0)
    redis.call('HDEL', h, id)
  end
  if #old > 0 then
    redis.call('HINCRBY', h, 'total', -freed)
    redis.call('ZREMRANGEBYSCORE', w, '-inf', now - window)
  end
  redis.call('ZREMRANGEBYSCORE', f, '-inf', now)
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
";

/// KEYS: (window set, amounts hash, in-flight set) per scope, then the
/// cooldown key, then the latency hash.
/// ARGV: id, tokens, window ms, in-flight ttl ms, then (rpm, tpm, max in
/// flight) per scope, -1 for none, then the group's deployment keys.
/// Returns {1, 0, 'ok', 0, latencies} or {0, scope index from 1 (0:
/// cooldown), reason, retry ms or -1, latencies}: the latency average (µs)
/// of each deployment of the group, nil where unknown.
const RESERVE: &str = r"
local id, tokens = ARGV[1], tonumber(ARGV[2])
local window, ttl = tonumber(ARGV[3]), tonumber(ARGV[4])
local n = (#KEYS - 2) / 3
local lat = {}
if #ARGV >= 5 + 3 * n then lat = redis.call('HMGET', KEYS[#KEYS], unpack(ARGV, 5 + 3 * n)) end
local cool = redis.call('PTTL', KEYS[#KEYS - 1])
if cool > 0 then return {0, 0, 'cooling', cool, lat} end
for i = 0, n - 1 do
  local w, h, f = KEYS[3*i+1], KEYS[3*i+2], KEYS[3*i+3]
  expire(w, h, f, now, window)
  local rpm, tpm, mif = tonumber(ARGV[5+3*i]), tonumber(ARGV[6+3*i]), tonumber(ARGV[7+3*i])
  if mif >= 0 and redis.call('ZCARD', f) >= mif then return {0, i+1, 'in_flight', -1, lat} end
  if rpm >= 0 and redis.call('ZCARD', w) >= rpm then
    local oldest = redis.call('ZRANGE', w, 0, 0, 'WITHSCORES')
    return {0, i+1, 'requests', tonumber(oldest[2]) + window - now, lat}
  end
  if tpm >= 0 and (tonumber(redis.call('HGET', h, 'total')) or 0) + tokens > tpm then
    return {0, i+1, 'tokens', -1, lat}
  end
end
for i = 0, n - 1 do
  local w, h, f = KEYS[3*i+1], KEYS[3*i+2], KEYS[3*i+3]
  redis.call('ZADD', w, now, id)
  redis.call('HSET', h, id, tokens)
  redis.call('HINCRBY', h, 'total', tokens)
  redis.call('ZADD', f, now + ttl, id)
  for _, k in ipairs({w, h, f}) do redis.call('PEXPIRE', k, window + ttl) end
end
return {1, 0, 'ok', 0, lat}
";

/// KEYS: (window set, amounts hash, in-flight set) per scope, then the
/// latency hash. ARGV: id, tokens, deployment key, latency µs (-1: none, a
/// failed call), the weight of the new sample, the latency hash's ttl ms.
const SETTLE: &str = r"
local id, tokens = ARGV[1], tonumber(ARGV[2])
for i = 0, (#KEYS - 1) / 3 - 1 do
  local h, f = KEYS[3*i+2], KEYS[3*i+3]
  local old = tonumber(redis.call('HGET', h, id))
  if old then
    redis.call('HSET', h, id, tokens)
    redis.call('HINCRBY', h, 'total', tokens - old)
  end
  redis.call('ZREM', f, id)
end
local sample = tonumber(ARGV[4])
if sample >= 0 then
  local lat, alpha = KEYS[#KEYS], tonumber(ARGV[5])
  local old = tonumber(redis.call('HGET', lat, ARGV[3]))
  if old then sample = math.floor(alpha * sample + (1 - alpha) * old) end
  redis.call('HSET', lat, ARGV[3], sample)
  redis.call('PEXPIRE', lat, ARGV[6])
end
return 1
";

/// KEYS: (window set, amounts hash, in-flight set) per scope. ARGV: window
/// ms, in-flight ttl ms, then per reservation: scope index from 1, id, age
/// ms, tokens, 1 if in flight. A reservation already there is left alone.
const CARRY: &str = r"
local window, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
for j = 3, #ARGV, 5 do
  local i = tonumber(ARGV[j]) - 1
  local w, h, f = KEYS[3*i+1], KEYS[3*i+2], KEYS[3*i+3]
  local id, age, tokens = ARGV[j+1], tonumber(ARGV[j+2]), tonumber(ARGV[j+3])
  if age < window and redis.call('ZADD', w, 'NX', now - age, id) == 1 then
    redis.call('HSET', h, id, tokens)
    redis.call('HINCRBY', h, 'total', tokens)
    if ARGV[j+4] == '1' then redis.call('ZADD', f, now + ttl, id) end
    for _, k in ipairs({w, h, f}) do redis.call('PEXPIRE', k, window + ttl) end
  end
end
return 1
";

/// KEYS: one scope's three keys. ARGV: window ms. Returns {requests, tokens, in flight}.
const USAGE: &str = r"
expire(KEYS[1], KEYS[2], KEYS[3], now, tonumber(ARGV[1]))
return {redis.call('ZCARD', KEYS[1]), tonumber(redis.call('HGET', KEYS[2], 'total')) or 0, redis.call('ZCARD', KEYS[3])}
";

/// How to reach Redis.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `redis://host:port/db` (a password in it is never logged).
    pub url: String,
    /// The prefix of every key (inside a hash tag): several routers that should
    /// not share limits use different prefixes.
    pub prefix: String,
    /// The bound of each call to Redis (connect included).
    pub timeout: Duration,
    /// How long an unsettled reservation holds its in-flight slot (a process
    /// that died, or a settle that did not reach Redis).
    pub in_flight_ttl: Duration,
}

impl RedisConfig {
    /// Defaults for `url`: prefix `llm-router`, 250 ms per call, in-flight slots held 5 minutes.
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            prefix: "llm-router".to_owned(),
            timeout: Duration::from_millis(250),
            in_flight_ttl: Duration::from_secs(300),
        }
    }

    /// Set [`RedisConfig::prefix`].
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Set [`RedisConfig::timeout`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Set [`RedisConfig::in_flight_ttl`].
    pub fn in_flight_ttl(mut self, ttl: Duration) -> Self {
        self.in_flight_ttl = ttl;
        self
    }
}

/// Router state in Redis, shared by every process using the same URL and prefix.
///
/// ```no_run
/// # async fn demo() -> llm_runtime::Result<()> {
/// use std::sync::Arc;
/// use llm_runtime::router::{RedisConfig, RedisState};
/// let state = RedisState::connect(RedisConfig::new("redis://127.0.0.1:6379"))?;
/// let client = llm_runtime::Client::builder().router_state(Arc::new(state));
/// # let _ = client; Ok(()) }
/// ```
pub struct RedisState {
    manager: ConnectionManager,
    config: RedisConfig,
    reserve: Script,
    settle: Script,
    carry: Script,
    usage: Script,
    /// Per deployment key: the shared latency average (µs) and when the last
    /// reservation's answer reported it.
    latencies: Mutex<HashMap<String, (u64, Instant)>>,
}

/// How long the shared latency averages live in Redis after their last
/// update: a deployment nobody called for that long is untried again.
const LATENCY_TTL: Duration = Duration::from_secs(600);

/// How old a latency this process last heard from Redis may be and still
/// be used (past it, during an outage, this process's own average is).
const LATENCY_FRESH: Duration = WINDOW;

impl fmt::Debug for RedisState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisState")
            .field("prefix", &self.config.prefix)
            .field("timeout", &self.config.timeout)
            .finish_non_exhaustive()
    }
}

fn redis_error(what: &str, e: &redis::RedisError) -> Error {
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::Network
    };
    // The error's text may quote the URL; only its category is kept.
    Error::new(kind, format!("redis {what} failed ({:?})", e.kind()))
}

impl RedisState {
    /// A state on `config.url`. Connects lazily (on the first call), so it
    /// builds while Redis is down; needs a tokio runtime.
    pub fn connect(config: RedisConfig) -> Result<Self> {
        let client = redis::Client::open(config.url.as_str())
            .map_err(|e| Error::config(format!("the Redis URL is not valid ({:?})", e.kind())))?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.timeout))
            .set_response_timeout(Some(config.timeout))
            .set_number_of_retries(1)
            .set_max_delay(config.timeout);
        let manager = ConnectionManager::new_lazy_with_config(client, manager_config)
            .map_err(|e| redis_error("connect", &e))?;
        Ok(RedisState {
            manager,
            config,
            reserve: Script::new(&format!("{EXPIRE}{RESERVE}")),
            settle: Script::new(SETTLE),
            carry: Script::new(&format!("{EXPIRE}{CARRY}")),
            usage: Script::new(&format!("{EXPIRE}{USAGE}")),
            latencies: Mutex::default(),
        })
    }

    fn keys(&self, scope: &str) -> [String; 3] {
        let p = &self.config.prefix;
        [
            format!("{{{p}}}:{scope}:w"),
            format!("{{{p}}}:{scope}:h"),
            format!("{{{p}}}:{scope}:f"),
        ]
    }

    fn cooldown_key(&self, deployment: &str) -> String {
        format!("{{{}}}:{deployment}:cool", self.config.prefix)
    }

    fn latency_key(&self) -> String {
        format!("{{{}}}:latency", self.config.prefix)
    }

    /// Remember the group's latency averages a reservation's answer gave.
    fn heard(&self, peers: &[String], latencies: &[Option<u64>]) {
        let now = Instant::now();
        let mut known = self.latencies.lock().unwrap_or_else(|p| p.into_inner());
        for (peer, us) in peers.iter().zip(latencies) {
            let Some(us) = *us else { continue };
            match known.get_mut(peer.as_str()) {
                Some(entry) => *entry = (us, now),
                None => {
                    known.insert(peer.clone(), (us, now));
                }
            }
        }
    }

    /// Settle, folding `latency` (if any) into the deployment's shared average.
    async fn settle_with(
        &self,
        reservation: &Reservation,
        tokens: u64,
        observed: Option<(&str, Duration)>,
    ) -> Result<()> {
        let mut inv = self.settle.prepare_invoke();
        for scope in &reservation.scopes {
            for key in self.keys(scope) {
                inv.key(key);
            }
        }
        inv.key(self.latency_key());
        let (deployment, sample) = observed.map_or(("", -1), |(d, latency)| {
            (
                d,
                i64::try_from(latency.as_micros())
                    .unwrap_or(i64::MAX)
                    .max(1),
            )
        });
        inv.arg(reservation.id.to_string())
            .arg(tokens)
            .arg(deployment)
            .arg(sample)
            .arg(EWMA_ALPHA)
            .arg(millis(LATENCY_TTL));
        let _: i64 = self.run("settle", inv).await?;
        Ok(())
    }

    /// Run `invocation` with this state's timeout.
    async fn run<T: redis::FromRedisValue>(
        &self,
        what: &str,
        invocation: redis::ScriptInvocation<'_>,
    ) -> Result<T> {
        let mut con = self.manager.clone();
        match tokio::time::timeout(self.config.timeout, invocation.invoke_async(&mut con)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(redis_error(what, &e)),
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                format!("redis {what}: no answer within {:?}", self.config.timeout),
            )),
        }
    }
}

/// The reserve script's answer: granted, scope index, reason, retry ms, latencies.
type Reply = (i64, usize, String, i64, Vec<Option<u64>>);

/// The denial the reserve script's answer describes.
fn denial(ask: &Ask<'_>, index: usize, reason: &str, retry: i64) -> Denial {
    let reason = match reason {
        "cooling" => DenialReason::Cooling,
        "in_flight" => DenialReason::InFlight,
        "requests" => DenialReason::Requests,
        _ => DenialReason::Tokens,
    };
    let scope = match index {
        0 => ask.deployment.to_owned(),
        i => ask
            .scopes
            .get(i - 1)
            .map_or_else(String::new, |s| s.key.clone()),
    };
    Denial {
        scope,
        reason,
        retry_in: u64::try_from(retry).ok().map(Duration::from_millis),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn limit(l: Option<u64>) -> i64 {
    l.map_or(-1, |v| i64::try_from(v).unwrap_or(i64::MAX))
}

#[async_trait]
impl RouterState for RedisState {
    async fn reserve(&self, ask: &Ask<'_>) -> Result<Admission> {
        let mut inv = self.reserve.prepare_invoke();
        for scope in ask.scopes {
            for key in self.keys(&scope.key) {
                inv.key(key);
            }
        }
        inv.key(self.cooldown_key(ask.deployment))
            .key(self.latency_key());
        inv.arg(ask.id.to_string())
            .arg(ask.tokens)
            .arg(millis(WINDOW))
            .arg(millis(self.config.in_flight_ttl));
        for scope in ask.scopes {
            let l = &scope.limits;
            inv.arg(limit(l.rpm))
                .arg(limit(l.tpm))
                .arg(limit(l.max_in_flight));
        }
        for peer in ask.peers {
            inv.arg(peer.as_str());
        }
        let (granted, index, reason, retry, latencies): Reply = self.run("reserve", inv).await?;
        self.heard(ask.peers, &latencies);
        if granted == 1 {
            return Ok(Admission::Granted(Reservation {
                id: ask.id,
                scopes: ask.scopes.iter().map(|s| s.key.clone()).collect(),
                tokens: ask.tokens,
                shared: true,
            }));
        }
        Ok(Admission::Denied(denial(ask, index, &reason, retry)))
    }

    async fn settle(&self, reservation: &Reservation, tokens: u64) -> Result<()> {
        self.settle_with(reservation, tokens, None).await
    }

    async fn settle_success(
        &self,
        reservation: &Reservation,
        tokens: u64,
        deployment: &str,
        latency: Duration,
    ) -> Result<()> {
        self.settle_with(reservation, tokens, Some((deployment, latency)))
            .await
    }

    fn shared_latency(&self, deployment: &str) -> Option<Duration> {
        let known = self.latencies.lock().unwrap_or_else(|p| p.into_inner());
        let &(us, heard) = known.get(deployment)?;
        (heard.elapsed() < LATENCY_FRESH).then(|| Duration::from_micros(us))
    }

    async fn carry_in(&self, carried: &[Carried]) -> Result<()> {
        let mut scopes: Vec<&str> = Vec::new();
        let mut inv = self.carry.prepare_invoke();
        inv.arg(millis(WINDOW))
            .arg(millis(self.config.in_flight_ttl));
        for c in carried {
            let index = match scopes.iter().position(|s| *s == c.scope) {
                Some(i) => i,
                None => {
                    scopes.push(&c.scope);
                    for key in self.keys(&c.scope) {
                        inv.key(key);
                    }
                    scopes.len() - 1
                }
            };
            inv.arg(index + 1)
                .arg(c.id.to_string())
                .arg(millis(c.age))
                .arg(c.tokens)
                .arg(u8::from(c.in_flight));
        }
        let _: i64 = self.run("carry", inv).await?;
        Ok(())
    }

    async fn cool_down(&self, deployment: &str, duration: Duration) -> Result<()> {
        let ms = millis(duration).max(1);
        let mut con = self.manager.clone();
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.cooldown_key(deployment))
            .arg(1)
            .arg("PX")
            .arg(ms);
        let set = cmd.query_async::<()>(&mut con);
        match tokio::time::timeout(self.config.timeout, set).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(redis_error("cooldown", &e)),
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                "redis cooldown: no answer in time",
            )),
        }
    }

    async fn usage(&self, scope: &str) -> Result<ScopeUsage> {
        let mut inv = self.usage.prepare_invoke();
        for key in self.keys(scope) {
            inv.key(key);
        }
        inv.arg(millis(WINDOW));
        let (requests, tokens, in_flight): (u64, i64, u64) = self.run("usage", inv).await?;
        Ok(ScopeUsage {
            requests,
            tokens: u64::try_from(tokens).unwrap_or(0),
            in_flight,
        })
    }

    fn is_shared(&self) -> bool {
        true
    }
}

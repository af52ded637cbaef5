//! A `redis-server` of a bench's own on a free loopback port, and what it
//! served, read with `redis-cli INFO commandstats`.
//!
//! Both programs come from the system package (`.ci/run` installs it); no
//! Redis client crate is needed to count the commands the router sent.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How long `redis-server` may take to listen.
const STARTUP: Duration = Duration::from_secs(10);

/// A running `redis-server` (no persistence), killed and its directory removed on drop.
#[derive(Debug)]
pub struct RedisServer {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl RedisServer {
    /// Start `redis-server --port N --save '' --appendonly no` on a free
    /// `127.0.0.1` port and wait until it accepts connections.
    pub fn start() -> Result<RedisServer, BoxError> {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port();
        let dir =
            std::env::temp_dir().join(format!("llm-bench-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start redis-server (is it installed?): {e}"))?;
        // From here on, drop stops it whatever happens.
        let server = RedisServer { child, port, dir };
        let deadline = Instant::now() + STARTUP;
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            if Instant::now() >= deadline {
                return Err(
                    format!("redis-server did not listen on {port} within {STARTUP:?}").into(),
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// `redis_version` from `INFO server`, or `redis ?`.
    pub fn version(&self) -> String {
        self.info("server")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("redis_version:"))
                    .map(|v| format!("redis {}", v.trim()))
            })
            .unwrap_or_else(|| "redis ?".to_owned())
    }

    /// Calls per command so far (`cmdstat_evalsha:calls=N,...`), the `INFO`
    /// this reads with left out.
    pub fn command_stats(&self) -> Result<BTreeMap<String, u64>, BoxError> {
        let info = self.info("commandstats")?;
        Ok(info
            .lines()
            .filter_map(|l| {
                let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
                let calls = rest
                    .strip_prefix("calls=")?
                    .split(',')
                    .next()?
                    .parse()
                    .ok()?;
                Some((name.to_owned(), calls))
            })
            .filter(|(name, _)| name != "info")
            .collect())
    }

    fn info(&self, section: &str) -> Result<String, BoxError> {
        let output = Command::new("redis-cli")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "INFO",
                section,
            ])
            .stderr(Stdio::inherit())
            .output()?;
        if !output.status.success() {
            return Err(format!("redis-cli INFO {section}: {}", output.status).into());
        }
        Ok(String::from_utf8(output.stdout)?)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Commands a client sends itself; Redis also counts in `commandstats` every
/// command a script runs (`HGET`, `ZADD`, ...), which are not round trips.
const TOP_LEVEL: &[&str] = &[
    "eval",
    "evalsha",
    "eval_ro",
    "evalsha_ro",
    "script",
    "set",
    "hello",
    "client",
    "ping",
    "select",
    "auth",
];

/// Print the commands Redis served between `before` and `after`: those sent
/// by the client (one round trip each) and those run inside scripts, in all
/// and per call for `calls` routed calls.
pub fn report_commands(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
    calls: usize,
) {
    let per_call = |n: u64| n as f64 / calls.max(1) as f64;
    let (mut sent, mut scripted) = (0, 0);
    let mut parts = Vec::new();
    for (name, &n) in after {
        let served = n.saturating_sub(before.get(name).copied().unwrap_or(0));
        if served == 0 {
            continue;
        }
        if TOP_LEVEL.contains(&name.as_str()) {
            sent += served;
            parts.push(format!("{name} {served} ({:.3}/call)", per_call(served)));
        } else {
            scripted += served;
        }
    }
    println!(
        "redis round trips for {calls} routed calls: {sent}, {:.3} per call ({}); commands run inside the scripts: {:.1} per call",
        per_call(sent),
        parts.join(", "),
        per_call(scripted)
    );
}

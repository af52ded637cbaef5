//! Real servers for the governance tests: `postgres` and `redis-server`
//! started on free loopback ports in throwaway directories, stopped by PID
//! (and their directories removed) on drop.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to come up.
const STARTUP: Duration = Duration::from_secs(30);

/// A free loopback port (bound, read, released).
pub(crate) fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("a bound address").port()
}

/// A fresh directory under the system temp dir.
pub(crate) fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "llm-gateway-{tag}-{}-{}",
        std::process::id(),
        fastrand_suffix()
    ));
    std::fs::create_dir_all(&dir).expect("create a temp dir");
    dir
}

fn fastrand_suffix() -> u64 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the OS has randomness");
    u64::from_le_bytes(bytes)
}

/// A directory removed (with its contents) on drop.
pub(crate) struct Scratch(PathBuf);

impl Scratch {
    /// A fresh one.
    pub(crate) fn new(tag: &str) -> Scratch {
        Scratch(temp_dir(tag))
    }

    /// Its path.
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `None` with the reason printed when a server is not installed, except
/// under CI (`CI=true`), where a missing server is a failure.
pub(crate) fn missing<T>(what: &str) -> Option<T> {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{what} is not installed; .ci/run installs it with the system package manager"
    );
    eprintln!("SKIPPED: {what} is not installed (apt-get install postgresql redis-server)");
    None
}

fn wait_listening(port: u16, child: &mut Child, what: &str) {
    let deadline = Instant::now() + STARTUP;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited during startup: {status}");
        }
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn stop(child: &mut Child) {
    // SIGTERM by PID (postgres: "smart" shutdown; redis: save-less exit),
    // then SIGKILL if it lingers.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A server process of the test's own on a free loopback port, stopped
/// by PID and its directory removed on drop.
pub(crate) struct Server {
    child: Option<Child>,
    /// Its port on 127.0.0.1.
    pub(crate) port: u16,
    dir: PathBuf,
    url: String,
    name: &'static str,
    command: fn(&Server) -> Command,
}

/// A `postgres` (database `postgres`, user `gateway`, trust auth on loopback).
pub(crate) type Postgres = Server;
/// A `redis-server` (no persistence).
pub(crate) type Redis = Server;

/// The directory holding `initdb` and `postgres`: Debian's versioned
/// directory (newest first), else `PATH`.
fn postgres_bin() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("postgres").exists())
        .collect();
    dirs.sort();
    if let Some(dir) = dirs.pop() {
        return Some(dir);
    }
    let found = Command::new("sh")
        .args(["-c", "command -v postgres"])
        .output()
        .ok()?;
    let path = String::from_utf8(found.stdout).ok()?;
    Path::new(path.trim()).parent().map(Path::to_path_buf)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// A command run as the `postgres` system user when we are root: postgres
/// refuses to run as root. `setpriv` execs in place, so the child's PID is
/// the server's own.
fn as_postgres_user(program: &Path) -> Command {
    if is_root() {
        let mut cmd = Command::new("setpriv");
        cmd.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "--",
        ]);
        cmd.arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

fn postgres_command(server: &Server) -> Command {
    let bin = postgres_bin().expect("postgres was found at start");
    let mut cmd = as_postgres_user(&bin.join("postgres"));
    cmd.arg("-D")
        .arg(server.dir.join("data"))
        .args(["-p", &server.port.to_string(), "-h", "127.0.0.1", "-k"])
        .arg(&server.dir)
        .args(["-c", "fsync=off", "-c", "max_connections=100"]);
    cmd
}

fn redis_command(server: &Server) -> Command {
    let mut cmd = Command::new("redis-server");
    cmd.args(["--port", &server.port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--dir"])
        .arg(&server.dir);
    cmd
}

impl Server {
    /// Start a Postgres, or `None` (reason printed) when not installed outside CI.
    pub(crate) fn postgres() -> Option<Server> {
        let Some(bin) = postgres_bin() else {
            return missing("postgres");
        };
        let dir = temp_dir("pg");
        if is_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "chown the data dir to the postgres user");
        }
        let init = as_postgres_user(&bin.join("initdb"))
            .arg("-D")
            .arg(dir.join("data"))
            .args(["-U", "gateway", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .expect("run initdb");
        assert!(
            init.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        let port = free_port();
        Some(Server::spawned(Server {
            child: None,
            port,
            dir,
            url: format!("postgres://gateway@127.0.0.1:{port}/postgres"),
            name: "postgres",
            command: postgres_command,
        }))
    }

    /// Start a Redis, or `None` (reason printed) when not installed outside CI.
    pub(crate) fn redis() -> Option<Server> {
        let installed = Command::new("sh")
            .args(["-c", "command -v redis-server"])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            return missing("redis-server");
        }
        let port = free_port();
        Some(Server::spawned(Server {
            child: None,
            port,
            dir: temp_dir("redis"),
            url: format!("redis://127.0.0.1:{port}/"),
            name: "redis-server",
            command: redis_command,
        }))
    }

    fn spawned(mut self) -> Server {
        self.spawn();
        self
    }

    fn spawn(&mut self) {
        let mut child = (self.command)(self)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", self.name));
        wait_listening(self.port, &mut child, self.name);
        self.child = Some(child);
    }

    /// Its URL.
    pub(crate) fn url(&self) -> String {
        self.url.clone()
    }

    /// Lua scripts a Redis ran so far (`EVALSHA` and `EVAL` calls).
    pub(crate) fn scripts_run(&self) -> i64 {
        let mut con = redis::Client::open(self.url())
            .expect("redis url")
            .get_connection()
            .expect("redis");
        let info: String = redis::cmd("INFO")
            .arg("commandstats")
            .query(&mut con)
            .expect("INFO");
        info.lines()
            .filter(|l| l.starts_with("cmdstat_evalsha:") || l.starts_with("cmdstat_eval:"))
            .filter_map(|l| {
                l.split(&[':', ','][..])
                    .find_map(|kv| kv.strip_prefix("calls="))
                    .and_then(|n| n.parse::<i64>().ok())
            })
            .sum()
    }

    /// Stop it (an outage), keeping its directory.
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop(&mut child);
        }
    }

    /// Start it again on the same port and directory (Redis comes back empty).
    pub(crate) fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

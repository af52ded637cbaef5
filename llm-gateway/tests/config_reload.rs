//! Config reload: `POST /config/reload` (master key) and SIGHUP read the
//! config file again; new calls use the new model table, calls in flight
//! finish on the old one; a config that does not load keeps the old one and
//! answers the error with its line.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{PATIENCE, entry, http, openai_answer, openai_stream};
use futures_util::StreamExt;
use llm_gateway::server::{self, Running};
use llm_gateway::state::AppState;
use llm_runtime::testing::MockServer;
use serde_json::{Value, json};

const MASTER: &str = "sk-reload-master";

/// A config file in its own directory, removed on drop.
struct ConfigFile {
    dir: PathBuf,
    path: PathBuf,
}

impl ConfigFile {
    fn new(tag: &str) -> ConfigFile {
        let dir = std::env::temp_dir().join(format!(
            "llm-gateway-reload-{tag}-{}-{}",
            std::process::id(),
            fastrand_like()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.yaml");
        ConfigFile { dir, path }
    }

    fn write(&self, yaml: &str) {
        std::fs::write(&self.path, yaml).unwrap();
    }
}

impl Drop for ConfigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn fastrand_like() -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    u64::from_le_bytes(b)
}

/// A config serving `groups` (each on `mock`, OpenAI format) under the master key.
fn config(mock: &MockServer, groups: &[&str]) -> String {
    let base = format!("{}/v1", mock.url());
    let mut yaml = String::from("model_list:\n");
    for g in groups {
        yaml.push_str(&entry(g, "openai/gpt-4o-mini", &base, ""));
    }
    yaml.push_str(&format!("general_settings:\n  master_key: {MASTER}\n"));
    yaml
}

async fn start(path: &Path) -> Running {
    let (state, _warnings) = AppState::from_file(path).unwrap();
    server::spawn(state, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .unwrap()
}

async fn models(url: &str) -> Vec<String> {
    let r: Value = http()
        .get(format!("{url}/v1/models"))
        .bearer_auth(MASTER)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut ids: Vec<String> = r["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

async fn reload(url: &str, key: &str) -> reqwest::Response {
    http()
        .post(format!("{url}/config/reload"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
}

async fn chat(url: &str, model: &str) -> reqwest::Response {
    http()
        .post(format!("{url}/v1/chat/completions"))
        .bearer_auth(MASTER)
        .json(&json!({"model": model, "messages": [{"role": "user", "content": "Hi"}]}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_reload_over_http_changes_the_served_models() {
    let mock = MockServer::start().await;
    mock.on("POST", "/v1/chat/completions", openai_answer("hi"));
    let file = ConfigFile::new("http");
    file.write(&config(&mock, &["old"]));
    let gw = start(&file.path).await;
    assert_eq!(models(&gw.url()).await, ["old"]);

    file.write(&config(&mock, &["new-a", "new-b"]));
    // Not without the master key: the config is unchanged.
    let refused = reload(&gw.url(), "sk-someone-else").await;
    assert_eq!(refused.status(), 403);
    assert_eq!(models(&gw.url()).await, ["old"]);

    let r = reload(&gw.url(), MASTER).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "reloaded");
    assert_eq!(body["model_groups"], 2);
    assert_eq!(models(&gw.url()).await, ["new-a", "new-b"]);
    assert_eq!(chat(&gw.url(), "new-b").await.status(), 200);
    assert_eq!(chat(&gw.url(), "old").await.status(), 404);
    gw.shutdown().await;
}

/// The `llm_gateway_requests_total` of `group`'s answered-200 calls.
async fn answered(url: &str, group: &str) -> f64 {
    let text = http()
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with("llm_gateway_requests_total{"))
        .filter(|l| l.contains(&format!("model_group=\"{group}\"")) && l.contains("status=\"200\""))
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<f64>().unwrap())
        .sum()
}

#[tokio::test]
async fn metrics_keep_counting_across_a_reload() {
    let mock = MockServer::start().await;
    mock.on("POST", "/v1/chat/completions", openai_answer("hi"));
    let file = ConfigFile::new("metrics");
    file.write(&config(&mock, &["kept"]));
    let gw = start(&file.path).await;
    assert_eq!(chat(&gw.url(), "kept").await.status(), 200);
    assert_eq!(answered(&gw.url(), "kept").await, 1.0);

    file.write(&config(&mock, &["kept", "added"]));
    assert_eq!(reload(&gw.url(), MASTER).await.status(), 200);
    assert_eq!(chat(&gw.url(), "kept").await.status(), 200);
    assert_eq!(chat(&gw.url(), "added").await.status(), 200);
    // Prometheus would read a drop to 1 as a counter reset.
    assert_eq!(answered(&gw.url(), "kept").await, 2.0);
    assert_eq!(answered(&gw.url(), "added").await, 1.0);
    gw.shutdown().await;
}

#[tokio::test]
async fn a_stream_in_flight_finishes_on_the_old_config() {
    let mock = MockServer::start().await;
    mock.on(
        "POST",
        "/v1/chat/completions",
        openai_stream(&["one", "two", "three"]).chunk_delay(Duration::from_millis(300)),
    );
    let file = ConfigFile::new("stream");
    file.write(&config(&mock, &["old"]));
    let gw = start(&file.path).await;
    let r = http()
        .post(format!("{}/v1/chat/completions", gw.url()))
        .bearer_auth(MASTER)
        .json(&json!({"model": "old", "stream": true, "messages": [{"role": "user", "content": "Hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut body = r.bytes_stream();
    let mut text = String::from_utf8(body.next().await.unwrap().unwrap().to_vec()).unwrap();
    assert!(!text.contains("[DONE]"), "the stream is still in flight");

    // The group the stream is on goes away for new calls.
    file.write(&config(&mock, &["new"]));
    assert_eq!(reload(&gw.url(), MASTER).await.status(), 200);
    assert_eq!(chat(&gw.url(), "old").await.status(), 404);

    while let Some(chunk) = body.next().await {
        text.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
    }
    for word in ["one", "two", "three"] {
        assert!(text.contains(&format!("\"content\":\"{word}\"")), "{text}");
    }
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    gw.shutdown().await;
}

#[tokio::test]
async fn an_invalid_config_keeps_the_old_one_and_names_its_line() {
    let mock = MockServer::start().await;
    mock.on("POST", "/v1/chat/completions", openai_answer("hi"));
    let file = ConfigFile::new("invalid");
    file.write(&config(&mock, &["old"]));
    let gw = start(&file.path).await;

    // Line 8: `rpm` takes an integer.
    let base = format!("{}/v1", mock.url());
    let bad = format!(
        "model_list:\n{}      rpm: lots\ngeneral_settings:\n  master_key: {MASTER}\n",
        entry("new", "openai/gpt-4o-mini", &base, "")
    );
    assert_eq!(bad.lines().nth(7), Some("      rpm: lots"));
    file.write(&bad);
    let r = reload(&gw.url(), MASTER).await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_config");
    assert_eq!(body["error"]["line"], 8);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("line 8: "),
        "{body}"
    );
    assert_eq!(models(&gw.url()).await, ["old"]);
    assert_eq!(chat(&gw.url(), "old").await.status(), 200);

    // A provider the runtime does not have: no line, still the old config.
    file.write(&config(&mock, &["new"]).replace("openai/gpt-4o-mini", "nosuchprovider/x"));
    let r = reload(&gw.url(), MASTER).await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_config");
    assert_eq!(models(&gw.url()).await, ["old"]);

    // A setting only a restart changes: refused, named.
    file.write(&config(&mock, &["new"]).replace(MASTER, "sk-another-master"));
    let r = reload(&gw.url(), MASTER).await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "restart_required");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("general_settings.master_key"),
        "{body}"
    );
    assert_eq!(models(&gw.url()).await, ["old"]);
    gw.shutdown().await;
}

#[tokio::test]
async fn a_gateway_without_a_config_file_has_nothing_to_reload() {
    let mock = MockServer::start().await;
    let gw = common::gateway(&config(&mock, &["m"])).await;
    let r = reload(&gw.url(), MASTER).await;
    assert_eq!(r.status(), 409);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "no_config_file");
}

/// The gateway binary on `config`; its address from its first line.
struct Process {
    child: std::process::Child,
    url: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn sighup_reloads_a_gateway_process() {
    let mock = MockServer::start().await;
    mock.on("POST", "/v1/chat/completions", openai_answer("hi"));
    let file = ConfigFile::new("sighup");
    file.write(&config(&mock, &["old"]));
    let mut child = Command::new(env!("CARGO_BIN_EXE_llm-gateway"))
        .args(["--config", file.path.to_str().unwrap(), "--port", "0"])
        .env("LLM_GATEWAY_LOG", "warn")
        // With a master key it keeps keys in `llm-gateway.db` there.
        .current_dir(&file.dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("llm-gateway listening on ")
        .unwrap()
        .to_owned();
    let gw = Process { child, url };
    assert_eq!(models(&gw.url).await, ["old"]);

    file.write(&config(&mock, &["after-hup"]));
    let pid = gw.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    // The signal is handled on the gateway's own time: poll, bounded.
    let deadline = Instant::now() + PATIENCE;
    while models(&gw.url).await != ["after-hup"] {
        assert!(Instant::now() < deadline, "SIGHUP did not reload");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(chat(&gw.url, "after-hup").await.status(), 200);
}

//! A replica for the cross-process tests: this test binary re-run as its own
//! OS process (the ignored test `replica_process`), serving the governance
//! layer, the management API, and a chat route whose upstream is simulated
//! in-process (the request says what usage the "upstream" reports, how long
//! it takes, and how many stream chunks it sends).
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Extension, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use futures_util::StreamExt;
use llm_gateway::governance::counters::FailOpen;
use llm_gateway::governance::gate::{Caller, Estimate, TokenPrice, Usage};
use llm_gateway::governance::redis_counters::RedisCountersConfig;
use llm_gateway::governance::spend::SpendWriterConfig;
use llm_gateway::governance::{Governance, GovernanceConfig, api, layer};
use serde::Deserialize;

pub(crate) const MASTER: &str = "sk-master-test-never-printed";

/// $1 per million input tokens, $2 per million output tokens.
pub(crate) fn price() -> TokenPrice {
    TokenPrice::per_million(1.0, 2.0)
}

/// What the simulated upstream does.
#[derive(Debug, Deserialize)]
struct ChatBody {
    model: String,
    max_tokens: i64,
    prompt_tokens: i64,
    completion_tokens: i64,
    #[serde(default)]
    stream: bool,
    #[serde(default)]
    delay_ms: u64,
}

async fn chat(
    State(gov): State<Arc<Governance>>,
    Extension(caller): Extension<Caller>,
    Json(body): Json<ChatBody>,
) -> Response {
    let estimate = Estimate {
        model: body.model.clone(),
        prompt_tokens: body.prompt_tokens,
        max_tokens: body.max_tokens,
        price: Some(price()),
        call_id: None,
    };
    let admission = match gov.admit(&caller, estimate).await {
        Ok(a) => a,
        Err(refused) => return refused.into_response(),
    };
    let id = admission.id().to_owned();
    let delay = Duration::from_millis(body.delay_ms);
    if !body.stream {
        tokio::time::sleep(delay).await;
        let usage = Usage {
            prompt_tokens: body.prompt_tokens,
            completion_tokens: body.completion_tokens,
        };
        admission.settle(usage).await;
        let json = serde_json::json!({"id": id, "usage": {
            "prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens}});
        return ([("x-call-id", id)], Json(json)).into_response();
    }
    // One token per chunk, `delay` apart; the usage chunk last. A client
    // that goes away drops the stream, and with it the admission.
    let prompt = body.prompt_tokens;
    let total = body.completion_tokens;
    let chunks = futures_util::stream::unfold(
        (Some(admission), 0i64),
        move |(admission, sent)| async move {
            let admission = admission?;
            if sent == total {
                let usage = Usage {
                    prompt_tokens: prompt,
                    completion_tokens: total,
                };
                admission.settle(usage).await;
                let text = format!(
                    "data: {{\"usage\":{{\"prompt_tokens\":{prompt},\"completion_tokens\":{total}}}}}\n\ndata: [DONE]\n\n"
                );
                return Some((Ok::<_, std::io::Error>(text), (None, sent)));
            }
            tokio::time::sleep(delay).await;
            admission.observe(Usage {
                prompt_tokens: prompt,
                completion_tokens: sent + 1,
            });
            Some((
                Ok(format!("data: {{\"token\":{}}}\n\n", sent + 1)),
                (Some(admission), sent + 1),
            ))
        },
    );
    (
        [
            ("x-call-id", id),
            ("content-type", "text/event-stream".to_owned()),
        ],
        axum::body::Body::from_stream(chunks.boxed()),
    )
        .into_response()
}

/// The replica's app.
fn app(gov: Arc<Governance>) -> Router {
    let chat_routes = Router::new()
        .route("/v1/chat/completions", post(chat))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&gov),
            layer::authenticate,
        ))
        .with_state(Arc::clone(&gov));
    chat_routes.merge(api::routes(gov))
}

/// The body of the replica process: serve until SIGTERM, then flush spend.
pub(crate) fn serve_from_env() {
    let Ok(port) = std::env::var("GOV_REPLICA_PORT") else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        let mut config = GovernanceConfig::new(Some(MASTER.to_owned()));
        config.database_url = std::env::var("GOV_DATABASE_URL").ok();
        config.redis = std::env::var("GOV_REDIS_URL").ok().map(|url| {
            let mut c = RedisCountersConfig::new(url);
            c.fail_open = FailOpen::all(std::env::var("GOV_FAIL_OPEN").as_deref() != Ok("0"));
            c
        });
        config.spend = SpendWriterConfig::new(PathBuf::from(
            std::env::var("GOV_SPILL").expect("GOV_SPILL is set"),
        ));
        let gov = Governance::start(config).await.expect("governance starts");
        let listener =
            tokio::net::TcpListener::bind(("127.0.0.1", port.parse::<u16>().expect("port")))
                .await
                .expect("bind");
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        axum::serve(listener, app(Arc::clone(&gov)))
            .with_graceful_shutdown(async move {
                term.recv().await;
            })
            .await
            .expect("serve");
        gov.shutdown().await;
    });
}

/// A replica process.
pub(crate) struct Replica {
    child: Option<Child>,
    /// Its port.
    pub(crate) port: u16,
    env: Vec<(String, String)>,
}

impl Replica {
    /// Start one with these settings (`GOV_DATABASE_URL`, `GOV_REDIS_URL`, `GOV_SPILL`, ...).
    pub(crate) fn start(env: &[(&str, String)]) -> Replica {
        let mut replica = Replica {
            child: None,
            port: super::servers::free_port(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        };
        replica.spawn();
        replica
    }

    fn spawn(&mut self) {
        let exe = std::env::current_exe().expect("the test binary");
        let mut child = Command::new(exe)
            .args(["--ignored", "--exact", "replica_process", "--nocapture"])
            .env("GOV_REPLICA_PORT", self.port.to_string())
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn a replica");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("replica exited during startup: {status}");
            }
            assert!(Instant::now() < deadline, "replica did not listen");
            std::thread::sleep(Duration::from_millis(25));
        }
        self.child = Some(child);
    }

    /// Its base URL.
    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SIGTERM (graceful: in-flight calls finish, spend flushed) and wait.
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }

    /// Stop and start again on the same port and settings.
    pub(crate) fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

//! Helpers of the router tests: deployments on one loopback mock, each under
//! its own path prefix, and a provider wrapper that records when the router
//! dispatched to it.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use llm_runtime::providers::OpenAi;
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::types::RouteOutcome;
use llm_runtime::{
    ChatOptions, ChatRequest, ChatResponse, ChatStream, EmbeddingRequest, EmbeddingResponse,
    LlmProvider, ResponseMeta,
    provider::{HealthStatus, ProviderInfo},
    retry::RetryPolicy,
    router::Deployment,
    types::ModelInfo,
};
use serde_json::json;

pub(crate) const KEY: &str = "sk-router-test-key-never-printed";
pub(crate) const MODEL: &str = "gpt-4o-mini";
pub(crate) const PATIENCE: Duration = Duration::from_secs(10);

/// The chat path of deployment `name` on the mock.
pub(crate) fn path(name: &str) -> String {
    format!("/{name}/v1/chat/completions")
}

/// An OpenAI client for deployment `name` (no retries: the router moves on).
pub(crate) fn provider(server: &MockServer, name: &str) -> llm_runtime::ProviderClient<OpenAi> {
    OpenAi::config()
        .api_key(KEY)
        .base_url(format!("{}/{name}/v1", server.url()))
        .retry_policy(RetryPolicy::none())
        .timeout(PATIENCE)
        .connect()
        .expect("a loopback config is valid")
}

/// Deployment `name` of [`MODEL`] on the mock.
pub(crate) fn deployment(server: &MockServer, name: &str) -> Deployment {
    Deployment::new(provider(server, name), MODEL).id(name)
}

/// A completion with this usage.
pub(crate) fn completion(text: &str, prompt: u32, completion: u32) -> MockResponse {
    MockResponse::json(
        200,
        json!({
            "id": "chatcmpl-1", "object": "chat.completion", "model": MODEL,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
        }),
    )
}

/// `200` answering "ok".
pub(crate) fn ok() -> MockResponse {
    completion("ok", 5, 1)
}

/// An OpenAI-shaped error.
pub(crate) fn error(status: u16, code: &str) -> MockResponse {
    MockResponse::json(
        status,
        json!({"error": {"message": format!("failure {code}"), "type": "invalid_request_error", "code": code}}),
    )
}

/// How many requests deployment `name` received.
pub(crate) fn received(server: &MockServer, name: &str) -> usize {
    let p = path(name);
    server.requests().iter().filter(|r| r.path == p).count()
}

pub(crate) fn request() -> ChatRequest {
    ChatRequest::new("").user("Say hello")
}

/// The trace of a routed answer as (group, deployment, outcome).
pub(crate) fn steps(meta: &ResponseMeta) -> Vec<(String, String, RouteOutcome)> {
    meta.routing
        .as_ref()
        .expect("a group call is traced")
        .steps
        .iter()
        .map(|s| (s.group.clone(), s.deployment.clone(), s.outcome.clone()))
        .collect()
}

pub(crate) fn served_by(meta: &ResponseMeta) -> String {
    meta.routing
        .as_ref()
        .expect("a group call is traced")
        .deployment
        .clone()
}

/// Records the instant of every dispatch to the provider it wraps.
#[derive(Debug)]
pub(crate) struct Recording {
    inner: Arc<dyn LlmProvider>,
    pub(crate) calls: Arc<Mutex<Vec<Instant>>>,
}

impl Recording {
    pub(crate) fn new(inner: impl LlmProvider + 'static) -> (Self, Arc<Mutex<Vec<Instant>>>) {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let me = Recording {
            inner: Arc::new(inner),
            calls: Arc::clone(&calls),
        };
        (me, calls)
    }

    fn record(&self) {
        self.calls
            .lock()
            .expect("not poisoned")
            .push(Instant::now());
    }
}

#[async_trait]
impl LlmProvider for Recording {
    fn info(&self) -> ProviderInfo {
        self.inner.info()
    }
    async fn chat(&self, request: ChatRequest) -> llm_runtime::Result<ChatResponse> {
        self.record();
        self.inner.chat(request).await
    }
    async fn chat_stream(&self, request: ChatRequest) -> llm_runtime::Result<ChatStream> {
        self.record();
        self.inner.chat_stream(request).await
    }
    async fn chat_with(
        &self,
        request: ChatRequest,
        options: &ChatOptions,
    ) -> llm_runtime::Result<ChatResponse> {
        self.record();
        self.inner.chat_with(request, options).await
    }
    async fn chat_stream_with(
        &self,
        request: ChatRequest,
        options: &ChatOptions,
    ) -> llm_runtime::Result<ChatStream> {
        self.record();
        self.inner.chat_stream_with(request, options).await
    }
    async fn embed(&self, request: EmbeddingRequest) -> llm_runtime::Result<EmbeddingResponse> {
        self.inner.embed(request).await
    }
    async fn list_models(&self) -> llm_runtime::Result<Vec<ModelInfo>> {
        self.inner.list_models().await
    }
    async fn health_check(&self) -> HealthStatus {
        self.inner.health_check().await
    }
}

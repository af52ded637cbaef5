//! Providers declared the way a downstream crate would, under the strictest
//! lints: `cargo clippy` (run by CI with `-D warnings`) checks the code the
//! derive generates here with `clippy::pedantic`. This package depends on
//! `llm-runtime` like any user's crate.
#![deny(warnings, missing_docs, unreachable_pub, unused_qualifications)]
#![deny(rust_2018_idioms, unused, let_underscore_drop)]
#![deny(clippy::pedantic)]

use llm_runtime::{
    ChatRequest, ChatResponse, Provider, Result, StreamEvent,
    provider::{HttpParts, RequestContext, Transform},
    stream::{Control, Frame},
};

/// An OpenAI-compatible provider: no transform code.
#[derive(Provider)]
#[provider(name = "groq", base_url = "https://api.groq.com/openai/v1", auth = "bearer",
           env = "GROQ_API_KEY", capabilities(chat, stream, tools, json_mode), dialect = openai)]
pub struct Groq;

/// A provider with settings and its own transforms.
#[derive(Provider, Default)]
#[provider(name = "versioned", base_url = "https://api.example.com/v1", auth(header = "x-api-key"),
           env = "VERSIONED_API_KEY", headers("x-client" = "tests"), timeout_secs = 30,
           models("small"), default_model = "small", health = "GET /models")]
pub struct Versioned {
    /// The API version sent with each request.
    pub api_version: String,
}

/// A provider only this module uses.
#[derive(Provider)]
#[provider(name = "private", base_url = "http://127.0.0.1:9/v1", auth = "none", dialect = openai)]
struct Private;

impl Transform for Versioned {
    type StreamState = ();

    fn build_request(&self, request: &ChatRequest, _ctx: &RequestContext<'_>) -> Result<HttpParts> {
        Ok(HttpParts::get(format!(
            "/chat?version={}&model={}",
            self.api_version, request.model
        )))
    }

    fn parse_response(&self, _body: &[u8], _ctx: &RequestContext<'_>) -> Result<ChatResponse> {
        Err(llm_runtime::Error::unsupported("not in this test"))
    }

    fn parse_stream_event(
        &self,
        _frame: &Frame,
        _state: &mut Self::StreamState,
        _out: &mut Vec<StreamEvent>,
    ) -> Result<Control> {
        Ok(Control::Done)
    }
}

/// Keeps the private provider used, as a downstream crate would.
#[must_use]
pub fn private_spec_name() -> &'static str {
    Private::SPEC.name
}

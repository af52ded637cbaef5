//! OpenTelemetry export of the per-call spans (feature `otel`).
//!
//! Every call runs in an `llm.chat` span whose fields carry the OpenTelemetry
//! GenAI semantic-convention names (v1.37): `gen_ai.operation.name`,
//! `gen_ai.provider.name`, `gen_ai.request.model`, `gen_ai.response.model`,
//! `gen_ai.response.id`, `gen_ai.usage.input_tokens`,
//! `gen_ai.usage.output_tokens`, `gen_ai.response.finish_reasons`,
//! `server.address`, `error.type`; `otel.name` names the exported span
//! `chat {model}` and `otel.kind` makes it a client span. A stream's span ends
//! with the stream. No prompt or completion text is recorded.
//!
//! Install `tracing-opentelemetry`'s layer with your tracer:
//!
//! ```ignore
//! use tracing_subscriber::prelude::*;
//! let tracer = provider.tracer("my-service");
//! tracing_subscriber::registry()
//!     .with(llm_runtime::otel::layer().with_tracer(tracer))
//!     .init();
//! ```

pub use opentelemetry;
pub use tracing_opentelemetry;
pub use tracing_opentelemetry::layer;

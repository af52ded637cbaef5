use std::sync::Arc;

/// A connected provider (stub).
pub struct ProviderClient<P> {
    _provider: Arc<P>,
}

/// Object-safe provider interface (stub).
pub trait LlmProvider: Send + Sync {}

/// What a provider is (stub).
#[derive(Debug, Clone)]
pub struct ProviderInfo {}

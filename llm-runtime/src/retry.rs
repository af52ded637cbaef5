//! Retry policy.
/// Retry settings (stub).
#[derive(Debug, Clone, Default)]
pub struct RetryPolicy {}

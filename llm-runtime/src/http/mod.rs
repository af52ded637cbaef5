//! The shared HTTP client.

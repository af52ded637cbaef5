//! The shared HTTP client: one pooled `reqwest::Client` for every provider.

mod client;
mod request;

pub use client::{HttpClient, is_loopback_host};
pub use request::{HttpRequest, HttpResponse};

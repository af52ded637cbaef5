//! A loopback mock upstream for tests (feature `testing`).
//!
//! [`MockServer`] listens on `127.0.0.1` only and speaks real HTTP/1.1 with
//! keep-alive, so a test exercises the whole client stack (pooling, gzip,
//! chunked streams, timeouts, connection errors) without the network:
//!
//! - script answers per route with [`MockServer::on`] and [`MockServer::on_sequence`],
//!   built with [`MockResponse`] (JSON, text, bytes, SSE, NDJSON, redirects, gzip, delays);
//! - send bytes no well-behaved server would with [`MockResponse::raw`] (any status
//!   line, header bytes and framing, split anywhere);
//! - inject transport failures with [`Fault`] (resets, abrupt closes, stalls, before
//!   the headers or mid-body);
//! - inspect what the client sent with [`MockServer::requests`] ([`RecordedRequest`]);
//! - observe the client's connection reuse with [`MockServer::connections_accepted`]
//!   and [`MockServer::connections_open`].
//!
//! Everything the server runs lives on tokio tasks that end when the
//! [`MockServer`] is dropped.
#![cfg_attr(docsrs, doc(cfg(feature = "testing")))]

mod connection;
mod control;
mod raw;
mod recorded;
mod replay;
mod reply;
mod response;
mod script;
mod server;
mod shared;

pub use recorded::RecordedRequest;
pub use replay::{assert_split_invariant, replay_response, replay_stream};
pub use response::{Fault, MockResponse};
pub use server::MockServer;

#[cfg(test)]
mod tests;

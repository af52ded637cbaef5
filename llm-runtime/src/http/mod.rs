//! The shared HTTP client: one pooled `reqwest::Client` for every provider.

mod byte_stream;
mod client;
pub(crate) mod endpoint_urls;
pub(crate) mod exchange;
mod multipart;
mod path_segment;
pub(crate) mod poll;
mod request;

pub use crate::error::sensitive::{SENSITIVE_NAME_PARTS, is_sensitive_header};
pub(crate) use crate::error::sensitive::{mark as mark_sensitive, value_secrets};
pub use byte_stream::ByteStream;
pub use client::{HttpClient, HttpClientBuilder, is_loopback_host};
pub use multipart::Multipart;
pub use path_segment::path_segment;
pub use poll::PollPolicy;
pub use request::{HttpRequest, HttpResponse};

/// The `http` crate's types that appear in this crate's API (e.g. an `error = path` mapper's `&HeaderMap`).
pub use ::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};

use crate::error::{Error, ErrorKind};

/// The error of a failed read of a response body.
///
/// With the `gzip` feature on, reqwest reports *every* failure under a body it
/// could decompress as a decode error wrapping a body error: a connection reset
/// or closed mid-body as well as bytes that do not decompress. The first is a
/// broken transfer ([`ErrorKind::Network`], retryable before a stream starts),
/// the second bad bytes ([`ErrorKind::Decode`]). Decompressors fail with an
/// `io::Error` of kind `InvalidData` or `Other`; a broken connection shows as
/// another I/O kind (reset, EOF...) or as a protocol error with no I/O cause.
pub(crate) fn body_read_error(e: reqwest::Error) -> Error {
    if !e.is_decode() || e.is_timeout() {
        return Error::from(e);
    }
    // The cause is a reqwest body error when the request had a timeout (reqwest
    // wraps the body then), or the bare hyper/io error when it had none (streams).
    let Some(body) = causes(&e).skip(1).find(|c| {
        c.downcast_ref::<reqwest::Error>()
            .is_none_or(reqwest::Error::is_body)
    }) else {
        return Error::from(e);
    };
    let bad_bytes = causes(body).any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|io| {
            matches!(
                io.kind(),
                std::io::ErrorKind::InvalidData | std::io::ErrorKind::Other
            )
        })
    });
    if bad_bytes {
        return Error::from(e);
    }
    let mut message = "the connection broke while reading the response body".to_owned();
    let skip = usize::from(body.downcast_ref::<reqwest::Error>().is_some());
    for cause in causes(body).skip(skip) {
        message.push_str(": ");
        message.push_str(&cause.to_string());
    }
    Error::new(ErrorKind::Network, message).with_source(e.without_url())
}

/// `e` and its chain of sources.
fn causes<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(e), |c| c.source())
}

/// The error of a failed send.
///
/// A redirect the client refused (to another origin, or too many) is not
/// transient: it is a [`ErrorKind::Config`] error naming the fix, never retried.
pub(crate) fn send_error(e: reqwest::Error) -> Error {
    if !e.is_redirect() {
        return Error::from(e);
    }
    let mut message = "the upstream answered with a redirect that was not followed".to_owned();
    for cause in causes(&e).skip(1) {
        message.push_str(": ");
        message.push_str(&cause.to_string());
    }
    message.push_str(" (point the base URL at the final address)");
    Error::new(ErrorKind::Config, message).with_source(e.without_url())
}

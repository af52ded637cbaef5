//! What the transport knows about an answer, beside the answer itself: the
//! provider's request id, its rate-limit headers, the attempts it took, the
//! latencies and the route that served it.

use std::time::Duration;

use http::{HeaderMap, HeaderName};

use crate::error::{count, delay_from_go, delay_until_rfc3339, header_text};

/// Metadata of one answer ([`ChatResponse::meta`](crate::ChatResponse::meta),
/// [`ChatStream::meta`](crate::ChatStream::meta)).
///
/// It describes the transport, not the answer, so it takes no part in
/// comparing two responses: `==` on [`ChatResponse`](crate::ChatResponse)
/// ignores it (a streamed and a non-streamed answer are equal when their
/// content is).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ResponseMeta {
    /// The provider's request id (`x-request-id`, `request-id`...), for support tickets.
    pub request_id: Option<String>,
    /// The rate-limit headers, parsed.
    pub rate_limits: RateLimits,
    /// How many attempts the call took (1 when the first one succeeded).
    pub attempts: u32,
    /// From the call to the response headers of the attempt that succeeded.
    pub latency_to_headers: Duration,
    /// From the call to the whole answer (for a stream: to its headers, as
    /// known when the stream starts).
    pub latency: Duration,
    /// The route that served the call (`provider/model`), set by
    /// [`Client`](crate::Client), after fallbacks.
    pub route: Option<String>,
    /// How a model group's router chose the deployment that served the call:
    /// every deployment considered, in order, and what happened there. `None`
    /// for a call to a plain `provider/model` route.
    pub routing: Option<Box<RoutingTrace>>,
    /// The cost of an operation beyond chat (images, speech, transcription,
    /// rerank, moderation) in US dollars, from the catalog's per-operation
    /// prices: `Some(0.0)` where the operation is free (moderation), `None`
    /// where the catalog has no price for the model, or the answer lacks what
    /// the price counts (a transcript without its duration). A chat's cost
    /// is [`catalog::response_cost`](crate::catalog::response_cost).
    pub cost_usd: Option<f64>,
    /// The answer's body as the upstream sent it, when the call asked for
    /// the provider's format ([`ChatOptions::keep_wire`](crate::ChatOptions::keep_wire)).
    /// A streamed answer keeps its frames instead ([`ChatStream::take_frames`](crate::ChatStream::take_frames)).
    pub wire: Option<super::native::WireAnswer>,
}

impl PartialEq for ResponseMeta {
    /// Always equal: metadata is not part of an answer's content.
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl ResponseMeta {
    /// The metadata a response's headers give.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        ResponseMeta {
            request_id: crate::error::request_id_from_headers(headers),
            rate_limits: RateLimits::from_headers(headers),
            ..ResponseMeta::default()
        }
    }
}

/// The route a model group's router took for one call, and why
/// ([`ResponseMeta::routing`]).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct RoutingTrace {
    /// The group the caller named.
    pub group: String,
    /// The group whose deployment served the call (differs from `group` after a fallback).
    pub served_group: String,
    /// The id of the deployment that served the call.
    pub deployment: String,
    /// The strategy that ordered the deployments (`weighted-random`, `least-busy`...).
    pub strategy: String,
    /// Each deployment considered and each fallback taken, in order.
    pub steps: Vec<RouteStep>,
    /// What the router wants the caller to know, e.g. that it kept the last
    /// healthy deployment of a group in rotation instead of cooling it down.
    pub notes: Vec<String>,
}

/// One step of a [`RoutingTrace`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RouteStep {
    /// The group the step happened in.
    pub group: String,
    /// The deployment id, or the group fallen back to for [`RouteOutcome::FellBack`].
    pub deployment: String,
    /// What happened.
    pub outcome: RouteOutcome,
}

/// What happened at one deployment (or between two groups).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RouteOutcome {
    /// It served the call.
    Served,
    /// Skipped before dispatch: the counted prompt plus `max_tokens` does not
    /// fit its context window.
    ContextWindowTooSmall {
        /// Counted prompt tokens plus `max_tokens`.
        needed: u64,
        /// The deployment's context window.
        window: u64,
    },
    /// Skipped: cooling down for this much longer (or probing, half-open).
    CoolingDown {
        /// Time left; zero while a half-open probe is in flight.
        remaining: Duration,
    },
    /// Skipped: a limit had no room for this call's reservation.
    LimitReached {
        /// The scope whose limit was full (`group:NAME` or `deployment:ID`).
        scope: String,
    },
    /// Skipped: the shared state did not answer in time and this scope's
    /// limit is fail-closed.
    StateUnavailable {
        /// The fail-closed scope.
        scope: String,
    },
    /// Dispatched and failed with this kind of error.
    Failed(crate::error::ErrorKind),
    /// Every deployment of the group failed or was skipped; the router moved
    /// to the group named in [`RouteStep::deployment`].
    FellBack(FallbackClass),
}

/// Why a router moved from one model group to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FallbackClass {
    /// A retryable error (rate limit, overload, timeout...) after the group's
    /// deployments and their own retries.
    Generic,
    /// The prompt does not fit the group's context windows: a group with a larger one.
    ContextWindow,
    /// The provider's content policy refused the call: another group.
    ContentPolicy,
}

impl FallbackClass {
    /// The class an error falls back as, if any.
    pub fn of(error: &crate::error::Error) -> Option<FallbackClass> {
        use crate::error::ErrorKind;
        match error.kind() {
            ErrorKind::ContextWindowExceeded => Some(FallbackClass::ContextWindow),
            ErrorKind::ContentFilter => Some(FallbackClass::ContentPolicy),
            _ if error.is_retryable() => Some(FallbackClass::Generic),
            _ => None,
        }
    }
}

/// Rate-limit state as the provider reported it, where it did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimits {
    /// Requests per window.
    pub requests: Option<RateLimit>,
    /// Tokens per window.
    pub tokens: Option<RateLimit>,
}

/// One rate limit: its size, what is left, and when it resets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// The limit.
    pub limit: Option<u64>,
    /// What is left of it.
    pub remaining: Option<u64>,
    /// How long until it resets (from when the headers were read).
    pub reset: Option<Duration>,
}

impl RateLimits {
    /// OpenAI's `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` (reset
    /// as a duration: `6m0s`, `1.5s`, `20ms`) and Anthropic's
    /// `anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}` (reset as
    /// an RFC 3339 time).
    pub fn from_headers(headers: &HeaderMap) -> Self {
        // Every answer passes here: without any rate-limit header (one pass
        // over the names, no hashing, no allocation) there is nothing to parse.
        let any = headers.keys().any(|k| {
            let k = k.as_str();
            k.starts_with("x-ratelimit-") || k.starts_with("anthropic-ratelimit-")
        });
        if !any {
            return RateLimits::default();
        }
        // Every value goes through the one wire parser: a count that is not
        // a plain u64, or a reset that is not a valid duration or date, is
        // ignored, never an overflow.
        let get = |name: &HeaderName| header_text(headers, name);
        let number = |name: &HeaderName| get(name).and_then(count);
        // [limit, remaining, reset] of requests, then of tokens.
        let one = |openai: &[HeaderName; 3], anthropic: &[HeaderName; 3]| {
            let openai = RateLimit {
                limit: number(&openai[0]),
                remaining: number(&openai[1]),
                reset: get(&openai[2]).and_then(delay_from_go),
            };
            let anthropic = RateLimit {
                limit: number(&anthropic[0]),
                remaining: number(&anthropic[1]),
                reset: get(&anthropic[2]).and_then(delay_until_rfc3339),
            };
            [openai, anthropic]
                .into_iter()
                .find(|l| l.limit.is_some() || l.remaining.is_some() || l.reset.is_some())
        };
        RateLimits {
            requests: one(&OPENAI_REQUESTS, &ANTHROPIC_REQUESTS),
            tokens: one(&OPENAI_TOKENS, &ANTHROPIC_TOKENS),
        }
    }
}

const OPENAI_REQUESTS: [HeaderName; 3] = [
    HeaderName::from_static("x-ratelimit-limit-requests"),
    HeaderName::from_static("x-ratelimit-remaining-requests"),
    HeaderName::from_static("x-ratelimit-reset-requests"),
];
const OPENAI_TOKENS: [HeaderName; 3] = [
    HeaderName::from_static("x-ratelimit-limit-tokens"),
    HeaderName::from_static("x-ratelimit-remaining-tokens"),
    HeaderName::from_static("x-ratelimit-reset-tokens"),
];
const ANTHROPIC_REQUESTS: [HeaderName; 3] = [
    HeaderName::from_static("anthropic-ratelimit-requests-limit"),
    HeaderName::from_static("anthropic-ratelimit-requests-remaining"),
    HeaderName::from_static("anthropic-ratelimit-requests-reset"),
];
const ANTHROPIC_TOKENS: [HeaderName; 3] = [
    HeaderName::from_static("anthropic-ratelimit-tokens-limit"),
    HeaderName::from_static("anthropic-ratelimit-tokens-remaining"),
    HeaderName::from_static("anthropic-ratelimit-tokens-reset"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.insert(
                http::HeaderName::from_bytes(n.as_bytes()).expect("name"),
                http::HeaderValue::from_str(v).expect("value"),
            );
        }
        h
    }

    #[test]
    fn openai_rate_limits() {
        // The headers OpenAI documents ("Rate limits" guide).
        let h = headers(&[
            ("x-ratelimit-limit-requests", "60"),
            ("x-ratelimit-limit-tokens", "150000"),
            ("x-ratelimit-remaining-requests", "59"),
            ("x-ratelimit-remaining-tokens", "149984"),
            ("x-ratelimit-reset-requests", "1s"),
            ("x-ratelimit-reset-tokens", "6m0s"),
        ]);
        let r = RateLimits::from_headers(&h);
        assert_eq!(
            r.requests,
            Some(RateLimit {
                limit: Some(60),
                remaining: Some(59),
                reset: Some(Duration::from_secs(1))
            })
        );
        assert_eq!(
            r.tokens,
            Some(RateLimit {
                limit: Some(150_000),
                remaining: Some(149_984),
                reset: Some(Duration::from_secs(360))
            })
        );
    }

    #[test]
    fn anthropic_rate_limits() {
        let h = headers(&[
            ("anthropic-ratelimit-requests-limit", "50"),
            ("anthropic-ratelimit-requests-remaining", "49"),
            ("anthropic-ratelimit-requests-reset", "2000-01-01T00:00:00Z"),
            ("anthropic-ratelimit-tokens-limit", "40000"),
            ("anthropic-ratelimit-tokens-remaining", "39000"),
            (
                "anthropic-ratelimit-tokens-reset",
                "2999-01-01T00:00:00+01:00",
            ),
        ]);
        let r = RateLimits::from_headers(&h);
        let req = r.requests.expect("requests");
        assert_eq!((req.limit, req.remaining), (Some(50), Some(49)));
        assert_eq!(req.reset, Some(Duration::ZERO), "a past reset is now");
        let tok = r.tokens.expect("tokens");
        assert_eq!((tok.limit, tok.remaining), (Some(40_000), Some(39_000)));
        assert!(tok.reset.expect("future") > Duration::from_secs(365 * 24 * 3600));
    }

    #[test]
    fn durations_and_dates() {
        assert_eq!(delay_from_go("20ms"), Some(Duration::from_millis(20)));
        assert_eq!(
            delay_from_go("1h2m3.5s"),
            Some(Duration::from_secs_f64(3723.5))
        );
        assert_eq!(delay_from_go("soon"), None);
        assert_eq!(delay_from_go(""), None);
    }

    #[test]
    fn absurd_values_are_ignored_not_overflowed() {
        let max = crate::error::MAX_DELAY;
        // (reset header value, parsed reset)
        let anthropic: &[(&str, Option<Duration>)] = &[
            ("2026-01-01T00:00:00+99999999999999:00", None),
            ("2026-01-01T00:00:00-9223372036854775807:00", None),
            ("2026-01-01T00:00:00+24:00", None),
            ("2026-01-01T00:00:00+01:60", None),
            ("2026-02-30T00:00:00Z", None),
            ("2026-01-01T00:00:infZ", None),
            ("2026-01-01T00:00:NaNZ", None),
            ("+026-01-01T00:00:00Z", None),
            ("2026-01-01T00:00:00.Z", None),
            ("9999-12-31T23:59:60.999Z", Some(max)),
            ("0000-01-01T00:00:00Z", Some(Duration::ZERO)),
        ];
        for (value, expected) in anthropic {
            let h = headers(&[
                ("anthropic-ratelimit-requests-limit", "50"),
                ("anthropic-ratelimit-requests-reset", value),
            ]);
            let r = RateLimits::from_headers(&h).requests.expect("limit");
            assert_eq!(r.reset, *expected, "{value}");
            assert_eq!(r.limit, Some(50));
        }
        let openai: &[(&str, Option<Duration>)] = &[
            ("99999999999999999999999h", Some(max)),
            (&"9".repeat(400), None),
            (&format!("{}s", "9".repeat(400)), None),
            ("-1s", None),
            ("1e9s", None),
            ("1..5s", None),
            ("NaNs", None),
            ("1h1h1h1h", Some(Duration::from_secs(4 * 3600))),
        ];
        for (value, expected) in openai {
            let h = headers(&[("x-ratelimit-reset-tokens", value)]);
            let got = RateLimits::from_headers(&h).tokens.and_then(|t| t.reset);
            assert_eq!(got, *expected, "{value}");
        }
        for (value, expected) in [
            ("18446744073709551615", Some(u64::MAX)),
            ("18446744073709551616", None),
            ("-1", None),
            ("+1", None),
            ("1.5", None),
            ("1e3", None),
            (" 7 ", Some(7)),
        ] {
            let h = headers(&[("x-ratelimit-remaining-requests", value)]);
            let got = RateLimits::from_headers(&h)
                .requests
                .and_then(|r| r.remaining);
            assert_eq!(got, expected, "{value}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_rate_limit_value_is_bounded_or_ignored(
            values in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40), 12),
            texts in proptest::collection::vec("[-+0-9:.TZzhmsun µ]{0,40}", 12),
        ) {
            let names = [
                "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests",
                "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens",
                "anthropic-ratelimit-requests-limit", "anthropic-ratelimit-requests-remaining",
                "anthropic-ratelimit-requests-reset", "anthropic-ratelimit-tokens-limit",
                "anthropic-ratelimit-tokens-remaining", "anthropic-ratelimit-tokens-reset",
            ];
            for set in [values.iter().map(Vec::as_slice).collect::<Vec<_>>(), texts.iter().map(|t| t.as_bytes()).collect()] {
                let mut h = HeaderMap::new();
                for (name, value) in names.iter().zip(set) {
                    if let Ok(v) = http::HeaderValue::from_bytes(value) {
                        h.insert(*name, v);
                    }
                }
                let r = RateLimits::from_headers(&h);
                for limit in [r.requests, r.tokens].into_iter().flatten() {
                    proptest::prop_assert!(limit.reset.is_none_or(|d| d <= crate::error::MAX_DELAY));
                }
            }
        }
    }

    #[test]
    fn no_headers_no_limits() {
        assert_eq!(
            RateLimits::from_headers(&HeaderMap::new()),
            RateLimits::default()
        );
    }
}

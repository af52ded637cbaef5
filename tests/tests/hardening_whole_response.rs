//! Hardening (issue 11): whole upstream responses (any status, header values,
//! body bytes and chunking, and responses no well-behaved server sends) driven
//! through `ProviderClient` for every dialect over the loopback mock, with
//! `chat`, `chat_stream(..).collect_response()` and a stream polled by hand.
//!
//! Properties, for every response:
//! - no panic;
//! - each call returns within `timeout × attempts + margin` (and never hangs:
//!   each call runs under an outer hang guard);
//! - a failed call is a typed error, and a stream that yields an error ends
//!   there (`None` after it, and `None` again when polled after `None`);
//! - a non-2xx status, or an error payload of any provider's shape under any
//!   status, is never a success, and a streamed success is never empty;
//! - `collect_response` and the stream read by hand agree.
//!
//! Cases are generated from a fixed seed (override: `HARDENING_SEED`), 64 per
//! dialect (override: `PROPTEST_CASES`). Rather than stop at the first failure,
//! each run goes through every case, shrinks the first case of each distinct
//! failure, and reports them all with their minimal input.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{FutureExt, StreamExt};
use llm_runtime::providers::{
    Anthropic, AzureOpenAi, Cohere, Gemini, Ollama, OpenAi, OpenAiResponses,
};
use llm_runtime::testing::{Fault, MockResponse, MockServer};
use llm_runtime::{ChatRequest, ChatResponse, Error, Provider, ProviderClient, retry::RetryPolicy};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::Value;

use common::conformance::loopback_config;
use common::{KEY, http_date_in};

/// The configured whole-call bound of the main properties.
const TIMEOUT: Duration = Duration::from_secs(2);
/// The bound of the stall property (each stalled case waits it out).
const STALL_TIMEOUT: Duration = Duration::from_millis(500);
/// Scheduling slack on a loaded 2-core machine, over `timeout × attempts`.
const MARGIN: Duration = Duration::from_secs(3);
/// How much longer than its bound a call may run before it counts as hung.
const HANG_GUARD: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------
// Dialects.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    OpenAi,
    Anthropic,
    Gemini,
    Ollama,
    Cohere,
    AzureOpenAi,
    OpenAiResponses,
}

const DIALECTS: [Dialect; 7] = [
    Dialect::OpenAi,
    Dialect::Anthropic,
    Dialect::Gemini,
    Dialect::Ollama,
    Dialect::Cohere,
    Dialect::AzureOpenAi,
    Dialect::OpenAiResponses,
];

impl Dialect {
    /// The folder of its fixtures under `tests/fixtures`.
    fn fixtures(self) -> &'static str {
        match self {
            Dialect::OpenAi | Dialect::AzureOpenAi => "openai",
            Dialect::Anthropic => "anthropic",
            Dialect::Gemini => "gemini",
            Dialect::Ollama => "ollama",
            Dialect::Cohere => "cohere",
            Dialect::OpenAiResponses => "openai_responses",
        }
    }
}

// ---------------------------------------------------------------------------
// Bodies: fixtures, error payloads of every shape, and their damaged forms.

/// A body the generator draws from.
#[derive(Debug, Clone)]
struct Source {
    name: String,
    bytes: Vec<u8>,
    /// An error of some provider's shape (any call answered with it must fail).
    error: bool,
}

/// Error payloads of every provider's shape, whole and streamed.
fn error_payloads() -> Vec<Source> {
    let pydantic = r#"[{"loc":["body","messages",0,"content"],"msg":"field required","type":"value_error.missing"}]"#;
    let payloads = [
        ("openai", r#"{"error":{"message":"Rate limit reached for requests","type":"requests","code":"rate_limit_exceeded"}}"#.to_owned()),
        ("openai-key-echo", format!(r#"{{"error":{{"message":"Incorrect API key provided: {KEY}. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}}}"#)),
        ("openai-context", r#"{"error":{"message":"This model's maximum context length is 8192 tokens","type":"invalid_request_error","code":"context_length_exceeded"}}"#.to_owned()),
        ("openai-nulls", r#"{"error":{"message":null,"type":null,"code":null}}"#.to_owned()),
        ("anthropic", r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#.to_owned()),
        ("gemini", r#"{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED"}}"#.to_owned()),
        ("gemini-array", r#"[{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}]"#.to_owned()),
        ("gemini-retry-info", r#"{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1e20s"}]}}"#.to_owned()),
        ("gemini-retry-info-bad", r#"{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"-18446744073709551616.5s"}]}}"#.to_owned()),
        ("pydantic", format!(r#"{{"detail":{pydantic}}}"#)),
        ("pydantic-nested", format!(r#"{{"error":{{"detail":{pydantic}}}}}"#)),
        ("fastapi", r#"{"detail":"Not Found"}"#.to_owned()),
        ("vllm", r#"{"object":"error","message":"The model `x` does not exist.","type":"NotFoundError","param":null,"code":404}"#.to_owned()),
        ("plain", r#"{"error":"plain text"}"#.to_owned()),
        ("ollama", r#"{"error":"model \"llama3.2\" not found, try pulling it first"}"#.to_owned()),
        ("cohere", r#"{"id":"4f5e","message":"invalid api token"}"#.to_owned()),
        ("html", "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>".to_owned()),
        ("openai-sse", "data: {\"error\":{\"message\":\"The server had an error while processing your request\",\"type\":\"server_error\"}}\n\n".to_owned()),
        ("anthropic-sse", "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n".to_owned()),
        ("ollama-ndjson", "{\"error\":\"an error was encountered while running the model\"}\n".to_owned()),
    ];
    payloads
        .into_iter()
        .map(|(name, body)| Source {
            name: format!("error payload {name}"),
            bytes: body.into_bytes(),
            error: true,
        })
        .collect()
}

/// The dialect's fixtures (its `error_*` ones are error payloads).
fn fixtures(dialect: Dialect) -> Vec<Source> {
    let dir = format!(
        "{}/fixtures/{}",
        env!("CARGO_MANIFEST_DIR"),
        dialect.fixtures()
    );
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| Source {
            bytes: std::fs::read(format!("{dir}/{name}")).expect("a fixture is readable"),
            error: name.starts_with("error_"),
            name,
        })
        .collect()
}

/// What replaces a field of a fixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Replacement {
    Null,
    HugeInt,
    HugeFloat,
    Overflowing,
    Negative,
    NegativeZero,
    Float,
    Text,
    LongText,
    True,
    EmptyArray,
    EmptyObject,
    Deep,
}

const REPLACEMENTS: [Replacement; 13] = [
    Replacement::Null,
    Replacement::HugeInt,
    Replacement::HugeFloat,
    Replacement::Overflowing,
    Replacement::Negative,
    Replacement::NegativeZero,
    Replacement::Float,
    Replacement::Text,
    Replacement::LongText,
    Replacement::True,
    Replacement::EmptyArray,
    Replacement::EmptyObject,
    Replacement::Deep,
];

/// A number JSON allows but `serde_json::Value` cannot hold, written in after serializing.
const SENTINEL: &str = "@@hardening-number@@";

impl Replacement {
    fn value(self) -> Value {
        match self {
            Replacement::Null => Value::Null,
            Replacement::Negative => Value::from(-1),
            Replacement::Float => Value::from(0.5),
            Replacement::Text => Value::from("x"),
            Replacement::LongText => Value::from("é".repeat(5000)),
            Replacement::True => Value::Bool(true),
            Replacement::EmptyArray => Value::Array(Vec::new()),
            Replacement::EmptyObject => Value::Object(Default::default()),
            Replacement::HugeInt
            | Replacement::HugeFloat
            | Replacement::Overflowing
            | Replacement::NegativeZero
            | Replacement::Deep => Value::from(SENTINEL),
        }
    }

    /// The text the sentinel stands for.
    fn literal(self) -> String {
        match self {
            Replacement::HugeInt => "18446744073709551616".to_owned(),
            Replacement::HugeFloat => "1e20".to_owned(),
            Replacement::Overflowing => "1e400".to_owned(),
            Replacement::NegativeZero => "-0".to_owned(),
            Replacement::Deep => format!("{}{}", "[".repeat(200), "]".repeat(200)),
            _ => String::new(),
        }
    }
}

/// Every JSON pointer into `value`.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let p = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(v, p, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(v, p, out);
            }
        }
        _ => {}
    }
}

/// `json` with the field `pick` selects replaced; `None` when it is not JSON
/// or has no field.
fn mutate_json(json: &str, pick: Index, with: Replacement) -> Option<String> {
    let mut value: Value = serde_json::from_str(json).ok()?;
    let mut all = Vec::new();
    pointers(&value, String::new(), &mut all);
    if all.is_empty() {
        return None;
    }
    let pointer = &all[pick.index(all.len())];
    *value.pointer_mut(pointer)? = with.value();
    let text = value.to_string();
    Some(text.replace(&format!("\"{SENTINEL}\""), &with.literal()))
}

/// `body` (JSON, SSE or NDJSON) with one field of one JSON document replaced.
fn mutate(body: &[u8], line: Index, pick: Index, with: Replacement) -> Vec<u8> {
    let text = String::from_utf8_lossy(body);
    if let Some(mutated) = mutate_json(&text, pick, with) {
        return mutated.into_bytes();
    }
    // A stream: one JSON document per `data:` line (SSE) or per line (NDJSON).
    let lines: Vec<&str> = text.split('\n').collect();
    let json_lines: Vec<usize> = (0..lines.len())
        .filter(|&i| {
            let l = lines[i].strip_prefix("data:").unwrap_or(lines[i]).trim();
            l.starts_with('{') || l.starts_with('[')
        })
        .collect();
    if json_lines.is_empty() {
        return body.to_vec();
    }
    let target = json_lines[line.index(json_lines.len())];
    let (prefix, json) = match lines[target].strip_prefix("data:") {
        Some(rest) => ("data: ", rest.trim()),
        None => ("", lines[target].trim()),
    };
    let Some(mutated) = mutate_json(json, pick, with) else {
        return body.to_vec();
    };
    let mut out: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    out[target] = format!("{prefix}{mutated}");
    out.join("\n").into_bytes()
}

/// The body of a case, and what it was made from.
#[derive(Clone)]
struct Body {
    label: String,
    bytes: Vec<u8>,
    /// A whole error payload: no call may succeed on it.
    error: bool,
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} b\"{}\"", self.label, escaped(&self.bytes, 200))
    }
}

fn body_strategy(sources: Arc<Vec<Source>>) -> impl Strategy<Value = Body> {
    let pick = {
        let sources = Arc::clone(&sources);
        move |i: Index| sources[i.index(sources.len())].clone()
    };
    let whole = any::<Index>().prop_map({
        let pick = pick.clone();
        move |i| {
            let s = pick(i);
            Body {
                label: s.name,
                bytes: s.bytes,
                error: s.error,
            }
        }
    });
    let truncated = (any::<Index>(), any::<Index>()).prop_map({
        let pick = pick.clone();
        move |(i, cut)| {
            let s = pick(i);
            let at = cut.index(s.bytes.len().max(1));
            Body {
                label: format!("{} cut at {at}", s.name),
                bytes: s.bytes[..at.min(s.bytes.len())].to_vec(),
                error: false,
            }
        }
    });
    let mutated = (
        any::<Index>(),
        any::<Index>(),
        any::<Index>(),
        prop::sample::select(REPLACEMENTS.to_vec()),
    )
        .prop_map(move |(i, line, field, with)| {
            let s = pick(i);
            Body {
                label: format!("{} with a field set to {with:?}", s.name),
                bytes: mutate(&s.bytes, line, field, with),
                error: false,
            }
        });
    let random = prop::collection::vec(any::<u8>(), 0..400).prop_map(|bytes| Body {
        label: "random bytes".to_owned(),
        bytes,
        error: false,
    });
    prop_oneof![
        3 => whole,
        2 => truncated,
        3 => mutated,
        1 => random,
        1 => Just(Body { label: "empty".to_owned(), bytes: Vec::new(), error: false }),
    ]
}

// ---------------------------------------------------------------------------
// Statuses and headers.

fn status_strategy() -> impl Strategy<Value = u16> {
    prop_oneof![
        5 => Just(200u16),
        1 => 201u16..=299,
        3 => prop::sample::select(vec![400u16, 401, 402, 403, 404, 408, 409, 413, 422, 429, 429]),
        1 => 400u16..=499,
        3 => prop::sample::select(vec![500u16, 502, 503, 504, 529]),
        1 => 500u16..=599,
        1 => 100u16..=399,
    ]
}

/// Header values with numbers, dates and garbage; `raw` allows bytes a
/// well-behaved server never sends (controls), which only the raw mode can carry.
fn header_value_strategy() -> impl Strategy<Value = Vec<u8>> {
    let interesting = prop::sample::select(vec![
        "0".to_owned(),
        "1".to_owned(),
        "-1".to_owned(),
        "0.2".to_owned(),
        "1.5".to_owned(),
        "1e20".to_owned(),
        "1e23".to_owned(),
        "1e400".to_owned(),
        "-1e20".to_owned(),
        "18446744073709551616".to_owned(),
        "18446744073709551615".to_owned(),
        "9223372036854775808".to_owned(),
        "340282366920938463463374607431768211456".to_owned(),
        "NaN".to_owned(),
        "inf".to_owned(),
        "-inf".to_owned(),
        "-0".to_owned(),
        " 2 ".to_owned(),
        "0x10".to_owned(),
        "100000".to_owned(),
        "true".to_owned(),
        "false".to_owned(),
        String::new(),
        "Wed, 21 Oct 2015 07:28:00 GMT".to_owned(),
        "Thu, 01 Jan 1970 00:00:00 GMT".to_owned(),
        "Fri, 31 Dec 9999 23:59:59 GMT".to_owned(),
        "Sun, 06 Nov 1994 08:49:37 GMT".to_owned(),
        "Sunday, 06-Nov-94 08:49:37 GMT".to_owned(),
        "Sun Nov  6 08:49:37 1994".to_owned(),
        "Mon, 32 Foo 2025 99:99:99 GMT".to_owned(),
        http_date_in(1),
        http_date_in(3600),
        "application/json".to_owned(),
        "text/event-stream".to_owned(),
        "text/event-stream; charset=utf-8".to_owned(),
        "application/x-ndjson".to_owned(),
        "text/html".to_owned(),
        "application/json; charset=\u{e9}".to_owned(),
        "gzip".to_owned(),
    ])
    .prop_map(String::into_bytes);
    let garbage = prop::collection::vec(
        prop_oneof![0x20u8..=0x7e, 0x80u8..=0xff, Just(b'\t')],
        0..24,
    );
    let controls = prop::collection::vec(any::<u8>(), 0..12);
    prop_oneof![
        6 => interesting,
        1 => any::<i64>().prop_map(|n| n.to_string().into_bytes()),
        1 => any::<f64>().prop_map(|n| format!("{n:e}").into_bytes()),
        1 => (any::<u32>(), 0u32..100).prop_map(|(secs, millis)| format!("{secs}.{millis:02}").into_bytes()),
        2 => garbage,
        1 => controls,
    ]
}

fn header_strategy() -> impl Strategy<Value = (String, Vec<u8>)> {
    let name = prop::sample::select(vec![
        "retry-after",
        "retry-after",
        "retry-after-ms",
        "x-should-retry",
        "content-type",
        "content-type",
        "x-request-id",
        "request-id",
        "content-encoding",
        "x-ratelimit-reset-requests",
        "anthropic-ratelimit-requests-reset",
        "x-odd-header",
    ]);
    (name.prop_map(str::to_owned), header_value_strategy())
}

/// Every response header the runtime parses a value of (issue 23): the
/// rate-limit families, the retry hints, the request ids and AWS's error type.
const PARSED_HEADERS: &[&str] = &[
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-reset-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-tokens",
    "anthropic-ratelimit-requests-limit",
    "anthropic-ratelimit-requests-remaining",
    "anthropic-ratelimit-requests-reset",
    "anthropic-ratelimit-tokens-limit",
    "anthropic-ratelimit-tokens-remaining",
    "anthropic-ratelimit-tokens-reset",
    "retry-after",
    "retry-after-ms",
    "x-should-retry",
    "x-request-id",
    "request-id",
    "x-goog-request-id",
    "x-amzn-requestid",
    "cf-ray",
    "x-amzn-errortype",
];

/// Digit strings of 1 to `max - 1` digits.
fn digits(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(b'0'..=b'9', 1..max).prop_map(|d| d.into_iter().map(char::from).collect())
}

/// RFC 3339 instants (Anthropic's resets) with every field pushed out of
/// range now and then: any year, offset and fraction; mostly well-formed
/// around the odd field, so the parser reaches its arithmetic.
fn rfc3339_strategy() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![4 => (1000u32..=9999).prop_map(|y| y.to_string()), 1 => digits(6)],
        prop_oneof![4 => 1u32..=12, 1 => 0u32..100],
        prop_oneof![4 => 1u32..=28, 1 => 0u32..100],
        prop::sample::select(vec!["+", "+", "-", "-", "Z", "z", ""]),
        digits(24),
        digits(4),
        prop::option::of(digits(30)),
    )
        .prop_map(|(year, month, day, sign, hours, minutes, fraction)| {
            let fraction = fraction.map(|f| format!(".{f}")).unwrap_or_default();
            let zone = match sign {
                "+" | "-" => format!("{sign}{hours}:{minutes}"),
                other => other.to_owned(),
            };
            format!("{year}-{month:02}-{day:02}T23:59:60{fraction}{zone}").into_bytes()
        })
}

/// Go durations (OpenAI's resets) with huge or odd numbers and units.
fn go_duration_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        (
            digits(30),
            prop::sample::select(vec!["h", "m", "s", "ms", "us", "µs", "ns", "", "d", "."]),
        ),
        1..4,
    )
    .prop_map(|parts| {
        parts
            .into_iter()
            .flat_map(|(number, unit)| format!("{number}{unit}").into_bytes())
            .collect()
    })
}

/// A value for header `name` shaped like what it carries (a date, a duration,
/// a count), or any of the generic header values.
fn parsed_value_strategy(name: &str) -> BoxedStrategy<Vec<u8>> {
    let count = prop_oneof![
        digits(45).prop_map(String::into_bytes),
        any::<u64>().prop_map(|n| n.to_string().into_bytes()),
    ];
    if name.starts_with("anthropic-") && name.ends_with("-reset") {
        prop_oneof![4 => rfc3339_strategy(), 1 => header_value_strategy()].boxed()
    } else if name.starts_with("x-ratelimit-reset") {
        prop_oneof![4 => go_duration_strategy(), 1 => header_value_strategy()].boxed()
    } else if name.contains("ratelimit") {
        prop_oneof![3 => count, 1 => header_value_strategy()].boxed()
    } else {
        prop_oneof![
            1 => count,
            1 => go_duration_strategy(),
            4 => header_value_strategy(),
        ]
        .boxed()
    }
}

/// One of [`PARSED_HEADERS`] with a value shaped for it.
fn parsed_header_strategy() -> impl Strategy<Value = (String, Vec<u8>)> {
    prop::sample::select(PARSED_HEADERS)
        .prop_flat_map(|name| (Just(name.to_owned()), parsed_value_strategy(name)))
}

/// The `content-type` a body of `label` would naturally have.
fn natural_content_type(body: &Body) -> &'static str {
    let label = &body.label;
    if label.contains(".sse") || label.contains("-sse") {
        "text/event-stream"
    } else if label.contains(".ndjson") || label.contains("-ndjson") {
        "application/x-ndjson"
    } else if label.contains(".html") || label.contains(" html") {
        "text/html"
    } else if label.contains(".json") || label.starts_with("error payload") {
        "application/json"
    } else {
        "application/octet-stream"
    }
}

// ---------------------------------------------------------------------------
// How the response is put on the wire.

/// How a raw response delimits its body.
#[derive(Debug, Clone)]
enum RawLength {
    /// `content-length` of the body.
    Exact,
    /// A `content-length` that lies (too long, too short, not a number).
    Wrong(String),
    /// `transfer-encoding: chunked`, one HTTP chunk per piece.
    Chunked,
    /// Neither: the body ends with the connection.
    UntilClose,
}

#[derive(Debug, Clone)]
enum Wire {
    /// Through the mock's HTTP stack: valid framing, chunked at the cuts.
    Scripted { gzip: bool },
    /// Bytes written as they are: status line, headers, body, split at the cuts.
    Raw { length: RawLength },
}

fn wire_strategy() -> impl Strategy<Value = Wire> {
    let wrong = prop_oneof![
        (1usize..64).prop_map(|n| format!("+{n}")),
        (1usize..64).prop_map(|n| format!("-{n}")),
        prop::sample::select(vec![
            "abc".to_owned(),
            "-1".to_owned(),
            "18446744073709551616".to_owned(),
            "1e3".to_owned(),
            "5, 6".to_owned(),
        ]),
    ];
    prop_oneof![
        6 => Just(Wire::Scripted { gzip: false }),
        1 => Just(Wire::Scripted { gzip: true }),
        1 => Just(Wire::Raw { length: RawLength::Exact }),
        1 => wrong.prop_map(|w| Wire::Raw { length: RawLength::Wrong(w) }),
        1 => Just(Wire::Raw { length: RawLength::Chunked }),
        1 => Just(Wire::Raw { length: RawLength::UntilClose }),
    ]
}

/// One generated upstream answer, with the client settings it is met with.
#[derive(Clone)]
struct Case {
    dialect: Dialect,
    status: u16,
    headers: Vec<(String, Vec<u8>)>,
    /// `None`: the body's natural type; `Some(None)`: no header.
    content_type: Option<Option<Vec<u8>>>,
    body: Body,
    /// Where the bytes are cut into chunks (fractions of the length).
    cuts: Vec<Index>,
    wire: Wire,
    max_retries: u32,
    /// Stall (never end the body) after this many chunks.
    stall_after: Option<usize>,
}

fn case_strategy(
    dialects: Vec<Dialect>,
    sources: Arc<BTreeMap<&'static str, Arc<Vec<Source>>>>,
    stalls: bool,
) -> impl Strategy<Value = Case> {
    prop::sample::select(dialects).prop_flat_map(move |dialect| {
        let pool = Arc::clone(&sources[dialect.fixtures()]);
        let content_type = prop_oneof![
            6 => Just(None),
            1 => Just(Some(None)),
            2 => header_value_strategy().prop_map(|v| Some(Some(v))),
        ];
        let stall = if stalls {
            (0usize..4).prop_map(Some).boxed()
        } else {
            Just(None).boxed()
        };
        (
            Just(dialect),
            status_strategy(),
            prop::collection::vec(
                prop_oneof![2 => header_strategy(), 1 => parsed_header_strategy()],
                0..5,
            ),
            content_type,
            body_strategy(pool),
            prop::collection::vec(any::<Index>(), 0..6),
            wire_strategy(),
            0u32..=1,
            stall,
        )
            .prop_map(
                |(
                    dialect,
                    status,
                    headers,
                    content_type,
                    body,
                    cuts,
                    wire,
                    max_retries,
                    stall_after,
                )| {
                    // Informational statuses exist only on the raw wire (hyper answers 500 for them).
                    let wire = if status < 200 && matches!(wire, Wire::Scripted { .. }) {
                        Wire::Raw {
                            length: RawLength::UntilClose,
                        }
                    } else {
                        wire
                    };
                    Case {
                        dialect,
                        status,
                        headers,
                        content_type,
                        body,
                        cuts,
                        wire,
                        max_retries,
                        stall_after,
                    }
                },
            )
    })
}

/// `bytes` cut at `cuts` (each an index into its length), in order, empty pieces dropped.
fn split(bytes: &[u8], cuts: &[Index]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
    points.sort_unstable();
    points.dedup();
    let mut chunks = Vec::new();
    let mut start = 0;
    for p in points.into_iter().chain([bytes.len()]) {
        if p > start {
            chunks.push(bytes[start..p].to_vec());
            start = p;
        }
    }
    if chunks.is_empty() {
        chunks.push(Vec::new());
    }
    chunks
}

fn is_token_value(value: &[u8]) -> bool {
    value
        .iter()
        .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80)
}

impl Case {
    fn content_type(&self) -> Option<Vec<u8>> {
        match &self.content_type {
            None => Some(natural_content_type(&self.body).as_bytes().to_vec()),
            Some(chosen) => chosen.clone(),
        }
    }

    fn response(&self) -> MockResponse {
        let response = match &self.wire {
            Wire::Scripted { gzip } => {
                let mut r = MockResponse::raw_body_chunks(split(&self.body.bytes, &self.cuts))
                    .status(self.status);
                for (name, value) in self.headers_with_type() {
                    // A value hyper refuses would turn the case into a script mistake.
                    if is_token_value(&value) {
                        r = r.header(name, value);
                    }
                }
                if *gzip {
                    r = r.gzip();
                }
                r
            }
            Wire::Raw { length } => MockResponse::raw(split(&self.raw_bytes(length), &self.cuts)),
        };
        match self.stall_after {
            Some(n) => response.with_fault(Fault::StallAfterChunks(n)),
            None => response,
        }
    }

    fn headers_with_type(&self) -> Vec<(String, Vec<u8>)> {
        let mut headers = self.headers.clone();
        if let Some(ct) = self.content_type() {
            headers.push(("content-type".to_owned(), ct));
        }
        headers
    }

    fn raw_bytes(&self, length: &RawLength) -> Vec<u8> {
        // Any reason phrase will do (RFC 9112 §4): clients must ignore it.
        let reason = if self.status == 200 { "OK" } else { "Whatever" };
        let mut out = format!("HTTP/1.1 {} {reason}\r\n", self.status).into_bytes();
        for (name, value) in self.headers_with_type() {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(&value);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"connection: close\r\n");
        let body = &self.body.bytes;
        match length {
            RawLength::Exact => {
                out.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
                out.extend_from_slice(body);
            }
            RawLength::Wrong(lie) => {
                let value = match (lie.strip_prefix('+'), lie.strip_prefix('-')) {
                    (Some(n), _) => (body.len() + n.parse::<usize>().unwrap_or(1)).to_string(),
                    (_, Some(n)) if n.parse::<usize>().is_ok() => body
                        .len()
                        .saturating_sub(n.parse::<usize>().unwrap_or(1))
                        .to_string(),
                    _ => lie.clone(),
                };
                out.extend_from_slice(format!("content-length: {value}\r\n\r\n").as_bytes());
                out.extend_from_slice(body);
            }
            RawLength::Chunked => {
                out.extend_from_slice(b"transfer-encoding: chunked\r\n\r\n");
                for piece in split(body, &self.cuts) {
                    if !piece.is_empty() {
                        out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
                        out.extend_from_slice(&piece);
                        out.extend_from_slice(b"\r\n");
                    }
                }
                out.extend_from_slice(b"0\r\n\r\n");
            }
            RawLength::UntilClose => {
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(body);
            }
        }
        out
    }

    /// Whether the mock puts this status on the wire as it is (a 1xx or a raw
    /// response may fail before any status reaches the client).
    fn non_success_status(&self) -> bool {
        !(200..300).contains(&self.status)
    }
}

fn escaped(bytes: &[u8], max: usize) -> String {
    let text = bytes.escape_ascii().to_string();
    if text.len() > max {
        format!("{}… ({} bytes)", &text[..max], bytes.len())
    } else {
        text
    }
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{:?}, max_retries {}, status {}, wire {:?}, stall after {:?} chunks",
            self.dialect, self.max_retries, self.status, self.wire, self.stall_after
        )?;
        for (name, value) in self.headers_with_type() {
            writeln!(f, "  header {name}: {}", escaped(&value, 120))?;
        }
        let chunks: Vec<usize> = split(&self.body.bytes, &self.cuts)
            .iter()
            .map(Vec::len)
            .collect();
        writeln!(
            f,
            "  body ({}, error payload {}), chunks of {chunks:?}:",
            self.body.label, self.body.error
        )?;
        write!(f, "  b\"{}\"", escaped(&self.body.bytes, 700))
    }
}

// ---------------------------------------------------------------------------
// The calls and their properties.

/// A broken property: which one, and what was seen.
#[derive(Debug, Clone)]
struct Failure {
    property: String,
    detail: String,
}

fn fail(property: impl Into<String>, detail: impl Into<String>) -> Failure {
    Failure {
        property: property.into(),
        detail: detail.into(),
    }
}

fn policy(max_retries: u32) -> RetryPolicy {
    RetryPolicy::default()
        .max_retries(max_retries)
        .initial_backoff(Duration::from_millis(5))
        .max_backoff(Duration::from_millis(20))
        .max_retry_after(Duration::from_millis(250))
}

fn client<P: Provider + Default>(
    server: &MockServer,
    base: &str,
    timeout: Duration,
    max_retries: u32,
) -> ProviderClient<P> {
    loopback_config::<P>(server, base)
        .api_key(KEY)
        .timeout(timeout)
        .retry_policy(policy(max_retries))
        .connect()
        .expect("a loopback config is valid")
}

/// What a call ended with: a response or an error's kind, for comparing two calls.
fn outcome_of(result: &Result<ChatResponse, Error>) -> String {
    match result {
        Ok(_) => "success".to_owned(),
        Err(e) => format!("error {}", e.kind()),
    }
}

/// Whether a streamed response carries nothing at all.
fn is_empty(r: &ChatResponse) -> bool {
    r.id.is_empty()
        && r.model.is_empty()
        && r.text().is_empty()
        && r.message.tool_calls.is_empty()
        && r.reasoning.is_none()
        && r.refusal.is_none()
        && r.finish_reason.is_none()
        && r.usage.is_none()
}

/// An error must be typed and say something, and never show the key.
fn check_error(call: &str, e: &Error, key_sent: bool) -> Result<(), Failure> {
    let shown = e.to_string();
    if e.message().trim().is_empty() {
        return Err(fail(
            format!("{call}: an error with an empty message"),
            format!("{e:?}"),
        ));
    }
    if !shown.contains(e.kind().as_str()) {
        return Err(fail(
            format!("{call}: Display does not name the kind"),
            shown,
        ));
    }
    // As `common::assert_no_key` checks, without panicking. A provider with
    // `auth = "none"` (Ollama) never sends the key, so no upstream can echo it.
    if !key_sent {
        return Ok(());
    }
    for text in [
        shown,
        format!("{e:?}"),
        e.body().unwrap_or_default().to_owned(),
    ] {
        if text.contains(KEY) || text.contains(&KEY[..20]) {
            return Err(fail(format!("{call}: the key leaked"), text));
        }
    }
    Ok(())
}

/// A call's result against what the upstream answered.
fn check_result(
    call: &str,
    case: &Case,
    result: &Result<ChatResponse, Error>,
    stream: bool,
) -> Result<(), Failure> {
    match result {
        Err(e) => check_error(call, e, case.dialect != Dialect::Ollama),
        Ok(r) => {
            if case.non_success_status() {
                return Err(fail(
                    format!("{call}: a success on a non-2xx status"),
                    format!("status {}: {r:?}", case.status),
                ));
            }
            if case.body.error {
                return Err(fail(
                    format!("{call}: a success on an error payload"),
                    format!("{r:?}"),
                ));
            }
            if stream && is_empty(r) {
                return Err(fail(format!("{call}: an empty success"), format!("{r:?}")));
            }
            Ok(())
        }
    }
}

/// Run `call` under the hang guard; fail when it outlives `bound`.
async fn timed<T>(call: &str, bound: Duration, fut: impl Future<Output = T>) -> Result<T, Failure> {
    let started = Instant::now();
    let out = tokio::time::timeout(bound + HANG_GUARD, fut)
        .await
        .map_err(|_| {
            fail(
                format!("{call}: hung"),
                format!("no answer after {:?} (bound {bound:?})", bound + HANG_GUARD),
            )
        })?;
    let took = started.elapsed();
    if took > bound {
        return Err(fail(
            format!("{call}: took longer than its bound"),
            format!("{took:?} > {bound:?}"),
        ));
    }
    Ok(out)
}

/// Await `fut`, turning a panic into a failure named after `call`.
async fn unpanicked<T>(
    call: &str,
    fut: impl Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(result) => result,
        Err(payload) => {
            let site = PANIC_SITE
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take()
                .unwrap_or_default();
            Err(fail(
                format!("{call}: panic at {site}"),
                panic_message(&*payload),
            ))
        }
    }
}

/// The stream of `request` read by hand: its response (assembled from the
/// events) or its error, and the stream, to be polled again after its end.
async fn read_by_hand<P: Provider>(
    client: &ProviderClient<P>,
    request: ChatRequest,
) -> Result<(Result<ChatResponse, Error>, Option<llm_runtime::ChatStream>), Failure> {
    let mut stream = match client.chat_stream(request).await {
        Ok(stream) => stream,
        Err(e) => return Ok((Err(e), None)),
    };
    let mut acc = llm_runtime::stream::ResponseAccumulator::default();
    loop {
        match stream.next().await {
            Some(Ok(event)) => acc.push(event),
            Some(Err(e)) => {
                if let Some(after) = stream.next().await {
                    return Err(fail(
                        "stream by hand: an item after the error",
                        format!("{e:?} then {after:?}"),
                    ));
                }
                return Ok((Err(e), Some(stream)));
            }
            None => return Ok((Ok(acc.finish()), Some(stream))),
        }
    }
}

/// The three calls of a case against `client`: every property that broke.
async fn exercise<P: Provider>(
    client: &ProviderClient<P>,
    request: ChatRequest,
    case: &Case,
    bound: Duration,
) -> Vec<Failure> {
    let mut failures = Vec::new();
    let chat = unpanicked("chat", timed("chat", bound, client.chat(request.clone()))).await;
    match &chat {
        Ok(result) => failures.extend(check_result("chat", case, result, false).err()),
        Err(f) => failures.push(f.clone()),
    }

    let collected = unpanicked(
        "collect_response",
        timed("collect_response", bound, async {
            client
                .chat_stream(request.clone())
                .await?
                .collect_response()
                .await
        }),
    )
    .await;
    match &collected {
        Ok(result) => failures.extend(check_result("collect_response", case, result, true).err()),
        Err(f) => failures.push(f.clone()),
    }

    let by_hand = unpanicked("stream by hand", async {
        timed("stream by hand", bound, read_by_hand(client, request)).await?
    })
    .await;
    let by_hand = match by_hand {
        Ok((result, stream)) => {
            failures.extend(check_result("stream by hand", case, &result, true).err());
            if let Some(mut stream) = stream {
                let again = unpanicked("stream polled after its end", async {
                    for _ in 0..2 {
                        if let Some(item) = stream.next().await {
                            return Err(fail(
                                "stream polled after its end: an item",
                                format!("{item:?}"),
                            ));
                        }
                    }
                    Ok(())
                })
                .await;
                failures.extend(again.err());
            }
            Some(result)
        }
        Err(f) => {
            failures.push(f);
            None
        }
    };

    // The same bytes, read two ways, must end the same way (timing-dependent kinds aside).
    let transient = |r: &Result<ChatResponse, Error>| {
        r.as_ref().err().is_some_and(|e| {
            matches!(
                e.kind(),
                llm_runtime::ErrorKind::Timeout | llm_runtime::ErrorKind::Network
            )
        })
    };
    if let (Ok(collected), Some(by_hand)) = (&collected, &by_hand)
        && !transient(collected)
        && !transient(by_hand)
        && outcome_of(collected) != outcome_of(by_hand)
    {
        failures.push(fail(
            "collect_response and the stream read by hand disagree",
            format!("{collected:?} vs {by_hand:?}"),
        ));
    }
    failures
}

/// Serve `case` and run its calls against its dialect.
async fn run_case(server: &MockServer, case: &Case, timeout: Duration) -> Vec<Failure> {
    server.fallback(case.response());
    match case.dialect {
        Dialect::OpenAi => run_on::<OpenAi>(server, "/v1", "gpt-4o-mini", case, timeout).await,
        Dialect::OpenAiResponses => {
            run_on::<OpenAiResponses>(server, "/v1", "gpt-5-mini", case, timeout).await
        }
        Dialect::AzureOpenAi => {
            run_on::<AzureOpenAi>(server, "/v1", "my-gpt4o", case, timeout).await
        }
        Dialect::Anthropic => {
            run_on::<Anthropic>(server, "/v1", "claude-sonnet-4-5", case, timeout).await
        }
        Dialect::Gemini => {
            run_on::<Gemini>(server, "/v1beta", "gemini-2.5-flash", case, timeout).await
        }
        Dialect::Ollama => run_on::<Ollama>(server, "", "llama3.2", case, timeout).await,
        Dialect::Cohere => run_on::<Cohere>(server, "", "command-a-03-2025", case, timeout).await,
    }
}

/// One case's calls on provider `P` at `base`, asking for `model`.
async fn run_on<P: Provider + Default>(
    server: &MockServer,
    base: &str,
    model: &str,
    case: &Case,
    timeout: Duration,
) -> Vec<Failure> {
    let bound = timeout * (case.max_retries + 1) + MARGIN;
    let c = client::<P>(server, base, timeout, case.max_retries);
    exercise(&c, ChatRequest::new(model).user("Say hello"), case, bound).await
}

// ---------------------------------------------------------------------------
// The runner: every case, each distinct failure shrunk and reported.

/// Where the last panic on this thread happened, in the runtime's own code if possible.
static PANIC_SITE: Mutex<Option<String>> = Mutex::new(None);

fn install_quiet_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let name = std::thread::current().name().unwrap_or("").to_owned();
            if !name.starts_with("hardening-") {
                return default(info);
            }
            let backtrace = std::backtrace::Backtrace::force_capture().to_string();
            // The first frame in the runtime's sources says where to look.
            let site = backtrace
                .lines()
                .find(|l| l.contains("llm-runtime/src/"))
                .map(|l| l.trim().trim_start_matches("at ").to_owned())
                .or_else(|| {
                    info.location()
                        .map(|l| format!("{}:{}", l.file(), l.line()))
                })
                .unwrap_or_default();
            *PANIC_SITE
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(site);
        }));
    });
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// Run one case: every property it breaks.
fn verdict(
    rt: &tokio::runtime::Runtime,
    server: &MockServer,
    case: &Case,
    timeout: Duration,
) -> Vec<Failure> {
    rt.block_on(run_case(server, case, timeout))
}

/// The number of cases per run: `PROPTEST_CASES`, or `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The seed of run `name`: each run draws its own cases.
fn seed(name: &str) -> [u8; 32] {
    let text = std::env::var("HARDENING_SEED").unwrap_or_else(|_| "issue-11-hardening".to_owned());
    let mut seed = [0u8; 32];
    for (i, b) in text.bytes().chain(name.bytes()).enumerate() {
        seed[i % 32] = seed[i % 32].wrapping_mul(31).wrapping_add(b);
    }
    seed
}

struct Run {
    name: &'static str,
    dialects: Vec<Dialect>,
    cases: u32,
    timeout: Duration,
    stalls: bool,
    /// Shrink steps per distinct failure.
    shrink_steps: u32,
    /// Stop after this many failing cases (each may cost a hang guard).
    max_failures: usize,
}

fn run(spec: Run) {
    install_quiet_panic_hook();
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let server = rt.block_on(MockServer::start());
    let mut sources = BTreeMap::new();
    for d in DIALECTS {
        let mut pool = fixtures(d);
        pool.extend(error_payloads());
        sources.insert(d.fixtures(), Arc::new(pool));
    }
    let strategy = case_strategy(spec.dialects.clone(), Arc::new(sources), spec.stalls);
    let config = Config {
        cases: spec.cases,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed(spec.name)),
    );

    let mut found: Vec<(Failure, Case, u32)> = Vec::new();
    let mut failing_cases = 0usize;
    for _ in 0..spec.cases {
        let mut tree = strategy.new_tree(&mut runner).expect("a case generates");
        let case = tree.current();
        let failures = verdict(&rt, &server, &case, spec.timeout);
        if failures.is_empty() {
            continue;
        }
        failing_cases += 1;
        let mut shrunk = false;
        for failure in failures {
            if let Some(known) = found
                .iter_mut()
                .find(|(f, _, _)| f.property == failure.property)
            {
                known.2 += 1;
                continue;
            }
            if shrunk {
                // The tree has moved on: report this one as found.
                found.push((failure, case.clone(), 1));
                continue;
            }
            shrunk = true;
            // Shrink: simplify while the same property still fails.
            let property = failure.property.clone();
            let (mut best, mut best_failure) = (case.clone(), failure);
            let mut steps = 0;
            let mut more = tree.simplify();
            while more && steps < spec.shrink_steps {
                steps += 1;
                let candidate = tree.current();
                let again = verdict(&rt, &server, &candidate, spec.timeout);
                match again.into_iter().find(|f| f.property == property) {
                    Some(f) => {
                        best = candidate;
                        best_failure = f;
                        more = tree.simplify();
                    }
                    None => more = tree.complicate(),
                }
            }
            found.push((best_failure, best, 1));
        }
        if failing_cases >= spec.max_failures {
            break;
        }
    }
    drop(server);
    let took = started.elapsed();
    eprintln!(
        "{}: {} cases in {took:?}, {failing_cases} failing",
        spec.name, spec.cases
    );
    if found.is_empty() {
        return;
    }
    let mut report = format!(
        "{}: {} distinct failures over {failing_cases} failing cases (seed {:?}):\n",
        spec.name,
        found.len(),
        std::env::var("HARDENING_SEED").unwrap_or_else(|_| "issue-11-hardening".to_owned())
    );
    for (failure, case, count) in &found {
        let _ = writeln!(
            report,
            "\n- {} ({count} cases)\n  {}\n  minimal input: {case:?}",
            failure.property,
            failure.detail.chars().take(600).collect::<String>()
        );
    }
    panic!("{report}");
}

/// Runs `spec` on its own thread (named so the panic hook stays quiet for it).
fn run_on_thread(spec: Run) {
    let name = format!("hardening-{}", spec.name);
    let handle = std::thread::Builder::new()
        .name(name)
        .spawn(move || run(spec))
        .expect("a thread spawns");
    if let Err(payload) = handle.join() {
        panic!("{}", panic_message(&*payload));
    }
}

fn dialect_run(name: &'static str, dialect: Dialect) {
    run_on_thread(Run {
        name,
        dialects: vec![dialect],
        cases: cases(64),
        timeout: TIMEOUT,
        stalls: false,
        shrink_steps: 64,
        max_failures: usize::MAX,
    });
}

#[test]
fn openai_whole_responses() {
    dialect_run("openai", Dialect::OpenAi);
}

#[test]
fn anthropic_whole_responses() {
    dialect_run("anthropic", Dialect::Anthropic);
}

#[test]
fn gemini_whole_responses() {
    dialect_run("gemini", Dialect::Gemini);
}

#[test]
fn ollama_whole_responses() {
    dialect_run("ollama", Dialect::Ollama);
}

#[test]
fn cohere_whole_responses() {
    dialect_run("cohere", Dialect::Cohere);
}

#[test]
fn azure_openai_whole_responses() {
    dialect_run("azure_openai", Dialect::AzureOpenAi);
}

#[test]
fn openai_responses_whole_responses() {
    dialect_run("openai_responses", Dialect::OpenAiResponses);
}

/// Any value of any parsed header, on a good answer or an error one, of any
/// dialect and both as a whole body and a stream: no panic (debug arithmetic
/// included), within the bound, a good 200 stays a success and an error stays
/// an error (never both), and whatever was parsed is within its range.
#[test]
fn any_parsed_header_value_never_changes_the_outcome() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let server = rt.block_on(MockServer::start());
    let ok = std::fs::read(format!(
        "{}/fixtures/openai/chat_text.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("the fixture");
    let ok_stream = std::fs::read(format!(
        "{}/fixtures/openai/stream_text.sse",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("the fixture");
    let error = br#"{"error":{"message":"slow down","type":"rate_limit_error"}}"#.to_vec();
    let config = Config {
        cases: cases(64),
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed("parsed-headers")),
    );
    let strategy = (
        prop::collection::vec(parsed_header_strategy(), 1..8),
        prop::sample::select(vec![200u16, 429, 503]),
        any::<bool>(),
    );
    let outcome = runner.run(&strategy, |(headers, status, stream)| {
        let body = match (status, stream) {
            (200, false) => ok.clone(),
            (200, true) => ok_stream.clone(),
            _ => error.clone(),
        };
        let content_type = if status == 200 && stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        let mut response = MockResponse::bytes(status, body).header("content-type", content_type);
        for (name, value) in &headers {
            if is_token_value(value) {
                response = response.header(name, value);
            }
        }
        server.fallback(response);
        let client = client::<OpenAi>(&server, "/v1", TIMEOUT, 0);
        let started = Instant::now();
        let result = rt.block_on(async {
            tokio::time::timeout(TIMEOUT + HANG_GUARD, async {
                if stream {
                    match client
                        .chat_stream(ChatRequest::new("gpt-4o-mini").user("Hi"))
                        .await
                    {
                        Ok(s) => {
                            let meta = s.meta().clone();
                            s.collect_response().await.map(|r| (r, meta))
                        }
                        Err(e) => Err(e),
                    }
                } else {
                    client
                        .chat(ChatRequest::new("gpt-4o-mini").user("Hi"))
                        .await
                        .map(|r| {
                            let meta = r.meta.clone();
                            (r, meta)
                        })
                }
            })
            .await
        });
        let took = started.elapsed();
        prop_assert!(took <= TIMEOUT + MARGIN, "took {took:?}");
        let result = result.map_err(|_| TestCaseError::fail("the call hung"))?;
        match (status, result) {
            (200, Ok((r, meta))) => {
                prop_assert!(!r.text().is_empty());
                for limit in [meta.rate_limits.requests, meta.rate_limits.tokens]
                    .into_iter()
                    .flatten()
                {
                    prop_assert!(
                        limit
                            .reset
                            .is_none_or(|d| d <= llm_runtime::error::MAX_DELAY)
                    );
                }
            }
            (200, Err(e)) => {
                return Err(TestCaseError::fail(format!("a good 200 failed: {e:?}")));
            }
            (_, Ok(_)) => {
                return Err(TestCaseError::fail(format!("a success on HTTP {status}")));
            }
            (_, Err(e)) => {
                prop_assert!(!e.message().is_empty());
                prop_assert_eq!(e.status(), Some(status));
                prop_assert!(
                    e.retry_after()
                        .is_none_or(|d| d <= llm_runtime::error::MAX_DELAY)
                );
            }
        }
        Ok(())
    });
    drop(server);
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

/// Bodies that stall after a few chunks: every call still ends within its
/// bound. Each case waits out the timeout, so there are few of them, and the
/// run stops at the first failure (a hang costs the guard each time).
#[test]
fn stalled_whole_responses_end_within_the_bound() {
    run_on_thread(Run {
        name: "stalled",
        dialects: DIALECTS.to_vec(),
        cases: cases(64).div_ceil(8).max(4),
        timeout: STALL_TIMEOUT,
        stalls: true,
        shrink_steps: 0,
        max_failures: 1,
    });
}

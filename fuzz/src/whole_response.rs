//! The whole-response fuzz target: the input is decoded into one upstream
//! answer (dialect, stream or not, status, headers, body chunks, raw or
//! scripted wire) served by one loopback mock, and one call must end without
//! a panic, within its bound, with a typed error or a success.
//!
//! Input layout (every field optional: a short input takes defaults):
//! `[flags] [status lo] [status hi] [header count] ([name] [len] value..)*
//!  [cut count] [cut]* [retries] body..`
//! - flags: `% 6` picks the dialect; `/ 6` bits: 0 stream, 1 raw wire,
//!   2 the body is the whole raw response (status line included), 3 gzip,
//!   4 the model comes from the input: then `[len] model..` follow the
//!   flags (bytes read as lossy UTF-8), and every request the call sent must
//!   be on the dialect's path with the model as one segment (Gemini, Azure)
//!   or on its fixed path (the others);
//! - status: 200 half the time, else `100 + n % 500`;
//! - a cut is a fraction (`/ 256`) of the body where a chunk ends;
//! - a header value may be shaped by a marker byte (see [`shaped`]).

use std::borrow::Cow;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use llm_runtime::http::path_segment;
use llm_runtime::providers::{Anthropic, AzureOpenAi, Cohere, Gemini, Ollama, OpenAi};
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{ChatRequest, Provider, ProviderClient, ProviderConfig, retry::RetryPolicy};

/// The whole-call bound of every client.
const TIMEOUT: Duration = Duration::from_secs(1);
/// Slack over `timeout × attempts` before a call counts as too slow.
const MARGIN: Duration = Duration::from_secs(2);
/// After this, the call is hung: the fuzzer reports a crash.
const HANG: Duration = Duration::from_secs(8);
const KEY: &str = "sk-fuzz-3c9e1a7b5d2f4e6a8c0b-never-print";

const HEADER_NAMES: [&str; 27] = [
    "retry-after",
    "retry-after-ms",
    "x-should-retry",
    "content-type",
    "x-request-id",
    "content-encoding",
    "request-id",
    "x-ratelimit-reset-requests",
    "location",
    "x-odd",
    // Every other header the runtime parses a value of (issue 23).
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-tokens",
    "anthropic-ratelimit-requests-limit",
    "anthropic-ratelimit-requests-remaining",
    "anthropic-ratelimit-requests-reset",
    "anthropic-ratelimit-tokens-limit",
    "anthropic-ratelimit-tokens-remaining",
    "anthropic-ratelimit-tokens-reset",
    "x-goog-request-id",
    "x-amzn-requestid",
    "cf-ray",
    "x-amzn-errortype",
    // The two resets again: they are the dates and durations parsed.
    "anthropic-ratelimit-requests-reset",
    "x-ratelimit-reset-tokens",
];

/// A header value: the bytes as they are, or, behind a marker byte, shaped
/// like what the parsed headers carry so the fuzzer reaches their arithmetic:
/// `0xF0` an RFC 3339 instant whose UTC offset hours are the rest (as
/// digits), `0xF1` a Go duration of the rest's digits and a unit, `0xF2` a
/// count of the rest's digits.
fn shaped(value: &[u8]) -> Cow<'_, [u8]> {
    let digits = |bytes: &[u8]| -> String {
        bytes.iter().map(|b| char::from(b'0' + b % 10)).collect()
    };
    match value.split_first() {
        Some((0xF0, rest)) => {
            let (sign, hours) = rest.split_first().unwrap_or((&0, &[]));
            let sign = if sign & 1 == 0 { '+' } else { '-' };
            Cow::Owned(format!("2026-01-01T00:00:00{sign}{}:00", digits(hours)).into_bytes())
        }
        Some((0xF1, rest)) => {
            let (unit, number) = rest.split_last().unwrap_or((&0, &[]));
            let unit = ["h", "m", "s", "ms", "us", "ns", "", "d"][usize::from(unit % 8)];
            Cow::Owned(format!("{}{unit}", digits(number)).into_bytes())
        }
        Some((0xF2, rest)) => Cow::Owned(digits(rest).into_bytes()),
        _ => Cow::Borrowed(value),
    }
}

/// One runtime and one server for the whole fuzz session.
struct Harness {
    rt: tokio::runtime::Runtime,
    server: MockServer,
}

static HARNESS: LazyLock<Harness> = LazyLock::new(|| {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let server = rt.block_on(MockServer::start());
    Harness { rt, server }
});

/// A cursor over the input.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }

    fn rest(self) -> &'a [u8] {
        self.0
    }
}

/// The decoded case.
struct Case<'a> {
    dialect: u8,
    stream: bool,
    raw: bool,
    whole_raw: bool,
    gzip: bool,
    status: u16,
    headers: Vec<(&'static str, Cow<'a, [u8]>)>,
    cuts: Vec<u8>,
    max_retries: u32,
    /// The model from the input (flag bit 4), `None` for the dialect's own.
    model: Option<String>,
    body: &'a [u8],
}

/// `WHOLE_RESPONSE_DIALECT=openai|anthropic|gemini|ollama|cohere|azure_openai`
/// fixes the dialect, for one fuzzing run per dialect with this one target.
static FIXED_DIALECT: std::sync::LazyLock<Option<u8>> = std::sync::LazyLock::new(|| {
    let name = std::env::var("WHOLE_RESPONSE_DIALECT").ok()?;
    ["openai", "anthropic", "gemini", "ollama", "cohere", "azure_openai"]
        .iter()
        .position(|d| *d == name)
        .and_then(|i| u8::try_from(i).ok())
});

fn decode(data: &[u8]) -> Case<'_> {
    let mut input = Input(data);
    let flags = input.byte();
    let bits = flags / 6;
    let model = (bits & 16 != 0).then(|| {
        let len = usize::from(input.byte() % 64);
        String::from_utf8_lossy(input.bytes(len)).into_owned()
    });
    let n = u16::from_le_bytes([input.byte(), input.byte()]);
    let status = if n % 2 == 0 { 200 } else { 100 + (n / 2) % 500 };
    let count = input.byte() % 5;
    let mut headers = Vec::new();
    for _ in 0..count {
        let name = HEADER_NAMES[usize::from(input.byte()) % HEADER_NAMES.len()];
        let len = usize::from(input.byte() % 40);
        headers.push((name, shaped(input.bytes(len))));
    }
    let cut_count = usize::from(input.byte() % 8);
    let cuts = input.bytes(cut_count).to_vec();
    let max_retries = u32::from(input.byte() & 1);
    Case {
        dialect: FIXED_DIALECT.unwrap_or(flags % 6),
        stream: bits & 1 != 0,
        raw: bits & 2 != 0,
        whole_raw: bits & 4 != 0,
        gzip: bits & 8 != 0,
        status,
        headers,
        cuts,
        max_retries,
        model,
        body: input.rest(),
    }
}

fn split(bytes: &[u8], cuts: &[u8]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts
        .iter()
        .map(|&c| usize::from(c) * bytes.len() / 256)
        .collect();
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

impl Case<'_> {
    fn response(&self) -> MockResponse {
        if self.whole_raw {
            return MockResponse::raw(split(self.body, &self.cuts));
        }
        if self.raw || self.status < 200 {
            let mut out = format!("HTTP/1.1 {} Whatever\r\n", self.status).into_bytes();
            for (name, value) in &self.headers {
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b": ");
                out.extend_from_slice(value);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"connection: close\r\n\r\n");
            out.extend_from_slice(self.body);
            return MockResponse::raw(split(&out, &self.cuts));
        }
        let mut response =
            MockResponse::raw_body_chunks(split(self.body, &self.cuts)).status(self.status);
        for (name, value) in &self.headers {
            // hyper refuses control bytes: the raw wire carries those.
            if value
                .iter()
                .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80)
            {
                response = response.header(name, value);
            }
        }
        if self.gzip {
            response = response.gzip();
        }
        response
    }

    /// Whether any success is wrong whatever the body (a non-2xx status on the wire).
    fn must_fail(&self) -> bool {
        !self.whole_raw && !(200..300).contains(&self.status)
    }
}

fn config<P: Provider + Default>(
    server: &MockServer,
    base: &str,
    retries: u32,
) -> ProviderConfig<P> {
    ProviderConfig::new(P::default())
        .base_url(format!("{}{base}", server.url()))
        .api_key(KEY)
        .timeout(TIMEOUT)
        .retry_policy(
            RetryPolicy::default()
                .max_retries(retries)
                .initial_backoff(Duration::from_millis(1))
                .max_backoff(Duration::from_millis(5))
                .max_retry_after(Duration::from_millis(100)),
        )
}

async fn call<P: Provider>(client: ProviderClient<P>, model: &str, case: &Case<'_>) {
    let model = case.model.as_deref().unwrap_or(model);
    let request = ChatRequest::new(model).user("Say hello");
    let outcome = if case.stream {
        match client.chat_stream(request).await {
            Err(e) => Err(e),
            Ok(mut stream) => {
                let mut end = Ok(());
                while let Some(item) = stream.next().await {
                    match item {
                        Ok(_) => {}
                        Err(e) => {
                            assert!(stream.next().await.is_none(), "an item after the error");
                            end = Err(e);
                            break;
                        }
                    }
                }
                assert!(stream.next().await.is_none(), "an item after the end");
                // (A stream of only `data: [DONE]` succeeds with no event: reported, not asserted.)
                end
            }
        }
    } else {
        client.chat(request).await.map(|_| ())
    };
    match outcome {
        Ok(()) => assert!(!case.must_fail(), "a success on HTTP {}", case.status),
        Err(e) => {
            assert!(!e.message().trim().is_empty(), "an empty message: {e:?}");
            // A provider that sends no key (Ollama, `auth = "none"`) cannot have it
            // echoed: any key text is the fuzzer's own, not a leak.
            if !P::SPEC.auth.needs_key() {
                return;
            }
            let shown = format!("{e} {e:?} {}", e.body().unwrap_or_default());
            assert!(!shown.contains(KEY), "the key leaked: {shown}");
            // A key cut by the runtime's own truncation leaves its start at the end of a text.
            // (An upstream that echoes part of a key elsewhere is its own doing.)
            for text in [e.message(), e.body().unwrap_or_default()] {
                let cut = (8..KEY.len()).find(|&n| text.ends_with(&KEY[..n]));
                assert!(
                    cut.is_none(),
                    "the start of the key leaked at a cut: {text}"
                );
            }
        }
    }
}

/// The path a call with `model` must be sent to (`None`: to none, the model
/// is refused before sending): the model one segment where the dialect puts
/// it in the path (Gemini, Azure), the fixed path elsewhere.
fn expected_path(dialect: u8, model: &str, stream: bool) -> Option<String> {
    let segment = |m: &str| path_segment(m, "model id").ok().map(|s| s.into_owned());
    match dialect {
        0 => Some("/v1/chat/completions".to_owned()),
        1 => Some("/v1/messages".to_owned()),
        2 => {
            // The default model for an empty one; a `models/`-style prefix names the collection.
            let model = if model.is_empty() { "gemini-2.5-flash" } else { model };
            let (collection, id) = model
                .split_once('/')
                .filter(|(c, _)| ["models", "tunedModels", "endpoints"].contains(c))
                .unwrap_or(("models", model));
            let method = if stream { "streamGenerateContent" } else { "generateContent" };
            Some(format!("/v1beta/{collection}/{}:{method}", segment(id)?))
        }
        3 => Some("/api/chat".to_owned()),
        4 => Some("/v2/chat".to_owned()),
        _ => Some(format!("/v1/deployments/{}/chat/completions", segment(model)?)),
    }
}

/// One whole response through one call; panics on a broken property.
pub fn whole_response(data: &[u8]) {
    let harness = &*HARNESS;
    let case = decode(data);
    let server = &harness.server;
    server.fallback(case.response());
    let r = case.max_retries;
    let bound = TIMEOUT * (r + 1) + MARGIN;
    let before = server.request_count();
    let started = Instant::now();
    let run = async {
        match case.dialect {
            0 => {
                call(
                    config::<OpenAi>(server, "/v1", r).connect().expect("valid"),
                    "gpt-4o-mini",
                    &case,
                )
                .await
            }
            1 => {
                call(
                    config::<Anthropic>(server, "/v1", r)
                        .connect()
                        .expect("valid"),
                    "claude-sonnet-4-5",
                    &case,
                )
                .await
            }
            2 => {
                call(
                    config::<Gemini>(server, "/v1beta", r)
                        .connect()
                        .expect("valid"),
                    "gemini-2.5-flash",
                    &case,
                )
                .await
            }
            3 => {
                call(
                    config::<Ollama>(server, "", r).connect().expect("valid"),
                    "llama3.2",
                    &case,
                )
                .await
            }
            4 => {
                call(
                    config::<Cohere>(server, "", r).connect().expect("valid"),
                    "command-a-03-2025",
                    &case,
                )
                .await
            }
            _ => {
                call(
                    config::<AzureOpenAi>(server, "/v1", r)
                        .connect()
                        .expect("valid"),
                    "my-gpt4o",
                    &case,
                )
                .await
            }
        }
    };
    // The timer needs the runtime's context: build it inside `block_on`.
    let finished = harness
        .rt
        .block_on(async { tokio::time::timeout(HANG, run).await });
    assert!(finished.is_ok(), "the call hung for {HANG:?}");
    let took = started.elapsed();
    assert!(
        took <= bound,
        "the call took {took:?}, over its bound {bound:?}"
    );
    if let Some(model) = &case.model {
        let want = expected_path(case.dialect, model, case.stream);
        for sent in server.requests_since(before) {
            assert_eq!(
                Some(&sent.path),
                want.as_ref(),
                "model {model:?} sent to another path"
            );
        }
    }
}

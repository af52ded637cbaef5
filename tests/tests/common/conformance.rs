//! The harness of the `conformance_*` suites: wire-format fixtures, a provider
//! connected to a [`MockServer`], bodies served in pieces, and the checks every
//! dialect goes through (streamed equals non-streamed, any split decodes the
//! same, error statuses map to kinds).

use std::marker::PhantomData;
use std::time::Duration;

use llm_runtime::testing::{
    MockResponse, MockServer, RecordedRequest, assert_split_invariant, replay_response,
};
use llm_runtime::{
    ChatRequest, ChatResponse, Error, ErrorKind, Provider, ProviderClient, ProviderConfig,
    StreamEvent, Usage,
    provider::{RequestContext, Transform},
};
use serde_json::Value;

use super::{KEY, drain};

/// The text of `tests/fixtures/{dialect}/{name}`.
pub(crate) fn fixture(dialect: &str, name: &str) -> String {
    let path = format!("{}/fixtures/{dialect}/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The JSON fixture `tests/fixtures/{dialect}/{name}`.
pub(crate) fn fixture_json(dialect: &str, name: &str) -> Value {
    json_of(&fixture(dialect, name))
}

/// A fixture's text read as JSON.
pub(crate) fn json_of(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

/// `P` pointed at `server` (under `base_path`), without a key, with no
/// retries (each call is one request) and a 10 s bound.
pub(crate) fn loopback_config<P: Provider + Default>(
    server: &MockServer,
    base_path: &str,
) -> ProviderConfig<P> {
    ProviderConfig::new(P::default())
        .base_url(format!("{}{base_path}", server.url()))
        .max_retries(0)
        .timeout(Duration::from_secs(10))
}

/// [`loopback_config`] with the test [`KEY`], connected.
pub(crate) fn loopback_client<P: Provider + Default>(
    server: &MockServer,
    base_path: &str,
) -> ProviderClient<P> {
    loopback_config::<P>(server, base_path)
        .api_key(KEY)
        .connect()
        .expect("a loopback config is valid")
}

/// `body` cut into pieces of `size` bytes (splitting events, lines and UTF-8
/// characters).
pub(crate) fn in_pieces(body: &str, size: usize) -> Vec<Vec<u8>> {
    body.as_bytes().chunks(size).map(<[u8]>::to_vec).collect()
}

/// Cut `body` at `cuts` random places (a small deterministic generator: the
/// same cuts on every run).
pub(crate) fn random_split(body: &[u8], seed: u64, cuts: usize) -> Vec<Vec<u8>> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut points: Vec<usize> = (0..cuts)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % body.len() as u64) as usize
        })
        .collect();
    points.sort_unstable();
    points.dedup();
    let mut chunks = Vec::new();
    let mut start = 0;
    for p in points.into_iter().chain([body.len()]) {
        if p > start {
            chunks.push(body[start..p].to_vec());
            start = p;
        }
    }
    chunks
}

/// Open a stream for `request` and read it to its end: the events, and the
/// error that ended it, if any.
pub(crate) async fn stream_events<P: Provider>(
    client: &ProviderClient<P>,
    request: ChatRequest,
) -> (Vec<StreamEvent>, Option<Error>) {
    drain(client.chat_stream(request).await.expect("the stream opens")).await
}

/// Serve `response` at `path`, call `chat`, and return the answer with the
/// request that was sent.
pub(crate) async fn chat_once<P: Provider>(
    server: &MockServer,
    client: &ProviderClient<P>,
    path: &str,
    response: MockResponse,
    request: ChatRequest,
) -> (ChatResponse, RecordedRequest) {
    server.on("POST", path, response);
    let answer = client.chat(request).await.expect("chat succeeds");
    (answer, server.requests().remove(0))
}

/// Serve `response` at `path`, read the stream of `request`, and return its
/// events, its error and the request that was sent.
pub(crate) async fn stream_once<P: Provider>(
    server: &MockServer,
    client: &ProviderClient<P>,
    path: &str,
    response: MockResponse,
    request: ChatRequest,
) -> (Vec<StreamEvent>, Option<Error>, RecordedRequest) {
    server.on("POST", path, response);
    let (events, error) = stream_events(client, request).await;
    (events, error, server.requests().remove(0))
}

/// Answer `request` once non-streamed (`whole` at its path) and once streamed
/// (`streamed` at its path), assert the collected stream equals the
/// non-streamed answer, and return that answer.
pub(crate) async fn assert_streamed_equals_whole<P: Provider>(
    server: &MockServer,
    client: &ProviderClient<P>,
    whole: (&str, MockResponse),
    streamed: (&str, MockResponse),
    request: ChatRequest,
    label: &str,
) -> ChatResponse {
    server.on("POST", whole.0, whole.1);
    let answer = client.chat(request.clone()).await.expect("chat succeeds");
    server.on("POST", streamed.0, streamed.1);
    let collected = client
        .chat_stream(request)
        .await
        .expect("stream opens")
        .collect_response()
        .await
        .expect("stream completes");
    assert_eq!(
        collected, answer,
        "{label}: collect_response() differs from chat()"
    );
    answer
}

/// Serve `body` (at `path`) whole, at a dozen random cuts, and one byte per
/// chunk, and assert every read gives the same events without an error.
pub(crate) async fn assert_same_events_however_split<P: Provider>(
    server: &MockServer,
    client: &ProviderClient<P>,
    path: &str,
    name: &str,
    body: &[u8],
    request: impl Fn() -> ChatRequest,
) {
    server.on("POST", path, MockResponse::sse([body.to_vec()]));
    let (whole, error) = stream_events(client, request()).await;
    assert!(error.is_none(), "{name}: {error:?}");
    for seed in 0..12 {
        let chunks = random_split(body, seed, 1 + (seed as usize * 7) % 40);
        server.on("POST", path, MockResponse::sse(chunks));
        let (events, error) = stream_events(client, request()).await;
        assert!(error.is_none(), "{name} seed {seed}: {error:?}");
        assert_eq!(events, whole, "{name} seed {seed}");
    }
    let bytes: Vec<Vec<u8>> = body.chunks(1).map(<[u8]>::to_vec).collect();
    server.on("POST", path, MockResponse::sse(bytes));
    assert_eq!(
        stream_events(client, request()).await.0,
        whole,
        "{name} one byte per chunk"
    );
}

/// A stream opens with `Start` and closes with `Finish`.
#[track_caller]
pub(crate) fn assert_starts_and_finishes(events: &[StreamEvent], label: &str) {
    assert!(
        matches!(events.first(), Some(StreamEvent::Start { .. })),
        "{label}"
    );
    assert!(
        matches!(events.last(), Some(StreamEvent::Finish { .. })),
        "{label}"
    );
}

/// A stream fixture replays to the same response as its non-streamed `json`
/// twin parsed by `dialect`.
#[track_caller]
pub(crate) fn assert_replays_like_json<T: Transform>(
    dialect: &T,
    ctx: &RequestContext<'_>,
    name: &str,
    sse: &str,
    json: &str,
) {
    let whole = dialect
        .parse_response(json.as_bytes(), ctx)
        .expect("the JSON fixture parses");
    assert_eq!(
        replay_response(dialect, [sse.as_bytes()]).expect("the stream fixture replays"),
        whole,
        "{name}"
    );
}

/// Lines ending in CRLF (a proxy rewriting line ends) decode the same.
#[track_caller]
pub(crate) fn assert_crlf_decodes_the_same<T: Transform>(dialect: &T, body: &str) {
    let crlf = body.replace('\n', "\r\n");
    let r = replay_response(dialect, [crlf.as_bytes()]).expect("decodes");
    assert_eq!(
        r,
        replay_response(dialect, [body.as_bytes()]).expect("decodes")
    );
}

/// A text stream: `start` first, `deltas` text deltas, then `usage` and `Stop`.
#[track_caller]
pub(crate) fn assert_text_stream(
    events: &[StreamEvent],
    start: &StreamEvent,
    deltas: usize,
    usage: Usage,
) {
    assert_eq!(events.first(), Some(start));
    assert_eq!(super::text_deltas(events), deltas);
    let n = events.len();
    assert_eq!(events[n - 2], StreamEvent::Usage { usage });
    assert_eq!(
        events[n - 1],
        StreamEvent::Finish {
            reason: llm_runtime::FinishReason::Stop
        }
    );
}

/// Serve `response` at every path of `paths`, then call `chat` and
/// `chat_stream` once each; both must fail without a retry.
pub(crate) async fn chat_and_stream_errors<P: Provider>(
    server: &MockServer,
    client: &ProviderClient<P>,
    paths: &[&str],
    response: MockResponse,
    request: &ChatRequest,
) -> (Error, Error) {
    for path in paths {
        server.on("POST", path, response.clone());
    }
    let plain = client
        .chat(request.clone())
        .await
        .expect_err("the call must fail");
    let streamed = client
        .chat_stream(request.clone())
        .await
        .expect_err("the stream must fail to open");
    assert_eq!(
        server.request_count(),
        2,
        "max_retries(0) sends each call once"
    );
    (plain, streamed)
}

/// On a fresh server answering `response` at `path`: the error of `chat`, or
/// of `chat_stream` (failing to open, or later) when `stream`.
pub(crate) async fn failure<P: Provider>(
    connect: fn(&MockServer) -> ProviderClient<P>,
    path: &str,
    response: MockResponse,
    request: ChatRequest,
    stream: bool,
) -> Error {
    let server = MockServer::start().await;
    server.on("POST", path, response);
    let client = connect(&server);
    if stream {
        match client.chat_stream(request).await {
            Err(e) => e,
            Ok(s) => s
                .collect_response()
                .await
                .expect_err("the stream must fail"),
        }
    } else {
        client.chat(request).await.expect_err("the call must fail")
    }
}

/// Each response of `cases` makes `chat` fail with its kind, a message that
/// contains its needle, the `provider` named, and never the key.
pub(crate) async fn assert_errors_map_to_kinds<P: Provider>(
    connect: fn(&MockServer) -> ProviderClient<P>,
    path: &str,
    request: impl Fn() -> ChatRequest,
    provider: &str,
    cases: Vec<(MockResponse, ErrorKind, &str)>,
) {
    for (response, kind, needle) in cases {
        let e = failure(connect, path, response, request(), false).await;
        assert_eq!(e.kind(), kind, "{e}");
        assert!(e.to_string().contains(needle), "{e}");
        assert_eq!(e.provider(), Some(provider));
        assert!(!e.to_string().contains(KEY), "{e}");
    }
}

/// On a fresh server: `request` answered non-streamed from the `json` fixture
/// and streamed with `streamed`, both at `path`, give the same response, from
/// `provider`, and the `stream` field of the requests says which was which.
pub(crate) async fn assert_same_both_ways<P: Provider>(
    connect: fn(&MockServer) -> ProviderClient<P>,
    path: &str,
    json: &str,
    streamed: MockResponse,
    request: ChatRequest,
    provider: &str,
) -> ChatResponse {
    let server = MockServer::start().await;
    let client = connect(&server);
    // The fixture's own text: a `Value` would sort its keys.
    let whole = MockResponse::text(200, "application/json", json);
    let answer = assert_streamed_equals_whole(
        &server,
        &client,
        (path, whole),
        (path, streamed),
        request,
        provider,
    )
    .await;
    assert_eq!(answer.provider, provider);
    let sent = server.requests();
    assert_eq!(sent[0].body_json()["stream"], false);
    assert_eq!(sent[1].body_json()["stream"], true);
    answer
}

/// Where the suite of a dialect finds its fixtures and its provider's routes
/// on the mock; its methods are that suite's harness.
pub(crate) struct Suite<P> {
    /// The folder of the fixtures under `tests/fixtures`.
    dialect: &'static str,
    /// The path of the provider's base URL on the mock (`/v1`, `/v1beta`).
    base_path: &'static str,
    /// The route of non-streamed chat calls.
    chat_path: &'static str,
    /// The route of streamed chat calls.
    stream_path: &'static str,
    provider: PhantomData<P>,
}

impl<P: Provider + Default> Suite<P> {
    /// The suite of `P`, its fixtures in `tests/fixtures/{dialect}`.
    pub(crate) const fn new(
        dialect: &'static str,
        base_path: &'static str,
        chat_path: &'static str,
        stream_path: &'static str,
    ) -> Self {
        Suite {
            dialect,
            base_path,
            chat_path,
            stream_path,
            provider: PhantomData,
        }
    }

    /// The text of a fixture of this dialect.
    pub(crate) fn fixture(&self, name: &str) -> String {
        fixture(self.dialect, name)
    }

    /// A JSON fixture of this dialect.
    pub(crate) fn fixture_json(&self, name: &str) -> Value {
        fixture_json(self.dialect, name)
    }

    /// A fresh mock and `P` connected to it with the test key.
    pub(crate) async fn setup(&self) -> (MockServer, ProviderClient<P>) {
        let server = MockServer::start().await;
        let client = loopback_client(&server, self.base_path);
        (server, client)
    }

    /// Serve the JSON fixture `name` and call `chat`: the answer and the
    /// request sent.
    pub(crate) async fn chat(
        &self,
        name: &str,
        request: ChatRequest,
    ) -> (ChatResponse, RecordedRequest) {
        let (server, client) = self.setup().await;
        // The fixture's own text: a `Value` would sort its keys.
        let response = MockResponse::text(200, "application/json", self.fixture(name));
        chat_once(&server, &client, self.chat_path, response, request).await
    }

    /// Serve an SSE body split into `chunks` and read the stream: its events,
    /// its error and the request sent.
    pub(crate) async fn stream_chunks(
        &self,
        chunks: Vec<Vec<u8>>,
        request: ChatRequest,
    ) -> (Vec<StreamEvent>, Option<Error>, RecordedRequest) {
        let (server, client) = self.setup().await;
        let response = MockResponse::sse(chunks);
        stream_once(&server, &client, self.stream_path, response, request).await
    }

    /// [`Suite::stream_chunks`] with the SSE fixture `name` in one chunk.
    pub(crate) async fn stream(
        &self,
        name: &str,
        request: ChatRequest,
    ) -> (Vec<StreamEvent>, Option<Error>, RecordedRequest) {
        self.stream_chunks(vec![self.fixture(name).into_bytes()], request)
            .await
    }

    /// Answer both routes with `response`: the errors of one `chat` and one
    /// `chat_stream`, each sent once.
    pub(crate) async fn errors_of(
        &self,
        response: MockResponse,
        request: &ChatRequest,
    ) -> (Error, Error) {
        let (server, client) = self.setup().await;
        let paths = [self.chat_path, self.stream_path];
        chat_and_stream_errors(&server, &client, &paths, response, request).await
    }

    /// The fixture pair `{name}.json` and `{name}.sse` answers `request` the
    /// same non-streamed and streamed: that answer.
    pub(crate) async fn same_both_ways(&self, name: &str, request: ChatRequest) -> ChatResponse {
        let (server, client) = self.setup().await;
        let whole = MockResponse::text(
            200,
            "application/json",
            self.fixture(&format!("{name}.json")),
        );
        let streamed = MockResponse::sse([self.fixture(&format!("{name}.sse"))]);
        let (whole, streamed) = ((self.chat_path, whole), (self.stream_path, streamed));
        assert_streamed_equals_whole(&server, &client, whole, streamed, request, name).await
    }

    /// Each SSE fixture of `names` decodes to the same events however its
    /// bytes are split, from `Start` to `Finish`, and replays to the response
    /// its JSON twin parses to.
    pub(crate) fn assert_fixtures_decode_however_split<T: Transform>(
        &self,
        dialect: &T,
        ctx: &RequestContext<'_>,
        names: &[&str],
    ) {
        for name in names {
            let body = self.fixture(name);
            let events = assert_split_invariant(dialect, body.as_bytes());
            assert_starts_and_finishes(&events, name);
            let json = self.fixture(&name.replace(".sse", ".json"));
            assert_replays_like_json(dialect, ctx, name, &body, &json);
        }
    }

    /// Each SSE fixture of `names`, served over HTTP however split, gives
    /// the same events.
    pub(crate) async fn assert_same_events_over_http_however_split(
        &self,
        names: &[&str],
        request: impl Fn() -> ChatRequest,
    ) {
        let (server, client) = self.setup().await;
        for name in names {
            let body = self.fixture(name);
            let path = self.stream_path;
            assert_same_events_however_split(
                &server,
                &client,
                path,
                name,
                body.as_bytes(),
                &request,
            )
            .await;
        }
    }
}

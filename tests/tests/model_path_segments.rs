//! A model id is exactly one path segment (issue 23, class 4), over loopback
//! for every built-in provider that puts the model in its path.
//!
//! Which providers those are is derived, not listed: each provider of
//! `llm_runtime::providers::specs()` is called once with a probe model, and
//! those whose recorded path holds the probe are the ones under test. For each,
//! a call with model `m` either sends to the probe's path with the probe
//! replaced by `m` percent-encoded as one segment (`llm_runtime::http::path_segment`),
//! or fails with `InvalidRequest` before any request; it never reaches another path.

mod common;

use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use llm_runtime::http::path_segment;
use llm_runtime::providers::{connect_to, specs};
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{
    ChatRequest, ErrorKind, LlmProvider,
    spec::{Capability, ProviderSpec},
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use common::KEY;

/// A model id with nothing to encode, found verbatim in a path that holds the model.
const PROBE: &str = "probe-model-7";

/// The providers each test case reaches, connected once to one mock.
struct Harness {
    rt: tokio::runtime::Runtime,
    server: MockServer,
    /// Each provider whose path holds the model.
    in_path: Vec<Target>,
}

/// A provider whose path holds the model.
struct Target {
    spec: &'static ProviderSpec,
    client: Arc<dyn LlmProvider>,
    /// The probe's path, whole and streamed (`None`: the provider has no stream).
    probes: [Option<String>; 2],
}

impl Target {
    fn probe(&self, stream: bool) -> Option<&str> {
        self.probes[usize::from(stream)].as_deref()
    }
}

static HARNESS: LazyLock<Harness> = LazyLock::new(|| {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let server = rt.block_on(MockServer::start());
    server.fallback(MockResponse::json(
        404,
        serde_json::json!({"error": {"message": "no such model", "type": "not_found_error"}}),
    ));
    let mut in_path = Vec::new();
    for spec in specs().filter(|s| s.supports(Capability::Chat)) {
        let client = connect(spec, &server);
        let probe = |stream: bool| {
            let sent = rt.block_on(send(&server, &client, PROBE, stream));
            sent.unwrap_or_else(|e| panic!("{}: the probe was not sent: {e:?}", spec.name))
        };
        let whole = probe(false);
        if whole.contains(PROBE) {
            assert_eq!(whole.matches(PROBE).count(), 1, "{}: {whole}", spec.name);
            let streamed = spec.supports(Capability::Stream).then(|| probe(true));
            in_path.push(Target {
                spec,
                client,
                probes: [Some(whole), streamed],
            });
        }
    }
    Harness {
        rt,
        server,
        in_path,
    }
});

/// The provider at the mock, its URL placeholders and required headers filled.
fn connect(spec: &ProviderSpec, server: &MockServer) -> Arc<dyn LlmProvider> {
    let after_scheme = spec.base_url.split_once("://").map_or("", |(_, rest)| rest);
    let base_path = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
    let settings: Vec<(&str, String)> = spec
        .url_vars
        .iter()
        .map(|(n, _)| (*n, format!("v-{n}")))
        .chain(spec.env_headers.iter().map(|(h, _)| (*h, "h".to_owned())))
        .collect();
    let settings: Vec<(&str, &str)> = settings.iter().map(|(n, v)| (*n, v.as_str())).collect();
    connect_to(
        spec.name,
        &format!("{}{base_path}", server.url()),
        KEY,
        &settings,
    )
    .expect("a built-in")
    .unwrap_or_else(|e| panic!("{}: {e}", spec.name))
}

/// One call with `model`: the path it was sent to, or the error it failed
/// with before sending anything.
async fn send(
    server: &MockServer,
    client: &Arc<dyn LlmProvider>,
    model: &str,
    stream: bool,
) -> Result<String, ErrorKind> {
    let before = server.request_count();
    let request = ChatRequest::new(model).user("hi");
    let error = if stream {
        client.chat_stream(request).await.err()
    } else {
        client.chat(request).await.err()
    };
    let requests = server.requests();
    match &requests[before..] {
        [] => Err(error.map_or(ErrorKind::Decode, |e| e.kind())),
        [one] => Ok(one.path.clone()),
        more => panic!("one call sent {} requests", more.len()),
    }
}

/// [`send`] on the harness; calls are one at a time, since each is told
/// apart by the mock's request count.
fn call(client: &Arc<dyn LlmProvider>, model: &str, stream: bool) -> Result<String, ErrorKind> {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let h = &*HARNESS;
    h.rt.block_on(send(&h.server, client, model, stream))
}

/// Where a call with `model` must go for a provider whose probe path is
/// `probe`: the probe replaced by the model as one segment (the provider's
/// default model for an empty one), or `None` when it must fail before sending.
fn expected(spec: &ProviderSpec, probe: &str, model: &str) -> Option<String> {
    let model = match (model, spec.default_model) {
        ("", Some(default)) => default,
        (model, _) => model,
    };
    let segment = path_segment(model, "model id").ok()?;
    Some(probe.replacen(PROBE, &segment, 1))
}

/// `model` through every provider that puts it in the path: the exact path
/// [`expected`] says, or `InvalidRequest` with nothing sent.
fn check(model: &str, stream: bool) -> Result<(), TestCaseError> {
    let h = &*HARNESS;
    for target in &h.in_path {
        let Some(probe) = target.probe(stream) else {
            continue;
        };
        let sent = call(&target.client, model, stream);
        let name = target.spec.name;
        match (expected(target.spec, probe, model), sent) {
            (Some(want), Ok(path)) => prop_assert_eq!(path, want, "{} {:?}", name, model),
            (_, Err(kind)) => {
                prop_assert_eq!(kind, ErrorKind::InvalidRequest, "{} {:?}", name, model)
            }
            (None, Ok(path)) => {
                prop_assert!(false, "{name}: {model:?} was sent to {path}");
            }
        }
    }
    Ok(())
}

#[test]
fn the_providers_that_put_the_model_in_the_path_are_found() {
    let names: Vec<&str> = HARNESS.in_path.iter().map(|t| t.spec.name).collect();
    for name in [
        "gemini",
        "vertex_gemini",
        "vertex_anthropic",
        "azure_openai",
        "bedrock",
    ] {
        assert!(names.contains(&name), "{name} not found in {names:?}");
    }
}

#[test]
fn hostile_model_ids_stay_one_segment() {
    let h = &*HARNESS;
    let cases = [
        (
            "x/../../../openai/files?",
            "x%2F..%2F..%2F..%2Fopenai%2Ffiles%3F",
        ),
        ("gemini#frag", "gemini%23frag"),
        ("a?alt=json", "a%3Falt%3Djson"),
        ("100%", "100%25"),
        ("%2E%2E", "%252E%252E"),
        ("%2F..%2F", "%252F..%252F"),
        ("my model", "my%20model"),
        ("modèle-日本", "mod%C3%A8le-%E6%97%A5%E6%9C%AC"),
        ("../x", "..%2Fx"),
        ("claude@2025", "claude@2025"),
        ("a:b", "a%3Ab"),
    ];
    for stream in [false, true] {
        for (model, segment) in cases {
            for target in &h.in_path {
                let Some(probe) = target.probe(stream) else {
                    continue;
                };
                let sent = call(&target.client, model, stream);
                let want = probe.replacen(PROBE, segment, 1);
                assert_eq!(sent, Ok(want), "{} {model:?}", target.spec.name);
            }
        }
        for model in [".", ".."] {
            for target in h.in_path.iter().filter(|t| t.probe(stream).is_some()) {
                let sent = call(&target.client, model, stream);
                let name = target.spec.name;
                assert_eq!(sent, Err(ErrorKind::InvalidRequest), "{name} {model:?}");
            }
        }
        check("", stream).unwrap();
    }
}

#[test]
fn gemini_collections_keep_their_id_one_segment() {
    let h = &*HARNESS;
    let gemini = h
        .in_path
        .iter()
        .find(|t| t.spec.name == "gemini")
        .expect("gemini");
    let cases = [
        (
            "tunedModels/mine",
            Ok("/v1beta/tunedModels/mine:generateContent"),
        ),
        (
            "models/../../x",
            Ok("/v1beta/models/..%2F..%2Fx:generateContent"),
        ),
        (
            "endpoints/a?b",
            Ok("/v1beta/endpoints/a%3Fb:generateContent"),
        ),
        ("other/x", Ok("/v1beta/models/other%2Fx:generateContent")),
        ("models/..", Err(ErrorKind::InvalidRequest)),
        ("tunedModels/", Err(ErrorKind::InvalidRequest)),
    ];
    for (model, want) in cases {
        let sent = call(&gemini.client, model, false);
        assert_eq!(sent, want.map(str::to_owned), "{model:?}");
    }
}

/// A model string from arbitrary bytes, or from the characters that matter
/// in a URL; a Gemini collection prefix (`models/...`) is covered above.
fn model_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..24)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        any::<String>(),
        "[./%?#:@ &=+;a-zA-Z0-9\u{e9}\u{65e5}\\\\]{0,16}",
    ]
    .prop_filter("a Gemini collection prefix", |m| {
        !["models/", "tunedModels/", "endpoints/"]
            .iter()
            .any(|c| m.starts_with(c))
    })
}

#[test]
fn any_model_string_is_one_segment_or_refused() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(48);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&(model_strategy(), any::<bool>()), |(model, stream)| {
            check(&model, stream)
        })
        .unwrap();
}

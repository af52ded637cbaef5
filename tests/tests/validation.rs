//! Validation before any network call: each bad request gives a typed error and
//! the mock upstream receives nothing, on every path (chat, stream, `Client`).

mod common;

use llm_runtime::testing::MockServer;
use llm_runtime::{ChatRequest, ErrorKind, Part, ProviderClient, Tool, types::ToolChoice};
use serde_json::{Value, json};

use common::clients::{Acme, Backup, CHAT_PATH, acme_client, chat_ok, connect};

fn ok_request() -> ChatRequest {
    ChatRequest::new("m").user("hi")
}

fn tool(parameters: Value) -> Tool {
    Tool::function("lookup", "Look something up", parameters)
}

/// The invalid requests every provider refuses, with the word the message must contain.
fn invalid_everywhere() -> Vec<(&'static str, ChatRequest, &'static str)> {
    vec![
        ("no messages", ChatRequest::new("m"), "no messages"),
        (
            "temperature above 2",
            ok_request().temperature(2.5),
            "temperature",
        ),
        (
            "negative temperature",
            ok_request().temperature(-0.5),
            "temperature",
        ),
        (
            "NaN temperature",
            ok_request().temperature(f32::NAN),
            "temperature",
        ),
        ("top_p above 1", ok_request().top_p(1.5), "top_p"),
        ("negative top_p", ok_request().top_p(-0.1), "top_p"),
        ("zero max_tokens", ok_request().max_tokens(0), "max_tokens"),
        (
            "schema is a string",
            ok_request().tool(tool(json!("object"))),
            "JSON-schema object",
        ),
        (
            "schema is an array",
            ok_request().tool(tool(json!([{"type": "string"}]))),
            "JSON-schema object",
        ),
        (
            "schema without type",
            ok_request().tool(tool(json!({"properties": {}}))),
            "JSON-schema object",
        ),
        (
            "schema of a string",
            ok_request().tool(tool(json!({"type": "string"}))),
            "JSON-schema object",
        ),
        (
            "tool_choice names no offered tool",
            ok_request()
                .tool(tool(json!({"type": "object"})))
                .tool_choice(ToolChoice::Tool("other".into())),
            "other",
        ),
    ]
}

async fn assert_refused_offline<P>(
    client: &ProviderClient<P>,
    server: &MockServer,
    name: &str,
    req: ChatRequest,
    kind: ErrorKind,
    needle: &str,
) where
    P: llm_runtime::Provider + std::fmt::Debug,
{
    let err = client.chat(req.clone()).await.expect_err(name);
    assert_eq!(err.kind(), kind, "{name}: {err}");
    assert!(err.message().contains(needle), "{name}: {err}");
    assert!(
        err.provider().is_some(),
        "{name}: the error names the provider"
    );
    let err = client.chat_stream(req).await.expect_err(name);
    assert_eq!(err.kind(), kind, "{name} (stream): {err}");
    assert_eq!(
        server.request_count(),
        0,
        "{name}: the upstream must receive nothing"
    );
}

#[tokio::test]
async fn invalid_parameters_are_invalid_request_errors_before_any_request() {
    let server = MockServer::start().await;
    server.on("POST", CHAT_PATH, chat_ok("m", "must not be asked"));
    let client = connect::<Acme>(&server);
    for (name, req, needle) in invalid_everywhere() {
        assert_refused_offline(
            &client,
            &server,
            name,
            req,
            ErrorKind::InvalidRequest,
            needle,
        )
        .await;
    }
}

#[tokio::test]
async fn capabilities_the_provider_lacks_are_unsupported_errors_before_any_request() {
    let server = MockServer::start().await;
    server.on("POST", CHAT_PATH, chat_ok("m", "must not be asked"));
    let backup = connect::<Backup>(&server); // chat and stream only
    let image = ChatRequest::new("m").user_parts(vec![
        Part::text("what is this?"),
        Part::image_url("https://example.com/cat.png"),
    ]);
    assert_refused_offline(
        &backup,
        &server,
        "image without vision",
        image,
        ErrorKind::Unsupported,
        "vision",
    )
    .await;
    let tools = ok_request().tool(tool(
        json!({"type": "object", "properties": {"q": {"type": "string"}}}),
    ));
    assert_refused_offline(
        &backup,
        &server,
        "tools without tools",
        tools,
        ErrorKind::Unsupported,
        "tools",
    )
    .await;
}

#[tokio::test]
async fn the_same_requests_pass_where_the_capability_is_declared() {
    let server = MockServer::start().await;
    server.on("POST", CHAT_PATH, chat_ok("m", "ok"));
    let acme = connect::<Acme>(&server); // tools and vision
    let image = ChatRequest::new("m").user_parts(vec![
        Part::text("what is this?"),
        Part::image_url("https://example.com/cat.png"),
    ]);
    acme.chat(image).await.expect("vision is declared");
    let tools = ok_request().tool(tool(
        json!({"type": "object", "properties": {"q": {"type": "string"}}}),
    ));
    acme.chat(tools).await.expect("tools are declared");
    let edges = ok_request().temperature(0.0).top_p(1.0).max_tokens(1);
    acme.chat(edges).await.expect("the range ends are valid");
    acme.chat(ok_request().temperature(2.0).top_p(0.0))
        .await
        .expect("the range ends are valid");
    assert_eq!(server.request_count(), 4);
}

#[tokio::test]
async fn the_client_path_validates_too() {
    let server = MockServer::start().await;
    server.on("POST", CHAT_PATH, chat_ok("m", "must not be asked"));
    let client = acme_client(&server);
    for (name, req, _) in invalid_everywhere() {
        let err = client.chat("acme/m", req.clone()).await.expect_err(name);
        assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{name}: {err}");
        let err = client.chat_stream("acme/m", req).await.expect_err(name);
        assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{name}: {err}");
    }
    assert_eq!(server.request_count(), 0);
}

//! Connection reuse: providers that share the HTTP client keep one TCP
//! connection per upstream, for plain calls and for streams read to the end.

mod common;

use llm_runtime::http::HttpClient;
use llm_runtime::providers::{Groq, OpenAi};
use llm_runtime::testing::MockServer;
use llm_runtime::{Provider, ProviderClient, ProviderConfig};

use common::{CHAT_PATH, KEY, chat_ok, config, drain, fast_retries, request, stream_ok, text_of};

const REQUESTS: usize = 100;

fn groq_config(server: &MockServer) -> ProviderConfig<Groq> {
    Groq::config()
        .api_key(KEY)
        .base_url(format!("{}/v1", server.url()))
        .retry_policy(fast_retries())
}

/// Two providers on the given client (the shared one when `None`), each on its own mock.
async fn two_providers(
    http: Option<HttpClient>,
) -> (
    MockServer,
    ProviderClient<OpenAi>,
    MockServer,
    ProviderClient<Groq>,
) {
    let a = MockServer::start().await;
    let b = MockServer::start().await;
    a.on("POST", CHAT_PATH, chat_ok("from openai"));
    b.on("POST", CHAT_PATH, chat_ok("from groq"));
    let (ca, cb) = match http {
        Some(http) => (
            config(&a).http_client(http.clone()),
            groq_config(&b).http_client(http),
        ),
        None => (config(&a), groq_config(&b)),
    };
    let openai = ca.connect().expect("valid config");
    let groq = cb.connect().expect("valid config");
    (a, openai, b, groq)
}

fn assert_one_connection(server: &MockServer, expected_requests: usize) {
    assert_eq!(server.request_count(), expected_requests);
    assert_eq!(
        server.connections_accepted(),
        1,
        "the pool opened more than one connection"
    );
    assert!(server.requests().iter().all(|r| r.connection_id == 1));
}

#[tokio::test]
async fn sequential_calls_through_two_providers_on_the_shared_pool_use_one_connection_each() {
    let (a, openai, b, groq) = two_providers(None).await;
    for _ in 0..REQUESTS {
        let r = openai.chat(request()).await.expect("openai answers");
        assert_eq!(r.text(), "from openai");
        assert_eq!(r.provider, OpenAi::SPEC.name);
        let r = groq.chat(request()).await.expect("groq answers");
        assert_eq!(r.text(), "from groq");
        assert_eq!(r.provider, Groq::SPEC.name);
    }
    assert_one_connection(&a, REQUESTS);
    assert_one_connection(&b, REQUESTS);
}

#[tokio::test]
async fn sequential_calls_through_two_providers_on_an_injected_client_use_one_connection_each() {
    let http = HttpClient::builder().build().expect("the client builds");
    let (a, openai, b, groq) = two_providers(Some(http)).await;
    for _ in 0..REQUESTS {
        openai.chat(request()).await.expect("openai answers");
        groq.chat(request()).await.expect("groq answers");
    }
    assert_one_connection(&a, REQUESTS);
    assert_one_connection(&b, REQUESTS);
}

#[tokio::test]
async fn streams_read_to_the_end_return_their_connection_to_the_pool() {
    let (a, openai, b, groq) = two_providers(None).await;
    a.on("POST", CHAT_PATH, stream_ok(&["Hel", "lo"]));
    b.on("POST", CHAT_PATH, stream_ok(&["Hi", "!"]));
    for _ in 0..REQUESTS {
        let stream = openai.chat_stream(request()).await.expect("openai streams");
        let (events, error) = drain(stream).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(text_of(&events), "Hello");
        let reply = groq
            .chat_stream(request())
            .await
            .expect("groq streams")
            .collect_response()
            .await
            .expect("the stream completes");
        assert_eq!(reply.text(), "Hi!");
    }
    assert_one_connection(&a, REQUESTS);
    assert_one_connection(&b, REQUESTS);
}

#[tokio::test]
async fn calls_and_streams_interleaved_share_one_connection() {
    let (a, openai, _b, _groq) = two_providers(None).await;
    for i in 0..REQUESTS {
        if i % 2 == 0 {
            a.on("POST", CHAT_PATH, chat_ok("plain"));
            assert_eq!(
                openai.chat(request()).await.expect("answers").text(),
                "plain"
            );
        } else {
            a.on("POST", CHAT_PATH, stream_ok(&["str", "eam"]));
            let reply = openai
                .chat_stream(request())
                .await
                .expect("streams")
                .collect_response()
                .await
                .expect("completes");
            assert_eq!(reply.text(), "stream");
        }
    }
    assert_one_connection(&a, REQUESTS);
}

#[tokio::test]
async fn failed_calls_that_read_their_body_keep_the_connection() {
    // An error answer is read whole (bounded), so even failures reuse the connection.
    let a = MockServer::start().await;
    a.on(
        "POST",
        CHAT_PATH,
        llm_runtime::testing::MockResponse::json(
            400,
            serde_json::json!({"error": {"message": "bad", "type": "invalid_request_error"}}),
        ),
    );
    let openai = common::connect(&a);
    for _ in 0..20 {
        let e = openai.chat(request()).await.expect_err("a 400 fails");
        assert_eq!(e.kind(), llm_runtime::ErrorKind::InvalidRequest);
        let e = openai
            .chat_stream(request())
            .await
            .expect_err("a 400 fails");
        assert_eq!(e.kind(), llm_runtime::ErrorKind::InvalidRequest);
    }
    assert_one_connection(&a, 40);
}

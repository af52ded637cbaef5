//! Many concurrent streams against one mock: every event is delivered.
//! Peak memory (VmHWM) is printed for the notes, not asserted.

mod common;

use std::time::{Duration, Instant};

use llm_runtime::http::HttpClient;
use llm_runtime::testing::{MockResponse, MockServer};
use tokio::task::JoinSet;

use common::{
    CHAT_PATH, config, drain, openai_stream_events, pieces, request, text_deltas, text_of,
};

const STREAMS: usize = 1000;
const CHUNKS: usize = 20;

fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(|l| l.trim().to_owned())
        })
        .unwrap_or_else(|| "VmHWM unavailable".to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_streams_deliver_every_event() {
    let server = MockServer::start().await;
    let texts = pieces(CHUNKS);
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let expected = texts.concat();
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::sse_data(openai_stream_events(&texts, true)),
    );
    let http = HttpClient::builder().build().expect("the client builds");
    let client = config(&server).http_client(http).connect().expect("valid");

    println!("before: {}", peak_rss());
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..STREAMS {
        let client = client.clone();
        tasks.spawn(async move {
            let stream = client.chat_stream(request()).await?;
            Ok::<_, llm_runtime::Error>(drain(stream).await)
        });
    }
    let mut deltas = 0;
    let mut done = 0;
    let all = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(joined) = tasks.join_next().await {
            let (events, error) = joined.expect("no task panics").expect("every stream opens");
            assert!(error.is_none(), "a stream failed: {error:?}");
            assert_eq!(
                text_of(&events),
                expected,
                "a stream lost or reordered events"
            );
            deltas += text_deltas(&events);
            done += 1;
        }
    })
    .await;
    let took = started.elapsed();
    assert!(
        all.is_ok(),
        "only {done} of {STREAMS} streams finished in 60 s"
    );
    assert_eq!(done, STREAMS);
    assert_eq!(deltas, STREAMS * CHUNKS, "every text delta was delivered");
    println!(
        "{STREAMS} streams x {CHUNKS} chunks in {took:?}; {} connections accepted, {} requests; after: {}",
        server.connections_accepted(),
        server.request_count(),
        peak_rss()
    );
    assert_eq!(server.request_count(), STREAMS, "no stream was retried");
}

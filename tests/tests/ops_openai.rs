//! OpenAI's operations beyond chat over the loopback mock, in the wire format
//! of OpenAI's API reference: `/images/generations` and `/images/edits`,
//! `/audio/speech`, `/audio/transcriptions` and `/audio/translations`,
//! `/moderations`; with Azure OpenAI's and Groq's paths. Each request is
//! recorded and compared (multipart bodies field by field), and answers,
//! errors and retries are checked.

mod ops_common;

use std::time::Duration;

use futures_util::StreamExt;
use llm_runtime::providers::{AzureOpenAi, Groq, OpenAi};
use llm_runtime::testing::{Fault, MockResponse, MockServer};
use llm_runtime::{
    ErrorKind, LlmProvider,
    types::{
        AudioFormat, FileUpload, ImageData, ImageEditRequest, ImageRequest, ImageResponseFormat,
        ModerationRequest, SpeechRequest, TimestampGranularity, TranscriptFormat,
        TranscriptionRequest,
    },
};
use ops_common::{Field, client, config, form};
use proptest::prelude::*;
use serde_json::json;

fn openai(server: &MockServer) -> llm_runtime::ProviderClient<OpenAi> {
    client::<OpenAi>(server, "/v1")
}

fn audio() -> FileUpload {
    FileUpload::new(
        "talk.mp3",
        "audio/mpeg",
        b"ID3\x04\x00\x00\r\n--x\x00\xff".to_vec(),
    )
}

// ---- images ----

#[tokio::test]
async fn image_generation_sends_the_documented_body_and_reads_base64() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1/images/generations",
        MockResponse::json(
            200,
            json!({
                "created": 1713833628,
                "data": [{"b64_json": "iVBORw0KGgo="}],
                "output_format": "webp",
                "usage": {"total_tokens": 100, "input_tokens": 50, "output_tokens": 50,
                          "input_tokens_details": {"text_tokens": 10, "image_tokens": 40}}
            }),
        ),
    );
    let request = ImageRequest::new("gpt-image-1", "A watercolor fox")
        .n(1)
        .size("1024x1024")
        .quality("high")
        .output_format("webp");
    let response = openai(&server).images(request).await.expect("images");
    let sent = &server.requests()[0];
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {}", ops_common::KEY).as_str())
    );
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(
        sent.body_json(),
        json!({"model": "gpt-image-1", "prompt": "A watercolor fox", "n": 1,
               "size": "1024x1024", "quality": "high", "output_format": "webp"})
    );
    assert_eq!(response.created, Some(1713833628));
    assert_eq!(response.provider, "openai");
    assert_eq!(
        response.images[0].data,
        ImageData::Base64 {
            b64: "iVBORw0KGgo=".into(),
            mime: Some("image/webp".into())
        }
    );
    let usage = response.usage.expect("usage");
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (50, 50));
}

#[tokio::test]
async fn dall_e_urls_and_revised_prompts_are_read() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1/images/generations",
        MockResponse::json(
            200,
            json!({"created": 1, "data": [
                {"url": "https://img.example/1.png", "revised_prompt": "A fox, watercolor"},
                {"url": "https://img.example/2.png"}
            ]}),
        ),
    );
    let request = ImageRequest::new("dall-e-3", "fox")
        .style("vivid")
        .response_format(ImageResponseFormat::Url);
    let response = openai(&server).images(request).await.expect("images");
    assert_eq!(
        server.requests()[0].body_json(),
        json!({"model": "dall-e-3", "prompt": "fox", "style": "vivid", "response_format": "url"})
    );
    assert_eq!(response.images.len(), 2);
    assert_eq!(
        response.images[0].data,
        ImageData::Url("https://img.example/1.png".into())
    );
    assert_eq!(
        response.images[0].revised_prompt.as_deref(),
        Some("A fox, watercolor")
    );
    assert!(response.usage.is_none());
}

#[tokio::test]
async fn an_image_answer_without_images_is_a_decode_error() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1/images/generations",
        MockResponse::json(200, json!({"created": 1, "data": []})),
    );
    let e = openai(&server)
        .images(ImageRequest::new("dall-e-3", "fox"))
        .await
        .expect_err("no image");
    assert_eq!(e.kind(), ErrorKind::Decode);
    let e = openai(&server)
        .images(ImageRequest::new("dall-e-3", " "))
        .await
        .expect_err("no prompt");
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert_eq!(
        server.request_count(),
        1,
        "an invalid request is never sent"
    );
}

#[tokio::test]
async fn image_edits_are_multipart_field_by_field() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1/images/edits",
        MockResponse::json(200, json!({"created": 2, "data": [{"b64_json": "AAAA"}]})),
    );
    let png = |name: &str, bytes: &[u8]| FileUpload::new(name, "image/png", bytes.to_vec());
    // One image (dall-e-2): `image`, a mask, and the options.
    let one = ImageEditRequest::new("dall-e-2", "Add a hat", png("cat.png", b"\x89PNG1"))
        .mask(png("mask.png", b"\x89PNGm"))
        .n(2)
        .size("512x512")
        .response_format(ImageResponseFormat::B64Json);
    openai(&server).image_edit(one).await.expect("edit");
    assert_eq!(
        form(&server.requests()[0]),
        vec![
            Field::text("model", "dall-e-2"),
            Field::text("prompt", "Add a hat"),
            Field::file("image", "cat.png", "image/png", b"\x89PNG1"),
            Field::file("mask", "mask.png", "image/png", b"\x89PNGm"),
            Field::text("n", "2"),
            Field::text("size", "512x512"),
            Field::text("response_format", "b64_json"),
        ]
    );
    // Several images (gpt-image-1): `image[]`, once per image.
    let many = ImageEditRequest::new("gpt-image-1", "Combine", png("a.png", b"A"))
        .image(png("b.png", b"B"))
        .quality("low");
    openai(&server).image_edit(many).await.expect("edit");
    assert_eq!(
        form(&server.requests()[1]),
        vec![
            Field::text("model", "gpt-image-1"),
            Field::text("prompt", "Combine"),
            Field::file("image[]", "a.png", "image/png", b"A"),
            Field::file("image[]", "b.png", "image/png", b"B"),
            Field::text("quality", "low"),
        ]
    );
}

#[tokio::test]
async fn azure_images_go_to_the_deployment_with_the_api_version() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/openai/deployments/my-dalle/images/generations",
        MockResponse::json(
            200,
            json!({"created": 3, "data": [{"url": "https://x/1.png"}]}),
        ),
    );
    let azure = client::<AzureOpenAi>(&server, "/openai");
    azure
        .images(ImageRequest::new("my-dalle", "fox"))
        .await
        .expect("images");
    let sent = &server.requests()[0];
    assert_eq!(sent.query_param("api-version"), Some("2024-10-21"));
    assert_eq!(sent.header("api-key"), Some(ops_common::KEY));
    assert_eq!(sent.body_json()["model"], "my-dalle");
}

// ---- speech ----

#[tokio::test]
async fn speech_streams_the_audio_bytes() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1/audio/speech",
        MockResponse::raw_body_chunks([&b"ID3"[..], &b"\x00\x01"[..], &b"\xff\xfb"[..]])
            .header("content-type", "audio/mpeg"),
    );
    let request = SpeechRequest::new("gpt-4o-mini-tts", "coral", "Hello there")
        .format(AudioFormat::Mp3)
        .speed(1.5)
        .instructions("Cheerful");
    let stream = openai(&server).speech(request).await.expect("speech");
    assert_eq!(stream.content_type(), Some("audio/mpeg"));
    assert_eq!(stream.meta().attempts, 1);
    let audio = stream.collect_bytes(1 << 20).await.expect("whole audio");
    assert_eq!(&audio[..], b"ID3\x00\x01\xff\xfb");
    let sent = &server.requests()[0];
    assert_eq!(sent.header("accept"), Some("audio/mpeg"));
    assert_eq!(
        sent.body_json(),
        json!({"model": "gpt-4o-mini-tts", "input": "Hello there", "voice": "coral",
               "response_format": "mp3", "speed": 1.5, "instructions": "Cheerful"})
    );
}

#[tokio::test]
async fn an_audio_stream_that_stalls_fails_with_timeout_after_the_idle_bound() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1/audio/speech",
        MockResponse::raw_body_chunks([&b"OggS"[..], &b"more"[..]])
            .header("content-type", "audio/ogg")
            .with_fault(Fault::StallAfterChunks(1)),
    );
    let tts = config::<OpenAi>(&server, "/v1")
        .idle_timeout(Duration::from_millis(200))
        .connect()
        .expect("valid");
    let mut stream = tts
        .speech(SpeechRequest::new("tts-1", "alloy", "Hi").format(AudioFormat::Opus))
        .await
        .expect("headers arrive");
    let first = stream.next().await.expect("a chunk").expect("bytes");
    assert_eq!(&first[..], b"OggS");
    let e = stream.next().await.expect("an error").expect_err("stalled");
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(e.message().contains("200ms"), "{e}");
    assert_eq!(e.provider(), Some("openai"));
    assert!(
        stream.next().await.is_none(),
        "the stream ends after its error"
    );
}

#[tokio::test]
async fn speech_errors_are_classified_and_retried() {
    let server = MockServer::start().await;
    server.on_sequence(
        "POST",
        "/v1/audio/speech",
        vec![
            MockResponse::json(
                503,
                json!({"error": {"message": "busy", "type": "server_error"}}),
            ),
            MockResponse::raw_body_chunks([&b"RIFF"[..]]).header("content-type", "audio/wav"),
        ],
    );
    let stream = openai(&server)
        .speech(SpeechRequest::new("tts-1", "alloy", "Hi").format(AudioFormat::Wav))
        .await
        .expect("second attempt");
    assert_eq!(stream.meta().attempts, 2);
    assert_eq!(&stream.collect_bytes(64).await.expect("audio")[..], b"RIFF");
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1/audio/speech",
        MockResponse::json(
            400,
            json!({"error": {"message": "voice is invalid", "type": "invalid_request_error"}}),
        ),
    );
    let e = openai(&server)
        .speech(SpeechRequest::new("tts-1", "nobody", "Hi"))
        .await
        .expect_err("bad voice");
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert!(!e.to_string().contains(ops_common::KEY));
}

// ---- transcription ----

fn transcription_fields(model: &str) -> Vec<Field> {
    vec![
        Field::file("file", "talk.mp3", "audio/mpeg", &audio().bytes),
        Field::text("model", model),
    ]
}

#[tokio::test]
async fn a_verbose_transcription_with_timestamps() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1/audio/transcriptions",
        MockResponse::json(200, json!({
            "task": "transcribe", "language": "english", "duration": 1.5, "text": "Hello world",
            "words": [{"word": "Hello", "start": 0.0, "end": 0.5}, {"word": "world", "start": 0.6, "end": 1.1}],
            "segments": [{"id": 0, "seek": 0, "start": 0.0, "end": 1.1, "text": " Hello world",
                          "tokens": [1, 2], "temperature": 0.0, "avg_logprob": -0.2,
                          "compression_ratio": 0.9, "no_speech_prob": 0.01}]
        })),
    );
    let request = TranscriptionRequest::new("whisper-1", audio())
        .language("en")
        .prompt("A greeting")
        .temperature(0.0)
        .format(TranscriptFormat::VerboseJson)
        .timestamps([TimestampGranularity::Word, TimestampGranularity::Segment]);
    let t = openai(&server)
        .transcribe(request)
        .await
        .expect("transcription");
    let mut expected = transcription_fields("whisper-1");
    expected.extend([
        Field::text("language", "en"),
        Field::text("prompt", "A greeting"),
        Field::text("response_format", "verbose_json"),
        Field::text("temperature", "0"),
        Field::text("timestamp_granularities[]", "word"),
        Field::text("timestamp_granularities[]", "segment"),
    ]);
    assert_eq!(form(&server.requests()[0]), expected);
    assert_eq!(t.text, "Hello world");
    assert_eq!(t.language.as_deref(), Some("english"));
    assert_eq!(t.duration, Some(1.5));
    assert_eq!(t.words.len(), 2);
    assert_eq!(
        (t.words[1].word.as_str(), t.words[1].start, t.words[1].end),
        ("world", 0.6, 1.1)
    );
    assert_eq!(t.segments[0].avg_logprob, Some(-0.2));
    assert_eq!(
        (t.model.as_str(), t.provider.as_str()),
        ("whisper-1", "openai")
    );
}

#[tokio::test]
async fn text_srt_and_vtt_answers_are_the_text_itself() {
    let srt = "1\n00:00:00,000 --> 00:00:01,100\nHello world\n\n";
    let vtt = "WEBVTT\n\n00:00:00.000 --> 00:00:01.100\nHello world\n\n";
    for (format, body, content_type) in [
        (TranscriptFormat::Text, "Hello world\n", "text/plain"),
        (TranscriptFormat::Srt, srt, "application/x-subrip"),
        (TranscriptFormat::Vtt, vtt, "text/vtt"),
    ] {
        let server = MockServer::start().await;
        server.on(
            "POST",
            "/v1/audio/transcriptions",
            MockResponse::text(200, content_type, body),
        );
        let t = openai(&server)
            .transcribe(TranscriptionRequest::new("whisper-1", audio()).format(format))
            .await
            .expect("transcription");
        assert_eq!(t.text, body);
        assert_eq!(t.format, format);
        let fields = form(&server.requests()[0]);
        assert_eq!(fields[2], Field::text("response_format", format.as_str()));
    }
}

#[tokio::test]
async fn translations_go_to_their_own_path() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1/audio/translations",
        MockResponse::json(200, json!({"text": "Hello"})),
    );
    let t = openai(&server)
        .transcribe(TranscriptionRequest::new("whisper-1", audio()).translate())
        .await
        .expect("translation");
    assert_eq!(t.text, "Hello");
    let mut expected = transcription_fields("whisper-1");
    expected.push(Field::text("response_format", "json"));
    assert_eq!(form(&server.requests()[0]), expected);
    // A language or timestamps make no sense on a translation: refused before sending.
    let e = openai(&server)
        .transcribe(
            TranscriptionRequest::new("whisper-1", audio())
                .translate()
                .language("de"),
        )
        .await
        .expect_err("language on a translation");
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn a_transcription_retried_after_a_503_resends_the_same_multipart_body() {
    let server = MockServer::start().await;
    server.on_sequence(
        "POST",
        "/v1/audio/transcriptions",
        vec![
            MockResponse::json(503, json!({"error": {"message": "overloaded", "type": "server_error"}})),
            MockResponse::json(200, json!({"text": "ok", "usage": {"type": "tokens", "input_tokens": 14, "output_tokens": 2, "total_tokens": 16}})),
        ],
    );
    let t = openai(&server)
        .transcribe(TranscriptionRequest::new("gpt-4o-transcribe", audio()))
        .await
        .expect("the retry succeeds");
    assert_eq!(t.meta.attempts, 2);
    assert_eq!(
        t.usage.map(|u| (u.prompt_tokens, u.completion_tokens)),
        Some((14, 2))
    );
    let [first, second] = &server.requests()[..] else {
        panic!("two attempts");
    };
    assert_eq!(first.body, second.body, "the same bytes");
    assert_eq!(
        first.header("content-type"),
        second.header("content-type"),
        "the same boundary"
    );
    assert_eq!(
        first.header("content-length"),
        Some(first.body.len().to_string().as_str())
    );
    assert_eq!(
        form(second)[0],
        Field::file("file", "talk.mp3", "audio/mpeg", &audio().bytes)
    );
}

#[tokio::test]
async fn an_upload_over_the_body_cap_is_refused_before_sending() {
    let server = MockServer::start().await;
    let small = config::<OpenAi>(&server, "/v1")
        .max_body_bytes(1024)
        .connect()
        .expect("valid");
    let big = FileUpload::new("long.wav", "audio/wav", vec![7u8; 4096]);
    let e = small
        .transcribe(TranscriptionRequest::new("whisper-1", big))
        .await
        .expect_err("over the cap");
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert!(e.message().contains("1024-byte"), "{e}");
    assert_eq!(server.request_count(), 0);
}

#[tokio::test]
async fn groq_transcribes_on_the_openai_path() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/openai/v1/audio/transcriptions",
        MockResponse::json(200, json!({"text": "hola", "x_groq": {"id": "req_1"}})),
    );
    let groq = client::<Groq>(&server, "/openai/v1");
    let t = groq
        .transcribe(TranscriptionRequest::new("whisper-large-v3-turbo", audio()).language("es"))
        .await
        .expect("transcription");
    assert_eq!((t.text.as_str(), t.provider.as_str()), ("hola", "groq"));
    let fields = form(&server.requests()[0]);
    assert_eq!(fields[1], Field::text("model", "whisper-large-v3-turbo"));
    assert_eq!(fields[2], Field::text("language", "es"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Any file bytes, name and prompt reach the upstream exactly.
    #[test]
    fn any_upload_arrives_field_by_field(
        bytes in proptest::collection::vec(any::<u8>(), 1..2048),
        name in "[a-zA-Z0-9 _.\"-]{1,20}",
        prompt in "\\PC{0,40}",
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let server = MockServer::start().await;
            server.on("POST", "/v1/audio/transcriptions", MockResponse::json(200, json!({"text": "x"})));
            let file = FileUpload::new(name.clone(), "audio/webm", bytes.clone());
            let mut request = TranscriptionRequest::new("whisper-1", file);
            if !prompt.is_empty() {
                request = request.prompt(prompt.clone());
            }
            openai(&server).transcribe(request).await.expect("transcription");
            let fields = form(&server.requests()[0]);
            let escaped = name.replace('"', "%22");
            assert_eq!(fields[0], Field::file("file", &escaped, "audio/webm", &bytes));
            if !prompt.is_empty() {
                assert_eq!(fields[2], Field::text("prompt", &prompt));
            }
        });
    }
}

// ---- moderation ----

fn verdict(flagged: bool) -> serde_json::Value {
    json!({
        "flagged": flagged,
        "categories": {"harassment": flagged, "violence": false, "sexual/minors": null},
        "category_scores": {"harassment": if flagged { 0.91 } else { 0.01 }, "violence": 0.02},
        "category_applied_input_types": {"harassment": ["text"], "violence": ["text", "image"]}
    })
}

#[tokio::test]
async fn moderation_sends_each_documented_input_form() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1/moderations",
        MockResponse::json(200, json!({"id": "modr-1", "model": "omni-moderation-2024-09-26", "results": [verdict(true)]})),
    );
    let moderate = |request| {
        let client = openai(&server);
        async move { client.moderate(request).await.expect("moderation") }
    };
    let one =
        moderate(ModerationRequest::new("omni-moderation-latest").text("I will hurt you")).await;
    moderate(
        ModerationRequest::new("omni-moderation-latest")
            .text("a")
            .text("b"),
    )
    .await;
    moderate(
        ModerationRequest::new("omni-moderation-latest")
            .text("look")
            .image_url("https://example.com/x.png"),
    )
    .await;
    let bodies: Vec<_> = server.requests().iter().map(|r| r.body_json()).collect();
    assert_eq!(
        bodies[0],
        json!({"model": "omni-moderation-latest", "input": "I will hurt you"})
    );
    assert_eq!(bodies[1]["input"], json!(["a", "b"]));
    assert_eq!(
        bodies[2]["input"],
        json!([{"type": "text", "text": "look"},
               {"type": "image_url", "image_url": {"url": "https://example.com/x.png"}}])
    );
    assert!(one.flagged());
    let result = &one.results[0];
    assert_eq!(
        result.flagged_categories().collect::<Vec<_>>(),
        ["harassment"]
    );
    assert!(
        !result.categories.contains_key("sexual/minors"),
        "a null category is not judged"
    );
    assert_eq!(result.category_scores["harassment"], 0.91);
    assert_eq!(
        result.category_applied_input_types["violence"],
        ["text", "image"]
    );
    assert_eq!(
        (one.id.as_str(), one.provider.as_str()),
        ("modr-1", "openai")
    );
}

#[tokio::test]
async fn moderation_rate_limits_are_retried_then_reported() {
    let server = MockServer::start().await;
    let limited = || {
        MockResponse::json(
            429,
            json!({"error": {"message": "slow down", "type": "rate_limit_exceeded"}}),
        )
        .header("retry-after-ms", "5")
    };
    server.on_sequence(
        "POST",
        "/v1/moderations",
        vec![
            limited(),
            MockResponse::json(
                200,
                json!({"id": "m", "model": "m", "results": [verdict(false)]}),
            ),
        ],
    );
    let r = openai(&server)
        .moderate(ModerationRequest::new("omni-moderation-latest").text("hello"))
        .await
        .expect("after the retry");
    assert!(!r.flagged());
    assert_eq!(r.meta.attempts, 2);
    let server = MockServer::start().await;
    server.on("POST", "/v1/moderations", limited());
    let e = config::<OpenAi>(&server, "/v1")
        .max_retries(0)
        .connect()
        .expect("valid")
        .moderate(ModerationRequest::new("omni-moderation-latest").text("hello"))
        .await
        .expect_err("limited");
    assert_eq!(e.kind(), ErrorKind::RateLimited);
}

// ---- the object-safe interface and the client ----

#[tokio::test]
async fn undeclared_operations_are_unsupported_at_run_time() {
    let server = MockServer::start().await;
    let groq: Box<dyn LlmProvider> = Box::new(client::<Groq>(&server, "/openai/v1"));
    let e = groq
        .speech(SpeechRequest::new("tts-1", "alloy", "Hi"))
        .await
        .expect_err("Groq declares no speech");
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert_eq!(e.provider(), Some("groq"));
    let e = groq
        .images(ImageRequest::new("m", "fox"))
        .await
        .expect_err("no images");
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert_eq!(server.request_count(), 0);
}

#[tokio::test]
async fn the_client_routes_operations_as_provider_slash_model() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1/audio/transcriptions",
        MockResponse::json(200, json!({"text": "routed"})),
    );
    server.on(
        "POST",
        "/v1/images/generations",
        MockResponse::json(200, json!({"data": [{"url": "https://x/y.png"}]})),
    );
    let client = llm_runtime::Client::builder()
        .register(openai(&server))
        .expect("register")
        .build()
        .expect("client");
    let t = client
        .transcribe("openai/whisper-1", TranscriptionRequest::new("", audio()))
        .await
        .expect("routed");
    assert_eq!(t.meta.route.as_deref(), Some("openai/whisper-1"));
    assert_eq!(
        form(&server.requests()[0])[1],
        Field::text("model", "whisper-1")
    );
    let images = client
        .images("openai/dall-e-3", ImageRequest::new("", "fox"))
        .await
        .expect("routed");
    assert_eq!(images.model, "dall-e-3");
    let e = client
        .rerank(
            "openai/x",
            llm_runtime::types::RerankRequest::new("", "q", ["d"]),
        )
        .await
        .expect_err("OpenAI declares no rerank");
    assert_eq!(e.kind(), ErrorKind::Unsupported);
}

#[tokio::test]
async fn azure_audio_goes_to_the_deployment_too() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/openai/deployments/my-whisper/audio/transcriptions",
        MockResponse::json(200, json!({"text": "azure"})),
    );
    server.on(
        "POST",
        "/openai/deployments/my-tts/audio/speech",
        MockResponse::raw_body_chunks([&b"ID3"[..]]).header("content-type", "audio/mpeg"),
    );
    let azure = client::<AzureOpenAi>(&server, "/openai");
    let t = azure
        .transcribe(TranscriptionRequest::new("my-whisper", audio()))
        .await
        .expect("transcription");
    assert_eq!(t.text, "azure");
    let audio_bytes = azure
        .speech(SpeechRequest::new("my-tts", "alloy", "Hi"))
        .await
        .expect("speech")
        .collect_bytes(16)
        .await
        .expect("audio");
    assert_eq!(&audio_bytes[..], b"ID3");
    for sent in server.requests() {
        assert_eq!(sent.query_param("api-version"), Some("2024-10-21"));
    }
    assert_eq!(
        form(&server.requests()[0])[1],
        Field::text("model", "my-whisper")
    );
}

#[tokio::test]
async fn the_client_streams_speech() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1/audio/speech",
        MockResponse::raw_body_chunks([&b"fLaC"[..], &b"\x00"[..]])
            .header("content-type", "audio/flac"),
    );
    let client = llm_runtime::Client::builder()
        .register(openai(&server))
        .expect("register")
        .build()
        .expect("client");
    let audio_bytes = client
        .speech(
            "openai/tts-1-hd",
            SpeechRequest::new("", "nova", "Hi").format(AudioFormat::Flac),
        )
        .await
        .expect("speech")
        .collect_bytes(1024)
        .await
        .expect("audio");
    assert_eq!(&audio_bytes[..], b"fLaC\x00");
    let body = server.requests()[0].body_json();
    assert_eq!(
        (body["model"].as_str(), body["response_format"].as_str()),
        (Some("tts-1-hd"), Some("flac"))
    );
    assert_eq!(server.requests()[0].header("accept"), Some("audio/flac"));
}

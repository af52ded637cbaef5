//! Speech to text with word timestamps, and a translation into English.
//!
//! `cargo run --example transcription` (offline, on the loopback mock).

use llm_runtime::providers::OpenAi;
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::types::{
    FileUpload, TimestampGranularity, TranscriptFormat, TranscriptionRequest,
};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), llm_runtime::Error> {
    let mock = MockServer::start().await;
    mock.on(
        "POST",
        "/v1/audio/transcriptions",
        MockResponse::json(200, json!({"task": "transcribe", "language": "english", "duration": 1.2,
            "text": "Hello world",
            "words": [{"word": "Hello", "start": 0.0, "end": 0.4}, {"word": "world", "start": 0.5, "end": 1.0}]})),
    );
    mock.on(
        "POST",
        "/v1/audio/translations",
        MockResponse::text(200, "text/plain", "Good morning\n"),
    );
    let client = OpenAi::config()
        .api_key("demo")
        .base_url(format!("{}/v1", mock.url()))
        .connect()?;

    // In a real program: `std::fs::read("talk.mp3")?`.
    let audio = FileUpload::new("talk.mp3", "audio/mpeg", b"ID3...".to_vec());
    let transcript = client
        .transcribe(
            TranscriptionRequest::new("whisper-1", audio.clone())
                .format(TranscriptFormat::VerboseJson)
                .timestamps([TimestampGranularity::Word]),
        )
        .await?;
    println!(
        "{} ({:?}, {:?} s)",
        transcript.text, transcript.language, transcript.duration
    );
    for word in &transcript.words {
        println!("  {:>5.2}-{:<5.2} {}", word.start, word.end, word.word);
    }

    let english = client
        .transcribe(
            TranscriptionRequest::new("whisper-1", audio)
                .translate()
                .format(TranscriptFormat::Text),
        )
        .await?;
    println!("translated: {}", english.text.trim());
    assert_eq!(transcript.words.len(), 2);
    Ok(())
}

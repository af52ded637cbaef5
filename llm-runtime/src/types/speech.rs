use serde::{Deserialize, Serialize};

use super::check::in_range;
use super::setters::setters;
use crate::error::{Error, Result};

/// The audio format of generated speech.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AudioFormat {
    /// MP3 (OpenAI's default).
    Mp3,
    /// Opus in Ogg.
    Opus,
    /// AAC.
    Aac,
    /// FLAC.
    Flac,
    /// WAV.
    Wav,
    /// Raw 24 kHz 16-bit signed little-endian samples.
    Pcm,
}

impl AudioFormat {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            AudioFormat::Mp3 => "mp3",
            AudioFormat::Opus => "opus",
            AudioFormat::Aac => "aac",
            AudioFormat::Flac => "flac",
            AudioFormat::Wav => "wav",
            AudioFormat::Pcm => "pcm",
        }
    }

    /// The media type of audio in this format.
    pub fn mime(self) -> &'static str {
        match self {
            AudioFormat::Mp3 => "audio/mpeg",
            AudioFormat::Opus => "audio/ogg",
            AudioFormat::Aac => "audio/aac",
            AudioFormat::Flac => "audio/flac",
            AudioFormat::Wav => "audio/wav",
            AudioFormat::Pcm => "audio/pcm",
        }
    }
}

/// A request to turn text into speech (OpenAI's `/audio/speech`).
///
/// ```
/// use llm_runtime::types::{AudioFormat, SpeechRequest};
/// let request = SpeechRequest::new("gpt-4o-mini-tts", "alloy", "Hello there")
///     .format(AudioFormat::Opus)
///     .speed(1.25);
/// assert_eq!(request.response_format, Some(AudioFormat::Opus));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SpeechRequest {
    /// The speech model (`tts-1`, `tts-1-hd`, `gpt-4o-mini-tts`).
    pub model: String,
    /// The text to speak.
    pub input: String,
    /// The voice (`alloy`, `ash`, `coral`, `echo`, `nova`...).
    pub voice: String,
    /// The audio format (mp3 when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<AudioFormat>,
    /// 0.25 to 4.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<f32>,
    /// How to speak (gpt-4o-mini-tts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
}

impl SpeechRequest {
    /// Speak `input` with `model` in `voice`.
    pub fn new(
        model: impl Into<String>,
        voice: impl Into<String>,
        input: impl Into<String>,
    ) -> Self {
        SpeechRequest {
            model: model.into(),
            input: input.into(),
            voice: voice.into(),
            ..SpeechRequest::default()
        }
    }

    setters! {
        /// The audio format.
        format(format: AudioFormat) { response_format = Some(format) }
        /// The speed.
        speed(speed: f32) { speed = Some(speed) }
        /// How to speak.
        instructions(instructions: impl Into<String>) { instructions = Some(instructions.into()) }
    }

    /// A request that cannot be sent: no text, no voice, a speed out of 0.25..=4.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest).
    pub fn validate(&self) -> Result<()> {
        if self.input.is_empty() {
            return Err(Error::invalid_request("a speech request needs input text"));
        }
        if self.voice.trim().is_empty() {
            return Err(Error::invalid_request("a speech request needs a voice"));
        }
        in_range("speed", self.speed, 0.25..=4.0)
    }
}

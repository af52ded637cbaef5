use serde::{Deserialize, Serialize};

use super::check::in_range;
use super::setters::setters;
use super::upload::FileUpload;
use super::usage::Usage;
use crate::error::{Error, Result};

/// What a transcription answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TranscriptFormat {
    /// `{"text": ...}` (the default).
    #[default]
    Json,
    /// The text with language, duration, segments and word timestamps.
    VerboseJson,
    /// Plain text.
    Text,
    /// SubRip subtitles.
    Srt,
    /// WebVTT subtitles.
    Vtt,
}

impl TranscriptFormat {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            TranscriptFormat::Json => "json",
            TranscriptFormat::VerboseJson => "verbose_json",
            TranscriptFormat::Text => "text",
            TranscriptFormat::Srt => "srt",
            TranscriptFormat::Vtt => "vtt",
        }
    }

    /// Whether the answer is JSON (otherwise it is the text itself).
    pub fn is_json(self) -> bool {
        matches!(self, TranscriptFormat::Json | TranscriptFormat::VerboseJson)
    }
}

/// Which timestamps a `verbose_json` transcription carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimestampGranularity {
    /// Per word.
    Word,
    /// Per segment.
    Segment,
}

impl TimestampGranularity {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            TimestampGranularity::Word => "word",
            TimestampGranularity::Segment => "segment",
        }
    }
}

/// Transcribe audio in its language, or translate it into English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TranscriptionTask {
    /// Speech to text in the spoken language (`/audio/transcriptions`).
    #[default]
    Transcribe,
    /// Speech to English text (`/audio/translations`).
    Translate,
}

/// A request to turn audio into text (OpenAI's `/audio/transcriptions` and
/// `/audio/translations`, sent as multipart; Groq's are the same).
///
/// ```
/// use llm_runtime::types::{FileUpload, TimestampGranularity, TranscriptFormat, TranscriptionRequest};
/// let audio = FileUpload::new("talk.mp3", "audio/mpeg", vec![0u8; 16]);
/// let request = TranscriptionRequest::new("whisper-1", audio)
///     .language("en")
///     .format(TranscriptFormat::VerboseJson)
///     .timestamps([TimestampGranularity::Word, TimestampGranularity::Segment]);
/// assert!(request.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TranscriptionRequest {
    /// The model (`whisper-1`, `gpt-4o-transcribe`, `whisper-large-v3`...).
    pub model: String,
    /// The audio file.
    pub file: FileUpload,
    /// Transcribe, or translate into English.
    pub task: TranscriptionTask,
    /// The spoken language (ISO-639-1), where known (transcription only).
    pub language: Option<String>,
    /// Text to guide the style, or the previous segment.
    pub prompt: Option<String>,
    /// The answer's format.
    pub response_format: TranscriptFormat,
    /// Sampling temperature, 0 to 1.
    pub temperature: Option<f32>,
    /// Word and/or segment timestamps (`verbose_json` only).
    pub timestamp_granularities: Vec<TimestampGranularity>,
}

impl Default for FileUpload {
    fn default() -> Self {
        FileUpload::new("audio", "application/octet-stream", Vec::new())
    }
}

impl TranscriptionRequest {
    /// Transcribe `file` with `model`.
    pub fn new(model: impl Into<String>, file: FileUpload) -> Self {
        TranscriptionRequest {
            model: model.into(),
            file,
            ..TranscriptionRequest::default()
        }
    }

    setters! {
        /// Translate into English instead of transcribing.
        translate() { task = TranscriptionTask::Translate }
        /// The spoken language.
        language(language: impl Into<String>) { language = Some(language.into()) }
        /// A prompt.
        prompt(prompt: impl Into<String>) { prompt = Some(prompt.into()) }
        /// The answer's format.
        format(format: TranscriptFormat) { response_format = format }
        /// The temperature.
        temperature(temperature: f32) { temperature = Some(temperature) }
    }

    /// Ask for timestamps (needs [`TranscriptFormat::VerboseJson`]).
    pub fn timestamps(
        mut self,
        granularities: impl IntoIterator<Item = TimestampGranularity>,
    ) -> Self {
        self.timestamp_granularities = granularities.into_iter().collect();
        self
    }

    /// A request that cannot be sent: an empty file, timestamps without
    /// `verbose_json`, a language or timestamps on a translation, a
    /// temperature out of 0..=1.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest).
    pub fn validate(&self) -> Result<()> {
        if self.file.bytes.is_empty() {
            return Err(Error::invalid_request("the audio file is empty"));
        }
        if !self.timestamp_granularities.is_empty()
            && self.response_format != TranscriptFormat::VerboseJson
        {
            return Err(Error::invalid_request(
                "timestamps need the verbose_json response format",
            ));
        }
        if self.task == TranscriptionTask::Translate
            && (self.language.is_some() || !self.timestamp_granularities.is_empty())
        {
            return Err(Error::invalid_request(
                "a translation takes no language and no timestamps",
            ));
        }
        in_range("temperature", self.temperature, 0.0..=1.0)
    }
}

/// One word with its timing, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptWord {
    /// The word.
    pub word: String,
    /// Where it starts.
    pub start: f64,
    /// Where it ends.
    pub end: f64,
}

/// One segment with its timing, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptSegment {
    /// Its number.
    pub id: u32,
    /// Where it starts.
    pub start: f64,
    /// Where it ends.
    pub end: f64,
    /// Its text.
    pub text: String,
    /// Its average log probability, where reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avg_logprob: Option<f64>,
    /// The probability it holds no speech, where reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_speech_prob: Option<f64>,
}

/// Transcribed (or translated) audio.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcription {
    /// The text; for `srt` and `vtt`, the subtitles as the API wrote them.
    pub text: String,
    /// The format it was asked in.
    pub format: TranscriptFormat,
    /// The detected language (`verbose_json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The audio's length in seconds (`verbose_json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// Word timestamps, when asked for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<TranscriptWord>,
    /// Segments, when asked for (or given by default with `verbose_json`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<TranscriptSegment>,
    /// Token usage, where reported (gpt-4o-transcribe).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// The model asked for.
    pub model: String,
    /// The name of the provider that served it.
    pub provider: String,
    /// What the transport knows about the answer (not serialized).
    #[serde(skip)]
    pub meta: crate::types::ResponseMeta,
}

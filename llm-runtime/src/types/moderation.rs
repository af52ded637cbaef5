use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::setters::setters;
use crate::error::{Error, Result};

/// One input to classify: a text, or an image by URL (a `data:` URL for bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ModerationInput {
    /// A text.
    Text {
        /// The text.
        text: String,
    },
    /// An image.
    ImageUrl {
        /// An `https://` or `data:` URL.
        url: String,
    },
}

/// A request to classify texts and images against content policies
/// (OpenAI's `/moderations`).
///
/// ```
/// use llm_runtime::types::ModerationRequest;
/// let request = ModerationRequest::new("omni-moderation-latest")
///     .text("I want to hurt them.")
///     .image_url("https://example.com/image.png");
/// assert_eq!(request.input.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ModerationRequest {
    /// The moderation model.
    pub model: String,
    /// What to classify.
    pub input: Vec<ModerationInput>,
}

impl ModerationRequest {
    /// An empty request for `model`.
    pub fn new(model: impl Into<String>) -> Self {
        ModerationRequest {
            model: model.into(),
            input: Vec::new(),
        }
    }

    setters! {
        /// Add a text.
        text(text: impl Into<String>) { input.push(ModerationInput::Text { text: text.into() }) }
        /// Add an image by URL.
        image_url(url: impl Into<String>) { input.push(ModerationInput::ImageUrl { url: url.into() }) }
    }

    /// A request with nothing to classify cannot be sent.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest).
    pub fn validate(&self) -> Result<()> {
        if self.input.is_empty() {
            return Err(Error::invalid_request(
                "a moderation request needs at least one input",
            ));
        }
        Ok(())
    }
}

/// The verdict on one input (or, for a mixed text-and-image request, on all of them).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ModerationResult {
    /// Whether any category was flagged.
    pub flagged: bool,
    /// Each category and whether it was flagged, by the provider's names
    /// (`harassment`, `self-harm/intent`...): unknown categories are kept.
    pub categories: BTreeMap<String, bool>,
    /// Each category's score, from 0 to 1.
    pub category_scores: BTreeMap<String, f64>,
    /// Which input types (`text`, `image`) each category was judged on, where reported.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub category_applied_input_types: BTreeMap<String, Vec<String>>,
}

impl ModerationResult {
    /// The flagged categories' names.
    pub fn flagged_categories(&self) -> impl Iterator<Item = &str> {
        self.categories
            .iter()
            .filter(|(_, flagged)| **flagged)
            .map(|(name, _)| name.as_str())
    }
}

/// The verdicts of a moderation request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModerationResponse {
    /// The provider's id for the answer.
    pub id: String,
    /// The model that answered.
    pub model: String,
    /// The name of the provider that served it.
    pub provider: String,
    /// One verdict per result the provider gave.
    pub results: Vec<ModerationResult>,
    /// What the transport knows about the answer (not serialized).
    #[serde(skip)]
    pub meta: crate::types::ResponseMeta,
}

impl ModerationResponse {
    /// Whether any result was flagged.
    pub fn flagged(&self) -> bool {
        self.results.iter().any(|r| r.flagged)
    }
}

//! The kinds of per-operation price (`operations.rs` prices calls with
//! them, `operation_data.rs` lists them).

use crate::types::ImageOptions;

/// How one operation's model is billed, in US dollars.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum OperationPrice {
    /// Per image made, by quality and size.
    PerImage(ImagePrices),
    /// Per million characters of input text (text to speech).
    PerMillionCharacters(f64),
    /// Per minute of audio, by the second, with a minimum billed per request.
    PerMinute {
        /// US dollars per minute.
        usd: f64,
        /// The least billed per request, in seconds (Groq bills at least 10 s).
        minimum_seconds: f64,
    },
    /// Per thousand searches (rerank: one query over up to 100 documents is
    /// one search; the provider's billed search units where it reports them).
    PerThousandSearches(f64),
    /// Free (moderation): a cost of zero, not an unknown one.
    Free,
}

/// The per-image prices of one image model.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct ImagePrices {
    /// The quality billed when the request names none.
    pub default_quality: &'static str,
    /// The size billed when the request names none.
    pub default_size: &'static str,
    /// `(quality, size, usd)` rows; a combination not listed is unpriced.
    pub rows: &'static [(&'static str, &'static str, f64)],
}

impl ImagePrices {
    /// The price of one image made with these options, if listed.
    pub fn per_image(&self, options: &ImageOptions) -> Option<f64> {
        let quality = options.quality.as_deref().unwrap_or(self.default_quality);
        let size = options.size.as_deref().unwrap_or(self.default_size);
        self.rows
            .iter()
            .find(|(q, s, _)| *q == quality && *s == size)
            .map(|(_, _, usd)| *usd)
    }
}

/// One priced model of an operation.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct OperationCard {
    /// The provider's routing name.
    pub provider: &'static str,
    /// The model id as the provider names it.
    pub model: &'static str,
    /// How it is billed.
    pub price: OperationPrice,
}

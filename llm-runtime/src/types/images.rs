use serde::{Deserialize, Serialize};

use super::check::in_range;
use super::setters::setters;
use super::upload::FileUpload;
use super::usage::Usage;
use crate::error::{Error, Result};

/// How the provider hands generated images back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageResponseFormat {
    /// A URL valid for a while (dall-e models).
    Url,
    /// The bytes, base64-encoded in the answer (always so for gpt-image-1).
    B64Json,
}

impl ImageResponseFormat {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageResponseFormat::Url => "url",
            ImageResponseFormat::B64Json => "b64_json",
        }
    }
}

/// The options generations and edits share: how many, what size and quality,
/// which format, and the fields only some models take (OpenAI's names).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ImageOptions {
    /// How many images (1 to 10; dall-e-3 makes one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// `1024x1024`, `1536x1024`, `auto`...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// `standard`/`hd` (dall-e-3), `low`/`medium`/`high`/`auto` (gpt-image-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<String>,
    /// `url` or `b64_json` (dall-e models; gpt-image-1 always answers base64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ImageResponseFormat>,
    /// `vivid` or `natural` (dall-e-3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
    /// `png`, `jpeg` or `webp` (gpt-image-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_format: Option<String>,
    /// `transparent`, `opaque` or `auto` (gpt-image-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<String>,
    /// 0 to 100 for `jpeg`/`webp` output (gpt-image-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_compression: Option<u8>,
    /// `low` or `auto` content moderation (gpt-image-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moderation: Option<String>,
    /// The end user's id, for abuse monitoring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// A request to generate images from a prompt (OpenAI's `/images/generations`).
///
/// ```
/// use llm_runtime::types::{ImageRequest, ImageResponseFormat};
/// let request = ImageRequest::new("dall-e-3", "A watercolor fox")
///     .size("1024x1024")
///     .response_format(ImageResponseFormat::B64Json);
/// assert_eq!(request.options.size.as_deref(), Some("1024x1024"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ImageRequest {
    /// The image model.
    pub model: String,
    /// What to draw.
    pub prompt: String,
    /// Count, size, quality, format.
    #[serde(flatten)]
    pub options: ImageOptions,
}

/// The builder methods both image requests share.
macro_rules! image_options {
    ($ty:ty) => {
        impl $ty {
            setters! {
                /// How many images.
                n(n: u32) { options.n = Some(n) }
                /// The size (`1024x1024`...).
                size(size: impl Into<String>) { options.size = Some(size.into()) }
                /// The quality.
                quality(quality: impl Into<String>) { options.quality = Some(quality.into()) }
                /// URLs or base64 bytes back.
                response_format(format: ImageResponseFormat) { options.response_format = Some(format) }
                /// The output file format (`png`, `jpeg`, `webp`).
                output_format(format: impl Into<String>) { options.output_format = Some(format.into()) }
            }
        }
    };
}

image_options!(ImageRequest);
image_options!(ImageEditRequest);

impl ImageRequest {
    /// Draw `prompt` with `model`.
    pub fn new(model: impl Into<String>, prompt: impl Into<String>) -> Self {
        ImageRequest {
            model: model.into(),
            prompt: prompt.into(),
            options: ImageOptions::default(),
        }
    }

    /// The style (dall-e-3: `vivid` or `natural`).
    pub fn style(mut self, style: impl Into<String>) -> Self {
        self.options.style = Some(style.into());
        self
    }

    /// A request that cannot be sent: an empty prompt, `n` out of 1..=10.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest).
    pub fn validate(&self) -> Result<()> {
        check_prompt_and_n(&self.prompt, &self.options)
    }
}

fn check_prompt_and_n(prompt: &str, options: &ImageOptions) -> Result<()> {
    if prompt.trim().is_empty() {
        return Err(Error::invalid_request("an image request needs a prompt"));
    }
    in_range("n", options.n, 1..=10)
}

/// A request to edit images (OpenAI's `/images/edits`, sent as multipart):
/// one image for dall-e-2, up to 16 for gpt-image-1, an optional mask.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageEditRequest {
    /// The image model.
    pub model: String,
    /// What to change.
    pub prompt: String,
    /// The images to edit.
    pub images: Vec<FileUpload>,
    /// Where to edit (its transparent areas), applied to the first image.
    pub mask: Option<FileUpload>,
    /// Count, size, quality, format.
    pub options: ImageOptions,
}

impl ImageEditRequest {
    /// Edit `image` as `prompt` says, with `model`.
    pub fn new(model: impl Into<String>, prompt: impl Into<String>, image: FileUpload) -> Self {
        ImageEditRequest {
            model: model.into(),
            prompt: prompt.into(),
            images: vec![image],
            mask: None,
            options: ImageOptions::default(),
        }
    }

    setters! {
        /// One more image to edit (gpt-image-1).
        image(image: FileUpload) { images.push(image) }
        /// The mask.
        mask(mask: FileUpload) { mask = Some(mask) }
    }

    /// A request that cannot be sent: no image, an empty prompt, a bad `n`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest).
    pub fn validate(&self) -> Result<()> {
        if self.images.is_empty() {
            return Err(Error::invalid_request(
                "an image edit needs at least one image",
            ));
        }
        check_prompt_and_n(&self.prompt, &self.options)
    }
}

/// One generated image: its bytes (base64, as the API sent them) or a URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageData {
    /// Base64-encoded bytes.
    Base64 {
        /// The base64 text.
        b64: String,
        /// The media type, where known (`image/png`...).
        mime: Option<String>,
    },
    /// A URL to download it from.
    Url(String),
}

/// One generated image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneratedImage {
    /// The image.
    pub data: ImageData,
    /// The prompt the model actually drew (dall-e-3 rewrites prompts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revised_prompt: Option<String>,
}

/// The images of a generation or an edit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageResponse {
    /// When they were made (Unix seconds), where reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<u64>,
    /// The model asked for.
    pub model: String,
    /// The name of the provider that served it.
    pub provider: String,
    /// The images, in the order the API gave them.
    pub images: Vec<GeneratedImage>,
    /// Token usage (gpt-image-1: input text and image tokens, output image tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// What the transport knows about the answer (not serialized).
    #[serde(skip)]
    pub meta: crate::types::ResponseMeta,
}

use bytes::Bytes;

/// A file sent in a multipart upload (an audio file to transcribe, an image
/// to edit, a batch's JSONL input): its name, its media type and its bytes.
///
/// Cheap to clone: the bytes are shared, so a retried upload re-sends the
/// same buffer without copying it.
///
/// ```
/// use llm_runtime::types::FileUpload;
/// let audio = FileUpload::new("hello.mp3", "audio/mpeg", b"ID3...".to_vec());
/// assert_eq!(audio.filename, "hello.mp3");
/// assert_eq!(audio.bytes.len(), 6);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct FileUpload {
    /// The file name sent with the part (APIs read the format from its extension).
    pub filename: String,
    /// The part's `Content-Type` (`audio/mpeg`, `image/png`...).
    pub mime: String,
    /// The file's contents.
    pub bytes: Bytes,
}

impl FileUpload {
    /// A file named `filename`, of type `mime`, holding `bytes`.
    pub fn new(
        filename: impl Into<String>,
        mime: impl Into<String>,
        bytes: impl Into<Bytes>,
    ) -> Self {
        FileUpload {
            filename: filename.into(),
            mime: mime.into(),
            bytes: bytes.into(),
        }
    }
}

/// The name, type and size, never the bytes (an upload may be megabytes).
impl std::fmt::Debug for FileUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileUpload")
            .field("filename", &self.filename)
            .field("mime", &self.mime)
            .field("len", &self.bytes.len())
            .finish()
    }
}

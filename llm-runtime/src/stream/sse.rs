//! Server-sent-events framing, after the WHATWG HTML "event stream interpretation".

use std::mem;

use super::frame::Frame;
use super::ndjson::{Line, LineSplitter};
use crate::error::{Error, Result};

/// Incremental server-sent-events decoder: bytes in, [`Frame`]s out.
///
/// Follows the WHATWG event stream interpretation: lines end at CR, LF or
/// CRLF; `:` lines are comments; `data:` lines (one leading space stripped)
/// are joined with `\n`; `event:` sets [`Frame::event`] (an empty name is
/// `None`, the spec's default `message`); a blank line dispatches the event,
/// unless it has no `data` line; `id:`, `retry:` and unknown fields are
/// ignored; a line without a colon is a field with an empty value; a UTF-8 BOM
/// at the start of the stream is dropped.
///
/// Bytes may be split anywhere, inside a UTF-8 character or between the CR and
/// LF of a CRLF: the frames are the same as for the whole stream. Each byte is
/// scanned once (the buffer of an unfinished line is never re-scanned), and
/// memory stays within about `max_line`: a line, or an event's joined data,
/// longer than that fails with [`ErrorKind::Decode`](crate::ErrorKind::Decode)
/// as soon as the bytes arrive, as does a line that is not UTF-8.
///
/// Hand-written rather than taken from a crate: no well-kept crate offers a
/// push-style decoder (bytes in, frames out, no async plumbing) with a line
/// cap and linear-time scanning; `eventsource-stream` re-scans its buffer on
/// every chunk and buffers without bound.
///
/// ```
/// use llm_runtime::stream::SseDecoder;
/// let mut decoder = SseDecoder::new();
/// let mut frames = Vec::new();
/// decoder.feed(b": keep-alive\r\nevent: delta\r\ndata: {\"a\"", &mut frames)?;
/// decoder.feed(b":1}\r", &mut frames)?;
/// decoder.feed(b"\n\r\ndata: [DONE]\n\n", &mut frames)?;
/// decoder.finish(&mut frames)?;
/// assert_eq!(frames[0].event.as_deref(), Some("delta"));
/// assert_eq!(frames[0].data, "{\"a\":1}");
/// assert_eq!((frames[1].event.as_deref(), frames[1].data.as_str()), (None, "[DONE]"));
/// # Ok::<(), llm_runtime::Error>(())
/// ```
#[derive(Debug)]
pub struct SseDecoder {
    lines: LineSplitter,
    event: PendingEvent,
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl SseDecoder {
    /// A decoder with the default line cap ([`DEFAULT_MAX_LINE`](super::DEFAULT_MAX_LINE)).
    pub fn new() -> Self {
        Self::with_max_line(super::DEFAULT_MAX_LINE)
    }

    /// A decoder that fails on a line longer than `max_line` bytes (line end
    /// not counted), or an event whose joined data is longer than that.
    pub fn with_max_line(max_line: usize) -> Self {
        SseDecoder {
            lines: LineSplitter::new("SSE", max_line, true),
            event: PendingEvent {
                name: None,
                data: String::new(),
                has_data: false,
                max_data: max_line,
            },
        }
    }

    /// Feed bytes; every event completed by a blank line is pushed to `out`.
    ///
    /// On an error (over-long line or event, invalid UTF-8) the frames before
    /// it are in `out`, and the decoder refuses further input.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<Frame>) -> Result<()> {
        let event = &mut self.event;
        self.lines.feed(chunk, |line| event.line(line, out))
    }

    /// The byte stream ended: dispatch what the server left pending.
    ///
    /// An event whose blank line never came is still dispatched (some servers
    /// omit the last blank line) if it has data and the stream ended at a line
    /// end. If the stream ended mid-line, that line is processed (and must be
    /// UTF-8), but the event is dropped: a cut line is more likely a cut
    /// payload than a finished one, so the dialect sees no terminator and
    /// reports [`ErrorKind::StreamTruncated`](crate::ErrorKind::StreamTruncated)
    /// rather than a half JSON document. The decoder is then ready for a new stream.
    pub fn finish(&mut self, out: &mut Vec<Frame>) -> Result<()> {
        let event = &mut self.event;
        let mid_line = self.lines.finish(|line| event.line(line, out))?;
        if mid_line {
            event.discard();
        } else {
            event.dispatch(out);
        }
        Ok(())
    }
}

/// The fields of the event being read.
#[derive(Debug)]
struct PendingEvent {
    name: Option<String>,
    data: String,
    /// A `data` field was seen (an event with an empty `data:` is still sent).
    has_data: bool,
    max_data: usize,
}

fn not_utf8(e: std::str::Utf8Error) -> Error {
    Error::decode(format!(
        "SSE line is not valid UTF-8 (at byte {} of the line)",
        e.valid_up_to()
    ))
}

impl PendingEvent {
    fn line(&mut self, line: Line<'_>, out: &mut Vec<Frame>) -> Result<()> {
        match line {
            Line::DataValue(buf) => self.data_value(buf),
            line => self.borrowed_line(line.bytes(), out),
        }
    }

    /// The value of a `data:` line that spanned chunks (buffered without its
    /// field name): the event's first one becomes its data as it is, not a
    /// copy, so a long line is one buffer and no extra pass.
    fn data_value(&mut self, value: &mut String) -> Result<()> {
        // A short line is copied, so the splitter keeps its buffer for the
        // next one (taking it would cost a fresh, growing buffer per event).
        if self.has_data || value.len() < super::ndjson::TAKE_LINE_MIN {
            return self.push_data(value);
        }
        if value.len() > self.max_data {
            return Err(self.too_long());
        }
        self.data = mem::take(value);
        self.has_data = true;
        Ok(())
    }

    fn push_data(&mut self, value: &str) -> Result<()> {
        let sep = usize::from(self.has_data);
        if self.data.len() + sep + value.len() > self.max_data {
            return Err(self.too_long());
        }
        if self.has_data {
            self.data.push('\n');
        }
        self.data.push_str(value);
        self.has_data = true;
        Ok(())
    }

    fn too_long(&self) -> Error {
        Error::decode(format!(
            "SSE event data longer than {} bytes (the decoder's max_line)",
            self.max_data
        ))
    }

    fn borrowed_line(&mut self, line: &[u8], out: &mut Vec<Frame>) -> Result<()> {
        let line = std::str::from_utf8(line).map_err(not_utf8)?;
        if line.is_empty() {
            self.dispatch(out);
            return Ok(());
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "data" => self.push_data(value)?,
            "event" => self.name = (!value.is_empty()).then(|| value.to_owned()),
            // "" is a comment; `id` and `retry` only matter to a reconnecting
            // EventSource, which a chat stream is not; other fields are ignored by the spec.
            _ => {}
        }
        Ok(())
    }

    fn dispatch(&mut self, out: &mut Vec<Frame>) {
        if mem::replace(&mut self.has_data, false) {
            out.push(Frame {
                event: self.name.take(),
                data: mem::take(&mut self.data),
            });
        } else {
            self.name = None;
        }
    }

    fn discard(&mut self) {
        self.name = None;
        self.data.clear();
        self.has_data = false;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::ndjson::tests::cut;
    use super::*;
    use crate::ErrorKind;

    /// Feed `chunks` then finish; the frames, and the error kind that stopped it.
    fn run(max_line: usize, chunks: &[&[u8]]) -> (Vec<Frame>, Option<ErrorKind>) {
        let mut decoder = SseDecoder::with_max_line(max_line);
        let mut out = Vec::new();
        for chunk in chunks {
            if let Err(e) = decoder.feed(chunk, &mut out) {
                return (out, Some(e.kind()));
            }
        }
        let err = decoder.finish(&mut out).err().map(|e| e.kind());
        (out, err)
    }

    fn frames(input: &str) -> Vec<(Option<String>, String)> {
        let (frames, err) = run(1024, &[input.as_bytes()]);
        assert_eq!(err, None);
        frames.into_iter().map(|f| (f.event, f.data)).collect()
    }

    fn plain(data: &str) -> (Option<String>, String) {
        (None, data.to_owned())
    }

    #[test]
    fn fields_comments_and_multiline_data() {
        let got = frames(
            ": comment\nevent: add\ndata: 1\ndata:2\ndata:  3\nid: 7\nretry: 10\nfoo: bar\n\n",
        );
        assert_eq!(got, [(Some("add".to_owned()), "1\n2\n 3".to_owned())]);
    }

    #[test]
    fn cr_lf_and_crlf_line_ends() {
        let got = frames("data: a\r\rdata: b\n\ndata: c\r\n\r\n");
        assert_eq!(got, [plain("a"), plain("b"), plain("c")]);
    }

    #[test]
    fn events_without_data_are_not_dispatched() {
        // The name of a data-less event does not leak into the next event.
        let got = frames("event: ping\n\n: only a comment\n\ndata\n\n");
        assert_eq!(got, [plain("")]);
    }

    #[test]
    fn field_without_colon_has_an_empty_value() {
        assert_eq!(frames("data\ndata\n\n"), [plain("\n")]);
        assert_eq!(frames("event: x\nevent\ndata: 1\n\n"), [plain("1")]);
    }

    #[test]
    fn bom_only_at_the_start() {
        let (got, _) = run(
            64,
            &[b"\xEF\xBB", b"\xBFdata: 1\n\n\xEF\xBB\xBFdata: 2\n\n"],
        );
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].data, "1");
    }

    #[test]
    fn crlf_split_between_chunks_is_one_line_end() {
        let chunks: [&[u8]; 4] = [b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"];
        let (got, err) = run(64, &chunks);
        assert_eq!(err, None);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].data, "a\nb");
    }

    #[test]
    fn multibyte_characters_split_at_every_byte() {
        let text = "event: é\ndata: 日本 😀\n\n".as_bytes();
        for at in 0..=text.len() {
            let (got, err) = run(64, &[&text[..at], &text[at..]]);
            assert_eq!(err, None);
            assert_eq!(got[0].event.as_deref(), Some("é"));
            assert_eq!(got[0].data, "日本 😀");
        }
    }

    #[test]
    fn invalid_utf8_is_a_decode_error() {
        let (got, err) = run(64, &[b"data: 1\n\ndata: \xC3(\n\n"]);
        assert_eq!((got.len(), err), (1, Some(ErrorKind::Decode)));
    }

    #[test]
    fn finish_dispatches_an_event_missing_its_blank_line() {
        assert_eq!(frames("data: 1\n\ndata: 2\n"), [plain("1"), plain("2")]);
        assert_eq!(frames("data: 1\r"), [plain("1")]);
    }

    #[test]
    fn finish_drops_an_event_cut_mid_line() {
        assert_eq!(frames("data: 1\n\ndata: {\"a\""), [plain("1")]);
        assert!(frames("data: 2\n: cut").is_empty());
        assert_eq!(run(64, &[b"data: \xFF"]).1, Some(ErrorKind::Decode));
    }

    #[test]
    fn cap_is_checked_as_bytes_arrive_and_poisons() {
        let mut decoder = SseDecoder::with_max_line(10);
        let mut out = Vec::new();
        assert!(decoder.feed(b"data: 1234", &mut out).is_ok());
        let err = decoder.feed(b"5", &mut out).err();
        let err = err.map(|e| (e.kind(), e.message().contains("10 bytes")));
        assert_eq!(err, Some((ErrorKind::Decode, true)));
        assert!(decoder.feed(b"\n\n", &mut out).is_err());
        assert!(out.is_empty());
    }

    #[test]
    fn joined_data_is_capped_too() {
        let many = "data: 123\n".repeat(10);
        let (got, err) = run(32, &[many.as_bytes()]);
        assert_eq!((got.len(), err), (0, Some(ErrorKind::Decode)));
    }

    #[test]
    fn four_mib_line_in_tcp_sized_pieces() {
        let mut text = b"data: ".to_vec();
        text.resize(6 + 4 * 1024 * 1024, b'x');
        text.extend_from_slice(b"\n\n");
        let chunks: Vec<&[u8]> = text.chunks(1460).collect();
        let (got, err) = run(crate::stream::DEFAULT_MAX_LINE, &chunks);
        assert_eq!(err, None);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].data.len(), 4 * 1024 * 1024);
    }

    fn sse_line() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just(String::new()),
            Just(": keep-alive".to_owned()),
            Just("data".to_owned()),
            Just("id: 3".to_owned()),
            "event:[ ]?[a-z_é]{0,8}",
            "data:[ ]?[a-z {}\":é日本😀\\[\\]]{0,16}",
        ]
    }

    proptest! {
        #[test]
        fn any_split_gives_the_same_frames(
            bom in any::<bool>(),
            lines in prop::collection::vec(
                (sse_line(), prop_oneof![Just("\n"), Just("\r"), Just("\r\n")]), 0..16),
            points in prop::collection::vec(any::<usize>(), 0..24),
        ) {
            let mut text = if bom { "\u{FEFF}".to_owned() } else { String::new() };
            for (line, end) in &lines {
                text.push_str(line);
                text.push_str(end);
            }
            let whole = run(256, &[text.as_bytes()]);
            prop_assert_eq!(whole.1, None);
            prop_assert_eq!(&whole, &run(256, &cut(text.as_bytes(), &points)));
            let singles: Vec<&[u8]> = text.as_bytes().chunks(1).collect();
            prop_assert_eq!(&whole, &run(256, &singles));
        }

        #[test]
        fn arbitrary_bytes_never_panic_and_ignore_splits(
            bytes in prop::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'\r'), Just(b':'), Just(b'd'), any::<u8>()], 0..400),
            points in prop::collection::vec(any::<usize>(), 0..24),
        ) {
            let whole = run(24, &[&bytes]);
            prop_assert_eq!(whole, run(24, &cut(&bytes, &points)));
        }

        #[test]
        fn an_over_long_line_is_an_error(
            len in 17usize..200,
            points in prop::collection::vec(any::<usize>(), 0..8),
        ) {
            let mut text = b"data:".to_vec();
            text.resize(len, b'x');
            text.extend_from_slice(b"\n\n");
            let (got, err) = run(16, &cut(&text, &points));
            prop_assert!(got.is_empty());
            prop_assert_eq!(err, Some(ErrorKind::Decode));
        }
    }
}

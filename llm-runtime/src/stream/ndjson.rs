//! NDJSON framing, and the [`LineSplitter`] both decoders are built on.

use std::mem;

use super::frame::Frame;
use super::utf8_text::Utf8Text;
use crate::error::{Error, Result};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A buffered line at least this long becomes its frame's data by taking the
/// splitter's buffer; a shorter one is copied and the buffer kept for the next.
pub(super) const TAKE_LINE_MIN: usize = 64 * 1024;

/// A line handed out by [`LineSplitter`], without its line end.
pub(super) enum Line<'a> {
    /// The line lay whole in the chunk fed.
    Borrowed(&'a [u8]),
    /// The line spanned chunks and was assembled in the splitter's buffer: the
    /// receiver may take the buffer (`mem::take`) instead of copying it, which
    /// keeps a long line's cost linear in its length.
    Buffered(&'a mut Vec<u8>),
    /// An SSE `data:` line that spanned chunks, its field name (and the one
    /// space after it) left out as it was buffered: the value alone, already
    /// checked as UTF-8 piece by piece, which can become the event's data as
    /// it is (see [`LineSplitter::new`]).
    DataValue(&'a mut String),
}

impl Line<'_> {
    /// The line's bytes.
    pub(super) fn bytes(&self) -> &[u8] {
        match self {
            Line::Borrowed(b) => b,
            Line::Buffered(b) => b,
            Line::DataValue(s) => s.as_bytes(),
        }
    }
}

/// Splits a byte stream into lines, in linear time and bounded memory.
///
/// `pending` only ever holds bytes that were already scanned and hold no line
/// end, so each byte is looked at once however the stream is split; the cap is
/// checked as bytes arrive, so `pending` never grows past `max_line`.
/// A UTF-8 BOM at the very start of the stream is dropped.
#[derive(Debug)]
pub(super) struct LineSplitter {
    pending: Vec<u8>,
    max_line: usize,
    /// SSE ends lines at CR, LF or CRLF; NDJSON only at LF.
    cr_ends_line: bool,
    /// The last line ended with CR: a LF right after it is part of that line end.
    skip_lf: bool,
    /// No line has been handed out yet (a BOM may start the stream).
    at_start: bool,
    /// A previous call failed; the stream is not resumable.
    failed: bool,
    /// The format's name, for error messages.
    format: &'static str,
    /// SSE: a buffered line that starts with `data:` is buffered without it,
    /// as text (and handed out as [`Line::DataValue`]), so no pass shifts it
    /// out or validates it later.
    strip_data: bool,
    /// Bytes of the buffered `data:` line left out of `value` (its prefix);
    /// non-zero while a `data:` line is being buffered.
    stripped: usize,
    /// The value of the `data:` line being buffered.
    value: Utf8Text,
}

impl LineSplitter {
    /// A splitter for `format` (named in errors) that fails on lines over `max_line` bytes.
    pub(super) fn new(format: &'static str, max_line: usize, cr_ends_line: bool) -> Self {
        LineSplitter {
            pending: Vec::new(),
            max_line,
            cr_ends_line,
            skip_lf: false,
            at_start: true,
            failed: false,
            format,
            strip_data: cr_ends_line,
            stripped: 0,
            value: Utf8Text::default(),
        }
    }

    /// Hand every complete line of `chunk` (without its line end) to `on_line`.
    ///
    /// After an error (from the cap or from `on_line`) every later call fails.
    pub(super) fn feed(
        &mut self,
        chunk: &[u8],
        mut on_line: impl FnMut(Line<'_>) -> Result<()>,
    ) -> Result<()> {
        self.check_usable()?;
        let result = self.split(chunk, &mut on_line);
        if result.is_err() {
            self.fail();
        }
        result
    }

    /// The stream ended: hand an unterminated last line to `on_line`, reset the
    /// splitter for a new stream, and say whether the stream ended mid-line.
    pub(super) fn finish(
        &mut self,
        mut on_line: impl FnMut(Line<'_>) -> Result<()>,
    ) -> Result<bool> {
        self.check_usable()?;
        let mut pending = mem::take(&mut self.pending);
        let mid_line = !pending.is_empty() || self.stripped > 0;
        let result = if self.stripped > 0 {
            self.emit_value(&mut on_line)
        } else if mid_line {
            self.emit_buffered(&mut pending, &mut on_line)
        } else {
            Ok(())
        };
        if result.is_err() {
            self.fail();
        } else {
            self.skip_lf = false;
            self.at_start = true;
        }
        result.map(|()| mid_line)
    }

    fn split(
        &mut self,
        mut chunk: &[u8],
        on_line: &mut impl FnMut(Line<'_>) -> Result<()>,
    ) -> Result<()> {
        if self.skip_lf
            && let Some((&first, rest)) = chunk.split_first()
        {
            self.skip_lf = false;
            if first == b'\n' {
                chunk = rest;
            }
        }
        while !chunk.is_empty() {
            // memchr scans a word (or a SIMD register) at a time: the split is
            // where SSE framing spends most of its time.
            let end = if self.cr_ends_line {
                memchr::memchr2(b'\n', b'\r', chunk)
            } else {
                memchr::memchr(b'\n', chunk)
            };
            let Some(end) = end else {
                self.check_len(chunk.len())?;
                if self.pending.is_empty() && self.stripped == 0 && self.strip_data {
                    // The start of a line that goes on in the next chunk.
                    self.stripped = data_prefix(chunk);
                    if self.stripped > 0 {
                        return self.push_value(&chunk[self.stripped..]);
                    }
                }
                if self.stripped > 0 {
                    return self.push_value(chunk);
                }
                append_capped(&mut self.pending, chunk, self.max_line);
                return Ok(());
            };
            self.check_len(end)?;
            let (line, rest) = chunk.split_at(end);
            if rest.starts_with(b"\r") {
                if rest.get(1) == Some(&b'\n') {
                    chunk = &rest[2..];
                } else {
                    // The LF of a CRLF may come in the next chunk.
                    self.skip_lf = rest.len() == 1;
                    chunk = &rest[1..];
                }
            } else {
                chunk = &rest[1..];
            }
            if self.stripped > 0 {
                self.push_value(line)?;
                self.emit_value(on_line)?;
            } else if self.pending.is_empty() {
                self.emit(line, on_line)?;
            } else {
                let mut whole = mem::take(&mut self.pending);
                append_capped(&mut whole, line, self.max_line);
                let result = self.emit_buffered(&mut whole, on_line);
                // The buffer is kept for the next split line, unless the receiver took it.
                whole.clear();
                self.pending = whole;
                result?;
            }
        }
        Ok(())
    }

    fn emit(
        &mut self,
        line: &[u8],
        on_line: &mut impl FnMut(Line<'_>) -> Result<()>,
    ) -> Result<()> {
        let line = if mem::replace(&mut self.at_start, false) {
            line.strip_prefix(BOM).unwrap_or(line)
        } else {
            line
        };
        on_line(Line::Borrowed(line))
    }

    /// Append to the value of the `data:` line being buffered.
    fn push_value(&mut self, bytes: &[u8]) -> Result<()> {
        self.value
            .push(bytes, self.max_line)
            .map_err(|_| self.not_utf8())
    }

    /// Hand out the buffered `data:` line's value; its buffer is kept for the
    /// next one unless the receiver took it.
    fn emit_value(&mut self, on_line: &mut impl FnMut(Line<'_>) -> Result<()>) -> Result<()> {
        self.at_start = false;
        self.stripped = 0;
        let mut value = mem::take(&mut self.value);
        let result = match value.finish() {
            Ok(text) => on_line(Line::DataValue(text)),
            Err(_) => Err(self.not_utf8()),
        };
        value.clear();
        self.value = value;
        result
    }

    fn not_utf8(&self) -> Error {
        Error::decode(format!("{} line is not valid UTF-8", self.format))
    }

    fn emit_buffered(
        &mut self,
        line: &mut Vec<u8>,
        on_line: &mut impl FnMut(Line<'_>) -> Result<()>,
    ) -> Result<()> {
        let at_start = mem::replace(&mut self.at_start, false);
        if at_start && line.starts_with(BOM) {
            line.drain(..BOM.len());
        }
        on_line(Line::Buffered(line))
    }

    fn check_len(&self, more: usize) -> Result<()> {
        let buffered = self
            .pending
            .len()
            .saturating_add(self.stripped)
            .saturating_add(self.value.len());
        if buffered.saturating_add(more) > self.max_line {
            return Err(Error::decode(format!(
                "{} line longer than {} bytes (the decoder's max_line); \
                 the upstream sent an oversized or unterminated line",
                self.format, self.max_line
            )));
        }
        Ok(())
    }

    fn check_usable(&self) -> Result<()> {
        if self.failed {
            return Err(Error::decode(format!(
                "{} decoder used after it failed; the stream cannot be resumed",
                self.format
            )));
        }
        Ok(())
    }

    fn fail(&mut self) {
        self.failed = true;
        self.pending = Vec::new();
        self.stripped = 0;
        self.value.reset();
    }
}

/// How much of the start of a line that goes on in the next chunk is a
/// `data:` field name (with the one space after it) that can be left out of
/// the buffer: only when more of the line follows it in this chunk, so a
/// buffered line is never empty.
fn data_prefix(partial: &[u8]) -> usize {
    let n = match partial.strip_prefix(b"data:") {
        Some(rest) if rest.first() == Some(&b' ') => 6,
        Some(_) => 5,
        None => return 0,
    };
    if partial.len() > n { n } else { 0 }
}

/// Append `bytes` to `buf` (whose new length the caller checked against `cap`),
/// growing it by doubling, as `Vec` does, but never past `cap` bytes of capacity.
fn append_capped(buf: &mut Vec<u8>, bytes: &[u8], cap: usize) {
    let needed = buf.len() + bytes.len();
    if needed > buf.capacity() {
        let target = needed
            .max(buf.capacity().saturating_mul(2))
            .min(cap.max(needed));
        buf.reserve_exact(target - buf.len());
    }
    buf.extend_from_slice(bytes);
}

/// Incremental decoder for newline-delimited JSON (one document per line, as
/// Ollama streams): one [`Frame`] with `event: None` per non-blank line.
///
/// Lines end at LF; a CR before it is dropped; blank and whitespace-only lines
/// are skipped, and a UTF-8 BOM at the start of the stream is dropped. The
/// JSON itself is not parsed here. Bytes may be split anywhere (even inside a
/// UTF-8 character): the frames are the same. Each byte is scanned once, and at
/// most one line of `max_line` bytes is buffered.
///
/// ```
/// use llm_runtime::stream::NdjsonDecoder;
/// let mut decoder = NdjsonDecoder::new();
/// let mut frames = Vec::new();
/// decoder.feed(b"{\"a\":1}\r\n\n{\"b\"", &mut frames)?;
/// decoder.feed(b":2}", &mut frames)?;
/// decoder.finish(&mut frames)?; // the last line had no line end
/// let data: Vec<_> = frames.iter().map(|f| f.data.as_str()).collect();
/// assert_eq!(data, ["{\"a\":1}", "{\"b\":2}"]);
/// # Ok::<(), llm_runtime::Error>(())
/// ```
#[derive(Debug)]
pub struct NdjsonDecoder {
    lines: LineSplitter,
}

impl Default for NdjsonDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl NdjsonDecoder {
    /// A decoder with the default line cap ([`DEFAULT_MAX_LINE`](super::DEFAULT_MAX_LINE)).
    pub fn new() -> Self {
        Self::with_max_line(super::DEFAULT_MAX_LINE)
    }

    /// A decoder that fails on a line longer than `max_line` bytes (counting
    /// the bytes before the LF).
    pub fn with_max_line(max_line: usize) -> Self {
        NdjsonDecoder {
            lines: LineSplitter::new("NDJSON", max_line, false),
        }
    }

    /// Feed bytes; one frame per complete non-blank line is pushed to `out`.
    ///
    /// Fails with [`ErrorKind::Decode`](crate::ErrorKind::Decode) on a line over
    /// the cap or a line that is not UTF-8 (frames before it are pushed); the
    /// decoder then refuses further input.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<Frame>) -> Result<()> {
        self.lines.feed(chunk, |line| push_line(line, out))
    }

    /// The byte stream ended: a last line without a line end is pushed as a
    /// frame too. The decoder is then ready for a new stream.
    pub fn finish(&mut self, out: &mut Vec<Frame>) -> Result<()> {
        self.lines.finish(|line| push_line(line, out)).map(|_| ())
    }
}

fn push_line(line: Line<'_>, out: &mut Vec<Frame>) -> Result<()> {
    let bytes = line.bytes();
    let trimmed = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    if trimmed.trim_ascii().is_empty() {
        return Ok(());
    }
    let not_utf8 = |e: std::str::Utf8Error| {
        Error::decode(format!(
            "NDJSON line is not valid UTF-8 (at byte {} of the line)",
            e.valid_up_to()
        ))
    };
    let data = match line {
        // A long line that spanned chunks: its buffer becomes the frame's data, uncopied.
        Line::Buffered(buf) if buf.len() >= TAKE_LINE_MIN => {
            if buf.ends_with(b"\r") {
                buf.pop();
            }
            String::from_utf8(mem::take(buf)).map_err(|e| not_utf8(e.utf8_error()))?
        }
        _ => std::str::from_utf8(trimmed).map_err(not_utf8)?.to_owned(),
    };
    out.push(Frame { event: None, data });
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::ErrorKind;

    /// Feed `chunks` then finish; the frames, and the error kind that stopped it.
    fn run(max_line: usize, chunks: &[&[u8]]) -> (Vec<Frame>, Option<ErrorKind>) {
        let mut decoder = NdjsonDecoder::with_max_line(max_line);
        let mut out = Vec::new();
        for chunk in chunks {
            if let Err(e) = decoder.feed(chunk, &mut out) {
                return (out, Some(e.kind()));
            }
        }
        let err = decoder.finish(&mut out).err().map(|e| e.kind());
        (out, err)
    }

    fn data(frames: &[Frame]) -> Vec<&str> {
        frames.iter().map(|f| f.data.as_str()).collect()
    }

    /// Cut `bytes` at the given positions (taken modulo its length).
    pub(in crate::stream) fn cut<'a>(bytes: &'a [u8], points: &[usize]) -> Vec<&'a [u8]> {
        let mut points: Vec<usize> = points.iter().map(|p| p % (bytes.len() + 1)).collect();
        points.sort_unstable();
        let mut chunks = Vec::new();
        let mut start = 0;
        for p in points.into_iter().chain([bytes.len()]) {
            chunks.push(&bytes[start..p]);
            start = p;
        }
        chunks
    }

    #[test]
    fn lines_crlf_blank_and_final_unterminated_line() {
        let (frames, err) = run(1024, &[b"{\"a\":1}\r\n\n  \t\r\n{\"b\":2}\n{\"c\":3}"]);
        assert_eq!(err, None);
        assert_eq!(data(&frames), ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"]);
        assert!(frames.iter().all(|f| f.event.is_none()));
    }

    #[test]
    fn lone_cr_does_not_end_a_line() {
        let (frames, _) = run(1024, &[b"{\"a\":\r1}\n"]);
        assert_eq!(data(&frames), ["{\"a\":\r1}"]);
    }

    #[test]
    fn bom_at_start_is_dropped_even_when_split() {
        let (frames, _) = run(1024, &[b"\xEF", b"\xBB", b"\xBF{}\n\xEF\xBB\xBF{}\n"]);
        assert_eq!(data(&frames), ["{}", "\u{FEFF}{}"]);
    }

    #[test]
    fn multibyte_characters_split_at_every_byte() {
        let text = "{\"t\":\"é日本😀\"}\n".as_bytes();
        let singles: Vec<&[u8]> = text.chunks(1).collect();
        let (frames, err) = run(1024, &singles);
        assert_eq!(err, None);
        assert_eq!(data(&frames), ["{\"t\":\"é日本😀\"}"]);
    }

    #[test]
    fn invalid_utf8_is_a_decode_error_and_poisons() {
        let mut decoder = NdjsonDecoder::new();
        let mut out = Vec::new();
        let err = decoder.feed(b"{}\n{\"a\":\"\xFF\"}\n", &mut out).err();
        assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::Decode));
        assert_eq!(data(&out), ["{}"]);
        assert!(decoder.feed(b"{}\n", &mut out).is_err());
        assert!(decoder.finish(&mut out).is_err());
    }

    #[test]
    fn cap_is_checked_as_bytes_arrive() {
        let mut decoder = NdjsonDecoder::with_max_line(8);
        let mut out = Vec::new();
        assert!(decoder.feed(b"12345", &mut out).is_ok());
        let err = decoder.feed(b"6789", &mut out).err();
        let err = err.map(|e| (e.kind(), e.message().contains("8 bytes")));
        assert_eq!(err, Some((ErrorKind::Decode, true)));
        // A line of exactly max_line bytes is fine.
        assert_eq!(run(8, &[b"12345678\n"]).0.len(), 1);
    }

    #[test]
    fn buffer_capacity_stays_within_the_cap() {
        let mut splitter = LineSplitter::new("NDJSON", 1000, false);
        for _ in 0..999 {
            splitter.feed(b"x", |_| Ok(())).ok();
        }
        assert!(splitter.pending.capacity() <= 1000);
        assert!(splitter.feed(b"yy", |_| Ok(())).is_err());
        assert_eq!(splitter.pending.capacity(), 0);
    }

    #[test]
    fn finish_resets_for_a_new_stream() {
        let mut decoder = NdjsonDecoder::new();
        let mut out = Vec::new();
        decoder.feed(b"{\"a\"", &mut out).ok();
        decoder.finish(&mut out).ok();
        decoder.feed(b"\xEF\xBB\xBF{}\n", &mut out).ok();
        assert_eq!(data(&out), ["{\"a\"", "{}"]);
    }

    proptest! {
        #[test]
        fn any_split_gives_the_same_frames(
            lines in prop::collection::vec(
                prop_oneof![
                    Just(String::new()),
                    Just("  ".to_owned()),
                    "\\{\"[a-zé日本😀 ]{0,12}\":[0-9]{1,3}\\}",
                ],
                0..8,
            ),
            crlf in any::<bool>(),
            points in prop::collection::vec(any::<usize>(), 0..16),
        ) {
            let sep = if crlf { "\r\n" } else { "\n" };
            let text = lines.join(sep);
            let whole = run(64, &[text.as_bytes()]);
            prop_assert_eq!(&whole, &run(64, &cut(text.as_bytes(), &points)));
            let expected: Vec<&str> = lines.iter().map(|l| l.as_str()).filter(|l| !l.trim().is_empty()).collect();
            prop_assert_eq!(data(&whole.0), expected);
        }

        #[test]
        fn arbitrary_bytes_never_panic_and_ignore_splits(
            bytes in prop::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'\r'), Just(b' '), any::<u8>()], 0..400),
            points in prop::collection::vec(any::<usize>(), 0..24),
        ) {
            let whole = run(32, &[&bytes]);
            prop_assert_eq!(whole, run(32, &cut(&bytes, &points)));
        }

        #[test]
        fn an_over_long_line_is_an_error(len in 17usize..200, points in prop::collection::vec(any::<usize>(), 0..8)) {
            let line = vec![b'x'; len];
            let (frames, err) = run(16, &cut(&line, &points));
            prop_assert!(frames.is_empty());
            prop_assert_eq!(err, Some(ErrorKind::Decode));
        }
    }

    #[test]
    fn four_mib_line_in_tcp_sized_pieces() {
        let mut line = vec![b'7'; 4 * 1024 * 1024];
        line.push(b'\n');
        let chunks: Vec<&[u8]> = line.chunks(1460).collect();
        let (frames, err) = run(crate::stream::DEFAULT_MAX_LINE, &chunks);
        assert_eq!(err, None);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].data.len(), 4 * 1024 * 1024);
    }
}

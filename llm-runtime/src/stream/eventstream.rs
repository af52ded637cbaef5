//! AWS event stream framing (`application/vnd.amazon.eventstream`): the
//! binary messages Bedrock's `ConverseStream` answers with.
//!
//! A message is a 12-byte prelude (total length, headers length, CRC32 of
//! those 8 bytes), the headers, the payload and a CRC32 of everything before
//! it. The prelude is checked, CRC included, as soon as its 12 bytes arrive,
//! so a corrupted length is refused before anything is buffered for it, and a
//! message longer than the cap is refused from its prelude alone.
//!
//! Written here rather than on `aws-smithy-eventstream`: its
//! `MessageFrameDecoder` trusts the prelude's length until the whole message
//! has arrived (the prelude CRC is checked only then) and has no size cap, so
//! a caller would buffer up to 4 GiB on one flipped bit before any error.

use super::frame::Frame;
use crate::error::{Error, ErrorKind, Result};

const PRELUDE: usize = 12;
const CRC: usize = 4;
/// The smallest message: a prelude and a message CRC.
const MIN_MESSAGE: usize = PRELUDE + CRC;

/// Decodes AWS event stream messages from bytes split anywhere, in linear
/// time and memory bounded by the message cap.
///
/// Each message becomes a [`Frame`]: an `event` message's `:event-type` is the
/// frame's event; an `exception` message's is `exception:<:exception-type>`
/// (an `error` message's, `exception:<:error-code>`, with
/// `{"message": <:error-message>}` as data when its payload is empty); the
/// payload (JSON text) is the data.
///
/// ```
/// use llm_runtime::stream::{EventStreamDecoder, encode_event_message};
/// let bytes = encode_event_message(
///     &[(":message-type", "event"), (":event-type", "messageStop")],
///     br#"{"stopReason":"end_turn"}"#,
/// );
/// let mut decoder = EventStreamDecoder::with_max_message(1 << 20);
/// let mut frames = Vec::new();
/// for byte in &bytes {
///     decoder.feed(std::slice::from_ref(byte), &mut frames).unwrap();
/// }
/// assert_eq!(frames[0].event.as_deref(), Some("messageStop"));
/// assert_eq!(frames[0].data, r#"{"stopReason":"end_turn"}"#);
/// ```
#[derive(Debug)]
pub struct EventStreamDecoder {
    /// The bytes of the message being received (never more than its checked length).
    pending: Vec<u8>,
    /// The current message's length, once its prelude was checked.
    expected: Option<usize>,
    max_message: usize,
    /// A previous call failed; the stream is not resumable.
    failed: bool,
}

impl EventStreamDecoder {
    /// A decoder that refuses messages longer than `max_message` bytes.
    pub fn with_max_message(max_message: usize) -> Self {
        EventStreamDecoder {
            pending: Vec::new(),
            expected: None,
            max_message,
            failed: false,
        }
    }

    /// Feed bytes; complete messages are pushed to `out`. After an error every
    /// later call fails.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<Frame>) -> Result<()> {
        if self.failed {
            return Err(Error::decode(
                "the event stream failed earlier and cannot resume",
            ));
        }
        let result = self.split(chunk, out);
        if result.is_err() {
            self.failed = true;
            self.pending = Vec::new();
        }
        result
    }

    /// The byte stream ended: an incomplete message is a truncated stream.
    pub fn finish(&mut self, out: &mut Vec<Frame>) -> Result<()> {
        let _ = out;
        if self.failed {
            return Err(Error::decode(
                "the event stream failed earlier and cannot resume",
            ));
        }
        let partial = self.pending.len();
        self.pending = Vec::new();
        self.expected = None;
        if partial > 0 {
            self.failed = true;
            return Err(Error::new(
                ErrorKind::StreamTruncated,
                format!("the event stream ended {partial} bytes into a message"),
            ));
        }
        Ok(())
    }

    fn split(&mut self, mut input: &[u8], out: &mut Vec<Frame>) -> Result<()> {
        while !input.is_empty() {
            // Whole messages in the chunk are decoded in place, without a copy.
            if self.pending.is_empty() && input.len() >= PRELUDE {
                let total = self.check_prelude(&input[..PRELUDE])?;
                if let Some(message) = input.get(..total) {
                    out.push(decode_message(message)?);
                    input = &input[total..];
                    continue;
                }
                self.expected = Some(total);
                self.pending.reserve_exact(total);
            }
            let want = match self.expected {
                Some(total) => total,
                None => PRELUDE,
            };
            let take = (want - self.pending.len()).min(input.len());
            self.pending.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.pending.len() < want {
                break;
            }
            match self.expected {
                None => {
                    let total = self.check_prelude(&self.pending[..PRELUDE])?;
                    self.expected = Some(total);
                    self.pending.reserve_exact(total - PRELUDE);
                }
                Some(_) => {
                    out.push(decode_message(&self.pending)?);
                    self.pending.clear();
                    self.expected = None;
                    // A large message's buffer is not kept for the small ones after it.
                    if self.pending.capacity() > 64 * 1024 {
                        self.pending = Vec::new();
                    }
                }
            }
        }
        Ok(())
    }

    /// The message length the prelude declares, once its CRC and bounds hold.
    fn check_prelude(&self, prelude: &[u8]) -> Result<usize> {
        let total = be32(&prelude[0..4]) as usize;
        let headers = be32(&prelude[4..8]) as usize;
        let crc = be32(&prelude[8..12]);
        if crc32fast::hash(&prelude[..8]) != crc {
            return Err(Error::decode(
                "event stream prelude CRC mismatch: the message lengths are corrupt",
            ));
        }
        if total < MIN_MESSAGE || headers > total - MIN_MESSAGE {
            return Err(Error::decode(format!(
                "event stream prelude declares an impossible message ({total} bytes, {headers} of headers)"
            )));
        }
        if total > self.max_message {
            return Err(Error::decode(format!(
                "event stream message of {total} bytes exceeds the {}-byte cap",
                self.max_message
            )));
        }
        Ok(total)
    }
}

fn be32(bytes: &[u8]) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[..4]);
    u32::from_be_bytes(word)
}

/// The headers of a message the framing reads.
#[derive(Default)]
struct Headers<'a> {
    message_type: Option<&'a str>,
    event_type: Option<&'a str>,
    exception_type: Option<&'a str>,
    error_code: Option<&'a str>,
    error_message: Option<&'a str>,
}

/// One whole message (prelude checked): its CRC, headers and payload.
fn decode_message(message: &[u8]) -> Result<Frame> {
    let total = message.len();
    let body = &message[..total - CRC];
    if crc32fast::hash(body) != be32(&message[total - CRC..]) {
        return Err(Error::decode(
            "event stream message CRC mismatch: the message is corrupt",
        ));
    }
    let headers_len = be32(&message[4..8]) as usize;
    let headers = parse_headers(&message[PRELUDE..PRELUDE + headers_len])?;
    let payload = std::str::from_utf8(&body[PRELUDE + headers_len..])
        .map_err(|_| Error::decode("event stream payload is not UTF-8 text"))?;
    let (event, data) = match headers.message_type {
        Some("event") => {
            let event = headers.event_type.ok_or_else(|| {
                Error::decode("event stream event message has no `:event-type` header")
            })?;
            (event.to_owned(), payload.to_owned())
        }
        Some("exception") => {
            let kind = headers.exception_type.unwrap_or("UnknownException");
            (format!("exception:{kind}"), payload.to_owned())
        }
        Some("error") => {
            let code = headers.error_code.unwrap_or("UnknownError");
            let data = if payload.trim().is_empty() {
                serde_json::json!({ "message": headers.error_message.unwrap_or("") }).to_string()
            } else {
                payload.to_owned()
            };
            (format!("exception:{code}"), data)
        }
        Some(other) => {
            return Err(Error::decode(format!(
                "event stream message has the unknown `:message-type` `{}`",
                other.escape_debug()
            )));
        }
        None => {
            return Err(Error::decode(
                "event stream message has no `:message-type` header",
            ));
        }
    };
    Ok(Frame {
        event: Some(event),
        data,
    })
}

/// Headers are `name_len: u8, name, type: u8, value`; only string values are
/// read, the other types are skipped by their fixed or prefixed length.
fn parse_headers(mut bytes: &[u8]) -> Result<Headers<'_>> {
    let bad = || Error::decode("event stream message has malformed headers");
    let mut headers = Headers::default();
    while !bytes.is_empty() {
        let name_len = usize::from(bytes[0]);
        let name = bytes.get(1..1 + name_len).ok_or_else(bad)?;
        let value_type = *bytes.get(1 + name_len).ok_or_else(bad)?;
        let rest = &bytes[2 + name_len..];
        let (value, used) = match value_type {
            0 | 1 => (None, 0),
            2 => (None, 1),
            3 => (None, 2),
            4 => (None, 4),
            5 | 8 => (None, 8),
            9 => (None, 16),
            6 | 7 => {
                let len = rest.get(..2).ok_or_else(bad)?;
                let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
                let value = rest.get(2..2 + len).ok_or_else(bad)?;
                ((value_type == 7).then_some(value), 2 + len)
            }
            _ => {
                return Err(Error::decode(format!(
                    "event stream header has the unknown value type {value_type}"
                )));
            }
        };
        if rest.len() < used {
            return Err(bad());
        }
        if let Some(value) = value {
            let value = std::str::from_utf8(value).map_err(|_| bad())?;
            match name {
                b":message-type" => headers.message_type = Some(value),
                b":event-type" => headers.event_type = Some(value),
                b":exception-type" => headers.exception_type = Some(value),
                b":error-code" => headers.error_code = Some(value),
                b":error-message" => headers.error_message = Some(value),
                _ => {}
            }
        }
        bytes = &rest[used..];
    }
    Ok(headers)
}

/// One event stream message with string headers and `payload`, framed with
/// its prelude and both CRCs: what a mock Bedrock sends, and what tests feed
/// the decoder.
///
/// ```
/// let bytes = llm_runtime::stream::encode_event_message(&[(":message-type", "event")], b"{}");
/// assert_eq!(u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize, bytes.len());
/// ```
pub fn encode_event_message(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut encoded = Vec::new();
    for (name, value) in headers {
        let name = &name.as_bytes()[..name.len().min(255)];
        let value = &value.as_bytes()[..value.len().min(usize::from(i16::MAX as u16))];
        encoded.push(name.len() as u8);
        encoded.extend_from_slice(name);
        encoded.push(7);
        encoded.extend_from_slice(&(value.len() as u16).to_be_bytes());
        encoded.extend_from_slice(value);
    }
    let total = MIN_MESSAGE + encoded.len() + payload.len();
    let mut message = Vec::with_capacity(total);
    message.extend_from_slice(&(total as u32).to_be_bytes());
    message.extend_from_slice(&(encoded.len() as u32).to_be_bytes());
    let prelude_crc = crc32fast::hash(&message);
    message.extend_from_slice(&prelude_crc.to_be_bytes());
    message.extend_from_slice(&encoded);
    message.extend_from_slice(payload);
    let message_crc = crc32fast::hash(&message);
    message.extend_from_slice(&message_crc.to_be_bytes());
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn event(kind: &str, payload: &str) -> Vec<u8> {
        encode_event_message(
            &[
                (":message-type", "event"),
                (":event-type", kind),
                (":content-type", "application/json"),
            ],
            payload.as_bytes(),
        )
    }

    fn stream() -> Vec<u8> {
        let mut bytes = event("messageStart", r#"{"role":"assistant"}"#);
        bytes.extend(event(
            "contentBlockDelta",
            r#"{"contentBlockIndex":0,"delta":{"text":"Héllo 👋"}}"#,
        ));
        bytes.extend(event("messageStop", r#"{"stopReason":"end_turn"}"#));
        bytes.extend(encode_event_message(
            &[
                (":message-type", "exception"),
                (":exception-type", "throttlingException"),
            ],
            br#"{"message":"slow down"}"#,
        ));
        bytes
    }

    fn decode_in(chunks: &[&[u8]]) -> Result<Vec<Frame>> {
        let mut decoder = EventStreamDecoder::with_max_message(1 << 20);
        let mut frames = Vec::new();
        for chunk in chunks {
            decoder.feed(chunk, &mut frames)?;
        }
        decoder.finish(&mut frames)?;
        Ok(frames)
    }

    #[test]
    fn messages_become_frames() {
        let frames = decode_in(&[&stream()]).expect("decodes");
        let events: Vec<_> = frames.iter().map(|f| f.event.as_deref().unwrap()).collect();
        assert_eq!(
            events,
            [
                "messageStart",
                "contentBlockDelta",
                "messageStop",
                "exception:throttlingException"
            ]
        );
        assert_eq!(frames[3].data, r#"{"message":"slow down"}"#);
    }

    #[test]
    fn error_messages_carry_their_code_and_message() {
        let bytes = encode_event_message(
            &[
                (":message-type", "error"),
                (":error-code", "InternalFailure"),
                (":error-message", "boom"),
            ],
            b"",
        );
        let frames = decode_in(&[&bytes]).expect("decodes");
        assert_eq!(
            frames[0].event.as_deref(),
            Some("exception:InternalFailure")
        );
        assert_eq!(frames[0].data, r#"{"message":"boom"}"#);
    }

    #[test]
    fn corrupt_prelude_crc_is_a_decode_error() {
        let mut bytes = stream();
        bytes[9] ^= 0x01;
        let err = decode_in(&[&bytes]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode);
        assert!(err.to_string().contains("prelude CRC"), "{err}");
    }

    #[test]
    fn corrupt_length_is_refused_before_buffering() {
        // A flipped length bit without a matching CRC never makes the decoder wait for 2 GiB.
        let mut bytes = stream();
        bytes[0] ^= 0x80;
        let mut decoder = EventStreamDecoder::with_max_message(1 << 20);
        let err = decoder
            .feed(&bytes[..PRELUDE], &mut Vec::new())
            .unwrap_err();
        assert!(err.to_string().contains("prelude CRC"), "{err}");
    }

    #[test]
    fn corrupt_message_crc_is_a_decode_error() {
        let mut bytes = stream();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        let err = decode_in(&[&bytes]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode);
        assert!(err.to_string().contains("message CRC"), "{err}");
        // A flipped payload byte is caught by the same CRC.
        let mut bytes = event("messageStop", r#"{"stopReason":"end_turn"}"#);
        bytes[40] ^= 0x20;
        assert!(
            decode_in(&[&bytes])
                .unwrap_err()
                .to_string()
                .contains("message CRC")
        );
    }

    #[test]
    fn oversize_message_errors_from_its_prelude() {
        let big = event("contentBlockDelta", &"x".repeat(4096));
        let mut decoder = EventStreamDecoder::with_max_message(1024);
        let err = decoder.feed(&big[..PRELUDE], &mut Vec::new()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode);
        assert!(err.to_string().contains("cap"), "{err}");
        assert!(decoder.pending.capacity() <= 1024);
        // A prelude that declares 4 GiB with a valid CRC is refused the same way.
        let mut huge = Vec::new();
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        huge.extend_from_slice(&0u32.to_be_bytes());
        let crc = crc32fast::hash(&huge);
        huge.extend_from_slice(&crc.to_be_bytes());
        let mut decoder = EventStreamDecoder::with_max_message(8 << 20);
        assert!(decoder.feed(&huge, &mut Vec::new()).is_err());
        assert!(decoder.pending.capacity() < 8 << 20);
    }

    #[test]
    fn a_message_cut_short_is_truncated() {
        let bytes = stream();
        let err = decode_in(&[&bytes[..bytes.len() - 3]]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::StreamTruncated);
    }

    #[test]
    fn no_message_type_or_bad_headers_are_decode_errors() {
        let none = encode_event_message(&[(":event-type", "x")], b"{}");
        assert_eq!(decode_in(&[&none]).unwrap_err().kind(), ErrorKind::Decode);
        let not_utf8 =
            encode_event_message(&[(":message-type", "event"), (":event-type", "x")], b"\xff");
        assert_eq!(
            decode_in(&[&not_utf8]).unwrap_err().kind(),
            ErrorKind::Decode
        );
    }

    #[test]
    fn a_failed_decoder_stays_failed() {
        let mut bytes = stream();
        bytes[9] ^= 1;
        let mut decoder = EventStreamDecoder::with_max_message(1 << 20);
        assert!(decoder.feed(&bytes, &mut Vec::new()).is_err());
        assert!(decoder.feed(&stream(), &mut Vec::new()).is_err());
    }

    proptest! {
        #[test]
        fn any_split_gives_the_same_frames(cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12)) {
            let bytes = stream();
            let whole = decode_in(&[&bytes]).expect("decodes");
            let mut at: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
            at.sort_unstable();
            let mut chunks = Vec::new();
            let mut start = 0;
            for cut in at {
                chunks.push(&bytes[start..cut]);
                start = cut;
            }
            chunks.push(&bytes[start..]);
            prop_assert_eq!(decode_in(&chunks).expect("decodes split"), whole);
        }
    }

    #[test]
    fn every_two_way_split_gives_the_same_frames() {
        let bytes = stream();
        let whole = decode_in(&[&bytes]).expect("decodes");
        for cut in 0..=bytes.len() {
            assert_eq!(
                decode_in(&[&bytes[..cut], &bytes[cut..]]).expect("split"),
                whole
            );
        }
    }
}

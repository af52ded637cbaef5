//! A `String` built from byte pieces, each validated as it arrives.
//!
//! A long SSE `data:` line arrives in TCP-sized pieces. Validating each piece
//! while it is still in cache, and appending it as `&str`, gives the event its
//! `String` with no second pass over the whole line (`String::from_utf8` on a
//! finished 8 MiB buffer reads it all back from memory). `std` has no
//! incremental validator that keeps a character split across pieces, and
//! `unsafe` is forbidden here, so the split character is carried by hand.

use std::str::Utf8Error;

/// Text assembled from pieces; a character split between two pieces is held
/// back (at most three bytes) until the rest of it arrives.
#[derive(Debug, Default)]
pub(super) struct Utf8Text {
    text: String,
    carry: [u8; 4],
    carry_len: usize,
}

/// The bytes were not UTF-8 (or the text ended inside a character).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct NotUtf8;

impl From<Utf8Error> for NotUtf8 {
    fn from(_: Utf8Error) -> Self {
        NotUtf8
    }
}

impl Utf8Text {
    /// Bytes taken so far, the held-back ones included.
    pub(super) fn len(&self) -> usize {
        self.text.len() + self.carry_len
    }

    /// Append `bytes`, growing the text to at most `cap` bytes of capacity.
    pub(super) fn push(&mut self, mut bytes: &[u8], cap: usize) -> Result<(), NotUtf8> {
        if self.carry_len > 0 {
            let need = char_len(self.carry[0]).ok_or(NotUtf8)?;
            let take = (need - self.carry_len).min(bytes.len());
            self.carry[self.carry_len..self.carry_len + take].copy_from_slice(&bytes[..take]);
            self.carry_len += take;
            bytes = &bytes[take..];
            if self.carry_len < need {
                return Ok(());
            }
            let c = std::str::from_utf8(&self.carry[..need])?;
            self.text.push_str(c);
            self.carry_len = 0;
        }
        let (valid, tail) = match std::str::from_utf8(bytes) {
            Ok(s) => (s, &[][..]),
            // Cut inside a character: the rest of it comes with the next piece.
            Err(e) if e.error_len().is_none() => {
                let (head, tail) = bytes.split_at(e.valid_up_to());
                (std::str::from_utf8(head)?, tail)
            }
            Err(e) => return Err(e.into()),
        };
        reserve_capped(&mut self.text, valid.len(), cap);
        self.text.push_str(valid);
        self.carry[..tail.len()].copy_from_slice(tail);
        self.carry_len = tail.len();
        Ok(())
    }

    /// The whole text; an error if it ends inside a character.
    pub(super) fn finish(&mut self) -> Result<&mut String, NotUtf8> {
        if self.carry_len > 0 {
            return Err(NotUtf8);
        }
        Ok(&mut self.text)
    }

    /// Empty it, keeping the text's buffer unless the receiver took it.
    pub(super) fn clear(&mut self) {
        self.text.clear();
        self.carry_len = 0;
    }

    /// Empty it and free the buffer.
    pub(super) fn reset(&mut self) {
        *self = Utf8Text::default();
    }
}

/// The length of the character a UTF-8 leading byte starts.
fn char_len(lead: u8) -> Option<usize> {
    match lead {
        0xC2..=0xDF => Some(2),
        0xE0..=0xEF => Some(3),
        0xF0..=0xF4 => Some(4),
        _ => None,
    }
}

/// Make room for `more` bytes, doubling as `Vec` does, but never past `cap`
/// bytes of capacity (the caller checked the new length against `cap`).
fn reserve_capped(s: &mut String, more: usize, cap: usize) {
    let needed = s.len() + more;
    if needed > s.capacity() {
        let target = needed
            .max(s.capacity().saturating_mul(2))
            .min(cap.max(needed));
        s.reserve_exact(target - s.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn build(pieces: &[&[u8]]) -> Result<String, NotUtf8> {
        let mut t = Utf8Text::default();
        for p in pieces {
            t.push(p, usize::MAX)?;
        }
        t.finish().map(|s| s.clone())
    }

    #[test]
    fn a_character_split_anywhere_is_kept() {
        let text = "aé€😀z";
        let bytes = text.as_bytes();
        for i in 0..=bytes.len() {
            for j in i..=bytes.len() {
                let got = build(&[&bytes[..i], &bytes[i..j], &bytes[j..]]);
                assert_eq!(got.as_deref(), Ok(text), "cut at {i} and {j}");
            }
        }
    }

    #[test]
    fn invalid_or_unfinished_bytes_are_errors() {
        assert_eq!(build(&[b"ok\xFF"]), Err(NotUtf8));
        assert_eq!(build(&[b"\xE2\x82"]), Err(NotUtf8));
        assert_eq!(build(&[b"\xE2", b"\x28\xA1"]), Err(NotUtf8));
        assert_eq!(build(&[b"\xC0\x80"]), Err(NotUtf8));
    }

    proptest! {
        #[test]
        fn any_bytes_any_split_agree_with_from_utf8(
            bytes in prop::collection::vec(any::<u8>(), 0..64),
            cuts in prop::collection::vec(any::<usize>(), 0..6),
        ) {
            let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
            points.sort_unstable();
            let mut pieces = Vec::new();
            let mut at = 0;
            for p in points {
                pieces.push(&bytes[at..p]);
                at = p;
            }
            pieces.push(&bytes[at..]);
            let want = String::from_utf8(bytes.clone()).map_err(|_| NotUtf8);
            prop_assert_eq!(build(&pieces), want);
        }
    }
}

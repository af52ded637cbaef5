//! Keeping secrets out of errors: an upstream may echo the key it was sent
//! (raw, URL-encoded from a query string, JSON-escaped inside an error body).

use std::borrow::Cow;
use std::fmt;

use aho_corasick::AhoCorasick;

use super::Error;

/// What a secret is replaced with.
const REDACTED: &str = "[redacted]";

/// Secrets shorter than this (in characters) are not redacted: they would
/// blank out ordinary words and protect nothing.
const MIN_SECRET_CHARS: usize = 4;

/// Replaces every form of a config's secrets (API key now; AWS secret keys and
/// tokens later) by `[redacted]`: the raw text, its percent-encoded forms
/// (`%2B` upper and lower case, `+` for a space, a `+` read back as a space)
/// and its JSON-escaped forms (`\"`, `\\`, `\/`, `\uXXXX`).
///
/// All forms of all secrets are searched at once, in one pass over the text
/// (an Aho-Corasick automaton built with the redactor): a service-account key
/// brings a hundred forms, which must not mean a hundred passes over every
/// error body. Overlapping matches are merged, so a stretch of text covered
/// by any form is replaced whole, once.
///
/// Apply [`Redactor::bytes`] to an upstream body before it is truncated or
/// classified, so a secret that straddles the cut cannot leave its prefix
/// behind; [`Redactor::error`] cleans an [`Error`] already built.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    /// Every form of every secret, longest first, without duplicates.
    needles: Vec<Vec<u8>>,
    /// The searcher over `needles`; `None` when there are none.
    search: Option<AhoCorasick>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("forms", &self.needles.len())
            .finish_non_exhaustive()
    }
}

impl Redactor {
    /// A redactor for `secrets`; those shorter than 4 characters are ignored.
    pub(crate) fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut needles: Vec<Vec<u8>> = secrets
            .into_iter()
            .filter(|s| s.chars().count() >= MIN_SECRET_CHARS)
            .flat_map(forms)
            .filter(|f| f.len() >= MIN_SECRET_CHARS)
            .collect();
        // Longest first, so the tail check of `text` prefers the longest form.
        needles.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        needles.dedup();
        // Building fails only past the automaton's size limits, far beyond a
        // few secrets; then each form is searched on its own (`bytes_slow`).
        let search = (!needles.is_empty())
            .then(|| AhoCorasick::new(&needles).ok())
            .flatten();
        Redactor { needles, search }
    }

    /// Whether there is nothing to redact.
    pub(crate) fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// `b` with every form of every secret replaced; borrowed when none occurs.
    pub(crate) fn bytes<'b>(&self, b: &'b [u8]) -> Cow<'b, [u8]> {
        if self.needles.is_empty() {
            return Cow::Borrowed(b);
        }
        let Some(search) = &self.search else {
            return self.bytes_slow(b);
        };
        // Every match, overlapping ones included, in one pass over `b`; then
        // merged into spans (a form inside another, two forms that overlap).
        let mut spans: Vec<(usize, usize)> = search
            .find_overlapping_iter(b)
            .map(|m| (m.start(), m.end()))
            .collect();
        spans.sort_unstable();
        let Some(&first) = spans.first() else {
            return Cow::Borrowed(b);
        };
        let mut out = Vec::with_capacity(b.len());
        let (mut last, mut open) = (0, first);
        for &(start, end) in &spans[1..] {
            if start < open.1 {
                open.1 = open.1.max(end);
            } else {
                replace(&mut out, b, &mut last, open.0, open.1);
                open = (start, end);
            }
        }
        replace(&mut out, b, &mut last, open.0, open.1);
        out.extend_from_slice(&b[last..]);
        Cow::Owned(out)
    }

    /// One pass per form: only when the automaton could not be built.
    fn bytes_slow<'b>(&self, b: &'b [u8]) -> Cow<'b, [u8]> {
        let mut out = Cow::Borrowed(b);
        for needle in &self.needles {
            if memchr::memmem::find(&out, needle).is_none() {
                continue;
            }
            let mut next = Vec::with_capacity(out.len());
            let mut last = 0;
            for at in memchr::memmem::find_iter(&out, needle) {
                if at >= last {
                    replace(&mut next, &out, &mut last, at, at + needle.len());
                }
            }
            next.extend_from_slice(&out[last..]);
            out = Cow::Owned(next);
        }
        out
    }

    /// `s` with every form of every secret replaced; borrowed when none occurs.
    pub(crate) fn str<'s>(&self, s: &'s str) -> Cow<'s, str> {
        match self.bytes(s.as_bytes()) {
            Cow::Borrowed(_) => Cow::Borrowed(s),
            // Needles and the replacement are whole UTF-8 sequences, so cutting
            // them out of UTF-8 leaves UTF-8; lossy only as a fallback.
            Cow::Owned(b) => Cow::Owned(
                String::from_utf8(b)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
            ),
        }
    }

    /// A text that was cut (the stored message or body) may end with the start
    /// of a secret: redact the tail too when it is the first 4+ bytes of one.
    fn text(&self, s: &mut String) {
        if let Cow::Owned(r) = self.str(s) {
            *s = r;
        }
        let tail = self
            .needles
            .iter()
            .filter_map(|n| cut_prefix(s.as_bytes(), n))
            .max();
        if let Some(k) = tail
            && s.is_char_boundary(s.len() - k)
        {
            s.truncate(s.len() - k);
            s.push_str(REDACTED);
        }
    }

    /// `e` with its message, body, code and request id redacted (and a source
    /// whose text holds a secret replaced by its redacted text).
    pub(crate) fn error(&self, mut e: Error) -> Error {
        if self.is_empty() {
            return e;
        }
        let i = &mut *e.inner;
        self.text(&mut i.message);
        for text in [&mut i.body, &mut i.code, &mut i.request_id]
            .into_iter()
            .flatten()
        {
            self.text(text);
        }
        if let Some(source) = &i.source {
            let shown = source.to_string();
            if let Cow::Owned(clean) = self.str(&shown) {
                i.source = Some(Box::new(RedactedSource(clean)));
            }
        }
        e
    }
}

/// Copy `b[*last..start]` to `out`, then the replacement for `b[start..end]`.
fn replace(out: &mut Vec<u8>, b: &[u8], last: &mut usize, start: usize, end: usize) {
    out.extend_from_slice(&b[*last..start]);
    out.extend_from_slice(REDACTED.as_bytes());
    *last = end;
}

/// The length of the longest proper prefix of `needle` (4 bytes or more) that
/// `text` ends with: a secret cut where the text was cut. Only the positions
/// holding the needle's first byte are compared.
fn cut_prefix(text: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    let longest = needle.len().saturating_sub(1).min(text.len());
    let from = text.len() - longest;
    let until = text.len().checked_sub(MIN_SECRET_CHARS)?;
    (from..=until)
        .filter(|&i| text[i] == first)
        .find(|&i| needle.starts_with(&text[i..]))
        .map(|i| text.len() - i)
}

/// The text of an error source that held a secret, without it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct RedactedSource(String);

/// The forms a secret may come back in.
fn forms(secret: &str) -> Vec<Vec<u8>> {
    let raw = secret.as_bytes();
    let upper = percent_encode(raw, b"0123456789ABCDEF");
    let lower = percent_encode(raw, b"0123456789abcdef");
    let form: String = url::form_urlencoded::byte_serialize(raw).collect();
    let json = json_escape(secret, false);
    vec![
        raw.to_vec(),
        upper,
        lower,
        form.into_bytes(),
        // A `+` sent raw in a query string is read back as a space.
        secret.replace('+', " ").into_bytes(),
        json.clone().into_bytes(),
        json.replace('/', "\\/").into_bytes(),
        json_escape(secret, true).into_bytes(),
    ]
}

/// RFC 3986 percent-encoding of everything but the unreserved characters.
fn percent_encode(raw: &[u8], hex: &[u8; 16]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    for &b in raw {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b);
        } else {
            out.extend_from_slice(&[b'%', hex[usize::from(b >> 4)], hex[usize::from(b & 0xf)]]);
        }
    }
    out
}

/// The text of `s` as a JSON string literal (without its quotes), with
/// non-ASCII as `\uXXXX` when `ascii` (Python's `json.dumps` default).
fn json_escape(s: &str, ascii: bool) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    let inner = quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or_default();
    if !ascii {
        return inner.to_owned();
    }
    let mut out = String::with_capacity(inner.len());
    for c in inner.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ErrorKind, MAX_ERROR_BODY, classify_http_error};
    use http::HeaderMap;

    const KEY: &str = "sk-test+abc/def=\"q\"\\z";

    #[test]
    fn raw_url_encoded_and_json_escaped_echoes_are_redacted() {
        let r = Redactor::new([KEY]);
        for echo in [
            KEY.to_owned(),
            "sk-test%2Babc%2Fdef%3D%22q%22%5Cz".to_owned(),
            "sk-test%2babc%2fdef%3d%22q%22%5cz".to_owned(),
            "sk-test abc/def=\"q\"\\z".to_owned(),
            r#"sk-test+abc/def=\"q\"\\z"#.to_owned(),
            r#"sk-test+abc\/def=\"q\"\\z"#.to_owned(),
        ] {
            let text = format!("invalid key: {echo} (check it)");
            let got = r.str(&text);
            assert_eq!(got, "invalid key: [redacted] (check it)", "{echo}");
        }
        assert!(matches!(r.str("nothing here"), Cow::Borrowed(_)));
        assert!(matches!(r.bytes(b"nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn space_and_non_ascii_forms() {
        let r = Redactor::new(["key with spaces", "clé-secrète"]);
        assert_eq!(r.str("k=key+with+spaces&x"), "k=[redacted]&x");
        assert_eq!(r.str("k=key%20with%20spaces"), "k=[redacted]");
        assert_eq!(
            r.str(r#"{"k":"cl\u00e9-secr\u00e8te"}"#),
            r#"{"k":"[redacted]"}"#
        );
        assert_eq!(r.str("cl%C3%A9-secr%C3%A8te"), "[redacted]");
    }

    #[test]
    fn short_secrets_are_ignored_and_debug_shows_none() {
        let r = Redactor::new(["abc", "", "sk-live-1234"]);
        assert_eq!(r.str("abc abc"), "abc abc");
        let shown = format!("{r:?}");
        assert!(!shown.contains("sk-live"), "{shown}");
        assert!(Redactor::new(["abc"]).is_empty());
        let e = Error::new(ErrorKind::Authentication, "key sk-live-1234");
        assert_eq!(Redactor::new(["ab"]).error(e).message(), "key sk-live-1234");
    }

    #[test]
    fn a_key_straddling_the_body_cut_leaves_no_prefix() {
        let key = "sk-proj-0123456789abcdefghijklmnop";
        let mut body = String::from(r#"{"error":{"message":"Incorrect API key provided: "#);
        body.push_str(&"x".repeat(MAX_ERROR_BODY - body.len() - 10));
        body.push_str(key);
        body.push_str(r#""}}"#);
        let r = Redactor::new([key]);
        // Redacted before it is cut and classified: no prefix survives.
        let clean = r.bytes(body.as_bytes());
        let e = classify_http_error(401, &HeaderMap::new(), &clean);
        assert!(!e.body().unwrap().contains("sk-proj-0"), "{:?}", e.body());
        assert!(!e.message().contains("sk-proj"), "{}", e.message());
        // Even redacting an error built first removes the cut prefix from the body.
        let e = r.error(classify_http_error(401, &HeaderMap::new(), body.as_bytes()));
        let kept = e.body().unwrap();
        assert!(!kept.contains("sk-proj-0"), "{kept}");
        assert!(kept.ends_with("[redacted]"), "{kept}");
        assert!(!e.message().contains("sk-proj"), "{}", e.message());
    }

    #[test]
    fn every_field_of_an_error_is_redacted() {
        let key = "sk-abcdef123456";
        let mut headers = HeaderMap::new();
        headers.insert("x-request-id", format!("req-{key}").parse().unwrap());
        let body = format!(
            r#"{{"error":{{"message":"bad key {key}","code":"key_{key}","type":"invalid_request_error"}}}}"#
        );
        let e = Redactor::new([key]).error(classify_http_error(400, &headers, body.as_bytes()));
        assert_eq!(e.message(), "bad key [redacted]");
        assert_eq!(e.code(), Some("key_[redacted]"));
        assert_eq!(e.request_id(), Some("req-[redacted]"));
        assert!(!e.body().unwrap().contains(key));
        let shown = format!("{e:?} {e}");
        assert!(!shown.contains(key), "{shown}");
    }

    #[test]
    fn a_source_holding_the_key_is_replaced() {
        let key = "sk-abcdef123456";
        let e = Error::new(ErrorKind::Network, "failed")
            .with_source(std::io::Error::other(format!("proxy said {key}")));
        let e = Redactor::new([key]).error(e);
        let source = std::error::Error::source(&e).unwrap().to_string();
        assert_eq!(source, "proxy said [redacted]");
    }

    #[test]
    fn overlapping_forms_are_replaced_whole_in_one_pass() {
        // A form inside another and two forms that overlap: the union goes.
        let r = Redactor::new(["abcd-efgh", "efgh-ijkl"]);
        assert_eq!(r.str("x abcd-efgh-ijkl y"), "x [redacted] y");
        assert_eq!(r.str("aaaa"), "aaaa");
        let r = Redactor::new(["aaaa"]);
        assert_eq!(r.str("aaaaa b aaaa"), "[redacted] b [redacted]");
        assert_eq!(r.str("aaaaaaaa"), "[redacted]");
        // The per-form fallback redacts the same secrets.
        let slow = Redactor {
            search: None,
            ..Redactor::new([KEY])
        };
        assert_eq!(
            slow.str("k sk-test%2Babc%2Fdef%3D%22q%22%5Cz"),
            "k [redacted]"
        );
    }

    #[test]
    fn a_pem_key_line_by_line_and_whole() {
        // What a service-account key brings: the whole PEM and each line.
        let lines: Vec<String> = (0..26)
            .map(|i| format!("MIIEv{i:02}QIBADAN+gkqhkiG9w0/AQEFAASCBKcwggSjAgEAAoIBAQC{i:02}"))
            .collect();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            lines.join("\n")
        );
        let secrets: Vec<&str> = std::iter::once(pem.as_str())
            .chain(lines.iter().map(String::as_str))
            .collect();
        let r = Redactor::new(secrets);
        assert!(r.needles.len() > 100, "{}", r.needles.len());
        let escaped = serde_json::to_string(&pem).unwrap();
        let body = format!(
            r#"{{"error":{{"message":"bad key {escaped} and {}"}}}}"#,
            lines[7]
        );
        let clean = r.str(&body);
        assert_eq!(
            clean,
            r#"{"error":{"message":"bad key "[redacted]" and [redacted]"}}"#
        );
    }

    proptest::proptest! {
        #[test]
        fn no_form_survives_anywhere(
            secret in "[ -~é]{4,24}",
            before in "[ -~]{0,16}",
            after in "[ -~]{0,16}",
            which in 0usize..8,
        ) {
            let r = Redactor::new([secret.as_str()]);
            let all = forms(&secret);
            let form = String::from_utf8(all[which].clone()).unwrap();
            let clean = r.str(&format!("{before}{form}{after}")).into_owned();
            for f in &all {
                let f = String::from_utf8_lossy(f);
                proptest::prop_assert!(!clean.contains(f.as_ref()), "{clean} holds {f}");
            }
        }
    }

    #[test]
    fn one_secret_in_many_places() {
        let e =
            Error::new(ErrorKind::Authentication, "bad key sk-abc%2B123").with_body(b"sk-abc+123");
        let e = Redactor::new(["sk-abc+123"]).error(e);
        assert_eq!(e.message(), "bad key [redacted]");
        assert_eq!(e.body(), Some("[redacted]"));
    }
}

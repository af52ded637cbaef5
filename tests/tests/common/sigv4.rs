//! An independent AWS Signature V4 verifier, written from AWS's
//! specification (not with `aws-sigv4`): it recomputes the canonical request,
//! the string to sign and the signature of a request as the server received
//! it. It is itself checked against AWS's published test-suite vectors
//! (`tests/tests/data/sigv4/`), so the loopback mock that uses it verifies
//! what Bedrock would verify.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) method: String,
    /// The path as sent (percent-encoded as on the wire).
    pub(crate) path: String,
    pub(crate) query: Option<String>,
    /// Header names (any case) and values, repeats kept in order.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Received {
    pub(crate) fn from_recorded(r: &llm_runtime::testing::RecordedRequest) -> Self {
        Received {
            method: r.method.clone(),
            path: r.path.clone(),
            query: r.query.clone(),
            headers: r
                .headers
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: r.body.to_vec(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the verifier computed.
#[derive(Debug)]
pub(crate) struct Verified {
    pub(crate) canonical_request: String,
    pub(crate) string_to_sign: String,
    pub(crate) signature: String,
    pub(crate) amz_date: String,
    pub(crate) access_key_id: String,
    pub(crate) region: String,
    pub(crate) service: String,
    pub(crate) signed_headers: Vec<String>,
}

/// Recompute the signature of `request` with `secret` and check it against
/// its `Authorization` header.
pub(crate) fn verify(request: &Received, secret: &str) -> Result<Verified, String> {
    let auth = request
        .header("authorization")
        .ok_or("no Authorization header")?;
    let rest = auth
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or_else(|| format!("not a SigV4 Authorization: {auth}"))?;
    let mut credential = None;
    let mut signed = None;
    let mut claimed = None;
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            claimed = Some(v);
        }
    }
    let (credential, signed, claimed) = (
        credential.ok_or("no Credential")?,
        signed.ok_or("no SignedHeaders")?,
        claimed.ok_or("no Signature")?,
    );
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, "aws4_request"] = scope[..] else {
        return Err(format!("bad credential scope {credential}"));
    };
    let amz_date = request.header("x-amz-date").ok_or("no X-Amz-Date")?;
    if !amz_date.starts_with(date) {
        return Err(format!(
            "X-Amz-Date {amz_date} is not on the scope's date {date}"
        ));
    }
    let signed_headers: Vec<String> = signed.split(';').map(str::to_owned).collect();
    let canonical_request = canonical_request(request, &signed_headers)?;
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{date}/{region}/{service}/aws4_request\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    for part in [region, service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let signature = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    if signature != claimed {
        return Err(format!(
            "signature mismatch: computed {signature}, sent {claimed}\ncanonical request:\n{canonical_request}"
        ));
    }
    Ok(Verified {
        canonical_request,
        string_to_sign,
        signature,
        amz_date: amz_date.to_owned(),
        access_key_id: access_key_id.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
        signed_headers,
    })
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// RFC 3986 unreserved characters pass, everything else is `%XX`.
fn uri_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(*b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = bytes.get(i + 1..i + 3)
            && let Ok(v) = u8::from_str_radix(&String::from_utf8_lossy(hex), 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// The canonical request of every AWS service but S3: the path normalized
/// (`.`, `..` and empty segments removed) and each segment, as sent, encoded
/// once more (so `%3A` is `%253A`); the query decoded, re-encoded and sorted;
/// the signed headers lowercased, their values trimmed with inner runs of
/// spaces collapsed and repeats joined with `,`; the body's SHA-256.
pub(crate) fn canonical_request(
    request: &Received,
    signed_headers: &[String],
) -> Result<String, String> {
    let mut segments: Vec<&str> = Vec::new();
    for segment in request.path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut path: String = segments
        .iter()
        .map(|s| format!("/{}", uri_encode(s.as_bytes())))
        .collect();
    if path.is_empty() || (request.path.ends_with('/') && !segments.is_empty()) {
        path.push('/');
    }

    let mut pairs: Vec<(String, String)> = request
        .query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&percent_decode(k)),
                uri_encode(&percent_decode(v)),
            )
        })
        .collect();
    pairs.sort();
    let query = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");

    let mut headers = String::new();
    for name in signed_headers {
        let values: Vec<String> = request
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        if values.is_empty() {
            return Err(format!("signed header `{name}` was not received"));
        }
        headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    Ok(format!(
        "{}\n{path}\n{query}\n{headers}\n{}\n{}",
        request.method,
        signed_headers.join(";"),
        hex::encode(Sha256::digest(&request.body))
    ))
}

//! Wire pieces the operations beyond chat share across dialects: decoding a
//! JSON answer, and the rerank answer every host writes in Cohere's shape
//! (`results` or `data`, the document as text or `{"text"}`, usage as tokens
//! or billed search units).

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::wire::{null_as_default, opt_count};
use crate::error::{Error, Result};
use crate::provider::{RequestContext, Transform};
use crate::types::{BatchRequest, RerankRequest, RerankResponse, RerankResult, Usage};

/// Each batch item's chat body as `wire` sends it for a chat call (the
/// item's own model), under its `custom_id`: both batch APIs embed exactly
/// that body.
pub(crate) fn item_bodies<'r, T: Transform>(
    wire: &T,
    request: &'r BatchRequest,
    ctx: &RequestContext<'_>,
) -> Result<Vec<(&'r str, Box<RawValue>)>> {
    let mut bodies = Vec::with_capacity(request.items.len());
    for item in &request.items {
        let item_ctx = RequestContext {
            spec: ctx.spec,
            model: &item.request.model,
            stream: false,
        };
        let parts = wire.build_request(&item.request, &item_ctx)?;
        let body = parts.body.unwrap_or_default();
        let body: Box<RawValue> = serde_json::from_slice(&body)
            .map_err(|e| Error::invalid_request(format!("a batch item's body is not JSON: {e}")))?;
        bodies.push((item.custom_id.as_str(), body));
    }
    Ok(bodies)
}

/// The body of a rerank in Cohere's format (`/v2/rerank`, and the hosts
/// that copy it): model, query, documents and `top_n` when set. Each
/// dialect adds the fields only its API takes.
pub(crate) fn rerank_body(request: &RerankRequest) -> Value {
    let mut body = json!({
        "model": request.model,
        "query": request.query,
        "documents": request.documents,
    });
    if let Some(n) = request.top_n {
        body["top_n"] = n.into();
    }
    body
}

/// `body` decoded as `T`, or a `Decode` error naming `what` with the body.
pub(crate) fn decode<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T> {
    serde_json::from_slice(body)
        .map_err(|e| Error::decode(format!("{what} is not the expected JSON: {e}")).with_body(body))
}

#[derive(Deserialize)]
struct RerankWire {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default, alias = "data")]
    results: Option<Vec<RankedWire>>,
    #[serde(default)]
    usage: Option<RerankUsage>,
    #[serde(default)]
    meta: Option<RerankMeta>,
}

#[derive(Deserialize)]
struct RankedWire {
    index: usize,
    relevance_score: f64,
    #[serde(default)]
    document: Option<Value>,
}

#[derive(Deserialize)]
struct RerankUsage {
    #[serde(default, deserialize_with = "opt_count")]
    total_tokens: Option<u32>,
    #[serde(default, deserialize_with = "opt_count")]
    prompt_tokens: Option<u32>,
}

#[derive(Deserialize)]
struct RerankMeta {
    #[serde(default, deserialize_with = "null_as_default")]
    billed_units: BilledUnits,
}

#[derive(Deserialize, Default)]
struct BilledUnits {
    #[serde(default, deserialize_with = "opt_count")]
    search_units: Option<u32>,
}

/// A rerank answer in Cohere's shape or a host's variant of it (Jina,
/// Voyage's `data`, Together's `usage`). An answer without results is a
/// `Decode` error, never an empty ranking.
pub(crate) fn parse_rerank(body: &[u8]) -> Result<RerankResponse> {
    let wire: RerankWire = decode(body, "the rerank response")?;
    let Some(ranked) = wire.results else {
        return Err(Error::decode("the rerank response has no results").with_body(body));
    };
    let results = ranked
        .into_iter()
        .map(|r| RerankResult {
            index: r.index,
            relevance_score: r.relevance_score,
            document: r.document.and_then(|d| match d {
                Value::String(text) => Some(text),
                Value::Object(mut fields) => match fields.remove("text") {
                    Some(Value::String(text)) => Some(text),
                    _ => None,
                },
                _ => None,
            }),
        })
        .collect();
    Ok(RerankResponse {
        id: wire.id,
        model: wire.model.unwrap_or_default(),
        provider: String::new(),
        results,
        usage: wire
            .usage
            .and_then(|u| u.total_tokens.or(u.prompt_tokens))
            .map(|n| Usage::new(n, 0)),
        search_units: wire.meta.and_then(|m| m.billed_units.search_units),
        meta: Default::default(),
    })
}

/// A `rewrite_json` hook for hosts whose rerank takes `top_k` where Cohere's
/// format says `top_n` (Voyage); other operations are left as built.
pub(crate) fn rerank_top_k<P>(
    _: &P,
    body: &mut Value,
    operation: crate::provider::Operation,
    _: &crate::provider::RequestContext<'_>,
) -> Result<()> {
    if operation == crate::provider::Operation::Rerank
        && let Some(fields) = body.as_object_mut()
        && let Some(n) = fields.remove("top_n")
    {
        fields.insert("top_k".to_owned(), n);
    }
    Ok(())
}

/// The JSONL lines of a batch's results, each decoded as `T`; a line that
/// does not decode is an error naming its number (results are never
/// silently dropped).
pub(crate) fn jsonl<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<Vec<T>> {
    body.split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
        .map(|(n, line)| {
            serde_json::from_slice(line).map_err(|e| {
                Error::decode(format!(
                    "line {} of {what} is not the expected JSON: {e}",
                    n + 1
                ))
                .with_body(line)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rerank_shape_decodes() {
        let cohere = br#"{"id":"r1","results":[{"index":1,"relevance_score":0.9}],"meta":{"billed_units":{"search_units":1}}}"#;
        let r = parse_rerank(cohere).expect("cohere");
        assert_eq!((r.results[0].index, r.search_units), (1, Some(1)));
        let voyage = br#"{"object":"list","data":[{"index":0,"relevance_score":0.5,"document":"a"}],"model":"rerank-2","usage":{"total_tokens":7}}"#;
        let r = parse_rerank(voyage).expect("voyage");
        assert_eq!(r.results[0].document.as_deref(), Some("a"));
        assert_eq!(r.usage.map(|u| u.prompt_tokens), Some(7));
        let jina = br#"{"model":"jina-reranker-v2","results":[{"index":0,"relevance_score":0.5,"document":{"text":"b"}}],"usage":{"total_tokens":3}}"#;
        assert_eq!(
            parse_rerank(jina).expect("jina").results[0]
                .document
                .as_deref(),
            Some("b")
        );
        let e = parse_rerank(br#"{"id":"x"}"#).expect_err("no results");
        assert_eq!(e.kind(), crate::ErrorKind::Decode);
    }

    #[test]
    fn a_bad_jsonl_line_is_named() {
        let e = jsonl::<Value>(b"{}\n\n{oops\n", "the results").expect_err("bad line");
        assert!(e.message().contains("line 3"), "{e}");
        assert_eq!(jsonl::<Value>(b"{}\r\n{}\n", "x").expect("two").len(), 2);
    }
}

use llm_runtime::provider::Operation;
use llm_runtime::{ErrorKind, Provider, Result, provider::{HttpParts, RequestContext}};

/// A declared error table over the dialect's classification, and both rewrite hooks.
#[derive(Provider)]
#[provider(
    name = "tgi-like",
    base_url = "http://127.0.0.1:8080",
    auth = "none",
    dialect = openai,
    rewrite_json = Self::strip_prefix,
    rewrite = Self::tag,
    errors(
        type_field = "error_type",
        424 = server_error,
        "overloaded" = overloaded,
        "validation" = invalid_request,
        "queue_full" = invalid_request(retry),
        503 = server_error(no_retry),
    ),
)]
pub struct TgiLike;

impl TgiLike {
    fn strip_prefix(&self, body: &mut serde_json::Value, _: Operation, ctx: &RequestContext<'_>) -> Result<()> {
        body["model"] = ctx.model.trim_start_matches("corp-").into();
        Ok(())
    }

    fn tag(&self, parts: HttpParts, _: Operation, _: &RequestContext<'_>) -> Result<HttpParts> {
        Ok(parts.query("tag", "1"))
    }
}

fn main() {
    let e = TgiLike.map_error(424, &Default::default(), br#"{"error":"failed"}"#);
    assert_eq!(e.kind(), ErrorKind::ServerError);
    let e = TgiLike.map_error(424, &Default::default(), br#"{"error":"bad","error_type":"validation"}"#);
    assert_eq!((e.kind(), e.code()), (ErrorKind::InvalidRequest, Some("validation")));
    let e = TgiLike.map_error(400, &Default::default(), br#"{"error":"full","error_type":"queue_full"}"#);
    assert_eq!(e.should_retry_hint(), Some(true));
    let e = TgiLike.map_error(503, &Default::default(), b"");
    assert_eq!((e.kind(), e.should_retry_hint()), (ErrorKind::ServerError, Some(false)));

    let ctx = RequestContext::new(&TgiLike::SPEC, "corp-m", false);
    let parts = HttpParts::post_json("/chat/completions", &serde_json::json!({"model": "corp-m"})).unwrap();
    let parts = TgiLike.rewrite_request(parts, Operation::Chat, &ctx).unwrap();
    assert_eq!(parts.body.as_deref(), Some(&br#"{"model":"m"}"#[..]));
    assert_eq!(parts.query, [("tag".to_owned(), "1".to_owned())]);
}

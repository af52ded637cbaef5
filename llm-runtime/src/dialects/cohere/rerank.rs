//! Cohere's `POST /v2/rerank`: the de facto rerank format. v2 returns no
//! document texts (the runtime fills them in from the request when asked);
//! billing is in search units (`meta.billed_units.search_units`).

use super::CohereDialect;
use crate::dialects::operation_wire::{parse_rerank, rerank_body};
use crate::error::Result;
use crate::provider::{HttpParts, Operations, RequestContext};
use crate::types::{RerankRequest, RerankResponse};

impl Operations for CohereDialect {
    fn build_rerank_request(
        &self,
        request: &RerankRequest,
        _: &RequestContext<'_>,
    ) -> Result<HttpParts> {
        let mut body = rerank_body(request);
        if let Some(n) = request.max_tokens_per_doc {
            body["max_tokens_per_doc"] = n.into();
        }
        HttpParts::post_json("/v2/rerank", &body)
    }

    fn parse_rerank_response(&self, body: &[u8], _: &RequestContext<'_>) -> Result<RerankResponse> {
        parse_rerank(body)
    }
}

//! OpenAI's batch files: the input JSONL (one `{"custom_id", "method",
//! "url", "body"}` per line) to the runtime's [`BatchRequest`], and the
//! runtime's outcomes back to the output and error JSONL files.

use llm_runtime::types::{BatchItem, BatchOutcome, BatchRequest, BatchResult};
use serde_json::{Value, json};

use crate::error::GatewayError;
use crate::ingress::openai_chat::{parse_request, render_response};

/// The endpoints a batch line may name (the runtime batches chat requests).
pub(super) const ENDPOINTS: &[&str] = &["/v1/chat/completions"];

/// The input file, read.
#[derive(Debug)]
pub(super) struct Input {
    /// The model every line names.
    pub(super) model: String,
    /// The requests, in the file's order.
    pub(super) request: BatchRequest,
}

fn line_error(n: usize, what: impl std::fmt::Display) -> GatewayError {
    GatewayError::bad_request(format!("The input file's line {n}: {what}"))
        .param("input_file_id")
        .code("invalid_batch_input")
}

/// Read an input file whose lines all go to `endpoint` and name one model.
pub(super) fn parse_input(bytes: &[u8], endpoint: &str) -> Result<Input, GatewayError> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| line_error(1, "the file is not UTF-8 text"))?;
    let mut model: Option<String> = None;
    let mut request = BatchRequest::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let n = i + 1;
        let value: Value =
            serde_json::from_str(line).map_err(|e| line_error(n, format!("not JSON: {e}")))?;
        let field = |name: &str| value.get(name).and_then(Value::as_str);
        let custom_id = field("custom_id")
            .filter(|c| !c.is_empty())
            .ok_or_else(|| line_error(n, "`custom_id` is required"))?;
        if field("method") != Some("POST") {
            return Err(line_error(n, "`method` must be POST"));
        }
        if field("url") != Some(endpoint) {
            return Err(line_error(
                n,
                format!("`url` must be the batch's endpoint `{endpoint}`"),
            ));
        }
        let body = value
            .get("body")
            .ok_or_else(|| line_error(n, "`body` is required"))?;
        let parsed =
            parse_request(body.to_string().as_bytes()).map_err(|e| line_error(n, e.message))?;
        if parsed.stream {
            return Err(line_error(n, "a batch request cannot stream"));
        }
        match &model {
            None => model = Some(parsed.model.clone()),
            Some(m) if *m != parsed.model => {
                return Err(line_error(
                    n,
                    format!(
                        "every line must name the same model (`{m}`), not `{}`",
                        parsed.model
                    ),
                ));
            }
            Some(_) => {}
        }
        request.items.push(BatchItem {
            custom_id: custom_id.to_owned(),
            request: parsed.request,
        });
    }
    let model = model.ok_or_else(|| line_error(1, "the file holds no request"))?;
    request.validate().map_err(|e| {
        GatewayError::bad_request(e.message().to_owned()).code("invalid_batch_input")
    })?;
    Ok(Input { model, request })
}

/// The output file (answers) and the error file (failures) of `outcomes`,
/// in the input's order; `model` is the name the caller sent.
pub(super) fn render_outcomes(outcomes: Vec<BatchOutcome>, model: &str) -> (String, String) {
    let (mut output, mut errors) = (String::new(), String::new());
    for (i, outcome) in outcomes.into_iter().enumerate() {
        let id = format!("batch_req_{i}");
        let line = match outcome.result {
            BatchResult::Succeeded(response) => {
                let request_id = response.meta.request_id.clone().unwrap_or_default();
                let line = json!({"id": id, "custom_id": outcome.custom_id, "error": null,
                    "response": {"status_code": 200, "request_id": request_id,
                                 "body": render_response(&response, model)}});
                output.push_str(&line.to_string());
                output.push('\n');
                continue;
            }
            BatchResult::Failed(e) => failure_line(&id, &outcome.custom_id, e),
        };
        errors.push_str(&line.to_string());
        errors.push('\n');
    }
    (output, errors)
}

/// A failed request as OpenAI's error file writes it: the upstream's status
/// and error body when it answered, else an `error` with code and message.
fn failure_line(id: &str, custom_id: &str, e: llm_runtime::Error) -> Value {
    match e.status() {
        Some(status) => {
            let request_id = e.request_id().map(str::to_owned).unwrap_or_default();
            let body = GatewayError::from(e).openai_body();
            json!({"id": id, "custom_id": custom_id, "error": null,
                   "response": {"status_code": status, "request_id": request_id, "body": body}})
        }
        None => {
            let code = e.code().map_or_else(|| e.kind().to_string(), str::to_owned);
            json!({"id": id, "custom_id": custom_id, "response": null,
                   "error": {"code": code, "message": e.message()}})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: &str, model: &str) -> String {
        json!({"custom_id": id, "method": "POST", "url": "/v1/chat/completions",
               "body": {"model": model, "messages": [{"role": "user", "content": "hi"}]}})
        .to_string()
    }

    #[test]
    fn lines_become_items_in_order() {
        let file = format!("{}\n\n{}\n", line("a", "m"), line("b", "m"));
        let input = parse_input(file.as_bytes(), "/v1/chat/completions").expect("valid");
        assert_eq!(input.model, "m");
        let ids: Vec<&str> = input
            .request
            .items
            .iter()
            .map(|i| i.custom_id.as_str())
            .collect();
        assert_eq!(ids, ["a", "b"]);
    }

    #[test]
    fn bad_lines_are_named() {
        let cases = [
            (
                format!("{}\n{}", line("a", "m"), line("b", "other")),
                "line 2",
            ),
            (
                format!("{}\n{}", line("a", "m"), line("a", "m")),
                "appears twice",
            ),
            ("{not json".to_owned(), "line 1"),
            (String::new(), "no request"),
            (line("a", "m").replace("POST", "GET"), "method"),
        ];
        for (file, says) in cases {
            let e = parse_input(file.as_bytes(), "/v1/chat/completions").expect_err(&file);
            assert_eq!(e.status, 400);
            assert!(e.message.contains(says), "{}: {}", says, e.message);
        }
    }
}

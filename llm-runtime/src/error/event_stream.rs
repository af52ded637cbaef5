//! An error answered as a server-sent-events body: a proxy or server that
//! fails a stream request after choosing `text/event-stream` sends its error
//! status with the error as an event (`event: error` / `data: {...}`), not as
//! a JSON document.

use super::classify::{ErrorBody, parse_error_body};

/// The error body carried by the `data:` of an SSE body's events: the first
/// event whose data is an error in a known shape. `None` when the body holds
/// no such event (plain text, HTML, a JSON document).
///
/// The body is read line by line (CR, LF or CRLF endings); an event's
/// `data:` lines are joined with `\n` as SSE defines.
pub(crate) fn event_stream_error_body(body: &[u8]) -> Option<ErrorBody> {
    let text = String::from_utf8_lossy(body)
        .replace("\r\n", "\n")
        .replace('\r', "\n");
    let mut data = String::new();
    let mut in_event = false;
    for line in text.split('\n').chain([""]) {
        if line.is_empty() {
            if in_event && let Some(parsed) = parse_error_body(data.as_bytes()) {
                return Some(parsed);
            }
            data.clear();
            in_event = false;
            continue;
        }
        if let Some(value) = line.strip_prefix("data:") {
            if in_event {
                data.push('\n');
            }
            data.push_str(value.strip_prefix(' ').unwrap_or(value));
            in_event = true;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_first_error_event_is_read() {
        let body = b"event: ping\ndata: {}\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"Internal server error\"}}\n\n";
        let parsed = event_stream_error_body(body).unwrap();
        assert_eq!(parsed.message.as_deref(), Some("Internal server error"));
        assert_eq!(parsed.code.as_deref(), Some("api_error"));
    }

    #[test]
    fn data_split_over_lines_and_crlf() {
        let body = b"data: {\"error\":\r\ndata: {\"message\":\"boom\"}}\r\n\r\n";
        let parsed = event_stream_error_body(body).unwrap();
        assert_eq!(parsed.message.as_deref(), Some("boom"));
        // A last event without its blank line still counts.
        let parsed = event_stream_error_body(b"data: {\"message\":\"cut\"}").unwrap();
        assert_eq!(parsed.message.as_deref(), Some("cut"));
    }

    #[test]
    fn bodies_without_error_events_are_none() {
        for body in [
            &b""[..],
            b"<html>500</html>",
            b"data: [DONE]\n\n",
            b"data: {}\n\n",
            b"event: error\n\n",
        ] {
            assert_eq!(event_stream_error_body(body), None, "{body:?}");
        }
    }

    proptest! {
        /// Any message survives the SSE framing, whatever its line endings.
        #[test]
        fn any_message_is_kept(message in "[a-zA-Z0-9 .,:;!?'-]{1,80}", ending in prop::sample::select(vec!["\n", "\r\n", "\r"])) {
            let data = serde_json::json!({"error": {"message": message, "type": "server_error"}});
            let body = format!("event: error{ending}data: {data}{ending}{ending}");
            let parsed = event_stream_error_body(body.as_bytes()).unwrap();
            // A blank message is no message: `None`, as for an absent one.
            let expected = Some(message.trim()).filter(|m| !m.is_empty());
            prop_assert_eq!(parsed.message.as_deref(), expected);
        }
    }
}

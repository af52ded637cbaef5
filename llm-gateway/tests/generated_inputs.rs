//! Generated inputs: any request body and any config text give a typed
//! answer (a 4xx or a config error with its line), never a panic.
#![allow(clippy::unwrap_used)]

use llm_gateway::config::{ConfigError, GatewayConfig};
use llm_gateway::ingress::openai_chat::parse_request;
use proptest::prelude::*;
use serde_json::{Value, json};

/// JSON values up to a small depth, with the keys a chat request has.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "[a-z ]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        let key = prop_oneof![
            Just("model".to_owned()),
            Just("messages".to_owned()),
            Just("role".to_owned()),
            Just("content".to_owned()),
            Just("tools".to_owned()),
            Just("stop".to_owned()),
            Just("stream".to_owned()),
            Just("response_format".to_owned()),
            Just("tool_choice".to_owned()),
            "[a-z]{1,6}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn any_chat_body_parses_or_is_a_4xx(body in json_value()) {
        match parse_request(body.to_string().as_bytes()) {
            Ok(parsed) => {
                prop_assert!(!parsed.model.is_empty());
                prop_assert!(!parsed.request.messages.is_empty());
            }
            Err(e) => prop_assert!(e.status.is_client_error(), "{}", e.status),
        }
    }

    #[test]
    fn any_bytes_as_a_body_are_a_4xx_or_a_request(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Err(e) = parse_request(&bytes) {
            prop_assert!(e.status.is_client_error());
        }
    }

    #[test]
    fn any_config_text_loads_or_names_a_line(text in "[a-z_:\\-\\[\\]{} \n0-9\"'/.*]{0,200}") {
        let lines = text.lines().count().max(1);
        match GatewayConfig::parse(&text, &|_| None) {
            Ok(loaded) => {
                for w in &loaded.warnings {
                    prop_assert!(w.starts_with("line "), "{w}");
                }
            }
            Err(ConfigError::Syntax { line, .. } | ConfigError::Type { line, .. }) => {
                prop_assert!(line >= 1 && line <= lines + 1, "line {line} of {lines}");
            }
            Err(other) => prop_assert!(false, "unexpected {other}"),
        }
    }

    #[test]
    fn a_numeric_key_of_the_wrong_type_names_its_line(
        padding in 0usize..5,
        // `null` is YAML's null: the key left unset, no error.
        value in "[a-z]{1,8}".prop_filter("YAML null", |v| v != "null"),
    ) {
        let blank = "\n".repeat(padding);
        let yaml = format!("{blank}router_settings:\n  num_retries: {value}\n");
        match GatewayConfig::parse(&yaml, &|_| None) {
            Err(ConfigError::Type { line, path, .. }) => {
                prop_assert_eq!(line, padding + 2);
                prop_assert_eq!(path, "router_settings.num_retries");
            }
            other => prop_assert!(false, "{other:?}"),
        }
    }
}

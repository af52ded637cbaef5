//! Decoding helpers every dialect's wire types share.
//!
//! Providers and the servers that imitate them write `null` where a value was
//! expected (`"tool_calls": null`, `"usage": {"prompt_tokens": null}`), counts
//! as floats (`12.0`) or past `u32::MAX`, and fields nobody asked for. None of
//! that may turn a good answer into a decode error, so a wire type:
//! - marks every field that is not an `Option` with
//!   `#[serde(default, deserialize_with = "null_as_default")]`: `null` reads
//!   as the field's default, the same as a missing field (an `Option` field
//!   reads `null` as `None` by itself);
//! - reads token counts with [`count`] or [`opt_count`] (saturating at `u32::MAX`);
//! - never uses `deny_unknown_fields`.

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde_json::Value;

/// A field's value, or its default when it is `null` (or, with
/// `#[serde(default)]`, missing).
///
/// ```ignore
/// #[derive(Deserialize)]
/// struct Message {
///     #[serde(default, deserialize_with = "null_as_default")]
///     tool_calls: Vec<ToolCall>,
/// }
/// ```
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A token count: `0` for `null`, see [`opt_count`].
pub(crate) fn count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    Ok(opt_count(deserializer)?.unwrap_or(0))
}

/// A token count as APIs write it: an integer or a float (`12.0`), saturated
/// to `0..=u32::MAX` (a fraction is cut off); `None` for `null`, NaN or infinity.
/// Anything else (a string, an object) is an error: that is not a count.
pub(crate) fn opt_count<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u32>, D::Error> {
    deserializer.deserialize_any(CountVisitor)
}

/// The count a JSON value holds, as [`opt_count`] reads it (for dialects that
/// read `serde_json::Value`s).
pub(crate) fn count_of(value: &Value) -> Option<u32> {
    match value {
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => Some(saturate_u64(u)),
            (None, Some(_), _) => Some(0),
            (None, None, Some(f)) => saturate_f64(f),
            (None, None, None) => None,
        },
        _ => None,
    }
}

fn saturate_u64(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn saturate_f64(n: f64) -> Option<u32> {
    // `as` saturates float-to-int casts (negatives to 0, huge values to MAX).
    n.is_finite().then_some(n as u32)
}

struct CountVisitor;

impl<'de> Visitor<'de> for CountVisitor {
    type Value = Option<u32>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a token count (a number) or null")
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
        Ok(Some(saturate_u64(n)))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
        Ok(Some(u64::try_from(n).map_or(0, saturate_u64)))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Self::Value, E> {
        Ok(saturate_f64(n))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// A `content` as OpenAI-style APIs write it: a string, or an array of parts
/// whose `text` fields are joined; anything else (`null`, a number, an
/// object) reads as no text. Read in one pass, without a `Value` tree.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct TextContent(pub(crate) String);

impl<'de> Deserialize<'de> for TextContent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TextContentVisitor)
    }
}

struct TextContentVisitor;

impl<'de> Visitor<'de> for TextContentVisitor {
    type Value = TextContent;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string or an array of content parts")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<TextContent, E> {
        Ok(TextContent(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<TextContent, E> {
        Ok(TextContent(v))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<TextContent, A::Error> {
        let mut text = String::new();
        while let Some(part) = seq.next_element::<Value>()? {
            if let Some(t) = part.get("text").and_then(Value::as_str) {
                text.push_str(t);
            }
        }
        Ok(TextContent(text))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<TextContent, A::Error> {
        while map
            .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
            .is_some()
        {}
        Ok(TextContent::default())
    }

    fn visit_unit<E: de::Error>(self) -> Result<TextContent, E> {
        Ok(TextContent::default())
    }

    fn visit_none<E: de::Error>(self) -> Result<TextContent, E> {
        Ok(TextContent::default())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<TextContent, E> {
        Ok(TextContent::default())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<TextContent, E> {
        Ok(TextContent::default())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<TextContent, E> {
        Ok(TextContent::default())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<TextContent, E> {
        Ok(TextContent::default())
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    struct Wire {
        #[serde(default, deserialize_with = "null_as_default")]
        list: Vec<u8>,
        #[serde(default, deserialize_with = "null_as_default")]
        text: String,
        #[serde(default, deserialize_with = "count")]
        n: u32,
        #[serde(default, deserialize_with = "opt_count")]
        m: Option<u32>,
    }

    fn wire(json: &str) -> Wire {
        serde_json::from_str(json).expect("decodes")
    }

    #[test]
    fn null_reads_as_missing() {
        assert_eq!(
            wire(r#"{"list":null,"text":null,"n":null,"m":null,"extra":1}"#),
            Wire::default()
        );
        assert_eq!(wire("{}"), Wire::default());
        assert_eq!(wire(r#"{"list":[1],"text":"x"}"#).list, [1]);
    }

    #[test]
    fn counts_saturate() {
        assert_eq!(wire(r#"{"n":12.0}"#).n, 12);
        assert_eq!(wire(r#"{"n":5000000000}"#).n, u32::MAX);
        assert_eq!(wire(r#"{"n":1e300}"#).n, u32::MAX);
        assert_eq!(wire(r#"{"n":-3}"#).n, 0);
        assert_eq!(wire(r#"{"m":99999999999999999999999}"#).m, Some(u32::MAX));
        assert_eq!(wire(r#"{"m":7}"#).m, Some(7));
        assert!(serde_json::from_str::<Wire>(r#"{"n":"7"}"#).is_err());
        assert!(serde_json::from_str::<Wire>(r#"{"list":"x"}"#).is_err());
        assert_eq!(
            count_of(&serde_json::json!(5_000_000_000u64)),
            Some(u32::MAX)
        );
        assert_eq!(count_of(&serde_json::json!(2.5)), Some(2));
        assert_eq!(count_of(&serde_json::json!(-1)), Some(0));
        assert_eq!(count_of(&Value::Null), None);
    }

    #[test]
    fn text_content_reads_every_shape() {
        let read = |json: &str| serde_json::from_str::<TextContent>(json).unwrap().0;
        assert_eq!(read(r#""hi""#), "hi");
        assert_eq!(
            read(r#"[{"type":"text","text":"a"},7,null,{"text":"b"}]"#),
            "ab"
        );
        assert_eq!(read(r#"{"text":"x"}"#), "");
        assert_eq!(read("null"), "");
        assert_eq!(read("12.5"), "");
        assert_eq!(read("true"), "");
    }
}

//! Reading an error document without building a tree of all of it: only the
//! keys the classification reads become [`Value`]s, everything else is
//! skipped as it is parsed. A 60 MiB `"param": [0,0,0,...]` next to the
//! message costs a scan, not a gigabyte of nodes.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The key that stands for every key an object had but that was not kept
/// (with a `null` value), so "is it empty" and "has it other keys" can still
/// be asked of a picked object.
pub(super) const SKIPPED: &str = "\u{0}skipped";

/// Which keys of an object to keep, and which of them to pick in turn.
#[derive(Clone, Copy)]
pub(super) struct Pick {
    /// Kept as whole values (the union of these lists).
    pub(super) keys: &'static [&'static [&'static str]],
    /// Kept, and picked with this when it is an object (the `error` envelope).
    pub(super) nested: Option<(&'static str, &'static Pick)>,
}

/// `body` with only the picked keys: an object keeps the keys of `pick`, a
/// top-level array keeps its first item (picked the same way), anything else
/// is kept as it is. `None` when `body` is not JSON.
pub(super) fn picked(body: &[u8], pick: &'static Pick) -> Option<Value> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = Top(pick).deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(value)
}

/// The top level: an array keeps only its first item.
struct Top(&'static Pick);

impl<'de> DeserializeSeed<'de> for Top {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Top {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON document")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let first = seq.next_element_seed(Object(self.0))?;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Value::Array(first.into_iter().collect()))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        Object(self.0).visit_map(map)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

/// An object with only the picked keys; any other value whole (it is one of
/// the kept ones, or an item of a top-level array that is not an object).
struct Object(&'static Pick);

impl<'de> DeserializeSeed<'de> for Object {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Object {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut kept = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = match self.0.nested {
                Some((name, nested)) if key == name => map.next_value_seed(Object(nested))?,
                _ if self.0.keys.iter().any(|keys| keys.contains(&key.as_str())) => {
                    map.next_value::<Value>()?
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    if !kept.contains_key(SKIPPED) {
                        kept.insert(SKIPPED.to_owned(), Value::Null);
                    }
                    continue;
                }
            };
            // The last of duplicate keys wins, as in a `Value`.
            kept.insert(key, value);
        }
        Ok(Value::Object(kept))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Value>()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Top(self.0).visit_bool(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Top(self.0).visit_i64(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Top(self.0).visit_u64(v)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Top(self.0).visit_f64(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Top(self.0).visit_str(v)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    static INNER: Pick = Pick {
        keys: &[&["message"], &["code"]],
        nested: None,
    };
    static OUTER: Pick = Pick {
        keys: &[&["detail"]],
        nested: Some(("error", &INNER)),
    };

    #[test]
    fn only_the_picked_keys_are_kept() {
        let body = br#"{"error":{"message":"m","param":[0,0,0],"code":7},"detail":[1,{"a":2}],"big":{"x":[1]}}"#;
        assert_eq!(
            picked(body, &OUTER),
            Some(
                json!({"error": {"message": "m", "code": 7, SKIPPED: null}, "detail": [1, {"a": 2}], SKIPPED: null})
            )
        );
        assert_eq!(
            picked(br#"[{"error":"text","x":1},{"error":2}]"#, &OUTER),
            Some(json!([{"error": "text", SKIPPED: null}]))
        );
        assert_eq!(
            picked(br#"{"error":{}}"#, &OUTER),
            Some(json!({"error": {}}))
        );
        assert_eq!(picked(b"\"s\"", &OUTER), Some(json!("s")));
        assert_eq!(picked(b"[]", &OUTER), Some(json!([])));
        assert_eq!(picked(b"{} x", &OUTER), None);
        assert_eq!(picked(b"{\"error\":", &OUTER), None);
    }
}

//! A tool's JSON Schema in the form Gemini's `parametersJsonSchema` accepts.
//!
//! Gemini takes a subset of JSON Schema for function parameters (its
//! `FunctionDeclaration` reference shows `type`, `properties`, `required`,
//! `additionalProperties: false` and `propertyOrdering`; the structured-output
//! guide lists `$defs`/`$ref` among what `responseJsonSchema` reads, but not for
//! every model and not for Vertex's `parameters`). Schemas generated from Rust
//! or Pydantic types routinely carry more, and one unknown keyword fails the
//! whole request with a 400. So the dialect sends the schema rewritten:
//!
//! - local `$ref`s (`#/$defs/..`, `#/definitions/..`) are inlined and the
//!   definitions removed; a recursive reference is cut to `{"type": "object"}`;
//! - `default` is removed and written into the `description` instead;
//! - `const` becomes a one-value `enum`;
//! - `additionalProperties` other than `false` is removed;
//! - keywords Gemini does not read (`$schema`, `$id`, `$comment`, `examples`,
//!   `readOnly`, `writeOnly`, `deprecated`, `not`, `if`/`then`/`else`,
//!   `patternProperties`, `unevaluatedProperties`, `dependentRequired`,
//!   `dependentSchemas`) are removed.
//!
//! Every change is listed in [`SchemaTransform::changes`], and building a
//! request that changed a schema emits a `tracing` warning naming the tool.

use serde_json::{Map, Value, json};

/// A schema rewritten for Gemini, with what was changed.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaTransform {
    /// The schema as sent.
    pub schema: Value,
    /// One line per change: the JSON pointer of the keyword and what was done.
    pub changes: Vec<String>,
}

/// Keywords Gemini does not read, removed wherever they appear.
const DROPPED: [&str; 13] = [
    "$schema",
    "$id",
    "$comment",
    "examples",
    "readOnly",
    "writeOnly",
    "deprecated",
    "not",
    "if",
    "then",
    "else",
    "patternProperties",
    "unevaluatedProperties",
];

/// More keywords Gemini does not read.
const ALSO_DROPPED: [&str; 2] = ["dependentRequired", "dependentSchemas"];

/// The deepest `$ref` chain followed before a reference counts as recursive.
const MAX_REF_DEPTH: usize = 32;

/// `schema` in the form Gemini's `parametersJsonSchema` accepts (see the module docs).
///
/// ```
/// use llm_runtime::dialects::gemini::function_schema;
/// use serde_json::json;
///
/// let out = function_schema(&json!({
///     "type": "object",
///     "properties": {"unit": {"$ref": "#/$defs/Unit", "default": "c"}},
///     "$defs": {"Unit": {"type": "string", "enum": ["c", "f"]}},
/// }));
/// assert_eq!(out.schema, json!({
///     "type": "object",
///     "properties": {"unit": {"type": "string", "enum": ["c", "f"], "description": "Default: \"c\"."}},
/// }));
/// assert_eq!(out.changes.len(), 3);
/// ```
pub fn function_schema(schema: &Value) -> SchemaTransform {
    let mut rewrite = Rewrite {
        root: schema,
        changes: Vec::new(),
        refs: Vec::new(),
    };
    let mut out = rewrite.node(schema, "");
    if let Value::Object(obj) = &mut out {
        for key in ["$defs", "definitions"] {
            if obj.remove(key).is_some() {
                rewrite
                    .changes
                    .push(format!("/{key}: removed (its definitions are inlined)"));
            }
        }
    }
    SchemaTransform {
        schema: out,
        changes: rewrite.changes,
    }
}

struct Rewrite<'a> {
    root: &'a Value,
    changes: Vec<String>,
    /// The `$ref`s being inlined, outermost first (to stop at recursion).
    refs: Vec<&'a str>,
}

impl<'a> Rewrite<'a> {
    fn node(&mut self, node: &'a Value, path: &str) -> Value {
        let Value::Object(obj) = node else {
            return node.clone();
        };
        if let Some(Value::String(reference)) = obj.get("$ref") {
            return self.reference(obj, reference, path);
        }
        let mut out = Map::new();
        let mut default = None;
        for (key, value) in obj {
            let at = format!("{path}/{}", escape(key));
            match key.as_str() {
                "$defs" | "definitions" if path.is_empty() => {
                    out.insert(key.clone(), value.clone());
                }
                "default" => default = Some(value),
                "const" => {
                    self.changes
                        .push(format!("{at}: replaced by a one-value `enum`"));
                    out.insert("enum".into(), json!([value]));
                }
                "additionalProperties" if *value == Value::Bool(false) => {
                    out.insert(key.clone(), value.clone());
                }
                "additionalProperties" => self.changes.push(format!("{at}: removed")),
                k if DROPPED.contains(&k) || ALSO_DROPPED.contains(&k) => {
                    self.changes.push(format!("{at}: removed"));
                }
                "properties" => {
                    let v = match value {
                        Value::Object(props) => self.properties(props, &at),
                        other => other.clone(),
                    };
                    out.insert(key.clone(), v);
                }
                "items" | "additionalItems" | "contains" => {
                    let v = match value {
                        Value::Array(items) => self.list(items, &at),
                        other => self.node(other, &at),
                    };
                    out.insert(key.clone(), v);
                }
                "prefixItems" | "anyOf" | "oneOf" | "allOf" => {
                    let v = match value {
                        Value::Array(items) => self.list(items, &at),
                        other => other.clone(),
                    };
                    out.insert(key.clone(), v);
                }
                _ => {
                    out.insert(key.clone(), value.clone());
                }
            }
        }
        if let Some(default) = default {
            self.describe_default(&mut out, default, path);
        }
        Value::Object(out)
    }

    /// A `properties` object, each property's schema rewritten.
    fn properties(&mut self, props: &'a Map<String, Value>, path: &str) -> Value {
        let props = props
            .iter()
            .map(|(name, p)| {
                (
                    name.clone(),
                    self.node(p, &format!("{path}/{}", escape(name))),
                )
            })
            .collect();
        Value::Object(props)
    }

    /// The removed `default` of the node at `path`, written into its `description`.
    fn describe_default(&mut self, out: &mut Map<String, Value>, default: &Value, path: &str) {
        self.changes.push(format!(
            "{path}/default: removed (written into the description)"
        ));
        let note = format!("Default: {default}.");
        let description = match out.get("description").and_then(Value::as_str) {
            Some(d) if !d.is_empty() => format!("{d} {note}"),
            _ => note,
        };
        out.insert("description".into(), Value::String(description));
    }

    fn list(&mut self, items: &'a [Value], path: &str) -> Value {
        items
            .iter()
            .enumerate()
            .map(|(i, item)| self.node(item, &format!("{path}/{i}")))
            .collect()
    }

    /// A `$ref` node: the definition it names, rewritten, with the node's
    /// other keywords (a `description` beside the `$ref`) laid over it.
    fn reference(&mut self, obj: &'a Map<String, Value>, reference: &'a str, path: &str) -> Value {
        let at = format!("{path}/$ref");
        let target = local_target(self.root, reference);
        let recursive = self.refs.contains(&reference) || self.refs.len() >= MAX_REF_DEPTH;
        let mut out = match target {
            Some(_) if recursive => {
                self.changes.push(format!(
                    "{at}: the recursive reference `{reference}` is cut to {{\"type\": \"object\"}}"
                ));
                json!({"type": "object"})
            }
            Some(target) => {
                self.changes.push(format!("{at}: `{reference}` inlined"));
                self.refs.push(reference);
                let inlined = self.node(target, path);
                self.refs.pop();
                inlined
            }
            None => {
                self.changes.push(format!(
                    "{at}: `{reference}` is not a local definition and was removed"
                ));
                json!({})
            }
        };
        let siblings: Map<String, Value> = obj
            .iter()
            .filter(|(k, _)| k.as_str() != "$ref")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !siblings.is_empty()
            && let (Value::Object(out), Value::Object(rest)) =
                (&mut out, self.node_owned(siblings, path))
        {
            out.extend(rest);
        }
        out
    }

    fn node_owned(&mut self, obj: Map<String, Value>, path: &str) -> Value {
        // The siblings are a new object, not part of the borrowed schema: a
        // rewrite of their own, sharing the root and the refs being inlined.
        let value = Value::Object(obj);
        let mut nested = Rewrite {
            root: self.root,
            changes: Vec::new(),
            refs: self.refs.clone(),
        };
        let out = nested.node(&value, path);
        self.changes.extend(nested.changes);
        out
    }
}

/// The definition a local reference (`#/$defs/Name`, `#/definitions/Name`, any
/// `#/...` JSON pointer) names in `root`.
fn local_target<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    if pointer.is_empty() {
        return Some(root);
    }
    root.pointer(pointer)
}

/// A key as a JSON-pointer token.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_schema_is_unchanged() {
        // The example of Gemini's `FunctionDeclaration.parametersJsonSchema` reference.
        let schema = json!({
            "type": "object",
            "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
            "additionalProperties": false,
            "required": ["name", "age"],
            "propertyOrdering": ["name", "age"],
        });
        let out = function_schema(&schema);
        assert_eq!(out.schema, schema);
        assert!(out.changes.is_empty());
    }

    #[test]
    fn refs_defaults_and_unknown_keywords_are_rewritten() {
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "place": {"$ref": "#/definitions/Place", "description": "Where."},
                "days": {"type": "integer", "default": 3, "description": "How many days."},
                "tags": {"type": "object", "additionalProperties": {"type": "string"}},
                "kind": {"const": "forecast"},
                "tree": {"$ref": "#/definitions/Tree"},
            },
            "definitions": {
                "Place": {"type": "object", "properties": {"city": {"type": "string"}}, "additionalProperties": false},
                "Tree": {"type": "object", "properties": {"child": {"$ref": "#/definitions/Tree"}}},
            },
        });
        let out = function_schema(&schema);
        assert_eq!(
            out.schema,
            json!({
                "type": "object",
                "properties": {
                    "place": {"type": "object", "properties": {"city": {"type": "string"}}, "additionalProperties": false, "description": "Where."},
                    "days": {"type": "integer", "description": "How many days. Default: 3."},
                    "tags": {"type": "object"},
                    "kind": {"enum": ["forecast"]},
                    "tree": {"type": "object", "properties": {"child": {"type": "object"}}},
                },
            })
        );
        let changes = out.changes.join("\n");
        for needle in [
            "/$schema: removed",
            "/properties/place/$ref: `#/definitions/Place` inlined",
            "/properties/days/default: removed",
            "/properties/tags/additionalProperties: removed",
            "/properties/kind/const: replaced",
            "/properties/tree/properties/child/$ref: the recursive reference",
            "/definitions: removed",
        ] {
            assert!(changes.contains(needle), "{needle} not in:\n{changes}");
        }
    }
}

//! YAML to JSON with the line of every node, and `os.environ/VAR` resolved.
//!
//! The typed structs deserialize from the JSON value; a path (`model_list.0.
//! litellm_params.rpm`, the form [`Lines::line`] takes) finds the line back
//! for a warning or an error.

use std::collections::HashMap;

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};
use serde_json::{Map, Number, Value};

use super::ConfigError;

/// The line (1-based) of each node, by dotted path (`a.0.b`; the root is ``).
#[derive(Debug, Default, Clone)]
pub(super) struct Lines(HashMap<String, usize>);

impl Lines {
    /// The line of `path`, else of its nearest ancestor that has one.
    pub(super) fn line(&self, path: &str) -> usize {
        let mut path = path;
        loop {
            if let Some(line) = self.0.get(path) {
                return *line;
            }
            match path.rfind('.') {
                Some(i) => path = &path[..i],
                None => return self.0.get("").copied().unwrap_or(1),
            }
        }
    }
}

/// What [`load`] gives: the document as JSON, its lines, and the warnings
/// met on the way (an `os.environ/VAR` whose variable is unset).
#[derive(Debug)]
pub(super) struct Loaded {
    /// The document.
    pub(super) value: Value,
    /// Where each node is.
    pub(super) lines: Lines,
    /// Warnings, each naming its line.
    pub(super) warnings: Vec<String>,
}

/// Parse `text` (one YAML document; an empty file is an empty mapping).
pub(super) fn load(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Loaded, ConfigError> {
    let docs = MarkedYaml::load_from_str(text).map_err(|e| ConfigError::Syntax {
        line: e.marker().line(),
        message: e.info().to_owned(),
    })?;
    let mut loader = Walk {
        lines: Lines::default(),
        warnings: Vec::new(),
        env,
    };
    let value = match docs.first() {
        Some(doc) => loader.node(doc, String::new())?,
        None => Value::Object(Map::new()),
    };
    Ok(Loaded {
        value,
        lines: loader.lines,
        warnings: loader.warnings,
    })
}

struct Walk<'e> {
    lines: Lines,
    warnings: Vec<String>,
    env: &'e dyn Fn(&str) -> Option<String>,
}

impl Walk<'_> {
    fn node(&mut self, node: &MarkedYaml<'_>, path: String) -> Result<Value, ConfigError> {
        let line = node.span.start.line();
        self.lines.0.insert(path.clone(), line);
        Ok(match &node.data {
            YamlData::Value(scalar) => self.scalar(scalar, line),
            YamlData::Representation(text, _, _) => self.string(text, line),
            YamlData::Tagged(_, inner) => self.node(inner, path)?,
            YamlData::Sequence(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    out.push(self.node(item, join(&path, &i.to_string()))?);
                }
                Value::Array(out)
            }
            YamlData::Mapping(map) => {
                let mut out = Map::new();
                for (key, value) in map {
                    let key_text = key_text(key).ok_or_else(|| ConfigError::Type {
                        line: key.span.start.line(),
                        path: path.clone(),
                        message: "a mapping key must be a string".into(),
                    })?;
                    let child = join(&path, &key_text);
                    let v = self.node(value, child.clone())?;
                    // The key's own line: a warning about an unknown key points at it.
                    self.lines.0.insert(child, key.span.start.line());
                    out.insert(key_text, v);
                }
                Value::Object(out)
            }
            YamlData::Alias(_) | YamlData::BadValue => {
                return Err(ConfigError::Type {
                    line,
                    path,
                    message: "YAML aliases are not supported".into(),
                });
            }
        })
    }

    fn scalar(&mut self, scalar: &Scalar<'_>, line: usize) -> Value {
        match scalar {
            Scalar::Null => Value::Null,
            Scalar::Boolean(b) => Value::Bool(*b),
            Scalar::Integer(i) => Value::Number((*i).into()),
            Scalar::FloatingPoint(f) => {
                Number::from_f64(f.into_inner()).map_or(Value::Null, Value::Number)
            }
            Scalar::String(s) => self.string(s, line),
        }
    }

    /// A string; `os.environ/VAR` is the variable's value (null, with a warning, when unset).
    fn string(&mut self, text: &str, line: usize) -> Value {
        let Some(var) = text.strip_prefix("os.environ/") else {
            return Value::String(text.to_owned());
        };
        match (self.env)(var) {
            Some(value) => Value::String(value),
            None => {
                self.warnings.push(format!(
                    "line {line}: `os.environ/{var}`: the variable {var} is not set (the key is left unset)"
                ));
                Value::Null
            }
        }
    }
}

fn key_text(key: &MarkedYaml<'_>) -> Option<String> {
    match &key.data {
        YamlData::Value(Scalar::String(s)) | YamlData::Representation(s, _, _) => {
            Some(s.to_string())
        }
        YamlData::Value(Scalar::Integer(i)) => Some(i.to_string()),
        YamlData::Value(Scalar::Boolean(b)) => Some(b.to_string()),
        _ => None,
    }
}

fn join(path: &str, segment: &str) -> String {
    if path.is_empty() {
        segment.to_owned()
    } else {
        format!("{path}.{segment}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn lines_of_keys_and_items() {
        let text = "a: 1\nlist:\n  - name: x\n    deep:\n      k: os.environ/NOPE\n";
        let loaded = load(text, &no_env).expect("valid");
        assert_eq!(loaded.lines.line("a"), 1);
        assert_eq!(loaded.lines.line("list.0.name"), 3);
        assert_eq!(loaded.lines.line("list.0.deep.k"), 5);
        assert_eq!(loaded.lines.line("list.0.deep.missing"), 4);
        assert_eq!(loaded.value["list"][0]["deep"]["k"], Value::Null);
        assert_eq!(loaded.warnings.len(), 1);
        assert!(
            loaded.warnings[0].starts_with("line 5:"),
            "{}",
            loaded.warnings[0]
        );
    }

    #[test]
    fn env_references_resolve() {
        let env = |v: &str| (v == "KEY").then(|| "secret".to_owned());
        let loaded = load("k: os.environ/KEY\n", &env).expect("valid");
        assert_eq!(loaded.value["k"], "secret");
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let err = load("a: 1\nb: [1, 2\n", &no_env).expect_err("unclosed");
        assert!(matches!(err, ConfigError::Syntax { .. }), "{err}");
    }
}

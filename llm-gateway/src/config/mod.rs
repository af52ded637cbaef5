//! LiteLLM's `config.yaml`, the subset real configs use, as typed structs.
//!
//! Every key means what it means in LiteLLM ([`keys::KEYS`] lists them, and
//! the crate README's table is generated from it). `os.environ/VAR` is
//! replaced by the variable's value anywhere. A key the gateway does not
//! know is a warning naming its line; a value of the wrong type is an error
//! naming its line.

mod keys;
mod types;
mod yaml;

use std::path::Path;

pub use keys::{KEYS, Key, markdown_table};
pub use types::{
    AliasTarget, Fallbacks, GatewayConfig, GeneralSettings, LitellmParams, LitellmSettings,
    ModelEntry, ModelInfoConfig, RedisFailOpen, RouterSettings, Secret, UnpricedModels,
};

/// A config that could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not YAML.
    #[error("line {line}: not valid YAML: {message}")]
    Syntax {
        /// Where.
        line: usize,
        /// What the parser said.
        message: String,
    },
    /// A value of the wrong type (or a required key missing).
    #[error("line {line}: `{path}`: {message}")]
    Type {
        /// Where.
        line: usize,
        /// The key's path (`model_list.0.litellm_params.rpm`).
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Values of the right type that do not fit together (an unknown
    /// provider, a fallback to no group).
    #[error("{0}")]
    Invalid(String),
}

/// A loaded config and the warnings it gave.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The config.
    pub config: GatewayConfig,
    /// Unknown keys and unset variables, each naming its line.
    pub warnings: Vec<String>,
}

impl GatewayConfig {
    /// Read and parse `path` (variables from the process environment).
    pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        GatewayConfig::parse(&text, &|var| std::env::var(var).ok())
    }

    /// Parse the text of a `config.yaml`, reading `os.environ/VAR` with `env`.
    pub fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Loaded, ConfigError> {
        let loaded = yaml::load(text, env)?;
        let lines = loaded.lines;
        let mut warnings = loaded.warnings;
        let mut unknown = Vec::new();
        let mut on_unknown =
            |path: serde_ignored::Path<'_>| unknown.push(dotted(&path.to_string()));
        let de = serde_ignored::Deserializer::new(loaded.value, &mut on_unknown);
        let config: GatewayConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e
                .path()
                .iter()
                .map(|s| match s {
                    serde_path_to_error::Segment::Seq { index } => index.to_string(),
                    serde_path_to_error::Segment::Map { key } => key.clone(),
                    serde_path_to_error::Segment::Enum { variant } => variant.clone(),
                    serde_path_to_error::Segment::Unknown => "?".to_owned(),
                })
                .collect::<Vec<_>>()
                .join(".");
            ConfigError::Type {
                line: lines.line(&path),
                message: e.into_inner().to_string(),
                path,
            }
        })?;
        for path in unknown {
            warnings.push(format!(
                "line {}: unknown key `{path}` is ignored",
                lines.line(&path)
            ));
        }
        for (i, name) in config.litellm_settings.callbacks.iter().enumerate() {
            if !LitellmSettings::SUPPORTED_CALLBACKS.contains(&name.as_str()) {
                warnings.push(format!(
                    "line {}: callback `{name}` is not supported and is ignored (supported: {})",
                    lines.line(&format!("litellm_settings.callbacks.{i}")),
                    LitellmSettings::SUPPORTED_CALLBACKS.join(", ")
                ));
            }
        }
        Ok(Loaded { config, warnings })
    }
}

/// serde_ignored's path (`a.0.?.b`) without its `?` (Option) segments.
fn dotted(path: &str) -> String {
    path.split('.')
        .filter(|s| *s != "?")
        .collect::<Vec<_>>()
        .join(".")
}

/// Seconds from the config as a `Duration` (negative, NaN or infinite: `None`).
pub fn seconds(value: Option<f64>) -> Option<std::time::Duration> {
    value.and_then(|s| std::time::Duration::try_from_secs_f64(s).ok())
}

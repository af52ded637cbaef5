//! A named profile from the AWS shared files (`~/.aws/credentials`,
//! `~/.aws/config`, or `AWS_SHARED_CREDENTIALS_FILE` / `AWS_CONFIG_FILE`).
//!
//! Parsed here: the crates that parse them (`aws-config`, `aws-runtime`)
//! bring the whole SDK runtime (its HTTP client, orchestrator and identity
//! caches) for what is an INI file. Only static keys and the region are read;
//! a profile that gets its credentials another way (an assumed role, SSO, a
//! process) is named in a `Config` error that says to bring the SDK's provider.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::error::{Error, Result};

/// What one profile says, the credentials file over the config file.
#[derive(Default)]
pub(crate) struct Profile {
    pub(crate) access_key_id: Option<String>,
    pub(crate) secret_access_key: Option<String>,
    pub(crate) session_token: Option<String>,
    pub(crate) region: Option<String>,
    /// A key that names a source of credentials this parser does not run.
    pub(crate) other_source: Option<String>,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("access_key_id", &self.access_key_id)
            .field("region", &self.region)
            .field("other_source", &self.other_source)
            .finish_non_exhaustive()
    }
}

/// Keys that mean "credentials from somewhere else".
const OTHER_SOURCES: &[&str] = &[
    "role_arn",
    "source_profile",
    "credential_source",
    "credential_process",
    "sso_session",
    "sso_start_url",
    "web_identity_token_file",
    "login_session",
];

/// The profile named by `AWS_PROFILE` (else `default`) from the shared files;
/// `None` when neither file has it and it was not named explicitly.
pub(crate) fn load(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<(String, Profile)>> {
    let named = env("AWS_PROFILE");
    let name = named.clone().unwrap_or_else(|| "default".to_owned());
    let home = env("HOME")
        .or_else(|| env("USERPROFILE"))
        .map(PathBuf::from);
    let path = |var: &str, default: &str| {
        env(var)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
    };
    let read = |path: Option<PathBuf>| -> Result<Option<String>> {
        let Some(path) = path else { return Ok(None) };
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::config(format!(
                "the AWS shared file {} cannot be read: {e}",
                path.display()
            ))),
        }
    };
    let config = read(path("AWS_CONFIG_FILE", "config"))?;
    let credentials = read(path("AWS_SHARED_CREDENTIALS_FILE", "credentials"))?;
    let mut found = false;
    let mut profile = Profile::default();
    // The credentials file is read last: its keys win.
    for (text, is_config) in [(config, true), (credentials, false)] {
        let Some(text) = text else { continue };
        if let Some(keys) = sections(&text, is_config).remove(name.as_str()) {
            found = true;
            profile.merge(keys);
        }
    }
    match (found, named) {
        (true, _) => Ok(Some((name, profile))),
        (false, Some(_)) => Err(Error::config(format!(
            "AWS_PROFILE is `{name}`, but no shared credentials or config file has that profile"
        ))),
        (false, None) => Ok(None),
    }
}

impl Profile {
    fn merge(&mut self, keys: HashMap<String, String>) {
        for (key, value) in keys {
            match key.as_str() {
                "aws_access_key_id" => self.access_key_id = Some(value),
                "aws_secret_access_key" => self.secret_access_key = Some(value),
                "aws_session_token" => self.session_token = Some(value),
                "region" => self.region = Some(value),
                other if OTHER_SOURCES.contains(&other) => {
                    self.other_source = Some(other.to_owned());
                }
                _ => {}
            }
        }
    }
}

/// Each profile's keys. In the config file a profile's section is
/// `[profile name]` (or `[default]`); in the credentials file it is `[name]`.
/// Comments start a line with `#` or `;` (or follow whitespace in a value);
/// indented lines continue a nested property and are skipped.
fn sections(text: &str, is_config: bool) -> HashMap<&str, HashMap<String, String>> {
    let mut out: HashMap<&str, HashMap<String, String>> = HashMap::new();
    let mut current: Option<&str> = None;
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let line = line.trim_end();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            let header = strip_comment(header);
            current = header.strip_suffix(']').and_then(|h| {
                let h = h.trim();
                match (is_config, h.strip_prefix("profile")) {
                    (true, Some(name)) if name.starts_with([' ', '\t']) => Some(name.trim()),
                    (true, _) if h == "default" => Some(h),
                    (true, _) => None,
                    (false, _) => Some(h),
                }
            });
            continue;
        }
        let (Some(section), Some((key, value))) = (current, line.split_once('=')) else {
            continue;
        };
        let value = strip_comment(value).trim();
        out.entry(section)
            .or_default()
            .insert(key.trim().to_ascii_lowercase(), value.to_owned());
    }
    out
}

/// `value` without a trailing ` # comment` or ` ; comment`.
fn strip_comment(value: &str) -> &str {
    let bytes = value.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if matches!(b, b'#' | b';') && i > 0 && bytes[i - 1].is_ascii_whitespace() {
            return &value[..i];
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "\
# comment
[default]
region = us-west-2 ; trailing comment

[profile work]
region=eu-central-1
s3 =
  max_concurrent_requests = 10
[profile sso]
sso_session = corp
[sso-session corp]
sso_region = us-east-1
";

    const CREDENTIALS: &str = "\
[default]
aws_access_key_id = AKIDDEFAULT
aws_secret_access_key = secret/with+chars=
[work]
aws_access_key_id=AKIDWORK
aws_secret_access_key=worksecret
aws_session_token = tok#en
";

    fn env_with(files: &tempdir::Files, profile: Option<&str>) -> impl Fn(&str) -> Option<String> {
        let config = files.config.display().to_string();
        let credentials = files.credentials.display().to_string();
        let profile = profile.map(str::to_owned);
        move |var| match var {
            "AWS_CONFIG_FILE" => Some(config.clone()),
            "AWS_SHARED_CREDENTIALS_FILE" => Some(credentials.clone()),
            "AWS_PROFILE" => profile.clone(),
            _ => None,
        }
    }

    mod tempdir {
        use std::path::PathBuf;
        pub(super) struct Files {
            pub(super) config: PathBuf,
            pub(super) credentials: PathBuf,
        }
        impl Files {
            pub(super) fn new(tag: &str, config: &str, credentials: &str) -> Files {
                let dir = std::env::temp_dir()
                    .join(format!("llm-runtime-aws-{tag}-{}", std::process::id()));
                std::fs::create_dir_all(&dir).expect("temp dir");
                let files = Files {
                    config: dir.join("config"),
                    credentials: dir.join("credentials"),
                };
                std::fs::write(&files.config, config).expect("write");
                std::fs::write(&files.credentials, credentials).expect("write");
                files
            }
        }
    }

    #[test]
    fn default_profile_from_both_files() {
        let files = tempdir::Files::new("default", CONFIG, CREDENTIALS);
        let (name, p) = load(&env_with(&files, None)).unwrap().expect("found");
        assert_eq!(name, "default");
        assert_eq!(p.access_key_id.as_deref(), Some("AKIDDEFAULT"));
        assert_eq!(p.secret_access_key.as_deref(), Some("secret/with+chars="));
        assert_eq!(p.region.as_deref(), Some("us-west-2"));
        assert!(p.session_token.is_none());
    }

    #[test]
    fn named_profile_skips_nested_and_keeps_hashes_inside_values() {
        let files = tempdir::Files::new("work", CONFIG, CREDENTIALS);
        let (_, p) = load(&env_with(&files, Some("work")))
            .unwrap()
            .expect("found");
        assert_eq!(p.access_key_id.as_deref(), Some("AKIDWORK"));
        assert_eq!(p.session_token.as_deref(), Some("tok#en"));
        assert_eq!(p.region.as_deref(), Some("eu-central-1"));
        assert!(p.other_source.is_none());
    }

    #[test]
    fn other_sources_are_reported_and_unknown_profiles_fail() {
        let files = tempdir::Files::new("sso", CONFIG, CREDENTIALS);
        let (_, p) = load(&env_with(&files, Some("sso")))
            .unwrap()
            .expect("found");
        assert_eq!(p.other_source.as_deref(), Some("sso_session"));
        assert!(p.access_key_id.is_none());
        let err = load(&env_with(&files, Some("nope"))).unwrap_err();
        assert!(err.to_string().contains("`nope`"), "{err}");
        // Section names that are not profiles are never profiles.
        assert!(!sections(CONFIG, true).contains_key("corp"));
    }

    #[test]
    fn missing_files_are_no_profile() {
        let env = |var: &str| (var == "HOME").then(|| "/nonexistent-llm-runtime".to_owned());
        assert!(load(&env).unwrap().is_none());
    }

    #[test]
    fn debug_hides_the_secret() {
        let files = tempdir::Files::new("debug", CONFIG, CREDENTIALS);
        let (_, p) = load(&env_with(&files, None)).unwrap().expect("found");
        assert!(!format!("{p:?}").contains("secret/with"));
    }
}

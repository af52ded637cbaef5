//! Endpoint URLs parsed once per provider, not once per call.
//!
//! Parsing `base_url + path` costs about as much as the rest of building the
//! request (scheme, host and IDNA checks, path normalisation). A provider
//! sends to a handful of paths (chat, embeddings, models, and per-model paths
//! for Gemini-style wires), so the first few are kept parsed and each call
//! clones one. A path past the slots is parsed per call, as before.

use std::sync::OnceLock;

use reqwest::Url;

/// How many distinct paths are kept parsed.
const SLOTS: usize = 8;

/// Parsed endpoint URLs below one base URL.
#[derive(Debug, Default)]
pub(crate) struct EndpointUrls {
    slots: [OnceLock<(Box<str>, Url)>; SLOTS],
}

impl EndpointUrls {
    /// `base` + `path`, parsed; `None` when it is not a URL reqwest accepts
    /// (the caller then hands reqwest the text, so the error is reqwest's own).
    pub(crate) fn get(&self, base: &str, path: &str) -> Option<Url> {
        for slot in &self.slots {
            match slot.get() {
                Some((kept, url)) if **kept == *path => return Some(url.clone()),
                Some(_) => continue,
                None => {
                    let url = parse(base, path)?;
                    // Another call may have filled the slot meanwhile: this
                    // one's URL is still right, only not kept.
                    let _ = slot.set((path.into(), url.clone()));
                    return Some(url);
                }
            }
        }
        parse(base, path)
    }
}

/// What reqwest does with the joined text: parse it, and take it only with a host.
fn parse(base: &str, path: &str) -> Option<Url> {
    let mut text = String::with_capacity(base.len() + path.len());
    text.push_str(base);
    text.push_str(path);
    Url::parse(&text).ok().filter(Url::has_host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_url_is_the_one_a_fresh_parse_gives() {
        let urls = EndpointUrls::default();
        let base = "https://api.example.com/v1";
        for _ in 0..3 {
            for path in [
                "/chat/completions",
                "/models",
                "/models/g-1:generateContent",
            ] {
                let got = urls.get(base, path).expect("a valid URL");
                assert_eq!(got, Url::parse(&format!("{base}{path}")).unwrap());
            }
        }
    }

    #[test]
    fn paths_past_the_slots_are_still_right() {
        let urls = EndpointUrls::default();
        let base = "http://127.0.0.1:9/v1";
        for round in 0..2 {
            for i in 0..SLOTS * 2 {
                let path = format!("/models/m{i}");
                let got = urls.get(base, &path).expect("a valid URL");
                assert_eq!(got.as_str(), format!("{base}{path}"), "round {round}");
            }
        }
    }

    #[test]
    fn what_reqwest_refuses_is_not_kept() {
        let urls = EndpointUrls::default();
        assert_eq!(urls.get("not a url", "/chat"), None);
        assert_eq!(urls.get("unix:", "/socket"), None);
        // The refused path did not take a slot.
        assert!(urls.slots.iter().all(|s| s.get().is_none()));
    }
}

//! "Did you mean ...?" for misspelt keys, schemes, capabilities and dialects.
//!
//! The edit distance is written here rather than taken from a crate: it is ~20
//! lines, runs on inputs of a dozen characters, and a proc-macro dependency is
//! compiled by every downstream user before their own code.

/// The candidate closest to `input`, if it is close enough to be a likely typo.
///
/// Case is ignored (`OpenAI` suggests `openai`); "close enough" is at most one
/// edit per three characters of the candidate, so `nam` suggests `name` but
/// `url` does not suggest `env`.
pub(crate) fn did_you_mean<'a>(input: &str, candidates: &[&'a str]) -> Option<&'a str> {
    // `base-url` for `base_url` and `OpenAI` for `openai` are not typos at all.
    let normalize = |s: &str| s.to_ascii_lowercase().replace('-', "_");
    let input = normalize(input);
    candidates
        .iter()
        .map(|candidate| (edit_distance(&input, &normalize(candidate)), *candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.len() / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance counting an adjacent transposition (`naem`) as one edit.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows of the dynamic-programming table: two back (for transpositions),
    // the previous one, and the current one.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            current[j] = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                current[j] = current[j].min(before[j - 2] + 1);
            }
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// `"; did you mean `x`?"`, or nothing.
pub(crate) fn hint(input: &str, candidates: &[&str]) -> String {
    match did_you_mean(input, candidates) {
        Some(candidate) => format!("; did you mean `{candidate}`?"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("naem", "name"), 1);
        assert_eq!(edit_distance("base_ur", "base_url"), 1);
    }

    #[test]
    fn suggestions() {
        let keys = ["name", "base_url", "auth", "env", "base_url_env"];
        assert_eq!(did_you_mean("base_ur", &keys), Some("base_url"));
        assert_eq!(did_you_mean("baseurl", &keys), Some("base_url"));
        assert_eq!(did_you_mean("base-url", &keys), Some("base_url"));
        assert_eq!(did_you_mean("nmae", &keys), Some("name"));
        assert_eq!(did_you_mean("url", &keys), None);
        assert_eq!(
            did_you_mean("OpenAI", &["openai", "gemini"]),
            Some("openai")
        );
        assert_eq!(did_you_mean("barer", &["bearer", "none"]), Some("bearer"));
        assert_eq!(hint("xyz", &keys), "");
        assert_eq!(hint("auht", &keys), "; did you mean `auth`?");
    }
}

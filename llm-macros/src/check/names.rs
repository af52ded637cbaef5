//! The provider name and environment variable names.

use syn::LitStr;

/// The provider name: lowercase ASCII letters, digits, `_` and `-`, starting
/// with a letter, since it is the `name/model` routing prefix and a log field.
pub(crate) fn provider_name(lit: &LitStr) -> syn::Result<String> {
    let name = lit.value();
    if is_provider_name(&name) {
        return Ok(name);
    }
    let fixed: String = name
        .trim()
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '_' | '-') => c,
            _ => '-',
        })
        .collect::<String>()
        .trim_start_matches(|c: char| !c.is_ascii_lowercase())
        .to_owned();
    let hint = if is_provider_name(&fixed) {
        format!("; did you mean `{fixed}`?")
    } else {
        String::new()
    };
    Err(syn::Error::new_spanned(
        lit,
        format!(
            "provider name `{name}` must be lowercase ASCII letters, digits, `_` or `-`, starting with a letter (it is the `name/model` routing prefix){hint}"
        ),
    ))
}

fn is_provider_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_' | '-'))
}

/// An environment variable name in SCREAMING_SNAKE_CASE: the portable subset
/// every shell and CI system accepts.
pub(crate) fn env_var(lit: &LitStr) -> syn::Result<String> {
    let name = lit.value();
    if is_screaming_snake(&name) {
        return Ok(name);
    }
    let fixed: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    let hint = if is_screaming_snake(&fixed) {
        format!("; did you mean `{fixed}`?")
    } else {
        String::new()
    };
    Err(syn::Error::new_spanned(
        lit,
        format!(
            "environment variable `{name}` must be SCREAMING_SNAKE_CASE: uppercase ASCII letters, digits and `_`, starting with a letter{hint}"
        ),
    ))
}

fn is_screaming_snake(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_uppercase())
        && !name.ends_with('_')
        && name
            .chars()
            .all(|c| matches!(c, 'A'..='Z' | '0'..='9' | '_'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    #[test]
    fn provider_names() {
        assert_eq!(provider_name(&parse_quote!("groq")).unwrap(), "groq");
        assert_eq!(
            provider_name(&parse_quote!("open_router-2")).unwrap(),
            "open_router-2"
        );
        let error = provider_name(&parse_quote!("Groq Cloud"))
            .unwrap_err()
            .to_string();
        assert!(error.ends_with("did you mean `groq-cloud`?"), "{error}");
        assert!(provider_name(&parse_quote!("")).is_err());
        assert!(provider_name(&parse_quote!("1ai")).is_err());
        assert!(provider_name(&parse_quote!("a/b")).is_err());
    }

    #[test]
    fn env_vars() {
        assert_eq!(
            env_var(&parse_quote!("GROQ_API_KEY")).unwrap(),
            "GROQ_API_KEY"
        );
        let error = env_var(&parse_quote!("groq-api-key"))
            .unwrap_err()
            .to_string();
        assert!(error.ends_with("did you mean `GROQ_API_KEY`?"), "{error}");
        assert!(env_var(&parse_quote!("")).is_err());
        assert!(env_var(&parse_quote!("_KEY")).is_err());
        assert!(env_var(&parse_quote!("KEY_")).is_err());
        assert!(env_var(&parse_quote!("MY KEY")).is_err());
    }
}

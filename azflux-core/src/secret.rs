//! Secret values: wrapped so that `Debug` and `Display` never show them.
//!
//! azflux uses [`secrecy`]'s [`SecretString`] for every token, key, password and connection string it holds;
//! a value only leaves its wrapper through `expose_secret()`, at the point where it is sent where it is meant to go.

pub use secrecy::{ExposeSecret, SecretBox, SecretString};

/// What `Debug` prints in place of a secret.
pub const REDACTED: &str = "<redacted>";

/// Formats an optional secret field for a hand-written `Debug`: `Some(<redacted>)` or `None`.
pub fn redact_option<T>(value: &Option<T>) -> &'static str {
    match value {
        Some(_) => "Some(<redacted>)",
        None => "None",
    }
}

/// Masks the query string of a URL for logs and errors: SAS signatures and tokens often travel in it.
pub fn redact_url(url: &url::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_password(None);
    if !shown.username().is_empty() {
        let _ = shown.set_username("redacted");
    }
    if url.query().is_some() {
        let names: Vec<String> = url
            .query_pairs()
            .map(|(k, _)| {
                let keep = matches!(
                    k.as_ref(),
                    "api-version" | "$filter" | "$top" | "filter" | "path"
                );
                if keep {
                    format!(
                        "{k}={}",
                        url.query_pairs()
                            .find(|(n, _)| *n == k)
                            .map(|(_, v)| v)
                            .unwrap_or_default()
                    )
                } else {
                    format!("{k}=…")
                }
            })
            .collect();
        shown.set_query(Some(&names.join("&")));
    }
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_string_debug_is_redacted() {
        let s = SecretString::from("hunter2".to_owned());
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn urls_lose_credentials_and_query_values() {
        let u = url::Url::parse("https://user:pw@example.com/p?sig=abc&api-version=2024-01-01")
            .unwrap();
        let shown = redact_url(&u);
        assert!(!shown.contains("pw"));
        assert!(!shown.contains("abc"));
        assert!(shown.contains("api-version=2024-01-01"));
    }
}

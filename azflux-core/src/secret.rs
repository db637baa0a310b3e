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

/// Masks every URL inside free text (an HTTP library's error message): query strings become `?…` and
/// `user:password@` is dropped, since SAS signatures, codes and credentials travel there.
pub fn redact_urls_in_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        let end = after
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '>' | ','))
            .unwrap_or(after.len());
        let (url, tail) = after.split_at(end);
        let url = match url
            .find('@')
            .filter(|i| url.find('/').is_none_or(|slash| *i < slash))
        {
            Some(i) => &url[i + 1..],
            None => url,
        };
        match url.find('?') {
            Some(q) => {
                out.push_str(&url[..q]);
                out.push_str("?…");
            }
            None => out.push_str(url),
        }
        rest = tail;
    }
    out.push_str(rest);
    out
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
    fn urls_inside_messages_are_masked() {
        let text = "error sending request for url (https://u:p4ss@ns.servicebus.windows.net/hub?sig=abc&se=1): boom";
        let shown = redact_urls_in_text(text);
        assert_eq!(
            shown,
            "error sending request for url (https://ns.servicebus.windows.net/hub?…): boom"
        );
        assert_eq!(redact_urls_in_text("no url here"), "no url here");
        assert_eq!(redact_urls_in_text("a http:// b"), "a http:// b");
        assert_eq!(redact_urls_in_text("x https://h/p?q=1"), "x https://h/p?…");
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

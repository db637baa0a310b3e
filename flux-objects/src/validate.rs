//! Validation helpers shared by the builders: names, URLs, paths and semver ranges.

use crate::error::{Error, Result};
use std::sync::OnceLock;

fn matches(cell: &'static OnceLock<Option<regex::Regex>>, pattern: &str, s: &str) -> bool {
    cell.get_or_init(|| regex::Regex::new(pattern).ok())
        .as_ref()
        .is_some_and(|r| r.is_match(s))
}

/// The flux CLI's object-name rule (`^[a-z0-9]([a-z0-9\-]){0,61}[a-z0-9]$`, RFC 1123 label).
pub fn object_name(name: &str) -> Result<()> {
    static R: OnceLock<Option<regex::Regex>> = OnceLock::new();
    if matches(&R, r"^[a-z0-9]([a-z0-9\-]){0,61}[a-z0-9]$", name) {
        Ok(())
    } else {
        Err(Error::InvalidName {
            name: name.to_owned(),
        })
    }
}

/// An RFC 1123 subdomain (names of Secrets, ServiceAccounts, ConfigMaps; may contain dots).
pub fn subdomain_name(name: &str) -> Result<()> {
    static R: OnceLock<Option<regex::Regex>> = OnceLock::new();
    if name.len() <= 253
        && matches(
            &R,
            r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
            name,
        )
    {
        Ok(())
    } else {
        Err(Error::InvalidName {
            name: name.to_owned(),
        })
    }
}

/// The parts of a URL the validators need, parsed the way Go's `net/url.Parse` reports errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlParts {
    /// Lower-cased scheme (empty when the URL has none).
    pub scheme: String,
    /// `user[:password]` before `@`, if any.
    pub userinfo: Option<String>,
    /// Host without port.
    pub host: String,
    /// Port, if any.
    pub port: Option<String>,
    /// Everything from the first `/` after the authority (path, query, fragment).
    pub rest: String,
}

/// `raw` with the password of its user info (`scheme://user:password@host`) replaced by `xxxxx`, as Go's
/// `URL.Redacted` does: URLs in error messages must not leak tokens.
fn redact_password(raw: &str) -> String {
    let Some(i) = raw.find("://") else {
        return raw.to_owned();
    };
    let start = i + 3;
    let after = &raw[start..];
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let Some(at) = after[..end].rfind('@') else {
        return raw.to_owned();
    };
    match after[..at].find(':') {
        Some(colon) => format!("{}:xxxxx{}", &raw[..start + colon], &raw[start + at..]),
        None => raw.to_owned(),
    }
}

/// Parses `raw` like Go's `url.Parse` and returns Go's error text (`parse "…": …`) on failure; a password in
/// the URL's user info is shown as `xxxxx`.
pub fn parse_url(raw: &str) -> std::result::Result<UrlParts, String> {
    let shown = redact_password(raw);
    let err = |m: &str| format!("parse \"{shown}\": {m}");
    let (scheme, rest) = match raw.find(':') {
        Some(i)
            if i > 0
                && raw[..i]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic())
                && raw[..i]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            (raw[..i].to_ascii_lowercase(), &raw[i + 1..])
        }
        Some(0) => return Err(err("missing protocol scheme")),
        _ => (String::new(), raw),
    };
    if scheme.is_empty() {
        let first = rest.split('/').next().unwrap_or("");
        if first.contains(':') {
            return Err(err("first path segment in URL cannot contain colon"));
        }
        return Ok(UrlParts {
            scheme,
            userinfo: None,
            host: String::new(),
            port: None,
            rest: rest.into(),
        });
    }
    let Some(after) = rest.strip_prefix("//") else {
        return Ok(UrlParts {
            scheme,
            userinfo: None,
            host: String::new(),
            port: None,
            rest: rest.into(),
        });
    };
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let authority = &after[..end];
    let tail = &after[end..];
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(i) => (Some(authority[..i].to_owned()), &authority[i + 1..]),
        None => (None, authority),
    };
    let (host, port) = if let Some(stripped) = hostport.strip_prefix('[') {
        match stripped.find(']') {
            Some(i) => {
                let p = &stripped[i + 1..];
                (
                    format!("[{}]", &stripped[..i]),
                    p.strip_prefix(':').map(str::to_owned),
                )
            }
            None => return Err(err("missing ']' in host")),
        }
    } else {
        match hostport.rfind(':') {
            Some(i) => {
                let p = &hostport[i + 1..];
                if !p.chars().all(|c| c.is_ascii_digit()) {
                    return Err(err(&format!(
                        "invalid port \"{}\" after host",
                        &hostport[i..]
                    )));
                }
                (hostport[..i].to_owned(), Some(p.to_owned()))
            }
            None => (hostport.to_owned(), None),
        }
    };
    Ok(UrlParts {
        scheme,
        userinfo,
        host,
        port,
        rest: tail.to_owned(),
    })
}

/// A Kustomization/ImageUpdateAutomation path must be relative and start with `./`.
pub fn dot_slash_path(kind: &str, name: &str, path: &str) -> Result<()> {
    if path.starts_with("./") && !path.split('/').any(|seg| seg == "..") {
        Ok(())
    } else {
        Err(Error::invalid(kind, name, "path must begin with ./"))
    }
}

/// Checks a Masterminds/semver constraint (`>6.0.0`, `5.0.x`, `*`, `>=1.0 <2.0`, `^1.2 || ~2.3`).
pub fn semver_range(range: &str) -> std::result::Result<(), String> {
    let range = range.trim();
    if range.is_empty() {
        return Err("improper constraint: ".to_owned());
    }
    for alternative in range.split("||") {
        let mut parts: Vec<String> = Vec::new();
        let tokens: Vec<&str> = alternative
            .split([' ', ','])
            .filter(|t| !t.is_empty())
            .collect();
        let mut i = 0;
        while i < tokens.len() {
            let t = tokens[i];
            // "- " hyphen ranges: `1.2 - 1.4.5`
            if tokens.get(i + 1) == Some(&"-") && i + 2 < tokens.len() {
                parts.push(format!(">={}", t.trim_start_matches('v')));
                parts.push(format!("<={}", tokens[i + 2].trim_start_matches('v')));
                i += 3;
                continue;
            }
            // operators written apart from their version: `>= 1.0`
            if t.chars().all(|c| "<>=!~^".contains(c)) && i + 1 < tokens.len() {
                parts.push(format!("{t}{}", tokens[i + 1].trim_start_matches('v')));
                i += 2;
                continue;
            }
            let (op, ver) = t.split_at(t.find(|c: char| !"<>=!~^".contains(c)).unwrap_or(t.len()));
            let ver = ver.trim_start_matches('v');
            let op = if op == "!=" { "" } else { op };
            parts.push(format!("{op}{ver}"));
            i += 1;
        }
        if parts.is_empty() {
            return Err(format!("improper constraint: {range}"));
        }
        // Masterminds/semver parses loosely: `v1.01` is 1.1.
        let parts: Vec<String> = parts.iter().map(|p| loosen(p)).collect();
        let joined = parts.join(", ");
        if semver::VersionReq::parse(&joined).is_err() {
            return Err(format!("improper constraint: {range}"));
        }
    }
    Ok(())
}

fn loosen(comparator: &str) -> String {
    let split = comparator
        .find(|c: char| c.is_ascii_alphanumeric() || c == '*')
        .unwrap_or(comparator.len());
    let (op, ver) = comparator.split_at(split);
    let (core, rest) = match ver.find(['-', '+']) {
        Some(i) => ver.split_at(i),
        None => (ver, ""),
    };
    let core: Vec<String> = core
        .split('.')
        .map(|n| {
            if n.len() > 1 && n.chars().all(|c| c.is_ascii_digit()) {
                let t = n.trim_start_matches('0');
                if t.is_empty() {
                    "0".to_owned()
                } else {
                    t.to_owned()
                }
            } else {
                n.to_owned()
            }
        })
        .collect();
    format!("{op}{}{rest}", core.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(object_name("flux-system").is_ok());
        assert!(object_name("Flux").is_err());
        assert!(object_name("-a").is_err());
        assert!(object_name("a_b").is_err());
        assert!(subdomain_name("sops.azure").is_ok());
    }

    #[test]
    fn urls_report_go_errors() {
        assert_eq!(
            parse_url("git@ssh.dev.azure.com:v3/org/p/r")
                .err()
                .as_deref(),
            Some(
                "parse \"git@ssh.dev.azure.com:v3/org/p/r\": first path segment in URL cannot contain colon"
            )
        );
        assert_eq!(
            parse_url("ssh://user@host:group/repo.git").err().as_deref(),
            Some("parse \"ssh://user@host:group/repo.git\": invalid port \":group\" after host")
        );
        let e = parse_url("https://org:s3cr3t-pat@dev.azure.com:x/org/p/_git/r")
            .err()
            .unwrap_or_default();
        assert!(!e.contains("s3cr3t-pat"), "{e}");
        assert_eq!(
            e,
            "parse \"https://org:xxxxx@dev.azure.com:x/org/p/_git/r\": invalid port \":x\" after host"
        );
        let u = parse_url("https://org@dev.azure.com/org/p/_git/r").ok();
        assert_eq!(u.as_ref().map(|u| u.host.as_str()), Some("dev.azure.com"));
        assert_eq!(u.and_then(|u| u.userinfo), Some("org".to_owned()));
    }

    #[test]
    fn semver_ranges() {
        for ok in [
            ">6.0.0",
            "5.0.x",
            "*",
            ">=1.0.0 <2.0.0",
            "^1.2 || ~2.3",
            "v1.2.3",
            ">= 1.0",
            "v1.01",
        ] {
            assert!(semver_range(ok).is_ok(), "{ok}");
        }
        for bad in ["", "not-a-version", ">>1"] {
            assert!(semver_range(bad).is_err(), "{bad}");
        }
    }
}

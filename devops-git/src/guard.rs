//! Checks every push runs before anything leaves the machine: plain relative paths, valid branch
//! names, and no plaintext Kubernetes Secret in the tree (the Flux `flux-system` Secret is applied
//! to the cluster, never committed; SOPS-encrypted Secrets are fine).

use crate::error::Error;

/// Refuses paths that are not plain relative paths inside the repository.
pub fn check_path(path: &str) -> Result<(), Error> {
    let bad = |reason| {
        Err(Error::InvalidPath {
            path: path.to_string(),
            reason,
        })
    };
    if path.is_empty() {
        return bad("the path is empty");
    }
    if path.starts_with('/') {
        return bad("the path must be relative to the repository root (no leading /)");
    }
    if path.contains('\\') || path.contains('\0') {
        return bad("the path must use / separators and contain no NUL");
    }
    for segment in path.split('/') {
        match segment {
            "" => return bad("the path has an empty segment (// or a trailing /)"),
            "." | ".." => return bad("the path must not contain . or .. segments"),
            s if s.eq_ignore_ascii_case(".git") => return bad("the path must not be inside .git"),
            _ => {}
        }
    }
    Ok(())
}

/// Refuses branch names git would refuse (`git check-ref-format --branch`).
pub fn check_branch(branch: &str) -> Result<(), Error> {
    let bad = |reason| {
        Err(Error::InvalidBranch {
            branch: branch.to_string(),
            reason,
        })
    };
    if branch.is_empty() {
        return bad("the branch name is empty");
    }
    if branch.starts_with("refs/") {
        return bad("give the short branch name (main), not refs/heads/main");
    }
    if !git2::Reference::is_valid_name(&format!("refs/heads/{branch}")) {
        return bad("not a valid git reference name");
    }
    Ok(())
}

fn top_level_key(line: &str) -> Option<&str> {
    // A top-level YAML mapping key: no indentation, `key:` then space or end.
    if line.starts_with([' ', '\t', '#', '-']) {
        return None;
    }
    let (key, rest) = line.split_once(':')?;
    if rest.is_empty() || rest.starts_with([' ', '\t']) {
        Some(key.trim().trim_matches(['"', '\'']))
    } else {
        None
    }
}

fn yaml_doc_is_plain_secret(doc: &str) -> bool {
    let mut kind_secret = false;
    let mut has_data = false;
    let mut has_sops = false;
    for line in doc.lines() {
        let Some(key) = top_level_key(line) else {
            continue;
        };
        match key {
            "kind" => {
                let value = line
                    .split_once(':')
                    .map(|(_, v)| v.split('#').next().unwrap_or_default().trim())
                    .unwrap_or_default();
                kind_secret = value.trim_matches(['"', '\'']) == "Secret";
            }
            "data" | "stringData" => has_data = true,
            "sops" => has_sops = true,
            _ => {}
        }
    }
    kind_secret && has_data && !has_sops
}

fn json_is_plain_secret(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Array(items) => items.iter().any(json_is_plain_secret),
        serde_json::Value::Object(map) => {
            if map.get("kind").and_then(|k| k.as_str()) == Some("List")
                && let Some(items) = map.get("items")
            {
                return json_is_plain_secret(items);
            }
            map.get("kind").and_then(|k| k.as_str()) == Some("Secret")
                && (map.contains_key("data") || map.contains_key("stringData"))
                && !map.contains_key("sops")
        }
        _ => false,
    }
}

/// Whether `content` looks like a plaintext Kubernetes Secret: a YAML document (or JSON object)
/// with `kind: Secret` and `data` or `stringData`, and no `sops` metadata.
pub fn looks_like_plaintext_secret(content: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(content) else {
        return false;
    };
    let trimmed = text.trim_start();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(value) = serde_json::from_str::<serde_json::Value>(trimmed)
    {
        return json_is_plain_secret(&value);
    }
    // A YAML parser sees every spelling (flow mappings, `kind: List`, a byte order mark); the line
    // scan below still catches a Secret in a file the parser refuses (a template, a typo).
    if let Ok(docs) = serde_saphyr::from_multiple::<serde_json::Value>(text)
        && docs.iter().any(json_is_plain_secret)
    {
        return true;
    }
    let text = text.trim_start_matches('\u{feff}');
    let mut doc = String::new();
    for line in text.lines() {
        if line.starts_with("---") && line[3..].trim().is_empty() {
            if yaml_doc_is_plain_secret(&doc) {
                return true;
            }
            doc.clear();
        } else {
            doc.push_str(line);
            doc.push('\n');
        }
    }
    yaml_doc_is_plain_secret(&doc)
}

/// Refuses `content` at `path` when it looks like a plaintext Kubernetes Secret.
pub fn check_not_plaintext_secret(path: &str, content: &[u8]) -> Result<(), Error> {
    if looks_like_plaintext_secret(content) {
        return Err(Error::PlaintextSecret {
            path: path.to_string(),
        });
    }
    Ok(())
}

//! `.sops.yaml` creation rules: parsed, matched against a file path, and found the way sops finds them.

use crate::error::{Error, Result};
use crate::format::yaml;
use crate::metadata::Selector;
use crate::tree::{MapItem, SeqItem, Value};
use std::path::{Path, PathBuf};

/// One key group of a creation rule (keys as strings; building master keys from them is the caller's job).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleKeyGroup {
    /// `age1…` recipients.
    pub age: Vec<String>,
    /// PGP fingerprints.
    pub pgp: Vec<String>,
    /// Azure Key Vault keys.
    pub azure_keyvault: Vec<AzureKeyRef>,
    /// Key types this crate does not implement (`kms`, `gcp_kms`, `hc_vault`, `hckms`): kind and identifier.
    pub other: Vec<(String, String)>,
}

impl RuleKeyGroup {
    /// Whether the group names no key.
    pub fn is_empty(&self) -> bool {
        self.age.is_empty()
            && self.pgp.is_empty()
            && self.azure_keyvault.is_empty()
            && self.other.is_empty()
    }
}

/// An Azure Key Vault key reference: `https://<vault>.vault.azure.net/keys/<name>[/<version>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureKeyRef {
    /// `https://host[:port]`, no trailing slash.
    pub vault_url: String,
    /// The key name.
    pub name: String,
    /// The key version; empty = latest, resolved by GetKey at encrypt time.
    pub version: String,
}

impl AzureKeyRef {
    /// Parse a key URL (sops' regex `^(https://[^/]+)/keys/([^/]+)(/[^/]*)?$`; whitespace trimmed).
    pub fn parse_url(url: &str) -> Result<Self> {
        let u = url.trim();
        let bad = || {
            Error::invalid(
                "Azure Key Vault key URL",
                format!("`{u}`: expected https://<vault>.vault.azure.net/keys/<name>[/<version>]"),
            )
        };
        let rest = u.strip_prefix("https://").ok_or_else(bad)?;
        let (host, path) = rest.split_once('/').ok_or_else(bad)?;
        let path = path.strip_prefix("keys/").ok_or_else(bad)?;
        let (name, version) = match path.split_once('/') {
            Some((n, v)) if !v.contains('/') => (n, v),
            Some(_) => return Err(bad()),
            None => (path, ""),
        };
        if host.is_empty() || name.is_empty() {
            return Err(bad());
        }
        Ok(Self {
            vault_url: format!("https://{host}"),
            name: name.into(),
            version: version.into(),
        })
    }
}

/// One creation rule.
#[derive(Debug, Clone, Default)]
pub struct CreationRule {
    /// The path regex (unanchored); `None` matches every file.
    pub path_regex: Option<String>,
    /// The key groups (the flat `age`/`pgp`/`azure_keyvault` keys form one group).
    pub key_groups: Vec<RuleKeyGroup>,
    /// Shamir threshold.
    pub shamir_threshold: Option<usize>,
    /// The selector, if the rule sets one.
    pub selector: Option<Selector>,
    /// `mac_only_encrypted`.
    pub mac_only_encrypted: bool,
}

/// A parsed `.sops.yaml`.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The creation rules, in order.
    pub creation_rules: Vec<CreationRule>,
    /// `stores.yaml.indent` (default 4).
    pub yaml_indent: Option<usize>,
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Str(s)) => s
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        Some(Value::Seq(items)) => items
            .iter()
            .filter_map(|i| match i {
                SeqItem::Value(Value::Str(s)) => Some(s.trim().to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn cfg_err(why: impl Into<String>) -> Error {
    Error::Config {
        path: ".sops.yaml".into(),
        why: why.into(),
    }
}

fn group_from(items: &[MapItem], azure_key: &str) -> Result<RuleKeyGroup> {
    let get = |k: &str| crate::tree::get(items, k);
    let mut g = RuleKeyGroup {
        age: strings(get("age")),
        pgp: strings(get("pgp")),
        ..Default::default()
    };
    match get(azure_key) {
        Some(Value::Seq(list))
            if list
                .iter()
                .any(|i| matches!(i, SeqItem::Value(Value::Map(_)))) =>
        {
            for i in list {
                if let SeqItem::Value(Value::Map(m)) = i {
                    let s = |k: &str| {
                        crate::tree::get(m, k)
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .trim()
                            .to_string()
                    };
                    let vault_url = s("vaultUrl").trim_end_matches('/').to_string();
                    if vault_url.is_empty() || s("key").is_empty() {
                        return Err(cfg_err(
                            "an azure_keyvault key group entry needs vaultUrl and key",
                        ));
                    }
                    g.azure_keyvault.push(AzureKeyRef {
                        vault_url,
                        name: s("key"),
                        version: s("version"),
                    });
                }
            }
        }
        other => {
            for u in strings(other) {
                g.azure_keyvault.push(AzureKeyRef::parse_url(&u)?);
            }
        }
    }
    for kind in [
        "kms",
        "gcp_kms",
        "hckms",
        "hc_vault",
        "hc_vault_transit_uri",
    ] {
        for s in strings(get(kind)) {
            g.other.push((kind.to_string(), s));
        }
    }
    if azure_key == "azure_keyvault" && get("azure_kv").is_some() {
        return Err(cfg_err(
            "`azure_kv` is the file metadata key; in .sops.yaml the Azure Key Vault keys go under `azure_keyvault`",
        ));
    }
    Ok(g)
}

impl Config {
    /// Parse `.sops.yaml` text.
    pub fn parse(text: &str) -> Result<Self> {
        let tree = yaml::parse(text).map_err(|e| cfg_err(e.to_string()))?;
        let doc = tree.documents.first().cloned().unwrap_or_default();
        let mut cfg = Config::default();
        if let Some(Value::Map(stores)) = crate::tree::get(&doc, "stores")
            && let Some(Value::Map(y)) = crate::tree::get(stores, "yaml")
            && let Some(Value::Int(i)) = crate::tree::get(y, "indent")
        {
            cfg.yaml_indent = Some((*i).max(0) as usize);
        }
        let rules = match crate::tree::get(&doc, "creation_rules") {
            Some(Value::Seq(r)) => r.clone(),
            Some(Value::Null) | None => Vec::new(),
            Some(_) => return Err(cfg_err("creation_rules must be a list")),
        };
        for r in rules {
            let SeqItem::Value(Value::Map(items)) = r else {
                continue;
            };
            let get = |k: &str| crate::tree::get(&items, k);
            let mut rule = CreationRule {
                path_regex: get("path_regex")
                    .and_then(Value::as_str)
                    .map(String::from)
                    .filter(|s| !s.is_empty()),
                ..Default::default()
            };
            if let Some(p) = &rule.path_regex {
                regex::Regex::new(p)
                    .map_err(|e| cfg_err(format!("path_regex `{p}` is invalid: {e}")))?;
            }
            for item in &items {
                if let MapItem::Entry(k, Value::Str(v)) = item
                    && let Some(sel) = Selector::from_key(k, v)
                {
                    if rule.selector.is_some() {
                        return Err(cfg_err(
                            "a creation rule sets more than one of the *_suffix / *_regex selectors",
                        ));
                    }
                    rule.selector = Some(sel);
                }
            }
            rule.mac_only_encrypted = matches!(get("mac_only_encrypted"), Some(Value::Bool(true)));
            rule.shamir_threshold = match get("shamir_threshold") {
                Some(Value::Int(i)) if *i > 0 => Some(*i as usize),
                _ => None,
            };
            match get("key_groups") {
                Some(Value::Seq(groups)) => {
                    for g in groups {
                        if let SeqItem::Value(Value::Map(g)) = g {
                            rule.key_groups.push(group_from(g, "azure_keyvault")?);
                        }
                    }
                }
                _ => {
                    let g = group_from(&items, "azure_keyvault")?;
                    if !g.is_empty() {
                        rule.key_groups.push(g);
                    }
                }
            }
            cfg.creation_rules.push(rule);
        }
        Ok(cfg)
    }

    /// The first rule matching `file` (a path relative to the config's directory when under it).
    pub fn rule_for(&self, file: &str) -> Result<&CreationRule> {
        for r in &self.creation_rules {
            match &r.path_regex {
                None => return Ok(r),
                Some(p) => {
                    let re = regex::Regex::new(p)
                        .map_err(|e| cfg_err(format!("path_regex `{p}`: {e}")))?;
                    if re.is_match(file) {
                        return Ok(r);
                    }
                }
            }
        }
        Err(cfg_err(format!(
            "no matching creation rules found for `{file}`"
        )))
    }
}

/// Find `.sops.yaml` walking up from `start` (at most 100 levels), as sops does from its working directory.
/// A `.sops.yml` is not used.
pub fn find_config(start: &Path) -> Option<PathBuf> {
    let mut dir = Some(start);
    for _ in 0..100 {
        let d = dir?;
        let candidate = d.join(".sops.yaml");
        if candidate.is_file() {
            return Some(candidate);
        }
        dir = d.parent();
    }
    None
}

/// The path sops matches `path_regex` against: `file` made relative to the config file's directory when
/// it is underneath it, otherwise as given.
pub fn match_path(config_file: &Path, file: &Path) -> String {
    let base = config_file.parent().unwrap_or(Path::new(""));
    file.strip_prefix(base)
        .unwrap_or(file)
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_in_order_with_azure_keys() {
        let cfg = Config::parse(
            "creation_rules:\n  - path_regex: \\.prod\\.ya?ml$\n    encrypted_regex: ^(data|stringData)$\n    azure_keyvault: https://v.vault.azure.net/keys/k/0123, https://w.vault.azure.net/keys/j\n  - key_groups:\n      - azure_keyvault:\n          - vaultUrl: https://v.vault.azure.net/\n            key: k\n            version: \"\"\n        age:\n          - age1abc\n",
        )
        .unwrap();
        let r = cfg.rule_for("apps/x.prod.yaml").unwrap();
        assert_eq!(
            r.selector,
            Some(Selector::EncryptedRegex("^(data|stringData)$".into()))
        );
        assert_eq!(r.key_groups[0].azure_keyvault.len(), 2);
        assert_eq!(r.key_groups[0].azure_keyvault[1].version, "");
        let r = cfg.rule_for("other.yaml").unwrap();
        assert_eq!(
            r.key_groups[0].azure_keyvault[0].vault_url,
            "https://v.vault.azure.net"
        );
        assert_eq!(r.key_groups[0].age, vec!["age1abc".to_string()]);
    }

    #[test]
    fn azure_kv_spelling_trap_is_reported() {
        let err =
            Config::parse("creation_rules:\n  - azure_kv: https://v.vault.azure.net/keys/k\n")
                .unwrap_err();
        assert!(err.to_string().contains("azure_keyvault"));
    }

    #[test]
    fn config_is_found_walking_up_and_paths_are_relative_to_it() {
        let root = std::env::temp_dir().join(format!("kvsops-rules-{}", std::process::id()));
        let deep = root.join("a/b/c");
        std::fs::create_dir_all(&deep).unwrap();
        assert_eq!(find_config(&deep), None.or_else(|| find_config(&root)));
        std::fs::write(root.join(".sops.yaml"), "creation_rules: []\n").unwrap();
        std::fs::write(root.join("a/.sops.yml"), "ignored\n").unwrap();
        let found = find_config(&deep).unwrap();
        assert_eq!(found, root.join(".sops.yaml"));
        assert_eq!(match_path(&found, &root.join("a/b/x.yaml")), "a/b/x.yaml");
        assert_eq!(
            match_path(&found, Path::new("/elsewhere/x.yaml")),
            "/elsewhere/x.yaml"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn no_match_is_an_error() {
        let cfg =
            Config::parse("creation_rules:\n  - path_regex: ^only$\n    age: age1x\n").unwrap();
        assert!(cfg.rule_for("else").is_err());
    }
}

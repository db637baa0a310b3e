//! The `sops` metadata block: master key entries, key groups, selectors, `lastmodified`, `mac`, `version`.
//!
//! Reading accepts every layout sops 3.x wrote (struct order, `kms: null`, empty lists, quoted or unquoted
//! timestamps). Writing follows sops 3.13.x: keys sorted alphabetically at every level.

use crate::error::{Error, Result};
use crate::tree::{MapItem, SeqItem, Value};

/// The sops version whose layout this crate writes (and stores in `sops.version`).
pub const SOPS_VERSION: &str = "3.13.2";

/// The `age` entry: the recipient and the armored age file wrapping the data key (or share).
#[derive(Clone, PartialEq, Eq)]
pub struct AgeEntry {
    /// `age1…` recipient.
    pub recipient: String,
    /// `-----BEGIN AGE ENCRYPTED FILE-----…` with a trailing newline.
    pub enc: String,
}

/// The `pgp` entry.
#[derive(Clone, PartialEq, Eq)]
pub struct PgpEntry {
    /// The key fingerprint (upper-case hex).
    pub fp: String,
    /// RFC 3339 creation time.
    pub created_at: String,
    /// The armored PGP message wrapping the data key.
    pub enc: String,
}

/// The `azure_kv` entry (Azure Key Vault key, RSA-OAEP-256 via the Key Vault `encrypt` operation).
#[derive(Clone, PartialEq, Eq)]
pub struct AzureKvEntry {
    /// `https://<vault>.vault.azure.net` (no trailing slash).
    pub vault_url: String,
    /// The key name.
    pub name: String,
    /// The key version (32 hex characters).
    pub version: String,
    /// RFC 3339 creation time.
    pub created_at: String,
    /// base64url (no padding) of the RSA-OAEP-256 ciphertext of the raw data key.
    pub enc: String,
}

impl AzureKvEntry {
    /// `vault_url/keys/name/version`, as sops prints the key.
    pub fn key_url(&self) -> String {
        format!("{}/keys/{}/{}", self.vault_url, self.name, self.version)
    }
}

/// One master key entry of a key group.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum KeyEntry {
    /// An `age` entry.
    Age(AgeEntry),
    /// A `pgp` entry.
    Pgp(PgpEntry),
    /// An `azure_kv` entry.
    AzureKv(AzureKvEntry),
    /// A key type this crate keeps but cannot use (`kms`, `gcp_kms`, `hckms`, `hc_vault`): round-tripped as is.
    Other {
        /// The metadata list it lives in.
        kind: String,
        /// Its fields, as read.
        fields: Vec<(String, Value)>,
    },
}

macro_rules! redacted_debug {
    ($t:ty, $name:literal, $($f:ident),*) => {
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct($name)$(.field(stringify!($f), &self.$f))*.field("enc", &"<wrapped key>").finish()
            }
        }
    };
}
redacted_debug!(AgeEntry, "AgeEntry", recipient);
redacted_debug!(PgpEntry, "PgpEntry", fp, created_at);
redacted_debug!(
    AzureKvEntry,
    "AzureKvEntry",
    vault_url,
    name,
    version,
    created_at
);

impl std::fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyEntry::Age(e) => e.fmt(f),
            KeyEntry::Pgp(e) => e.fmt(f),
            KeyEntry::AzureKv(e) => e.fmt(f),
            KeyEntry::Other { kind, .. } => write!(f, "Other({kind})"),
        }
    }
}

impl KeyEntry {
    /// The metadata list this entry lives in (`age`, `pgp`, `azure_kv`, `kms`…).
    pub fn kind(&self) -> &str {
        match self {
            KeyEntry::Age(_) => "age",
            KeyEntry::Pgp(_) => "pgp",
            KeyEntry::AzureKv(_) => "azure_kv",
            KeyEntry::Other { kind, .. } => kind,
        }
    }

    /// A human-readable identifier of the master key (never the wrapped key).
    pub fn id(&self) -> String {
        match self {
            KeyEntry::Age(e) => e.recipient.clone(),
            KeyEntry::Pgp(e) => e.fp.clone(),
            KeyEntry::AzureKv(e) => e.key_url(),
            KeyEntry::Other { kind, fields } => {
                let first = fields
                    .iter()
                    .find(|(k, _)| k != "enc" && k != "created_at")
                    .and_then(|(_, v)| v.as_str());
                format!("{kind}:{}", first.unwrap_or("?"))
            }
        }
    }

    /// The order sops tries entries in by default: age, then pgp, then the rest.
    pub(crate) fn decryption_rank(&self) -> u8 {
        match self {
            KeyEntry::Age(_) => 0,
            KeyEntry::Pgp(_) => 1,
            _ => 2,
        }
    }

    fn to_value(&self) -> Value {
        let s = |v: &str| Value::Str(v.to_string());
        let mut fields: Vec<(String, Value)> = match self {
            KeyEntry::Age(e) => vec![
                ("recipient".into(), s(&e.recipient)),
                ("enc".into(), s(&e.enc)),
            ],
            KeyEntry::Pgp(e) => {
                vec![
                    ("created_at".into(), s(&e.created_at)),
                    ("enc".into(), s(&e.enc)),
                    ("fp".into(), s(&e.fp)),
                ]
            }
            KeyEntry::AzureKv(e) => vec![
                ("vault_url".into(), s(&e.vault_url)),
                ("name".into(), s(&e.name)),
                ("version".into(), s(&e.version)),
                ("created_at".into(), s(&e.created_at)),
                ("enc".into(), s(&e.enc)),
            ],
            KeyEntry::Other { fields, .. } => fields.clone(),
        };
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        Value::Map(
            fields
                .into_iter()
                .map(|(k, v)| MapItem::Entry(k, v))
                .collect(),
        )
    }

    fn from_value(kind: &str, v: &Value) -> Result<Self> {
        let Value::Map(items) = v else {
            return Err(Error::metadata(format!(
                "a `{kind}` entry is not a mapping"
            )));
        };
        let get = |k: &str| -> Result<String> {
            match crate::tree::get(items, k) {
                Some(Value::Str(s)) | Some(Value::Time(s)) => Ok(s.clone()),
                Some(Value::Int(i)) => Ok(i.to_string()),
                Some(Value::Null) | None => Ok(String::new()),
                Some(_) => Err(Error::metadata(format!("`{kind}.{k}` is not a string"))),
            }
        };
        Ok(match kind {
            "age" => KeyEntry::Age(AgeEntry {
                recipient: get("recipient")?,
                enc: get("enc")?,
            }),
            "pgp" => KeyEntry::Pgp(PgpEntry {
                fp: get("fp")?,
                created_at: get("created_at")?,
                enc: get("enc")?,
            }),
            "azure_kv" => KeyEntry::AzureKv(AzureKvEntry {
                vault_url: get("vault_url")?,
                name: get("name")?,
                version: get("version")?,
                created_at: get("created_at")?,
                enc: get("enc")?,
            }),
            _ => KeyEntry::Other {
                kind: kind.to_string(),
                fields: items
                    .iter()
                    .filter_map(|i| match i {
                        MapItem::Entry(k, v) => Some((k.clone(), v.clone())),
                        MapItem::Comment(_) => None,
                    })
                    .collect(),
            },
        })
    }
}

/// A key group: any one of its keys recovers the group's data key (or Shamir share).
pub type KeyGroup = Vec<KeyEntry>;

/// Which values are encrypted. At most one selector may be set; none means `unencrypted_suffix: _unencrypted`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Selector {
    /// Values under any key ending with this suffix stay plaintext.
    UnencryptedSuffix(String),
    /// Only values under a key ending with this suffix are encrypted.
    EncryptedSuffix(String),
    /// Values under any key matching this regex stay plaintext.
    UnencryptedRegex(String),
    /// Only values under a key matching this regex are encrypted.
    EncryptedRegex(String),
    /// Values preceded by a comment matching this regex stay plaintext.
    UnencryptedCommentRegex(String),
    /// Only values preceded by a comment matching this regex are encrypted.
    EncryptedCommentRegex(String),
}

impl Default for Selector {
    fn default() -> Self {
        Selector::UnencryptedSuffix("_unencrypted".into())
    }
}

impl Selector {
    /// The metadata key and its value.
    pub fn key_value(&self) -> (&'static str, &str) {
        match self {
            Selector::UnencryptedSuffix(s) => ("unencrypted_suffix", s),
            Selector::EncryptedSuffix(s) => ("encrypted_suffix", s),
            Selector::UnencryptedRegex(s) => ("unencrypted_regex", s),
            Selector::EncryptedRegex(s) => ("encrypted_regex", s),
            Selector::UnencryptedCommentRegex(s) => ("unencrypted_comment_regex", s),
            Selector::EncryptedCommentRegex(s) => ("encrypted_comment_regex", s),
        }
    }

    /// Build from a metadata/config key, if it is one of the six selector keys.
    pub fn from_key(key: &str, value: &str) -> Option<Self> {
        let v = value.to_string();
        Some(match key {
            "unencrypted_suffix" => Selector::UnencryptedSuffix(v),
            "encrypted_suffix" => Selector::EncryptedSuffix(v),
            "unencrypted_regex" => Selector::UnencryptedRegex(v),
            "encrypted_regex" => Selector::EncryptedRegex(v),
            "unencrypted_comment_regex" => Selector::UnencryptedCommentRegex(v),
            "encrypted_comment_regex" => Selector::EncryptedCommentRegex(v),
            _ => return None,
        })
    }
}

/// The `sops` metadata block.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metadata {
    /// The key groups (one group is written as flat lists).
    pub key_groups: Vec<KeyGroup>,
    /// How many groups must be decrypted (Shamir); `None` = all groups.
    pub shamir_threshold: Option<usize>,
    /// `lastmodified` as stored.
    pub last_modified: String,
    /// The encrypted MAC (`ENC[...]`), if present.
    pub mac: Option<String>,
    /// The selector stored in the file, if any.
    pub selector: Option<Selector>,
    /// Whether only encrypted values enter the MAC.
    pub mac_only_encrypted: bool,
    /// The sops version that wrote the file.
    pub version: String,
}

const KEY_LISTS: [&str; 7] = [
    "age", "azure_kv", "gcp_kms", "hc_vault", "hckms", "kms", "pgp",
];

fn group_from_map(items: &[MapItem]) -> Result<KeyGroup> {
    let mut group = Vec::new();
    for item in items {
        let MapItem::Entry(k, v) = item else { continue };
        if !KEY_LISTS.contains(&k.as_str()) {
            continue;
        }
        match v {
            Value::Null => {}
            Value::Seq(entries) => {
                for e in entries {
                    if let SeqItem::Value(e) = e {
                        group.push(KeyEntry::from_value(k, e)?);
                    }
                }
            }
            _ => return Err(Error::metadata(format!("`{k}` is not a list"))),
        }
    }
    Ok(group)
}

fn group_to_items(group: &KeyGroup, always: &[&str]) -> Vec<MapItem> {
    let mut out = Vec::new();
    for kind in KEY_LISTS {
        let entries: Vec<SeqItem> = group
            .iter()
            .filter(|e| e.kind() == kind)
            .map(|e| SeqItem::Value(e.to_value()))
            .collect();
        if !entries.is_empty() || always.contains(&kind) {
            out.push(MapItem::Entry(kind.to_string(), Value::Seq(entries)));
        }
    }
    out
}

impl Metadata {
    /// Read the metadata from the `sops` mapping of a file.
    pub fn from_value(v: &Value) -> Result<Self> {
        let Value::Map(items) = v else {
            return Err(Error::metadata("`sops` is not a mapping"));
        };
        let text = |k: &str| -> Option<String> {
            match crate::tree::get(items, k) {
                Some(Value::Str(s)) | Some(Value::Time(s)) => Some(s.clone()),
                Some(Value::Float(f)) => Some(crate::gofmt::format_f(*f)),
                Some(Value::Int(i)) => Some(i.to_string()),
                _ => None,
            }
        };
        let mut selector = None;
        for item in items {
            if let MapItem::Entry(k, Value::Str(v)) = item
                && let Some(s) = Selector::from_key(k, v)
                && !v.is_empty()
            {
                if selector.is_some() {
                    return Err(Error::metadata(
                        "more than one of unencrypted_suffix, encrypted_suffix, unencrypted_regex, encrypted_regex, unencrypted_comment_regex, encrypted_comment_regex is set",
                    ));
                }
                selector = Some(s);
            }
        }
        let mut key_groups = Vec::new();
        if let Some(Value::Seq(groups)) = crate::tree::get(items, "key_groups") {
            for g in groups {
                if let SeqItem::Value(Value::Map(g)) = g {
                    key_groups.push(group_from_map(g)?);
                }
            }
        }
        if key_groups.is_empty() {
            key_groups.push(group_from_map(items)?);
        }
        let shamir_threshold = match crate::tree::get(items, "shamir_threshold") {
            Some(Value::Int(i)) if *i > 0 => Some(*i as usize),
            _ => None,
        };
        Ok(Metadata {
            key_groups,
            shamir_threshold,
            last_modified: text("lastmodified").unwrap_or_default(),
            mac: text("mac").filter(|m| !m.is_empty()),
            selector,
            mac_only_encrypted: matches!(
                crate::tree::get(items, "mac_only_encrypted"),
                Some(Value::Bool(true))
            ),
            version: text("version").unwrap_or_default(),
        })
    }

    /// Write the metadata as sops 3.13.x does (keys sorted at every level).
    pub fn to_value(&self) -> Value {
        let mut items: Vec<MapItem> = Vec::new();
        if self.key_groups.len() <= 1 {
            if let Some(g) = self.key_groups.first() {
                items.extend(group_to_items(g, &[]));
            }
        } else {
            let groups = self
                .key_groups
                .iter()
                .map(|g| SeqItem::Value(Value::Map(group_to_items(g, &["age", "hc_vault"]))))
                .collect();
            items.push(MapItem::Entry("key_groups".into(), Value::Seq(groups)));
            let t = self.shamir_threshold.unwrap_or(self.key_groups.len());
            items.push(MapItem::Entry(
                "shamir_threshold".into(),
                Value::Int(t as i64),
            ));
        }
        items.push(MapItem::Entry(
            "lastmodified".into(),
            Value::Str(self.last_modified.clone()),
        ));
        items.push(MapItem::Entry(
            "mac".into(),
            Value::Str(self.mac.clone().unwrap_or_default()),
        ));
        if self.mac_only_encrypted {
            items.push(MapItem::Entry(
                "mac_only_encrypted".into(),
                Value::Bool(true),
            ));
        }
        if let Some(sel) = &self.selector {
            let (k, v) = sel.key_value();
            items.push(MapItem::Entry(k.into(), Value::Str(v.into())));
        }
        items.push(MapItem::Entry(
            "version".into(),
            Value::Str(self.version.clone()),
        ));
        items.sort_by(|a, b| match (a, b) {
            (MapItem::Entry(a, _), MapItem::Entry(b, _)) => a.cmp(b),
            _ => std::cmp::Ordering::Equal,
        });
        Value::Map(items)
    }

    /// Every entry of every group.
    pub fn entries(&self) -> impl Iterator<Item = &KeyEntry> {
        self.key_groups.iter().flatten()
    }

    /// The selector in effect (the stored one, or the default `_unencrypted` suffix).
    pub fn effective_selector(&self) -> Selector {
        self.selector.clone().unwrap_or_default()
    }
}

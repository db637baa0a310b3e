//! The SOPS operations: encrypt, decrypt (MAC verified), edit, rotate the data key, update master keys.

use crate::api::MasterKey;
use crate::cipher::{self, DataKey, IvStash};
use crate::error::{Error, Result};
use crate::format::Format;
use crate::keys::shamir;
use crate::metadata::{KeyEntry, KeyGroup, Metadata, SOPS_VERSION, Selector};
use crate::tree::{self, Comment, MapItem, SeqItem, Tree, Value};
use regex::Regex;
use secrecy::ExposeSecret as _;
use sha2::{Digest as _, Sha512};
use std::sync::Arc;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zeroize::Zeroizing;

/// The master keys of one key group, as given to encrypt.
pub type KeyGroupKeys = Vec<Arc<dyn MasterKey>>;

/// Options for [`encrypt`].
#[derive(Debug, Clone, Default)]
pub struct EncryptOptions {
    /// Which values to encrypt (default: everything except under keys ending in `_unencrypted`).
    pub selector: Option<Selector>,
    /// Only encrypted values enter the MAC.
    pub mac_only_encrypted: bool,
    /// With several key groups: how many must be decrypted (default: all).
    pub shamir_threshold: Option<usize>,
    /// The time written to `lastmodified` (default: now). Only whole seconds are kept.
    pub now: Option<OffsetDateTime>,
}

/// Options for [`decrypt`].
#[derive(Debug, Clone, Default)]
pub struct DecryptOptions {
    /// Do not fail on a missing, undecryptable or mismatching MAC (sops' `--ignore-mac`).
    pub ignore_mac: bool,
}

/// `time.Now().UTC().Format(time.RFC3339)`.
pub fn now_rfc3339() -> String {
    rfc3339(OffsetDateTime::now_utc())
}

fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

/// Re-format a stored `lastmodified` to Go's `time.RFC3339` (the MAC's AAD).
fn mac_aad(last_modified: &str) -> String {
    match OffsetDateTime::parse(last_modified, &Rfc3339) {
        Ok(t) => rfc3339(t),
        Err(_) => last_modified.to_string(),
    }
}

struct Rules {
    selector: Selector,
    regex: Option<Regex>,
}

impl Rules {
    fn new(selector: Selector) -> Result<Self> {
        let regex = match &selector {
            Selector::UnencryptedRegex(r)
            | Selector::EncryptedRegex(r)
            | Selector::UnencryptedCommentRegex(r)
            | Selector::EncryptedCommentRegex(r) => Some(Regex::new(r).map_err(|e| {
                Error::invalid(
                    selector.key_value().0,
                    format!("`{r}` is not a valid regular expression: {e}"),
                )
            })?),
            _ => None,
        };
        Ok(Self { selector, regex })
    }

    fn should_encrypt(&self, path: &[String], comments: &[String]) -> bool {
        let re = |s: &str| self.regex.as_ref().is_some_and(|r| r.is_match(s));
        match &self.selector {
            Selector::UnencryptedSuffix(s) => !path.iter().any(|p| p.ends_with(s.as_str())),
            Selector::EncryptedSuffix(s) => path.iter().any(|p| p.ends_with(s.as_str())),
            Selector::UnencryptedRegex(_) => !path.iter().any(|p| re(p)),
            Selector::EncryptedRegex(_) => path.iter().any(|p| re(p)),
            Selector::UnencryptedCommentRegex(_) => !comments.iter().any(|c| re(c)),
            Selector::EncryptedCommentRegex(_) => comments.iter().any(|c| re(c)),
        }
    }
}

fn aad(path: &[String]) -> String {
    let mut s = path.join(":");
    s.push(':');
    s
}

/// `ToBytes` and the `type:` of a scalar.
fn to_bytes(v: &Value) -> Option<(Vec<u8>, &'static str)> {
    Some(match v {
        Value::Str(s) => (s.as_bytes().to_vec(), "str"),
        Value::Int(i) => (i.to_string().into_bytes(), "int"),
        Value::Float(f) => (crate::gofmt::format_f(*f).into_bytes(), "float"),
        Value::Bool(b) => (
            (if *b { "True" } else { "False" }).as_bytes().to_vec(),
            "bool",
        ),
        Value::Time(t) => (t.as_bytes().to_vec(), "time"),
        _ => return None,
    })
}

fn from_bytes(bytes: &[u8], ty: &str, path: &str) -> Result<Value> {
    let bad = || Error::BadValueType {
        path: path.into(),
        ty: ty.into(),
    };
    let s = std::str::from_utf8(bytes).map_err(|_| bad())?;
    Ok(match ty {
        "str" | "bytes" => Value::Str(s.to_string()),
        "int" => Value::Int(s.parse().map_err(|_| bad())?),
        "float" => Value::Float(s.parse().map_err(|_| bad())?),
        "bool" => Value::Bool(match s {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => true,
            "0" | "f" | "F" | "FALSE" | "false" | "False" => false,
            _ => return Err(bad()),
        }),
        "time" => Value::Time(s.to_string()),
        _ => return Err(bad()),
    })
}

struct Mac {
    hash: Sha512,
    only_encrypted: bool,
}

impl Mac {
    fn new(only_encrypted: bool) -> Self {
        let mut hash = Sha512::new();
        if only_encrypted {
            // MACOnlyEncryptedInitialization = sha256("sops")
            hash.update(sha2::Sha256::digest(b"sops"));
        }
        Self {
            hash,
            only_encrypted,
        }
    }
    fn add(&mut self, bytes: &[u8], encrypted: bool) {
        if encrypted || !self.only_encrypted {
            self.hash.update(bytes);
        }
    }
    fn hex(self) -> String {
        self.hash
            .finalize()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect()
    }
}

enum Mode<'a> {
    Encrypt { stash: &'a IvStash },
    Decrypt { stash: &'a mut IvStash },
}

struct Walker<'a> {
    /// How many collections enclose the current one (the walk recurses once per level).
    depth: usize,
    key: &'a DataKey,
    rules: Rules,
    mac: Mac,
    mode: Mode<'a>,
}

impl Walker<'_> {
    fn encrypt_bytes(&self, plain: &[u8], aad: &str, ty: &str) -> Result<String> {
        let iv = match &self.mode {
            Mode::Encrypt { stash } => stash.lookup(aad, ty, plain),
            Mode::Decrypt { .. } => None,
        };
        cipher::encrypt(self.key, plain, aad, ty, iv)
    }

    fn map(
        &mut self,
        items: &mut [MapItem],
        path: &mut Vec<String>,
        stack: &mut Vec<String>,
    ) -> Result<()> {
        let base = stack.len();
        for item in items.iter_mut() {
            match item {
                MapItem::Comment(c) => {
                    let should = self.rules.should_encrypt(path, stack);
                    let plain = self.comment(c, path, should)?;
                    stack.push(plain);
                }
                MapItem::Entry(k, v) => {
                    path.push(k.clone());
                    self.value(v, path, stack)?;
                    path.pop();
                    stack.truncate(base);
                }
            }
        }
        Ok(())
    }

    /// Encrypt or decrypt a comment in place; returns its plaintext.
    fn comment(&mut self, c: &mut Comment, path: &[String], should: bool) -> Result<String> {
        let a = aad(path);
        match &mut self.mode {
            Mode::Encrypt { .. } => {
                let plain = c.text.clone();
                if should && !plain.is_empty() && !cipher::looks_encrypted(&plain) {
                    c.text = self.encrypt_bytes(plain.as_bytes(), &a, "comment")?;
                }
                Ok(plain)
            }
            Mode::Decrypt { stash } => {
                if should && cipher::looks_encrypted(&c.text) {
                    // Tolerant, as sops: a comment that does not decrypt stays as it is.
                    if let Ok((pt, ev)) = cipher::decrypt(self.key, &c.text, &a)
                        && let Ok(text) = std::str::from_utf8(pt.expose_secret())
                    {
                        stash.remember(&a, "comment", text.as_bytes(), &ev.iv);
                        c.text = text.to_string();
                    }
                }
                Ok(c.text.clone())
            }
        }
    }

    fn seq(
        &mut self,
        items: &mut [SeqItem],
        path: &mut Vec<String>,
        stack: &mut Vec<String>,
    ) -> Result<()> {
        let base = stack.len();
        for item in items.iter_mut() {
            match item {
                SeqItem::Comment(c) => {
                    let should = self.rules.should_encrypt(path, stack);
                    let plain = self.comment(c, path, should)?;
                    if matches!(self.mode, Mode::Encrypt { .. }) && cipher::looks_encrypted(&c.text)
                    {
                        // sops writes encrypted comments in sequences as elements.
                        *item = SeqItem::Value(Value::Str(c.text.clone()));
                    }
                    stack.push(plain);
                }
                SeqItem::Value(Value::Str(s))
                    if matches!(self.mode, Mode::Decrypt { .. })
                        && s.starts_with("ENC[")
                        && s.ends_with(",type:comment]") =>
                {
                    let mut c = Comment {
                        text: s.clone(),
                        inline: false,
                    };
                    let should = self.rules.should_encrypt(path, stack);
                    let plain = self.comment(&mut c, path, should)?;
                    *item = SeqItem::Comment(c);
                    stack.push(plain);
                }
                SeqItem::Value(v) => {
                    self.value(v, path, stack)?;
                    stack.truncate(base);
                }
            }
        }
        Ok(())
    }

    fn value(
        &mut self,
        v: &mut Value,
        path: &mut Vec<String>,
        stack: &mut Vec<String>,
    ) -> Result<()> {
        if matches!(v, Value::Map(_) | Value::Seq(_)) {
            // the document's mapping is level 1; a tree built in code may be deeper than parsers allow
            if self.depth + 2 > tree::MAX_DEPTH {
                return Err(Error::invalid("tree", tree::too_deep_message()));
            }
            self.depth += 1;
            let r = match v {
                Value::Map(items) => self.map(items, path, stack),
                Value::Seq(items) => self.seq(items, path, stack),
                _ => Ok(()),
            };
            self.depth -= 1;
            return r;
        }
        if matches!(v, Value::Null) {
            return Ok(());
        }
        let should = self.rules.should_encrypt(path, stack);
        let a = aad(path);
        match &mut self.mode {
            Mode::Encrypt { .. } => {
                let Some((bytes, ty)) = to_bytes(v) else {
                    return Ok(());
                };
                let bytes = Zeroizing::new(bytes);
                self.mac.add(&bytes, should);
                // sops leaves an empty string as it is (no ENC wrapper)
                if should && !bytes.is_empty() {
                    *v = Value::Str(self.encrypt_bytes(&bytes, &a, ty)?);
                }
            }
            Mode::Decrypt { stash } => {
                if !should {
                    if let Some((bytes, _)) = to_bytes(v) {
                        self.mac.add(&bytes, false);
                    }
                    return Ok(());
                }
                let Value::Str(s) = v else {
                    return Err(Error::MalformedValue {
                        path: a,
                        why: "expected an encrypted ENC[...] string but found a plain value".into(),
                    });
                };
                if s.is_empty() {
                    return Ok(());
                }
                let (pt, ev) = cipher::decrypt(self.key, s, &a)?;
                let typed = from_bytes(pt.expose_secret(), &ev.ty, &a)?;
                let (bytes, ty) = to_bytes(&typed).unwrap_or_default();
                let bytes = Zeroizing::new(bytes);
                self.mac.add(&bytes, true);
                stash.remember(&a, ty, &bytes, &ev.iv);
                *v = typed;
            }
        }
        Ok(())
    }
}

/// An opened (decrypted) SOPS file: the plaintext tree, its metadata, and what is needed to write it back
/// with minimal changes (the data key and the IVs of unchanged values).
pub struct SopsFile {
    /// The plaintext documents, without the `sops` block.
    pub tree: Tree,
    /// The metadata as read (or as last written).
    pub metadata: Metadata,
    /// Whether the MAC was checked and matched (false only with `ignore_mac`).
    pub mac_verified: bool,
    data_key: DataKey,
    stash: IvStash,
}

impl std::fmt::Debug for SopsFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SopsFile")
            .field("tree", &self.tree)
            .field("metadata", &self.metadata)
            .field("mac_verified", &self.mac_verified)
            .finish_non_exhaustive()
    }
}

/// Split the `sops` block off an encrypted tree: metadata from the first document, removed from all.
pub fn extract_metadata(tree: &mut Tree) -> Result<Metadata> {
    let first = tree.documents.first_mut().ok_or(Error::NotEncrypted)?;
    let meta = tree::remove(first, "sops").ok_or(Error::NotEncrypted)?;
    for doc in tree.documents.iter_mut().skip(1) {
        tree::remove(doc, "sops");
    }
    // sops itself refuses files without a `version`; this reader accepts them (rops writes none).
    Metadata::from_value(&meta)
}

async fn wrap(
    data_key: &DataKey,
    groups: &[KeyGroupKeys],
    threshold: Option<usize>,
) -> Result<(Vec<KeyGroup>, Option<usize>)> {
    if groups.is_empty() || groups.iter().all(Vec::is_empty) {
        return Err(Error::invalid(
            "master keys",
            "no master keys were given; pass --age, --pgp or --azure-kv, or add keys to .sops.yaml",
        ));
    }
    if groups.iter().any(Vec::is_empty) {
        return Err(Error::invalid("key groups", "a key group has no keys"));
    }
    let secrets: Vec<Zeroizing<Vec<u8>>> = if groups.len() == 1 {
        vec![Zeroizing::new(data_key.expose().to_vec())]
    } else {
        let t = threshold.unwrap_or(groups.len());
        shamir::split(data_key.expose(), groups.len(), t)?
            .into_iter()
            .map(Zeroizing::new)
            .collect()
    };
    let mut out = Vec::new();
    for (keys, secret) in groups.iter().zip(&secrets) {
        let mut g = Vec::new();
        for k in keys {
            g.push(k.encrypt(secret).await?);
        }
        out.push(g);
    }
    let t = if groups.len() > 1 {
        Some(threshold.unwrap_or(groups.len()))
    } else {
        None
    };
    Ok((out, t))
}

/// Recover the data key from the metadata with the given keys (age first, then pgp, then the rest).
pub async fn recover_data_key(meta: &Metadata, keys: &[Arc<dyn MasterKey>]) -> Result<DataKey> {
    let mut attempts = Vec::new();
    let mut secrets: Vec<Vec<u8>> = Vec::new();
    let needed = if meta.key_groups.len() > 1 {
        meta.shamir_threshold.unwrap_or(meta.key_groups.len())
    } else {
        1
    };
    for (gi, group) in meta.key_groups.iter().enumerate() {
        if secrets.len() >= needed {
            break;
        }
        let mut entries: Vec<&KeyEntry> = group.iter().collect();
        entries.sort_by_key(|e| e.decryption_rank());
        let mut got = None;
        'entries: for e in entries {
            let id = match e.id() {
                id if id.trim().is_empty() => "(no recipient or key id)".to_string(),
                id => id,
            };
            let candidates: Vec<_> = keys.iter().filter(|k| k.can_try(e)).collect();
            if candidates.is_empty() {
                attempts.push(format!(
                    "group {gi}: {} {id}: no key given that can decrypt it",
                    e.kind()
                ));
                continue;
            }
            for k in candidates {
                match k.decrypt(e).await {
                    Ok(s) => {
                        got = Some(s.expose_secret().clone());
                        break 'entries;
                    }
                    Err(err) => attempts.push(format!("group {gi}: {} {id}: {err}", e.kind())),
                }
            }
        }
        if let Some(s) = got {
            secrets.push(s);
        }
    }
    if secrets.len() < needed || secrets.is_empty() {
        if meta.entries().next().is_none() {
            attempts.push("the file lists no master keys".into());
        }
        return Err(Error::NoDataKey { attempts });
    }
    let key = if meta.key_groups.len() > 1 {
        let combined = Zeroizing::new(shamir::combine(&secrets)?);
        DataKey::from_slice(&combined)
    } else {
        DataKey::from_slice(&secrets[0])
    };
    secrets.iter_mut().for_each(zeroize::Zeroize::zeroize);
    key.map_err(|_| Error::NoDataKey {
        attempts: vec!["a master key unwrapped something that is not a 32-byte data key".into()],
    })
}

fn walk_docs(w: &mut Walker<'_>, tree: &mut Tree) -> Result<()> {
    for doc in tree.documents.iter_mut() {
        w.map(doc, &mut Vec::new(), &mut Vec::new())?;
    }
    Ok(())
}

/// Decrypt an encrypted tree with a known data key (also used when the data key comes from elsewhere,
/// for example a KMS this crate cannot call). The MAC is verified unless `opts.ignore_mac`.
pub fn decrypt_with_data_key(
    mut tree: Tree,
    data_key: DataKey,
    opts: &DecryptOptions,
) -> Result<SopsFile> {
    let metadata = extract_metadata(&mut tree)?;
    let mut stash = IvStash::default();
    let computed = {
        let mut w = Walker {
            depth: 0,
            key: &data_key,
            rules: Rules::new(metadata.effective_selector())?,
            mac: Mac::new(metadata.mac_only_encrypted),
            mode: Mode::Decrypt { stash: &mut stash },
        };
        walk_docs(&mut w, &mut tree)?;
        w.mac.hex()
    };
    let mac_verified = match &metadata.mac {
        None if opts.ignore_mac => false,
        None => return Err(Error::MacMissing),
        Some(enc) => match cipher::decrypt(&data_key, enc, &mac_aad(&metadata.last_modified)) {
            Ok((stored, _)) if stored.expose_secret().as_slice() == computed.as_bytes() => true,
            Ok(_) if opts.ignore_mac => false,
            Ok(_) => return Err(Error::MacMismatch),
            Err(_) if opts.ignore_mac => false,
            Err(Error::MalformedValue { why, .. }) => {
                return Err(Error::MalformedValue {
                    path: "sops.mac".into(),
                    why,
                });
            }
            Err(_) => return Err(Error::MacTampered),
        },
    };
    Ok(SopsFile {
        tree,
        metadata,
        mac_verified,
        data_key,
        stash,
    })
}

/// Decrypt an encrypted tree: recover the data key with `keys`, decrypt every value, verify the MAC.
pub async fn decrypt(
    tree: Tree,
    keys: &[Arc<dyn MasterKey>],
    opts: &DecryptOptions,
) -> Result<SopsFile> {
    let block = tree
        .documents
        .first()
        .and_then(|d| tree::get(d, "sops"))
        .ok_or(Error::NotEncrypted)?;
    let metadata = Metadata::from_value(block)?;
    let data_key = recover_data_key(&metadata, keys).await?;
    decrypt_with_data_key(tree, data_key, opts)
}

/// Encrypt a plaintext tree: new data key, wrapped by every key of every group.
pub async fn encrypt(tree: Tree, groups: &[KeyGroupKeys], opts: &EncryptOptions) -> Result<Tree> {
    if tree
        .documents
        .first()
        .is_some_and(|d| tree::get(d, "sops").is_some())
    {
        return Err(Error::AlreadyEncrypted);
    }
    if tree.documents.is_empty() {
        return Err(Error::EmptyFile);
    }
    let selector = opts.selector.clone().unwrap_or_default();
    Rules::new(selector.clone())?;
    let data_key = DataKey::generate();
    let (key_groups, shamir_threshold) = wrap(&data_key, groups, opts.shamir_threshold).await?;
    let file = SopsFile {
        tree,
        metadata: Metadata {
            key_groups,
            shamir_threshold,
            last_modified: String::new(),
            mac: None,
            selector: Some(selector),
            mac_only_encrypted: opts.mac_only_encrypted,
            version: SOPS_VERSION.into(),
        },
        mac_verified: true,
        data_key,
        stash: IvStash::default(),
    };
    file.to_encrypted_tree(opts.now)
}

/// One step of a path into a document: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// Parse sops' path syntax: `["a"]["b"][0]`.
pub fn parse_path(s: &str) -> Result<Vec<PathSegment>> {
    let shown: String = s.chars().take(60).collect();
    let ellipsis = if shown.len() < s.len() { "…" } else { "" };
    let bad = |why: &str| {
        Error::invalid(
            "path",
            format!("`{shown}{ellipsis}`: {why}; expected e.g. [\"key\"][0][\"sub\"]"),
        )
    };
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        rest = rest.strip_prefix('[').ok_or_else(|| bad("missing `[`"))?;
        if let Some(r) = rest.strip_prefix('"') {
            let end = r.find("\"]").ok_or_else(|| bad("unterminated key"))?;
            out.push(PathSegment::Key(r[..end].to_string()));
            rest = &r[end + 2..];
        } else {
            let end = rest.find(']').ok_or_else(|| bad("unterminated index"))?;
            let idx = rest[..end]
                .trim()
                .parse()
                .map_err(|_| bad("index is not a number"))?;
            out.push(PathSegment::Index(idx));
            rest = &rest[end + 1..];
        }
        if out.len() >= tree::MAX_DEPTH {
            return Err(bad(&format!(
                "a path may have at most {} components (values nest at most {} levels)",
                tree::MAX_DEPTH - 1,
                tree::MAX_DEPTH
            )));
        }
    }
    if out.is_empty() {
        return Err(bad("empty path"));
    }
    Ok(out)
}

fn set_in(v: &mut Value, path: &[PathSegment], value: Value) -> Result<()> {
    let Some((head, rest)) = path.split_first() else {
        *v = value;
        return Ok(());
    };
    match head {
        PathSegment::Key(k) => {
            if !matches!(v, Value::Map(_)) {
                *v = Value::Map(Vec::new());
            }
            let Value::Map(items) = v else { return Ok(()) };
            if tree::get(items, k).is_none() {
                items.push(MapItem::Entry(k.clone(), Value::Null));
            }
            match tree::get_mut(items, k) {
                Some(child) => set_in(child, rest, value),
                None => Ok(()),
            }
        }
        PathSegment::Index(i) => {
            let Value::Seq(items) = v else {
                return Err(Error::invalid(
                    "path",
                    format!("index [{i}] applied to a value that is not a list"),
                ));
            };
            let mut n = 0;
            for item in items.iter_mut() {
                if let SeqItem::Value(child) = item {
                    if n == *i {
                        return set_in(child, rest, value);
                    }
                    n += 1;
                }
            }
            if n == *i {
                items.push(SeqItem::Value(Value::Null));
                if let Some(SeqItem::Value(child)) = items.last_mut() {
                    return set_in(child, rest, value);
                }
            }
            Err(Error::invalid(
                "path",
                format!("index [{i}] is out of range"),
            ))
        }
    }
}

impl SopsFile {
    /// Set the value at `path` in the first document (creating mappings on the way).
    pub fn set(&mut self, path: &[PathSegment], value: Value) -> Result<()> {
        if path.first() == Some(&PathSegment::Key("sops".into())) {
            return Err(Error::invalid(
                "path",
                "the `sops` metadata cannot be edited as a value",
            ));
        }
        if path.len() >= tree::MAX_DEPTH {
            return Err(Error::invalid("path", tree::too_deep_message()));
        }
        let doc = self
            .tree
            .documents
            .first_mut()
            .ok_or_else(|| Error::invalid("file", "it has no document"))?;
        let mut root = Value::Map(std::mem::take(doc));
        let r = set_in(&mut root, path, value);
        if let Value::Map(items) = root {
            *doc = items;
        }
        r
    }

    /// Encrypt the (possibly edited) tree again with the same data key and master key entries. Unchanged
    /// values keep their ciphertext, so only `lastmodified` and `mac` change for an unchanged file.
    pub fn to_encrypted_tree(&self, now: Option<OffsetDateTime>) -> Result<Tree> {
        let mut tree = self.tree.clone();
        let mut meta = self.metadata.clone();
        let mut w = Walker {
            depth: 0,
            key: &self.data_key,
            rules: Rules::new(meta.effective_selector())?,
            mac: Mac::new(meta.mac_only_encrypted),
            mode: Mode::Encrypt { stash: &self.stash },
        };
        walk_docs(&mut w, &mut tree)?;
        let mac = w.mac.hex();
        meta.last_modified = rfc3339(now.unwrap_or_else(OffsetDateTime::now_utc));
        meta.mac = Some(cipher::encrypt(
            &self.data_key,
            mac.as_bytes(),
            &mac_aad(&meta.last_modified),
            "str",
            None,
        )?);
        if meta.version.is_empty() {
            meta.version = SOPS_VERSION.into();
        }
        let block = meta.to_value();
        for doc in tree.documents.iter_mut() {
            doc.push(MapItem::Entry("sops".into(), block.clone()));
        }
        Ok(tree)
    }

    /// Generate a new data key, re-encrypt every value with it, and wrap it for `groups`.
    pub async fn rotate(&mut self, groups: &[KeyGroupKeys]) -> Result<()> {
        let data_key = DataKey::generate();
        let (key_groups, t) = wrap(&data_key, groups, self.metadata.shamir_threshold).await?;
        self.metadata.key_groups = key_groups;
        self.metadata.shamir_threshold = t;
        self.data_key = data_key;
        self.stash = IvStash::default();
        Ok(())
    }

    /// Make `groups` the file's master keys without re-encrypting values: entries of keys that stay are
    /// kept as they are; new keys wrap the existing data key; keys not listed are dropped.
    pub async fn update_keys(
        &mut self,
        groups: &[KeyGroupKeys],
        threshold: Option<usize>,
    ) -> Result<()> {
        let same_shape = groups.len() == 1 && self.metadata.key_groups.len() <= 1;
        if !same_shape {
            let (key_groups, t) = wrap(
                &self.data_key,
                groups,
                threshold.or(self.metadata.shamir_threshold),
            )
            .await?;
            self.metadata.key_groups = key_groups;
            self.metadata.shamir_threshold = t;
            return Ok(());
        }
        let old: Vec<KeyEntry> = self
            .metadata
            .key_groups
            .first()
            .cloned()
            .unwrap_or_default();
        let mut group = Vec::new();
        for k in &groups[0] {
            match old
                .iter()
                .find(|e| e.kind() == k.kind() && e.id() == k.id())
            {
                Some(e) => group.push(e.clone()),
                None => group.push(k.encrypt(self.data_key.expose()).await?),
            }
        }
        // keys this crate cannot construct (kms, gcp_kms…) cannot be listed in `groups`; keep them only
        // if the caller did not pass any key of that kind
        for e in old.iter().filter(|e| matches!(e, KeyEntry::Other { .. })) {
            if !groups[0].iter().any(|k| k.kind() == e.kind()) {
                group.push(e.clone());
            }
        }
        self.metadata.key_groups = vec![group];
        self.metadata.shamir_threshold = None;
        Ok(())
    }

    /// The data key (for callers that must hand it to another tool). Handle with care.
    pub fn data_key(&self) -> &DataKey {
        &self.data_key
    }

    /// Write the plaintext in `format`.
    pub fn to_plain_bytes(&self, format: Format) -> Result<Zeroizing<Vec<u8>>> {
        format.emit_plain(&self.tree).map(Zeroizing::new)
    }

    /// Encrypt again and write in `format`.
    pub fn to_encrypted_bytes(
        &self,
        format: Format,
        now: Option<OffsetDateTime>,
    ) -> Result<Vec<u8>> {
        format.emit_encrypted(&self.to_encrypted_tree(now)?)
    }
}

/// Encrypt a plaintext file's bytes.
pub async fn encrypt_bytes(
    input: &[u8],
    format: Format,
    groups: &[KeyGroupKeys],
    opts: &EncryptOptions,
) -> Result<Vec<u8>> {
    let tree = format.parse_plain(input)?;
    let enc = encrypt(tree, groups, opts).await?;
    format.emit_encrypted(&enc)
}

/// Open (decrypt, MAC verified) an encrypted file's bytes.
pub async fn open_bytes(
    input: &[u8],
    format: Format,
    keys: &[Arc<dyn MasterKey>],
    opts: &DecryptOptions,
) -> Result<SopsFile> {
    decrypt(format.parse_encrypted(input)?, keys, opts).await
}

/// Decrypt an encrypted file's bytes to plaintext bytes in the same format.
pub async fn decrypt_bytes(
    input: &[u8],
    format: Format,
    keys: &[Arc<dyn MasterKey>],
    opts: &DecryptOptions,
) -> Result<Zeroizing<Vec<u8>>> {
    open_bytes(input, format, keys, opts)
        .await?
        .to_plain_bytes(format)
}

//! The document tree: ordered mappings, sequences, typed scalars and comments, as sops models them.

/// A comment line (the text after `#`, including any leading space).
#[derive(Clone, PartialEq, Eq)]
pub struct Comment {
    /// The text after `#`.
    pub text: String,
    /// Whether it was written on the same line as the preceding value.
    pub inline: bool,
}

impl std::fmt::Debug for Comment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Comment")
            .field("text", &"<redacted>")
            .field("inline", &self.inline)
            .finish()
    }
}

/// A value in the tree.
#[derive(Clone, PartialEq)]
pub enum Value {
    /// `null` / `~`: never encrypted, not in the MAC.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string (also `ENC[...]` ciphertexts).
    Str(String),
    /// A timestamp, kept as RFC 3339 (nano) text.
    Time(String),
    /// An ordered mapping.
    Map(Vec<MapItem>),
    /// A sequence.
    Seq(Vec<SeqItem>),
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Null => f.write_str("Null"),
            Value::Bool(_) => f.write_str("Bool(<redacted>)"),
            Value::Int(_) => f.write_str("Int(<redacted>)"),
            Value::Float(_) => f.write_str("Float(<redacted>)"),
            Value::Str(_) => f.write_str("Str(<redacted>)"),
            Value::Time(_) => f.write_str("Time(<redacted>)"),
            Value::Map(items) => f.debug_list().entries(items).finish(),
            Value::Seq(items) => f.debug_list().entries(items).finish(),
        }
    }
}

/// An item of a mapping.
#[derive(Debug, Clone, PartialEq)]
pub enum MapItem {
    /// `key: value`.
    Entry(String, Value),
    /// A comment line.
    Comment(Comment),
}

/// An item of a sequence.
#[derive(Debug, Clone, PartialEq)]
pub enum SeqItem {
    /// An element.
    Value(Value),
    /// A comment line.
    Comment(Comment),
}

/// A whole file: one or more documents, each a top-level mapping.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tree {
    /// The documents, in order (YAML may have several; other formats have one).
    pub documents: Vec<Vec<MapItem>>,
}

impl Value {
    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::Time(s) => Some(s),
            _ => None,
        }
    }
}

/// Look up `key` in a mapping's items.
pub fn get<'a>(items: &'a [MapItem], key: &str) -> Option<&'a Value> {
    items.iter().find_map(|i| match i {
        MapItem::Entry(k, v) if k == key => Some(v),
        _ => None,
    })
}

/// Look up `key` in a mapping's items, mutably.
pub fn get_mut<'a>(items: &'a mut [MapItem], key: &str) -> Option<&'a mut Value> {
    items.iter_mut().find_map(|i| match i {
        MapItem::Entry(k, v) if k == key => Some(v),
        _ => None,
    })
}

/// Remove `key` from a mapping's items; returns its value.
pub fn remove(items: &mut Vec<MapItem>, key: &str) -> Option<Value> {
    let pos = items
        .iter()
        .position(|i| matches!(i, MapItem::Entry(k, _) if k == key))?;
    match items.remove(pos) {
        MapItem::Entry(_, v) => Some(v),
        MapItem::Comment(_) => None,
    }
}

/// Every non-null scalar of the tree in document order, with its key path (sequence indices are not part
/// of a path, as in sops' AADs).
pub fn leaves(tree: &Tree) -> Vec<(Vec<String>, &Value)> {
    fn walk<'a>(v: &'a Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, &'a Value)>) {
        match v {
            Value::Map(items) => {
                for i in items {
                    if let MapItem::Entry(k, v) = i {
                        path.push(k.clone());
                        walk(v, path, out);
                        path.pop();
                    }
                }
            }
            Value::Seq(items) => {
                for i in items {
                    if let SeqItem::Value(v) = i {
                        walk(v, path, out);
                    }
                }
            }
            Value::Null => {}
            v => out.push((path.clone(), v)),
        }
    }
    let mut out = Vec::new();
    for doc in &tree.documents {
        for i in doc {
            if let MapItem::Entry(k, v) = i {
                let mut path = vec![k.clone()];
                walk(v, &mut path, &mut out);
            }
        }
    }
    out
}

/// The bytes sops feeds to the MAC for a scalar (`True`/`False` for booleans, Go `'f'` floats).
pub fn scalar_bytes(v: &Value) -> Option<Vec<u8>> {
    Some(match v {
        Value::Str(s) | Value::Time(s) => s.as_bytes().to_vec(),
        Value::Int(i) => i.to_string().into_bytes(),
        Value::Float(f) => crate::gofmt::format_f(*f).into_bytes(),
        Value::Bool(b) => (if *b { "True" } else { "False" }).as_bytes().to_vec(),
        _ => return None,
    })
}

/// How deeply values may nest (the document's top-level mapping is level 1). Every parser refuses deeper
/// input with a clear error, and the engine refuses deeper trees built in code, so the recursive walks
/// (encrypt, decrypt, emit) stay far from the stack's end. 128 is serde_json's limit too; real SOPS
/// files (Kubernetes Secrets, Helm values) rarely nest past 20.
pub const MAX_DEPTH: usize = 128;

/// The advice that goes with a too-deep error.
pub(crate) fn too_deep_message() -> String {
    format!(
        "the document is nested more than {MAX_DEPTH} levels deep; flatten it (no real configuration nests this deep)"
    )
}

/// The nesting depth of a value: 0 for a scalar, 1 for a collection of scalars. Iterative.
pub fn depth(v: &Value) -> usize {
    let mut max = 0;
    let mut todo = vec![(v, 0usize)];
    while let Some((v, d)) = todo.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Map(items) => Box::new(items.iter().filter_map(|i| match i {
                MapItem::Entry(_, v) => Some(v),
                MapItem::Comment(_) => None,
            })),
            Value::Seq(items) => Box::new(items.iter().filter_map(|i| match i {
                SeqItem::Value(v) => Some(v),
                SeqItem::Comment(_) => None,
            })),
            _ => continue,
        };
        max = max.max(d + 1);
        todo.extend(children.map(|c| (c, d + 1)));
    }
    max
}

/// Refuse a tree nested deeper than [`MAX_DEPTH`] (each document's mapping counts as level 1).
pub fn check_depth(tree: &Tree) -> crate::Result<()> {
    for doc in &tree.documents {
        for item in doc {
            if let MapItem::Entry(_, v) = item
                && depth(v) + 1 > MAX_DEPTH
            {
                return Err(crate::Error::InvalidInput {
                    what: "tree".into(),
                    why: too_deep_message(),
                });
            }
        }
    }
    Ok(())
}

/// The key paths (`a:b`, sequence indices left out as in sops' AADs) of keys that appear more than once
/// in the same mapping (a mapping's own duplicates before those of its children). sops keeps such entries as they are (its stores do not check);
/// most readers of the decrypted file then keep only one of them, so callers should warn.
pub fn duplicate_keys(tree: &Tree) -> Vec<String> {
    let mut out = Vec::new();
    for doc in &tree.documents {
        let mut todo: Vec<(&[MapItem], Vec<String>)> = vec![(doc.as_slice(), Vec::new())];
        let mut seqs: Vec<(&[SeqItem], Vec<String>)> = Vec::new();
        while !todo.is_empty() || !seqs.is_empty() {
            if let Some((items, path)) = todo.pop() {
                let mut seen = std::collections::HashSet::new();
                let mut children = Vec::new();
                for i in items {
                    if let MapItem::Entry(k, v) = i {
                        let mut p = path.clone();
                        p.push(k.clone());
                        if !seen.insert(k.as_str()) {
                            out.push(p.join(":"));
                        }
                        children.push((v, p));
                    }
                }
                for (v, p) in children.into_iter().rev() {
                    match v {
                        Value::Map(m) => todo.push((m, p)),
                        Value::Seq(s) => seqs.push((s, p)),
                        _ => {}
                    }
                }
            } else if let Some((items, path)) = seqs.pop() {
                for i in items.iter().rev() {
                    match i {
                        SeqItem::Value(Value::Map(m)) => todo.push((m, path.clone())),
                        SeqItem::Value(Value::Seq(s)) => seqs.push((s, path.clone())),
                        _ => {}
                    }
                }
            }
        }
    }
    out
}

//! The dotenv store: `KEY=VALUE` lines and `#` comments; the metadata is flattened into `sops_*` keys.

use crate::error::{Error, Result};
use crate::tree::{Comment, MapItem, SeqItem, Tree, Value};

/// Parse a dotenv file. Values are strings; `\n` in a value stands for a newline.
pub fn parse(text: &str) -> Result<Tree> {
    let mut items = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        if let Some(c) = line.strip_prefix('#') {
            items.push(MapItem::Comment(Comment {
                text: c.to_string(),
                inline: false,
            }));
            continue;
        }
        let (k, v) = line.split_once('=').ok_or_else(|| Error::Parse {
            format: "dotenv",
            why: format!("line {}: expected KEY=VALUE", n + 1),
        })?;
        items.push(MapItem::Entry(
            k.to_string(),
            Value::Str(v.replace("\\n", "\n")),
        ));
    }
    let mut tree = Tree {
        documents: vec![items],
    };
    unflatten_metadata(&mut tree)?;
    Ok(tree)
}

fn scalar_text(v: &Value) -> Result<String> {
    Ok(match v {
        Value::Str(s) | Value::Time(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => crate::gofmt::format_f(*f),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        _ => {
            return Err(Error::Unsupported(
                "dotenv files can only hold flat string values; nested values need YAML or JSON"
                    .into(),
            ));
        }
    })
}

/// Emit a dotenv file (first document), flattening the `sops` metadata into `sops_*` keys.
pub fn emit(tree: &Tree) -> Result<String> {
    let mut out = String::new();
    let doc = tree.documents.first().cloned().unwrap_or_default();
    for item in &doc {
        match item {
            MapItem::Comment(c) => {
                out.push('#');
                out.push_str(&c.text);
                out.push('\n');
            }
            MapItem::Entry(k, v) if k == "sops" => {
                let mut flat = Vec::new();
                flatten("sops", v, &mut flat);
                for (k, v) in flat {
                    out.push_str(&format!("{k}={}\n", v.replace('\n', "\\n")));
                }
            }
            MapItem::Entry(k, v) => {
                out.push_str(&format!("{k}={}\n", scalar_text(v)?.replace('\n', "\\n")));
            }
        }
    }
    Ok(out)
}

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Map(items) => {
            for i in items {
                if let MapItem::Entry(k, v) = i {
                    let sep = if prefix == "sops" { "_" } else { "__map_" };
                    flatten(&format!("{prefix}{sep}{k}"), v, out);
                }
            }
        }
        Value::Seq(items) => {
            for (n, v) in items
                .iter()
                .filter_map(|i| {
                    if let SeqItem::Value(v) = i {
                        Some(v)
                    } else {
                        None
                    }
                })
                .enumerate()
            {
                flatten(&format!("{prefix}__list_{n}"), v, out);
            }
        }
        other => out.push((prefix.to_string(), scalar_text(other).unwrap_or_default())),
    }
}

/// `entries`: how many `sops_*` lines the file has. Every list element needs at least one, so a larger index
/// is malformed (and must not make the parser allocate that many elements).
fn insert(target: &mut Value, path: &[&str], value: Value, entries: usize) -> Result<()> {
    let Some((head, rest)) = path.split_first() else {
        *target = value;
        return Ok(());
    };
    if let Some(idx) = head.strip_prefix("list_") {
        let idx: usize = idx
            .parse()
            .map_err(|_| Error::metadata(format!("bad flattened list index `{head}`")))?;
        if idx >= entries {
            return Err(Error::metadata(format!(
                "flattened list index `{head}` is larger than the file's {entries} sops_* entries; the dotenv metadata is corrupted"
            )));
        }
        if !matches!(target, Value::Seq(_)) {
            *target = Value::Seq(Vec::new());
        }
        if let Value::Seq(items) = target {
            while items.len() <= idx {
                items.push(SeqItem::Value(Value::Null));
            }
            if let SeqItem::Value(v) = &mut items[idx] {
                return insert(v, rest, value, entries);
            }
        }
        return Ok(());
    }
    let key = head.strip_prefix("map_").unwrap_or(head);
    if !matches!(target, Value::Map(_)) {
        *target = Value::Map(Vec::new());
    }
    if let Value::Map(items) = target {
        if crate::tree::get(items, key).is_none() {
            items.push(MapItem::Entry(key.to_string(), Value::Null));
        }
        if let Some(v) = crate::tree::get_mut(items, key) {
            return insert(v, rest, value, entries);
        }
    }
    Ok(())
}

/// Gather `sops_*` keys into a nested `sops` entry at the end of the document.
fn unflatten_metadata(tree: &mut Tree) -> Result<()> {
    let Some(doc) = tree.documents.first_mut() else {
        return Ok(());
    };
    let entries = doc
        .iter()
        .filter(|i| matches!(i, MapItem::Entry(k, _) if k.starts_with("sops_")))
        .count();
    let mut meta = Value::Map(Vec::new());
    let mut found = false;
    let mut rest = Vec::new();
    for item in doc.drain(..) {
        match item {
            MapItem::Entry(k, v) if k.starts_with("sops_") => {
                found = true;
                let path: Vec<&str> = k["sops_".len()..].split("__").collect();
                // `insert` recurses once per segment: bound it like every other store
                if path.len() >= crate::tree::MAX_DEPTH {
                    return Err(Error::Parse {
                        format: "dotenv",
                        why: format!(
                            "metadata key `{}…`: {}",
                            k.chars().take(40).collect::<String>(),
                            crate::tree::too_deep_message()
                        ),
                    });
                }
                let v = match (path.last().copied(), v) {
                    (Some("mac_only_encrypted"), Value::Str(s)) => Value::Bool(s == "true"),
                    (Some("shamir_threshold"), Value::Str(s)) => Value::Int(
                        s.parse()
                            .map_err(|_| Error::metadata("shamir_threshold is not a number"))?,
                    ),
                    (_, v) => v,
                };
                insert(&mut meta, &path, v, entries)?;
            }
            other => rest.push(other),
        }
    }
    if found {
        rest.push(MapItem::Entry("sops".into(), meta));
    }
    *doc = rest;
    Ok(())
}

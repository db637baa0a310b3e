//! The JSON store: key order kept, tab-indented output, Go's `encoding/json` escaping.

use crate::error::{Error, Result};
use crate::gofmt;
use crate::tree::{MapItem, SeqItem, Tree, Value};
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};

struct V(Value);

impl<'de> serde::Deserialize<'de> for V {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor).map(V)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v)
            .map(Value::Int)
            .unwrap_or(Value::Float(v as f64)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(V(v)) = a.next_element()? {
            items.push(SeqItem::Value(v));
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some((k, V(v))) = a.next_entry::<String, V>()? {
            items.push(MapItem::Entry(k, v));
        }
        Ok(Value::Map(items))
    }
}

/// Parse a JSON document (its top level must be an object).
pub fn parse(text: &str) -> Result<Tree> {
    let V(v) = serde_json::from_str(text).map_err(|e: serde_json::Error| Error::Parse {
        format: "json",
        why: format!("line {} column {}: {}", e.line(), e.column(), classify(&e)),
    })?;
    match v {
        Value::Map(items) => Ok(Tree {
            documents: vec![items],
        }),
        _ => Err(Error::Parse {
            format: "json",
            why: "the top level must be an object".into(),
        }),
    }
}

fn classify(e: &serde_json::Error) -> String {
    // serde_json stops at 128 levels (the same as crate::tree::MAX_DEPTH) with a "syntax" error; say why
    if e.to_string().starts_with("recursion limit exceeded") {
        return crate::tree::too_deep_message();
    }
    let s = match e.classify() {
        serde_json::error::Category::Eof => "unexpected end of input",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected data",
        serde_json::error::Category::Io => "read error",
    };
    s.to_string()
}

/// Go `encoding/json` string encoding (HTML-safe).
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn write(out: &mut String, v: &Value, depth: usize, indent: &str) {
    let nl = |out: &mut String, d: usize| {
        if !indent.is_empty() {
            out.push('\n');
            for _ in 0..d {
                out.push_str(indent);
            }
        }
    };
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&gofmt::format_json(*f)),
        Value::Str(s) | Value::Time(s) => out.push_str(&quote(s)),
        Value::Map(items) => {
            let entries: Vec<_> = items
                .iter()
                .filter_map(|i| match i {
                    MapItem::Entry(k, v) => Some((k, v)),
                    MapItem::Comment(_) => None,
                })
                .collect();
            if entries.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (n, (k, v)) in entries.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                nl(out, depth + 1);
                out.push_str(&quote(k));
                out.push(':');
                if !indent.is_empty() {
                    out.push(' ');
                }
                write(out, v, depth + 1, indent);
            }
            nl(out, depth);
            out.push('}');
        }
        Value::Seq(items) => {
            let vals: Vec<_> = items
                .iter()
                .filter_map(|i| match i {
                    SeqItem::Value(v) => Some(v),
                    SeqItem::Comment(_) => None,
                })
                .collect();
            if vals.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (n, v) in vals.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                nl(out, depth + 1);
                write(out, v, depth + 1, indent);
            }
            nl(out, depth);
            out.push(']');
        }
    }
}

/// Emit the first document as sops writes JSON: tab indent, and a trailing newline.
pub fn emit(tree: &Tree) -> String {
    let mut out = String::new();
    let doc = tree.documents.first().cloned().unwrap_or_default();
    write(&mut out, &Value::Map(doc), 0, "\t");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_types_survive_a_round_trip() {
        let src = "{\n\t\"z\": 1,\n\t\"a\": {\n\t\t\"f\": 1.5,\n\t\t\"l\": [\n\t\t\ttrue,\n\t\t\tnull\n\t\t],\n\t\t\"e\": {}\n\t},\n\t\"s\": \"<&>\"\n}\n";
        let tree = parse(src).unwrap();
        assert_eq!(emit(&tree), src.replace("<&>", "\\u003c\\u0026\\u003e"));
    }
}

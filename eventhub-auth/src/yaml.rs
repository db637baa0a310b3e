//! A small YAML emitter for manifests: block style, mapping keys sorted, sequences at their key's indent
//! (go-yaml style), strings plain when unambiguous and JSON-double-quoted otherwise (JSON strings are valid
//! YAML double-quoted scalars). Used until flux-objects' renderer can take these objects.

use serde_json::Value;
use std::fmt::Write as _;

/// Renders `value` as one YAML document (no `---`).
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => write_seq(&mut out, items, 0),
        scalar => {
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
    out
}

/// Renders several documents separated by `---` lines.
pub fn to_yaml_stream(values: &[Value]) -> String {
    let docs: Vec<String> = values.iter().map(to_yaml).collect();
    docs.join("---\n")
}

fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, indent: usize) {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    for (i, key) in keys.into_iter().enumerate() {
        if i > 0 {
            push_indent(out, indent);
        }
        out.push_str(&string_text(key));
        out.push(':');
        write_value_after_key(out, &map[key], indent);
    }
}

fn write_value_after_key(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            push_indent(out, indent + 2);
            write_map(out, map, indent + 2);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            push_indent(out, indent);
            write_seq(out, items, indent);
        }
        scalar => {
            out.push(' ');
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
}

fn write_seq(out: &mut String, items: &[Value], indent: usize) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            push_indent(out, indent);
        }
        out.push_str("- ");
        match item {
            Value::Object(map) if !map.is_empty() => write_map(out, map, indent + 2),
            Value::Array(inner) if !inner.is_empty() => write_seq(out, inner, indent + 2),
            scalar => {
                out.push_str(&scalar_text(scalar));
                out.push('\n');
            }
        }
    }
}

fn push_indent(out: &mut String, n: usize) {
    let _ = write!(out, "{:n$}", "");
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string_text(s),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
    }
}

fn string_text(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_owned()
    } else {
        Value::String(s.to_owned()).to_string()
    }
}

fn is_plain_safe(s: &str) -> bool {
    const RESERVED: &[&str] = &[
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~",
    ];
    let Some(first) = s.chars().next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '/')
        && !s.ends_with([' ', ':'])
        && !s.contains(": ")
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '/' | ':' | '@' | ' ')
        })
        && !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_sorted_block_yaml() {
        let v = json!({
            "kind": "Role",
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "metadata": {"name": "r", "labels": {}},
            "rules": [{"verbs": ["get", "create"], "apiGroups": [""]}],
            "num": 1, "b": true, "z": null,
            "s": ["3600", "yes", "a: b", "multi\nline", "x #y", "-dash", "sb://h/"],
        });
        let expected = "apiVersion: rbac.authorization.k8s.io/v1\nb: true\nkind: Role\nmetadata:\n  labels: {}\n  name: r\nnum: 1\nrules:\n- apiGroups:\n  - \"\"\n  verbs:\n  - get\n  - create\ns:\n- \"3600\"\n- \"yes\"\n- \"a: b\"\n- \"multi\\nline\"\n- \"x #y\"\n- \"-dash\"\n- sb://h/\nz: null\n";
        assert_eq!(to_yaml(&v), expected);
    }

    #[test]
    fn stream_separates_documents() {
        assert_eq!(
            to_yaml_stream(&[json!({"a": "b"}), json!({"c": []})]),
            "a: b\n---\nc: []\n"
        );
    }
}

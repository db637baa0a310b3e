//! Reading a TOML configuration file so that one structural mistake does not hide the others.
//!
//! `toml::from_str` stops at the first problem: a syntax error, an unknown key (`deny_unknown_fields`) or
//! a value of the wrong type. People fixing `azflux.toml` want every problem at once, with its line, as
//! the value validation already reports them. [`read`] therefore:
//!
//! 1. parses with `DeTable::parse_recoverable`, which keeps going after a syntax error and returns all of
//!    them together with the document it could recover;
//! 2. deserializes the recovered document; when serde refuses an entry (an unknown key, a wrong type), it
//!    records serde's message at that entry's line, removes the entry, and tries again, until the rest
//!    deserializes (bounded by the number of entries, since each round removes one).
//!
//! The caller then validates the values of what remains, so the file's structural and value problems are
//! reported together.

use super::config::Problem;
use serde::de::DeserializeOwned;
use std::ops::Range;
use toml::de::{DeTable, DeValue};

/// The document deserialized as `T` (when anything of it could be: `None` only when nothing could), and
/// every structural problem found on the way, in file order.
pub fn read<T: DeserializeOwned>(text: &str) -> (Option<T>, Vec<Problem>) {
    let line = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let (mut doc, errors) = DeTable::parse_recoverable(text);
    let mut problems: Vec<Problem> = errors
        .iter()
        .map(|e| Problem {
            line: e.span().map(|s| line(s.start)).unwrap_or(0),
            key: "syntax".into(),
            message: e.message().to_owned(),
        })
        .collect();
    let rounds = count_entries(doc.get_ref()) + 1;
    for _ in 0..rounds {
        let attempt = T::deserialize(toml::de::Deserializer::from(doc.clone()));
        let e = match attempt {
            Ok(value) => {
                problems.sort_by_key(|p| p.line);
                return (Some(value), problems);
            }
            Err(e) => e,
        };
        let removed = e
            .span()
            .and_then(|span| remove_at(doc.get_mut(), &span, ""));
        match removed {
            Some((key, at)) => problems.push(Problem {
                line: line(at),
                key,
                message: e.message().to_owned(),
            }),
            None => {
                // Nothing to point at (or remove): report it and give up on the structure.
                problems.push(Problem {
                    line: e.span().map(|s| line(s.start)).unwrap_or(0),
                    key: "syntax".into(),
                    message: e.message().to_owned(),
                });
                break;
            }
        }
    }
    problems.sort_by_key(|p| p.line);
    (None, problems)
}

fn count_entries(table: &DeTable<'_>) -> usize {
    table
        .iter()
        .map(|(_, v)| 1 + count_value(v.get_ref()))
        .sum()
}

fn count_value(value: &DeValue<'_>) -> usize {
    match value {
        DeValue::Table(t) => count_entries(t),
        DeValue::Array(a) => a.iter().map(|v| 1 + count_value(v.get_ref())).sum(),
        _ => 0,
    }
}

fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end.max(outer.start + 1)
}

/// Removes the innermost entry of `table` whose key or value holds `span`: its dotted key and where it
/// starts. Tables inside arrays (`[[helm.releases]]`) are searched too; an entry of any other array is
/// removed with its whole key. (Children are searched whatever their parent's span: the span of a
/// `[section]` table covers its header, not its body.)
fn remove_at(
    table: &mut DeTable<'_>,
    span: &Range<usize>,
    prefix: &str,
) -> Option<(String, usize)> {
    let mut found = None;
    for (k, v) in table.iter_mut() {
        let (key_span, value_span) = (k.span(), v.span());
        let path = if prefix.is_empty() {
            k.get_ref().to_string()
        } else {
            format!("{prefix}.{}", k.get_ref())
        };
        if !contains(&key_span, span) {
            match v.get_mut() {
                DeValue::Table(inner) => {
                    if let Some(hit) = remove_at(inner, span, &path) {
                        return Some(hit);
                    }
                }
                DeValue::Array(items) => {
                    for item in items.iter_mut() {
                        if let DeValue::Table(inner) = item.get_mut()
                            && let Some(hit) = remove_at(inner, span, &path)
                        {
                            return Some(hit);
                        }
                    }
                }
                _ => {}
            }
        }
        if found.is_none() && (contains(&key_span, span) || contains(&value_span, span)) {
            found = Some((k.get_ref().to_string(), path, key_span.start));
        }
    }
    let (name, path, at) = found?;
    table.remove(name.as_str())?;
    Some((path, at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use toml::Spanned;

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        a: Option<Spanned<A>>,
        list: Option<Vec<Spanned<Item>>>,
    }
    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct A {
        name: Option<Spanned<String>>,
        flag: Option<bool>,
        names: Option<Vec<String>>,
    }
    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        x: Option<String>,
    }

    #[test]
    fn every_unknown_key_and_wrong_type_is_reported_and_the_rest_is_kept() {
        let text = "[a]\nname = \"kept\"\nregion = \"x\"\nflag = \"yes\"\nnames = [\"a\", 1]\n\n[[list]]\nx = \"1\"\n[[list]]\ny = 2\n[other]\nz = 1\n";
        let (doc, problems) = read::<Doc>(text);
        let keys: Vec<_> = problems.iter().map(|p| (p.line, p.key.as_str())).collect();
        assert_eq!(
            keys,
            [
                (3, "a.region"),
                (4, "a.flag"),
                (5, "a.names"),
                (10, "list.y"),
                (11, "other")
            ],
            "{problems:#?}"
        );
        assert!(
            problems[0].message.contains("unknown field `region`"),
            "{problems:#?}"
        );
        let doc = doc.unwrap();
        let a = doc.a.unwrap().into_inner();
        let name = a.name.unwrap();
        assert_eq!(name.get_ref(), "kept");
        // Spans still point into the original text.
        assert_eq!(&text[name.span()], "\"kept\"");
        assert_eq!(doc.list.unwrap().len(), 2);
    }

    #[test]
    fn syntax_errors_are_all_reported_with_lines() {
        let (_, problems) = read::<Doc>("[a]\nname = \nflag = true\nnames = [\n");
        assert!(!problems.is_empty());
        assert!(problems.iter().all(|p| p.line > 0), "{problems:#?}");
        assert_eq!(problems[0].line, 2, "{problems:#?}");
    }
}

//! The YAML store: parse with comments and key order kept, emit the way sops (go-yaml v3, indent 4) does.

use crate::error::{Error, Result};
use crate::gofmt;
use crate::tree::{self, Comment, MapItem, SeqItem, Tree, Value};
use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use std::collections::HashMap;

fn perr(why: impl Into<String>) -> Error {
    Error::Parse {
        format: "yaml",
        why: why.into(),
    }
}

enum Frame {
    Map {
        items: Vec<MapItem>,
        key: Option<String>,
        anchor: usize,
        col: usize,
    },
    Seq {
        items: Vec<SeqItem>,
        anchor: usize,
        col: usize,
    },
}

impl Frame {
    fn col(&self) -> usize {
        match self {
            Frame::Map { col, .. } | Frame::Seq { col, .. } => *col,
        }
    }
    fn push_comment(&mut self, c: Comment) {
        match self {
            Frame::Map { items, .. } => items.push(MapItem::Comment(c)),
            Frame::Seq { items, .. } => items.push(SeqItem::Comment(c)),
        }
    }
}

struct Source<'a> {
    text: &'a str,
    /// byte offset of every char index (plus the end)
    offsets: Vec<usize>,
}

impl<'a> Source<'a> {
    fn new(text: &'a str) -> Self {
        let mut offsets: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
        offsets.push(text.len());
        Self { text, offsets }
    }
    fn byte(&self, char_idx: usize) -> usize {
        self.offsets
            .get(char_idx)
            .copied()
            .unwrap_or(self.text.len())
    }
    /// Comments in the gap between two char positions: (comment, column, inline).
    fn comments(&self, from: usize, to: usize, at_start: bool) -> Vec<(Comment, usize)> {
        let (a, b) = (self.byte(from), self.byte(to));
        if a >= b {
            return Vec::new();
        }
        let gap = &self.text[a..b];
        let mut out = Vec::new();
        let mut seen_newline = at_start || self.text[..a].ends_with('\n');
        let mut prev_ws = true;
        let mut i = 0;
        let bytes = gap.as_bytes();
        while i < bytes.len() {
            let c = bytes[i];
            if c == b'\n' {
                seen_newline = true;
                prev_ws = true;
                i += 1;
                continue;
            }
            if c == b'#' && prev_ws {
                let end = gap[i..].find('\n').map(|e| i + e).unwrap_or(gap.len());
                let text = gap[i + 1..end].trim_end_matches('\r').to_string();
                let abs = a + i;
                let line_start = self.text[..abs].rfind('\n').map(|p| p + 1).unwrap_or(0);
                let col = self.text[line_start..abs].chars().count();
                let own_line = self.text[line_start..abs].trim().is_empty();
                out.push((
                    Comment {
                        text,
                        inline: !seen_newline && !own_line,
                    },
                    col,
                ));
                i = end;
                continue;
            }
            prev_ws = c == b' ' || c == b'\t' || c == b'\r';
            i += 1;
        }
        out
    }
}

fn is_null(s: &str) -> bool {
    matches!(s, "" | "~" | "null" | "Null" | "NULL")
}

fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

fn parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return None;
    }
    let plain = body.replace('_', "");
    let v = if let Some(h) = plain.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()?
    } else if let Some(o) = plain.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()?
    } else if let Some(b) = plain.strip_prefix("0b") {
        i64::from_str_radix(b, 2).ok()?
    } else if plain.bytes().all(|c| c.is_ascii_digit()) {
        if plain.len() > 1 && plain.starts_with('0') {
            i64::from_str_radix(&plain, 8).ok()?
        } else {
            plain.parse::<i64>().ok()?
        }
    } else {
        return None;
    };
    Some(if neg { -v } else { v })
}

fn parse_float(s: &str) -> Option<f64> {
    match s {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits_start = i;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut had_digits = i > digits_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let f = i;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
        had_digits |= i > f;
    }
    if !had_digits {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let e = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == e {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    s.replace('_', "").parse().ok()
}

/// Parse a YAML timestamp (the forms go-yaml v3 resolves) to RFC 3339 (nano) text.
pub(crate) fn parse_timestamp(s: &str) -> Option<String> {
    use time::format_description::well_known::Rfc3339;
    let b = s.as_bytes();
    if b.len() < 8 || !b[0].is_ascii_digit() || b.get(4) != Some(&b'-') {
        return None;
    }
    let (date, rest) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mut parts = date.split('-');
    let y: i32 = parts.next()?.parse().ok()?;
    let m: u8 = parts.next()?.parse().ok()?;
    let d: u8 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || date.len() > 10 {
        return None;
    }
    let date = time::Date::from_calendar_date(y, time::Month::try_from(m).ok()?, d).ok()?;
    let dt = match rest {
        None => date.with_hms(0, 0, 0).ok()?.assume_utc(),
        Some(rest) => {
            let rest = rest.trim_start();
            let tz_pos = rest.find(['Z', 'z', '+']).or_else(|| rest.rfind('-'));
            let (clock, tz) = match tz_pos {
                Some(p) => (&rest[..p], rest[p..].trim()),
                None => (rest.trim_end(), ""),
            };
            let clock = clock.trim_end();
            let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
            let mut hp = hms.split(':');
            let h: u8 = hp.next()?.parse().ok()?;
            let mi: u8 = hp.next()?.parse().ok()?;
            let sec: u8 = hp.next()?.parse().ok()?;
            if hp.next().is_some() || !frac.bytes().all(|c| c.is_ascii_digit()) || frac.len() > 9 {
                return None;
            }
            let nanos: u32 = if frac.is_empty() {
                0
            } else {
                format!("{frac:0<9}").parse().ok()?
            };
            let t = time::Time::from_hms_nano(h, mi, sec, nanos).ok()?;
            let offset = if tz.is_empty() || tz.eq_ignore_ascii_case("z") {
                time::UtcOffset::UTC
            } else {
                let sign: i8 = if tz.starts_with('-') { -1 } else { 1 };
                let body = &tz[1..];
                let (oh, om) = match body.split_once(':') {
                    Some((a, b)) => (a.parse::<i8>().ok()?, b.parse::<i8>().ok()?),
                    None if body.len() <= 2 => (body.parse::<i8>().ok()?, 0),
                    None => (body[..2].parse::<i8>().ok()?, body[2..].parse::<i8>().ok()?),
                };
                time::UtcOffset::from_hms(sign * oh, sign * om, 0).ok()?
            };
            date.with_time(t).assume_offset(offset)
        }
    };
    dt.format(&Rfc3339).ok()
}

/// Resolve a plain scalar the way go-yaml v3 does when decoding into `interface{}`.
fn resolve_plain(s: &str) -> Value {
    if is_null(s) {
        return Value::Null;
    }
    if let Some(b) = parse_bool(s) {
        return Value::Bool(b);
    }
    if let Some(i) = parse_int(s) {
        return Value::Int(i);
    }
    if let Some(f) = parse_float(s) {
        return Value::Float(f);
    }
    if let Some(t) = parse_timestamp(s) {
        return Value::Time(t);
    }
    Value::Str(s.to_string())
}

/// Whether a string would be read back as something other than a string by go-yaml.
fn resolves_non_string(s: &str) -> bool {
    !matches!(resolve_plain(s), Value::Str(_))
}

fn is_old_bool(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
    )
}

fn is_base60_float(s: &str) -> bool {
    // [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?
    let s = s.trim_start_matches(['-', '+']);
    let (head, _) = s.split_once('.').unwrap_or((s, ""));
    let mut parts = head.split(':');
    let first = parts.next().unwrap_or("");
    let mut n = 0;
    if first.is_empty()
        || !first.as_bytes()[0].is_ascii_digit()
        || !first.bytes().all(|c| c.is_ascii_digit() || c == b'_')
    {
        return false;
    }
    for p in parts {
        n += 1;
        if p.is_empty()
            || p.len() > 2
            || !p.bytes().all(|c| c.is_ascii_digit())
            || (p.len() == 2 && p.as_bytes()[0] > b'5')
        {
            return false;
        }
    }
    n > 0
}

/// How many values aliases may copy in one stream in all (anchors are expanded by copying): beyond it the input
/// is an alias bomb ("billion laughs"), not a sops file.
const MAX_ALIAS_NODES: usize = 1_000_000;

/// The number of values in `v` (itself included), counted iteratively.
fn node_count(v: &Value) -> usize {
    let mut n = 0usize;
    let mut todo = vec![v];
    while let Some(v) = todo.pop() {
        n = n.saturating_add(1);
        match v {
            Value::Map(items) => todo.extend(items.iter().filter_map(|i| match i {
                MapItem::Entry(_, v) => Some(v),
                MapItem::Comment(_) => None,
            })),
            Value::Seq(items) => todo.extend(items.iter().filter_map(|i| match i {
                SeqItem::Value(v) => Some(v),
                SeqItem::Comment(_) => None,
            })),
            _ => {}
        }
    }
    n
}

/// Parse a YAML stream into a tree. Every document must be a mapping (or empty).
pub fn parse(text: &str) -> Result<Tree> {
    let mut alias_nodes = 0usize;
    let src = Source::new(text);
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut pending: Vec<(Comment, usize)> = Vec::new();
    // anchor id -> (value, node count, nesting depth)
    let mut anchors: HashMap<usize, (Value, usize, usize)> = HashMap::new();
    let mut docs: Vec<Vec<MapItem>> = Vec::new();
    let mut doc_root: Option<Vec<MapItem>> = None;
    let mut last_end = 0usize;
    let mut in_doc = false;

    while let Some(ev) = parser.next_event() {
        let (ev, span): (Event<'_>, Span) = ev.map_err(|e| {
            perr(format!(
                "line {} column {}: {}",
                e.marker().line(),
                e.marker().col() + 1,
                e.info()
            ))
        })?;
        let start = span.start.index();
        if start > last_end {
            let at_start = last_end == 0;
            pending.extend(src.comments(last_end, start, at_start));
        }
        last_end = last_end.max(span.end.index()).max(start);

        let mut completed: Option<(Value, usize)> = None;
        match ev {
            Event::StreamStart | Event::Nothing => {}
            Event::DocumentStart(_) => {
                in_doc = true;
                doc_root = None;
            }
            Event::DocumentEnd | Event::StreamEnd => {
                if in_doc {
                    let mut root = doc_root.take().unwrap_or_default();
                    for (c, _) in pending.drain(..) {
                        root.push(MapItem::Comment(c));
                    }
                    docs.push(root);
                    in_doc = false;
                }
            }
            Event::Alias(id) => {
                let (v, size, depth) = anchors
                    .get(&id)
                    .ok_or_else(|| perr("alias to an unknown anchor"))?;
                // the copy lands under the open collections: it must not carry the tree past the limit
                if stack.len() + depth > tree::MAX_DEPTH {
                    return Err(too_deep(&span));
                }
                alias_nodes = alias_nodes.saturating_add(*size);
                if alias_nodes > MAX_ALIAS_NODES {
                    return Err(perr(format!(
                        "aliases expand to more than {MAX_ALIAS_NODES} values (an alias bomb?); write the values out instead of nesting aliases"
                    )));
                }
                let v = v.clone();
                flush_all(&mut stack, &mut pending);
                completed = Some((v, 0));
            }
            Event::Scalar(text, style, anchor, tag) => {
                flush_all(&mut stack, &mut pending);
                let is_key = matches!(stack.last(), Some(Frame::Map { key: None, .. }));
                let v = if is_key {
                    Value::Str(text.to_string())
                } else if let Some(tag) = tag.as_deref() {
                    match tag.suffix.as_str() {
                        "str" => Value::Str(text.to_string()),
                        "int" => parse_int(&text)
                            .map(Value::Int)
                            .unwrap_or_else(|| Value::Str(text.to_string())),
                        "float" => parse_float(&text)
                            .map(Value::Float)
                            .unwrap_or_else(|| Value::Str(text.to_string())),
                        "bool" => parse_bool(&text)
                            .map(Value::Bool)
                            .unwrap_or_else(|| Value::Str(text.to_string())),
                        "null" => Value::Null,
                        _ => resolve_or_str(&text, style),
                    }
                } else {
                    resolve_or_str(&text, style)
                };
                completed = Some((v, anchor));
            }
            Event::MappingStart(anchor, _) => {
                if stack.len() >= tree::MAX_DEPTH {
                    return Err(too_deep(&span));
                }
                let col = span.start.col();
                flush_outer(&mut stack, &mut pending, col);
                stack.push(Frame::Map {
                    items: Vec::new(),
                    key: None,
                    anchor,
                    col,
                });
                flush_all(&mut stack, &mut pending);
            }
            Event::SequenceStart(anchor, _) => {
                if stack.len() >= tree::MAX_DEPTH {
                    return Err(too_deep(&span));
                }
                let col = span.start.col();
                flush_outer(&mut stack, &mut pending, col);
                stack.push(Frame::Seq {
                    items: Vec::new(),
                    anchor,
                    col,
                });
                flush_all(&mut stack, &mut pending);
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let mut frame = stack
                    .pop()
                    .ok_or_else(|| perr("unbalanced collection end"))?;
                let col = frame.col();
                let (mine, rest): (Vec<_>, Vec<_>) =
                    pending.drain(..).partition(|(_, c)| *c >= col);
                pending = rest;
                for (c, _) in mine {
                    frame.push_comment(c);
                }
                completed = Some(match frame {
                    Frame::Map { items, anchor, .. } => (Value::Map(items), anchor),
                    Frame::Seq { items, anchor, .. } => (Value::Seq(items), anchor),
                });
            }
        }
        if let Some((v, anchor)) = completed {
            if anchor != 0 {
                anchors.insert(anchor, (v.clone(), node_count(&v), tree::depth(&v)));
            }
            match stack.last_mut() {
                None => match v {
                    Value::Map(items) => doc_root = Some(items),
                    Value::Null => doc_root = Some(Vec::new()),
                    _ => return Err(perr("the top level of a document must be a mapping")),
                },
                Some(Frame::Map { items, key, .. }) => match key.take() {
                    None => match v {
                        Value::Str(k) => *key = Some(k),
                        _ => {
                            return Err(perr(
                                "mapping keys must be scalars (complex keys are not supported)",
                            ));
                        }
                    },
                    Some(k) => items.push(MapItem::Entry(k, v)),
                },
                Some(Frame::Seq { items, .. }) => items.push(SeqItem::Value(v)),
            }
        }
    }
    // An empty (or comments-only) stream has no document, as go-yaml decodes it: encrypt refuses it
    // (`Error::EmptyFile`), and readers treat it as an empty mapping.
    Ok(Tree { documents: docs })
}

fn too_deep(span: &Span) -> Error {
    perr(format!(
        "line {} column {}: {}",
        span.start.line(),
        span.start.col() + 1,
        tree::too_deep_message()
    ))
}

fn resolve_or_str(text: &str, style: ScalarStyle) -> Value {
    if style == ScalarStyle::Plain {
        resolve_plain(text)
    } else {
        Value::Str(text.to_string())
    }
}

/// Comments left of a new collection's column belong to the enclosing one.
fn flush_outer(stack: &mut [Frame], pending: &mut Vec<(Comment, usize)>, col: usize) {
    if let Some(top) = stack.last_mut() {
        let (outer, inner): (Vec<_>, Vec<_>) = pending.drain(..).partition(|(_, c)| *c < col);
        *pending = inner;
        for (c, _) in outer {
            top.push_comment(c);
        }
    }
}

fn flush_all(stack: &mut [Frame], pending: &mut Vec<(Comment, usize)>) {
    if let Some(top) = stack.last_mut() {
        for (c, _) in pending.drain(..) {
            top.push_comment(c);
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Emitter

enum Scalar {
    Inline(String),
    Literal { header: String, body: String },
}

fn is_printable(c: char) -> bool {
    matches!(c, '\n' | '\u{20}'..='\u{7e}' | '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}')
        && c != '\u{feff}'
}

fn plain_allowed(s: &str) -> bool {
    if s.is_empty()
        || s.starts_with(' ')
        || s.ends_with(' ')
        || s.starts_with("---")
        || s.starts_with("...")
    {
        return false;
    }
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let next = chars.get(i + 1).copied();
        let next_blank = matches!(next, None | Some(' ') | Some('\t') | Some('\n'));
        if !is_printable(c) || c == '\n' || c == '\t' {
            return false;
        }
        if i == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(c) {
                return false;
            }
            if (c == '?' || c == ':' || c == '-') && next_blank {
                return false;
            }
        } else {
            if c == ':' && next_blank {
                return false;
            }
            if c == '#' && chars[i - 1] == ' ' {
                return false;
            }
        }
    }
    true
}

fn single_allowed(s: &str) -> bool {
    s.chars().all(|c| is_printable(c) && c != '\n') && !s.is_empty()
}

fn double_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\0' => out.push_str("\\0"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{85}' => out.push_str("\\N"),
            '\u{a0}' => out.push_str("\\_"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if is_printable(c) => out.push(c),
            c if (c as u32) <= 0xff => out.push_str(&format!("\\x{:02X}", c as u32)),
            c if (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

fn string_scalar(s: &str) -> Scalar {
    let can_plain = !resolves_non_string(s) && !is_base60_float(s) && !is_old_bool(s);
    if s.contains('\n') {
        let trailing_space = s.split('\n').any(|l| l.ends_with(' ') || l.ends_with('\t'));
        let special = s.chars().any(|c| !is_printable(c));
        if !trailing_space && !special {
            let chomp = if !s.ends_with('\n') {
                "-"
            } else if s.ends_with("\n\n") || s == "\n" {
                "+"
            } else {
                ""
            };
            let hint = if s.starts_with(' ') || s.starts_with('\n') {
                "4"
            } else {
                ""
            };
            return Scalar::Literal {
                header: format!("|{hint}{chomp}"),
                body: s.to_string(),
            };
        }
        return Scalar::Inline(double_quote(s));
    }
    if can_plain && plain_allowed(s) {
        Scalar::Inline(s.to_string())
    } else if can_plain && single_allowed(s) {
        Scalar::Inline(format!("'{}'", s.replace('\'', "''")))
    } else {
        Scalar::Inline(double_quote(s))
    }
}

fn scalar(v: &Value) -> Scalar {
    match v {
        Value::Null => Scalar::Inline("null".into()),
        Value::Bool(b) => Scalar::Inline(if *b { "true".into() } else { "false".into() }),
        Value::Int(i) => Scalar::Inline(i.to_string()),
        Value::Float(f) => Scalar::Inline(if f.is_nan() {
            ".nan".into()
        } else if f.is_infinite() {
            if *f > 0.0 {
                ".inf".into()
            } else {
                "-.inf".into()
            }
        } else {
            gofmt::format_g(*f)
        }),
        Value::Time(t) => Scalar::Inline(t.clone()),
        Value::Str(s) => string_scalar(s),
        Value::Map(_) => Scalar::Inline("{}".into()),
        Value::Seq(_) => Scalar::Inline("[]".into()),
    }
}

fn key_text(k: &str) -> String {
    match string_scalar(k) {
        Scalar::Inline(s) => s,
        Scalar::Literal { .. } => double_quote(k),
    }
}

struct Emitter {
    out: String,
    step: usize,
}

impl Emitter {
    fn pad(&mut self, n: usize) {
        self.out.extend(std::iter::repeat_n(' ', n));
    }

    /// The indent of a block child of a node at `indent` (go-yaml v3's rounding rule).
    fn child(&self, indent: usize) -> usize {
        self.step * ((indent + self.step) / self.step)
    }

    fn literal(&mut self, header: &str, body: &str, indent: usize) {
        self.out.push_str(header);
        self.out.push('\n');
        let trimmed = body.strip_suffix('\n').unwrap_or(body);
        for line in trimmed.split('\n') {
            if !line.is_empty() {
                self.pad(indent);
                self.out.push_str(line);
            }
            self.out.push('\n');
        }
    }

    fn comment(&mut self, c: &Comment, indent: usize, after_value: bool) {
        if c.inline && after_value && self.out.ends_with('\n') {
            self.out.pop();
            self.out.push_str(" #");
            self.out.push_str(&c.text);
            self.out.push('\n');
        } else {
            self.pad(indent);
            self.out.push('#');
            self.out.push_str(&c.text);
            self.out.push('\n');
        }
    }

    /// `indent`: logical indent; `key_col`: where keys go; `first_inline`: the first key follows `- `.
    fn map(&mut self, items: &[MapItem], indent: usize, key_col: usize, mut first_inline: bool) {
        let mut after_value = false;
        for item in items {
            match item {
                MapItem::Comment(c) => {
                    if first_inline {
                        // a comment before the first key of a sequence item: write it after the dash line
                        self.out.push('\n');
                        first_inline = false;
                    }
                    self.comment(c, key_col, after_value);
                    after_value = false;
                }
                MapItem::Entry(k, v) => {
                    if first_inline {
                        first_inline = false;
                    } else {
                        self.pad(key_col);
                    }
                    self.out.push_str(&key_text(k));
                    self.out.push(':');
                    self.value_after_key(v, indent);
                    after_value = true;
                }
            }
        }
    }

    fn value_after_key(&mut self, v: &Value, indent: usize) {
        let child = self.child(indent);
        match v {
            Value::Map(items) if !items.is_empty() => {
                self.out.push('\n');
                self.map(items, child, child, false);
            }
            Value::Seq(items) if !items.is_empty() => {
                self.out.push('\n');
                self.seq(items, child, false);
            }
            _ => match scalar(v) {
                Scalar::Inline(s) => {
                    self.out.push(' ');
                    self.out.push_str(&s);
                    self.out.push('\n');
                }
                Scalar::Literal { header, body } => {
                    self.out.push(' ');
                    self.literal(&header, &body, child);
                }
            },
        }
    }

    fn seq(&mut self, items: &[SeqItem], indent: usize, mut first_inline: bool) {
        let mut after_value = false;
        for item in items {
            match item {
                SeqItem::Comment(c) => {
                    if first_inline {
                        self.out.push('\n');
                        first_inline = false;
                    }
                    self.comment(c, indent, after_value);
                    after_value = false;
                }
                SeqItem::Value(v) => {
                    if first_inline {
                        first_inline = false;
                    } else {
                        self.pad(indent);
                    }
                    self.out.push('-');
                    match v {
                        Value::Map(m) if m.iter().any(|i| matches!(i, MapItem::Entry(..))) => {
                            self.out.push(' ');
                            self.map(m, indent + 2, indent + 2, true);
                        }
                        Value::Seq(s) if !s.is_empty() => {
                            self.out.push(' ');
                            self.seq(s, indent + 2, true);
                        }
                        _ => match scalar(v) {
                            Scalar::Inline(s) => {
                                self.out.push(' ');
                                self.out.push_str(&s);
                                self.out.push('\n');
                            }
                            Scalar::Literal { header, body } => {
                                self.out.push(' ');
                                self.literal(&header, &body, indent + 2);
                            }
                        },
                    }
                    after_value = true;
                }
            }
        }
    }
}

/// Emit a tree as sops writes YAML (`indent` spaces per level; sops' default is 4).
pub fn emit(tree: &Tree, indent: usize) -> String {
    let mut e = Emitter {
        out: String::new(),
        step: indent.max(2),
    };
    for (i, doc) in tree.documents.iter().enumerate() {
        if i > 0 {
            e.out.push_str("---\n");
        }
        if doc.is_empty() {
            e.out.push_str("{}\n");
            continue;
        }
        e.map(doc, 0, 0, false);
    }
    e.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_quoted_the_way_go_yaml_does() {
        let s = |v: &str| match string_scalar(v) {
            Scalar::Inline(s) => s,
            Scalar::Literal { header, .. } => header,
        };
        assert_eq!(s("plain"), "plain");
        assert_eq!(s("123"), "\"123\"");
        assert_eq!(s("true"), "\"true\"");
        assert_eq!(s("yes"), "\"yes\"");
        assert_eq!(s(""), "\"\"");
        assert_eq!(s("2025-08-06T18:55:05Z"), "\"2025-08-06T18:55:05Z\"");
        assert_eq!(s("*star"), "'*star'");
        assert_eq!(s("a: b"), "'a: b'");
        assert_eq!(s("tab\there"), "\"tab\\there\"");
        assert_eq!(s("a\nb"), "|-");
        assert_eq!(s("a\nb\n"), "|");
        assert_eq!(s("3.13.2"), "3.13.2");
        assert_eq!(
            s("ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]"),
            "ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]"
        );
    }

    #[test]
    fn comments_keep_their_place_and_nesting() {
        let src = "# top\na: 1 # inline\nb:\n    # first in b\n    x: q\n    ys:\n        - 1\n        # in seq\n        - z: 2\n          w: |\n            lit\n    # end b\n# end\n";
        let tree = parse(src).unwrap();
        assert_eq!(emit(&tree, 4), src);
    }

    #[test]
    fn multi_document_and_anchors() {
        let src = "a: &x\n    k: v\nb: *x\n---\nc: d\n";
        let tree = parse(src).unwrap();
        assert_eq!(tree.documents.len(), 2);
        assert_eq!(emit(&tree, 4), "a:\n    k: v\nb:\n    k: v\n---\nc: d\n");
    }

    #[test]
    fn alias_bombs_are_refused() {
        // 9 levels of 9 aliases each: 9^9 (387 million) values if expanded.
        let mut src = String::from("l0: &l0 [x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            src.push_str(&format!(
                "l{i}: &l{i} [*l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}]\n"
            ));
        }
        let err = parse(&src).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("alias bomb"), "{err}");
        // ordinary reuse of an anchor stays fine
        let ok = "base: &b\n    k: v\n    l: [1, 2, 3]\nx: *b\ny: *b\n";
        assert_eq!(parse(ok).map(|t| t.documents[0].len()).ok(), Some(3));
    }

    #[test]
    fn typed_scalars_resolve_like_go_yaml() {
        let tree = parse("i: 8080\nf: 1.5\nb: true\nn: null\nt: 2024-01-01\ns: '12'\n").unwrap();
        let d = &tree.documents[0];
        assert_eq!(crate::tree::get(d, "i"), Some(&Value::Int(8080)));
        assert_eq!(crate::tree::get(d, "f"), Some(&Value::Float(1.5)));
        assert_eq!(crate::tree::get(d, "b"), Some(&Value::Bool(true)));
        assert_eq!(crate::tree::get(d, "n"), Some(&Value::Null));
        assert_eq!(
            crate::tree::get(d, "t"),
            Some(&Value::Time("2024-01-01T00:00:00Z".into()))
        );
        assert_eq!(crate::tree::get(d, "s"), Some(&Value::Str("12".into())));
    }
}

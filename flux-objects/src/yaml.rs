//! A YAML emitter that writes exactly what `sigs.k8s.io/yaml.Marshal` (go-yaml v2) writes for a JSON value,
//! and a multi-document parser.
//!
//! The rules followed are go-yaml v2's: map keys sorted with its "natural" order (digits compared as
//! numbers, non-letters before letters), sequences not indented under their key, strings that would be
//! read back as something else (`yes`, `1`, `null`, `2006-01-02`, `1:20`) double-quoted, strings that
//! start with an indicator (`*`, `>`, `'`…) single-quoted, multi-line strings as literal blocks (`|`, `|-`,
//! `|+`), and plain or quoted scalars folded at spaces once a line passes 80 columns.

use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::sync::OnceLock;

const BEST_WIDTH: usize = 80;
const BEST_INDENT: usize = 2;

/// Serialises `value` as `sigs.k8s.io/yaml.Marshal` would: one document, no `---`, ending with a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut e = Emitter {
        out: String::new(),
        column: 0,
    };
    match value {
        Value::Object(m) if !m.is_empty() => e.mapping(m, 0),
        Value::Array(a) if !a.is_empty() => e.sequence(a, 0),
        other => {
            e.inline_node(other, 0);
        }
    }
    if !e.out.ends_with('\n') {
        e.out.push('\n');
    }
    e.out
}

/// Parses a stream of YAML documents into JSON values, skipping empty documents. Errors name the line and
/// column but never quote the input: manifests hold Secrets.
pub fn parse_documents(input: &str) -> Result<Vec<Value>, String> {
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(input).map_err(|e| e.without_snippet().to_string())?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// go-yaml v2's key order (`sorter.go keyList.Less`) for string keys.
pub fn go_yaml_key_cmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    if key_less(a, b) {
        Ordering::Less
    } else {
        Ordering::Greater
    }
}

fn key_less(a: &str, b: &str) -> bool {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i] < br[i];
        }
        if al || bl {
            return bl;
        }
        let mut an: i64 = 0;
        let mut bn: i64 = 0;
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && ar[j - 1].is_ascii_digit() {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an
                .wrapping_mul(10)
                .wrapping_add(i64::from(ar[ai] as u8 - b'0'));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn
                .wrapping_mul(10)
                .wrapping_add(i64::from(br[bi] as u8 - b'0'));
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar[i] < br[i];
    }
    ar.len() < br.len()
}

fn sorted_entries(m: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut v: Vec<(&String, &Value)> = m.iter().collect();
    v.sort_by(|a, b| go_yaml_key_cmp(a.0, b.0));
    v
}

struct Emitter {
    out: String,
    column: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

#[derive(Default)]
struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

impl Emitter {
    fn put(&mut self, c: char) {
        self.out.push(c);
        if c == '\n' {
            self.column = 0;
        } else {
            self.column += 1;
        }
    }

    fn put_str(&mut self, s: &str) {
        for c in s.chars() {
            self.put(c);
        }
    }

    fn newline_indent(&mut self, indent: usize) {
        self.put('\n');
        for _ in 0..indent {
            self.put(' ');
        }
    }

    fn pad_to(&mut self, indent: usize) {
        while self.column < indent {
            self.put(' ');
        }
    }

    /// A block mapping whose first key starts at the current position (already at column `indent`
    /// or right after `- `); the following keys go at `indent`.
    fn mapping(&mut self, m: &Map<String, Value>, indent: usize) {
        for (n, (k, v)) in sorted_entries(m).into_iter().enumerate() {
            if n > 0 {
                if !self.out.ends_with('\n') {
                    self.put('\n');
                }
                self.pad_to(indent);
            } else {
                self.pad_to(indent);
            }
            self.scalar_str(k, indent, true);
            self.put(':');
            match v {
                Value::Object(inner) if !inner.is_empty() => {
                    self.put('\n');
                    self.mapping(inner, indent + BEST_INDENT);
                }
                Value::Array(items) if !items.is_empty() => {
                    self.put('\n');
                    self.sequence(items, indent);
                }
                other => {
                    self.put(' ');
                    self.inline_node(other, indent);
                    self.put('\n');
                }
            }
        }
    }

    fn sequence(&mut self, a: &[Value], indent: usize) {
        for v in a {
            if !self.out.is_empty() && !self.out.ends_with('\n') && self.column > indent {
                self.put('\n');
            }
            self.pad_to(indent);
            self.put_str("- ");
            match v {
                Value::Object(inner) if !inner.is_empty() => {
                    self.mapping(inner, indent + BEST_INDENT);
                }
                Value::Array(items) if !items.is_empty() => {
                    self.sequence(items, indent + BEST_INDENT);
                }
                other => {
                    self.inline_node(other, indent);
                    self.put('\n');
                }
            }
        }
    }

    /// A scalar, or an empty collection in flow style. `indent` is the indentation of the
    /// enclosing block (continuation lines and literal bodies go at `indent + 2`).
    fn inline_node(&mut self, v: &Value, indent: usize) {
        match v {
            Value::Null => self.put_str("null"),
            Value::Bool(b) => self.put_str(if *b { "true" } else { "false" }),
            Value::Number(n) => {
                let s = format_number(n);
                self.put_str(&s);
            }
            Value::String(s) => self.scalar_str(s, indent, false),
            Value::Array(_) => self.put_str("[]"),
            Value::Object(_) => self.put_str("{}"),
        }
    }

    fn scalar_str(&mut self, s: &str, indent: usize, key: bool) {
        let can_use_plain = resolves_to_str(s) && !is_base60_float(s);
        let mut style = if s.contains('\n') {
            Style::Literal
        } else if can_use_plain {
            Style::Plain
        } else {
            Style::Double
        };
        let a = analyze(s);
        if style == Style::Plain {
            if !a.block_plain_allowed || (s.is_empty() && key) {
                style = Style::Single;
            }
            if key && a.multiline {
                style = Style::Double;
            }
        }
        if style == Style::Single && !a.single_quoted_allowed {
            style = Style::Double;
        }
        if style == Style::Literal && (!a.block_allowed || key) {
            style = Style::Double;
        }
        let inner = indent + BEST_INDENT;
        let allow_breaks = !key;
        match style {
            Style::Plain => self.write_plain(s, inner, allow_breaks),
            Style::Single => self.write_single(s, inner, allow_breaks),
            Style::Double => self.write_double(s, inner, allow_breaks),
            Style::Literal => self.write_literal(s, inner),
        }
    }

    fn write_plain(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        let chars: Vec<char> = s.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let next_space = chars.get(i + 1) == Some(&' ');
                if allow_breaks && !spaces && self.column > BEST_WIDTH && !next_space {
                    self.newline_indent(indent);
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
    }

    fn write_single(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        let chars: Vec<char> = s.chars().collect();
        self.put('\'');
        let mut spaces = false;
        let mut breaks = false;
        let n = chars.len();
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let next_space = chars.get(i + 1) == Some(&' ');
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i + 1 < n
                    && !next_space
                {
                    self.newline_indent(indent);
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if c == '\n' {
                if !breaks {
                    self.put('\n');
                }
                self.put('\n');
                breaks = true;
            } else {
                if breaks {
                    self.pad_to(indent);
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                spaces = false;
                breaks = false;
            }
        }
        self.put('\'');
    }

    fn write_double(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        let chars: Vec<char> = s.chars().collect();
        self.put('"');
        let mut spaces = false;
        let n = chars.len();
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                match c {
                    '\0' => self.put('0'),
                    '\u{7}' => self.put('a'),
                    '\u{8}' => self.put('b'),
                    '\t' => self.put('t'),
                    '\n' => self.put('n'),
                    '\u{B}' => self.put('v'),
                    '\u{C}' => self.put('f'),
                    '\r' => self.put('r'),
                    '\u{1B}' => self.put('e'),
                    '"' => self.put('"'),
                    '\\' => self.put('\\'),
                    '\u{85}' => self.put('N'),
                    '\u{A0}' => self.put('_'),
                    '\u{2028}' => self.put('L'),
                    '\u{2029}' => self.put('P'),
                    _ => {
                        let v = c as u32;
                        let (p, w) = if v <= 0xFF {
                            ('x', 2)
                        } else if v <= 0xFFFF {
                            ('u', 4)
                        } else {
                            ('U', 8)
                        };
                        self.put(p);
                        let hex = format!("{v:0w$X}");
                        self.put_str(&hex);
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && i > 0 && i + 1 < n {
                    self.newline_indent(indent);
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.put('"');
    }

    fn write_literal(&mut self, s: &str, indent: usize) {
        self.put('|');
        let first = s.chars().next();
        if first.is_some_and(|c| c == ' ' || is_break(c)) {
            self.put_str(&BEST_INDENT.to_string());
        }
        let chars: Vec<char> = s.chars().collect();
        let chomp = match chars.len() {
            0 => Some('-'),
            n if !is_break(chars[n - 1]) => Some('-'),
            1 => Some('+'),
            n if is_break(chars[n - 2]) => Some('+'),
            _ => None,
        };
        if let Some(c) = chomp {
            self.put(c);
        }
        self.put('\n');
        let mut breaks = true;
        for &c in &chars {
            if is_break(c) {
                self.put('\n');
                breaks = true;
            } else {
                if breaks {
                    self.pad_to(indent);
                }
                self.put(c);
                breaks = false;
            }
        }
        // The caller writes the newline that ends the node; a literal block already ended its last
        // line when the value ends with a break, so drop it there to avoid a blank line.
        if self.out.ends_with('\n') {
            self.out.pop();
            self.column = 1;
        }
    }
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank_or_end(c: Option<char>) -> bool {
    match c {
        None => true,
        Some(c) => c == ' ' || c == '\t' || is_break(c) || c == '\0',
    }
}

fn is_printable(c: char) -> bool {
    let v = c as u32;
    v == 0x0A
        || (0x20..=0x7E).contains(&v)
        || (0xA0..=0xD7FF).contains(&v)
        || ((0xE000..=0xFFFD).contains(&v) && v != 0xFEFF)
}

fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            multiline: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    let mut block_indicators = false;
    if s.starts_with("---") || s.starts_with("...") {
        block_indicators = true;
    }
    let mut special = false;
    let mut line_breaks = false;
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    let mut preceded_by_ws = true;
    for i in 0..n {
        let c = chars[i];
        let followed_by_ws = is_blank_or_end(chars.get(i + 1).copied());
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_indicators = true,
                '?' | ':' if followed_by_ws => block_indicators = true,
                '-' if followed_by_ws => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_ws => block_indicators = true,
                '#' if preceded_by_ws => block_indicators = true,
                _ => {}
            }
        }
        if !is_printable(c) {
            special = true;
        }
        if is_break(c) {
            line_breaks = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i == n - 1 {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            if i == 0 {
                leading_break = true;
            }
            if i == n - 1 {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_ws = c == ' ' || c == '\t' || is_break(c) || c == '\0';
    }
    let mut a = Analysis {
        multiline: line_breaks,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks || block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

fn matches(cell: &'static OnceLock<Option<regex::Regex>>, pattern: &str, s: &str) -> bool {
    cell.get_or_init(|| regex::Regex::new(pattern).ok())
        .as_ref()
        .is_some_and(|r| r.is_match(s))
}

/// go-yaml v2 `resolve("", s)` returned `!!str` (so a plain scalar reads back as the same string).
fn resolves_to_str(s: &str) -> bool {
    const SPECIAL: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "n", "N", "no",
        "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "", "~", "null", "Null",
        "NULL", ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
        "-.Inf", "-.INF", "<<",
    ];
    if SPECIAL.contains(&s) {
        return false;
    }
    let Some(first) = s.chars().next() else {
        return false;
    };
    match first {
        '.' => s.parse::<f64>().is_err() || !go_parse_float_ok(s),
        '+' | '-' | '0'..='9' => {
            if is_timestamp(s) {
                return false;
            }
            let plain = s.replace('_', "");
            if go_parse_int_base0(&plain) {
                return false;
            }
            static FLOAT: OnceLock<Option<regex::Regex>> = OnceLock::new();
            if matches(
                &FLOAT,
                r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$",
                &plain,
            ) {
                return false;
            }
            if let Some(rest) = plain
                .strip_prefix("0b")
                .or_else(|| plain.strip_prefix("-0b"))
                && !rest.is_empty()
                && rest.chars().all(|c| c == '0' || c == '1')
            {
                return false;
            }
            true
        }
        _ => true,
    }
}

/// Whether Go's `strconv.ParseFloat` accepts a string starting with `.` (only decimal forms reach here).
fn go_parse_float_ok(s: &str) -> bool {
    static F: OnceLock<Option<regex::Regex>> = OnceLock::new();
    matches(&F, r"^\.[0-9]+([eE][-+]?[0-9]+)?$", s)
}

/// Go's `strconv.ParseInt(s, 0, 64)` or `ParseUint(s, 0, 64)` succeeds.
fn go_parse_int_base0(s: &str) -> bool {
    let body = s
        .strip_prefix('+')
        .or_else(|| s.strip_prefix('-'))
        .unwrap_or(s);
    if body.is_empty() {
        return false;
    }
    let (digits, radix) =
        if let Some(r) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            (r, 16)
        } else if let Some(r) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
            (r, 8)
        } else if let Some(r) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
            (r, 2)
        } else if body.len() > 1 && body.starts_with('0') {
            (&body[1..], 8)
        } else {
            (body, 10)
        };
    !digits.is_empty() && u64::from_str_radix(digits, radix).is_ok()
}

fn is_timestamp(s: &str) -> bool {
    static TS: OnceLock<Option<regex::Regex>> = OnceLock::new();
    matches(
        &TS,
        r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(([Tt]|[ ]+)[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\.[0-9]*)?(Z|[-+][0-9]{1,2}(:[0-9]{2})?)?)?$",
        s,
    )
}

fn is_base60_float(s: &str) -> bool {
    static B: OnceLock<Option<regex::Regex>> = OnceLock::new();
    matches(&B, r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$", s)
}

fn format_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    go_format_float_g(f)
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`.
fn go_format_float_g(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        };
    }
    if f == 0.0 {
        return "0".into();
    }
    // Shortest round-trip digits from Rust's `{:e}` formatting.
    let e = format!("{:e}", f.abs());
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if f < 0.0 { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let mut m = digits[..1].to_string();
        if digits.len() > 1 {
            m.push('.');
            m.push_str(&digits[1..]);
        }
        let es = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{m}e{es}{:02}", exp.abs());
    }
    let dp = exp + 1;
    let s = if dp <= 0 {
        format!("0.{}{}", "0".repeat((-dp) as usize), digits)
    } else if (dp as usize) >= digits.len() {
        format!("{}{}", digits, "0".repeat(dp as usize - digits.len()))
    } else {
        format!("{}.{}", &digits[..dp as usize], &digits[dp as usize..])
    };
    format!("{sign}{s}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quoting_follows_go_yaml() {
        let v = json!({"a": "*", "b": ">6.0.0", "c": "1", "d": "", "e": "yes", "f": "5.0.x", "g": "true",
            "h": "2006-01-02", "i": "1:20", "j": "- x", "k": "a: b", "l": "a#b", "m": "a #b", "n": "0x1F", "y": "n",
            "o": "1e3", "p": "v1.01", "q": "6.3.5", "r": " lead", "s": "tab\there"});
        assert_eq!(
            to_yaml(&v),
            "a: '*'\nb: '>6.0.0'\nc: \"1\"\nd: \"\"\ne: \"yes\"\nf: 5.0.x\ng: \"true\"\nh: \"2006-01-02\"\ni: \"1:20\"\nj: '- x'\nk: 'a: b'\nl: a#b\nm: 'a #b'\n\"n\": \"0x1F\"\no: \"1e3\"\np: v1.01\nq: 6.3.5\nr: ' lead'\ns: \"tab\\there\"\n\"y\": \"n\"\n"
        );
    }

    #[test]
    fn literal_blocks_and_nesting() {
        let v = json!({"s": {"k": "line1\nline2\n", "j": "a\nb", "e": []}, "l": [{"b": 1, "a": "x"}, "y", [1, 2]], "m": {}});
        assert_eq!(
            to_yaml(&v),
            "l:\n- a: x\n  b: 1\n- \"y\"\n- - 1\n  - 2\nm: {}\ns:\n  e: []\n  j: |-\n    a\n    b\n  k: |\n    line1\n    line2\n"
        );
    }

    #[test]
    fn key_order_is_natural() {
        let mut keys = vec![
            "a10",
            "a9",
            "B",
            "a",
            ".x",
            "ca.crt",
            "identity.pub",
            "identity",
        ];
        keys.sort_by(|a, b| go_yaml_key_cmp(a, b));
        assert_eq!(
            keys,
            vec![
                ".x",
                "B",
                "a",
                "a9",
                "a10",
                "ca.crt",
                "identity",
                "identity.pub"
            ]
        );
    }

    #[test]
    fn long_plain_strings_fold_at_80_columns() {
        let text = "word ".repeat(30);
        let v = json!({"description": text.trim_end()});
        let out = to_yaml(&v);
        for line in out.lines() {
            assert!(line.len() <= 86, "{line}");
        }
        assert!(out.lines().nth(1).is_some_and(|l| l.starts_with("  word")));
    }

    #[test]
    fn floats_like_go() {
        assert_eq!(go_format_float_g(1.5), "1.5");
        assert_eq!(go_format_float_g(1e21), "1e+21");
        assert_eq!(go_format_float_g(0.00001), "1e-05");
        assert_eq!(go_format_float_g(123456.0), "123456");
        assert_eq!(go_format_float_g(1234567.0), "1.234567e+06");
    }
}

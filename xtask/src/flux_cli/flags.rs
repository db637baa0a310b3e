//! A small pflag-compatible flag parser: `--name=value`, `--name value`, `-n value`, `-n=value`, bool flags
//! with optional `=true|false`, string slices split on commas, repeatable arrays, and pflag's error wording.

use std::collections::BTreeMap;

/// How a flag takes values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `--flag` / `--flag=false`.
    Bool,
    /// One value; the last occurrence wins.
    Str,
    /// pflag `StringSlice`: comma-separated, repeatable.
    Slice,
    /// pflag `StringArray`: repeatable, no comma splitting.
    Array,
}

/// A flag definition.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Long name without dashes.
    pub name: &'static str,
    /// Short name.
    pub short: Option<char>,
    /// Value kind.
    pub kind: Kind,
}

/// Shorthand for a [`Spec`].
pub const fn f(name: &'static str, kind: Kind) -> Spec {
    Spec {
        name,
        short: None,
        kind,
    }
}

/// Shorthand for a [`Spec`] with a short name.
pub const fn fs(name: &'static str, short: char, kind: Kind) -> Spec {
    Spec {
        name,
        short: Some(short),
        kind,
    }
}

/// Parsed flags and positional arguments.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Positional arguments.
    pub args: Vec<String>,
    values: BTreeMap<&'static str, Vec<String>>,
}

impl Parsed {
    /// Last value of a string flag, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .and_then(|v| v.last())
            .map(String::as_str)
    }
    /// Value or `""`.
    pub fn str(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }
    /// Whether the flag was given at all.
    pub fn changed(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }
    /// A bool flag.
    pub fn bool(&self, name: &str) -> bool {
        self.get(name) == Some("true")
    }
    /// All values of a slice/array flag.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.values.get(name).cloned().unwrap_or_default()
    }
}

fn csv_split(v: &str) -> Vec<String> {
    if v.is_empty() {
        return Vec::new();
    }
    v.split(',').map(str::to_owned).collect()
}

/// Parses `args` against `specs`; errors use pflag's wording (`unknown flag: --x`).
pub fn parse(args: &[String], specs: &[Spec]) -> Result<Parsed, String> {
    let mut p = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if a == "--" {
            p.args.extend(args[i..].iter().cloned());
            break;
        }
        let (spec, inline, shown) = if let Some(long) = a.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (long, None),
            };
            let spec = specs
                .iter()
                .find(|s| s.name == name)
                .ok_or_else(|| format!("unknown flag: --{name}"))?;
            (spec, inline, format!("--{name}"))
        } else if let Some(short) = a.strip_prefix('-').filter(|s| !s.is_empty()) {
            let mut chars = short.chars();
            let c = chars.next().unwrap_or('-');
            let rest: String = chars.collect();
            let spec = specs
                .iter()
                .find(|s| s.short == Some(c))
                .ok_or_else(|| format!("unknown shorthand flag: '{c}' in -{short}"))?;
            let inline = if rest.is_empty() {
                None
            } else {
                Some(rest.strip_prefix('=').unwrap_or(&rest).to_owned())
            };
            (spec, inline, format!("-{c}"))
        } else {
            p.args.push(a.clone());
            continue;
        };
        let value = match (spec.kind, inline) {
            (Kind::Bool, None) => "true".to_owned(),
            (Kind::Bool, Some(v)) => match v.as_str() {
                "true" | "1" | "t" | "T" | "TRUE" | "True" => "true".to_owned(),
                "false" | "0" | "f" | "F" | "FALSE" | "False" => "false".to_owned(),
                _ => {
                    return Err(format!(
                        "invalid argument \"{v}\" for \"{}\" flag: strconv.ParseBool: parsing \"{v}\": invalid syntax",
                        flag_display(spec)
                    ));
                }
            },
            (_, Some(v)) => v,
            (_, None) => {
                let Some(v) = args.get(i) else {
                    return Err(format!("flag needs an argument: {shown}"));
                };
                i += 1;
                v.clone()
            }
        };
        let entry = p.values.entry(spec.name).or_default();
        match spec.kind {
            Kind::Slice => entry.extend(csv_split(&value)),
            Kind::Array => entry.push(value),
            Kind::Bool | Kind::Str => {
                entry.clear();
                entry.push(value);
            }
        }
    }
    Ok(p)
}

/// How pflag names a flag in errors: `-n, --namespace` or `--url`.
pub fn flag_display(spec: &Spec) -> String {
    match spec.short {
        Some(c) => format!("-{c}, --{}", spec.name),
        None => format!("--{}", spec.name),
    }
}

/// pflag's wording for a rejected value.
pub fn invalid_argument(value: &str, flag: &str, why: &str) -> String {
    format!("invalid argument \"{value}\" for \"--{flag}\" flag: {why}")
}

//! Helm's semver constraints (Masterminds/semver v3, what `helm pull --version` and Flux's
//! `HelmRelease.spec.chart.spec.version` use), and picking the highest chart version that matches.
//!
//! Supported: `=`, `!=`, `>`, `<`, `>=`, `<=` (`=<`, `=>`), `~` (`~>`), `^`, wildcards (`1.2.x`, `1.*`, `*`,
//! `x`), partial versions (`1.2` means `1.2.x`), hyphen ranges (`1.2 - 1.4.5`), AND with `,` or spaces,
//! OR with `||`. As in Helm:
//! - `~1.2` is `>=1.2.0 <1.3.0`, `~1` is `>=1.0.0 <2.0.0`; `^0.2.3` is `>=0.2.3 <0.3.0`;
//! - `>1.2` means "above every 1.2.x" (`>=1.3.0`), `<=1.2` means `<1.3.0`;
//! - prereleases (`1.2.3-rc.1`) never match unless a constraint of the same `,`-group names a prerelease
//!   (`>=1.2.3-0`).

use semver::Version;
use std::cmp::Ordering;
use std::fmt;

/// Why a constraint string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid version constraint '{input}': {why}")]
pub struct ConstraintError {
    /// The constraint string.
    pub input: String,
    /// What is wrong with it.
    pub why: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Tilde,
    Caret,
}

/// A (possibly partial) version in a constraint: `1`, `1.2`, `1.2.3-rc.1`, `1.x`, `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Partial {
    major: Option<u64>,
    minor: Option<u64>,
    patch: Option<u64>,
    pre: semver::Prerelease,
}

impl Partial {
    fn version(&self) -> Version {
        Version {
            major: self.major.unwrap_or(0),
            minor: self.minor.unwrap_or(0),
            patch: self.patch.unwrap_or(0),
            pre: self.pre.clone(),
            build: semver::BuildMetadata::EMPTY,
        }
    }

    fn any(&self) -> bool {
        self.major.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Constraint {
    op: Op,
    v: Partial,
}

/// A parsed Helm version constraint (`>6.0.0`, `~1.2`, `1.2 - 1.4 || ^2`, `*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionConstraint {
    input: String,
    groups: Vec<Vec<Constraint>>,
}

impl fmt::Display for VersionConstraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.input)
    }
}

impl std::str::FromStr for VersionConstraint {
    type Err = ConstraintError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl VersionConstraint {
    /// Parses a constraint the way Helm does. An empty string means "any stable version" (`*`).
    pub fn parse(input: &str) -> Result<Self, ConstraintError> {
        let err = |why: String| ConstraintError {
            input: input.to_owned(),
            why,
        };
        let mut groups = Vec::new();
        for group in input.split("||") {
            let tokens = tokenize(group);
            let mut constraints = Vec::new();
            let mut i = 0;
            while i < tokens.len() {
                // Hyphen range: `A - B`.
                if tokens.get(i + 1).map(String::as_str) == Some("-") {
                    let lo = parse_partial(&tokens[i]).map_err(&err)?;
                    let hi_token = tokens
                        .get(i + 2)
                        .ok_or_else(|| err("a hyphen range needs an upper bound".into()))?;
                    let hi = parse_partial(hi_token).map_err(&err)?;
                    constraints.push(Constraint { op: Op::Ge, v: lo });
                    constraints.push(Constraint { op: Op::Le, v: hi });
                    i += 3;
                    continue;
                }
                constraints.push(parse_constraint(&tokens[i]).map_err(&err)?);
                i += 1;
            }
            if constraints.is_empty() {
                if input.trim().is_empty() && groups.is_empty() && !input.contains("||") {
                    constraints.push(Constraint {
                        op: Op::Eq,
                        v: Partial {
                            major: None,
                            minor: None,
                            patch: None,
                            pre: semver::Prerelease::EMPTY,
                        },
                    });
                } else {
                    return Err(err("an empty alternative between '||'".into()));
                }
            }
            groups.push(constraints);
        }
        Ok(Self {
            input: input.to_owned(),
            groups,
        })
    }

    /// Whether `v` satisfies the constraint.
    pub fn matches(&self, v: &Version) -> bool {
        self.groups.iter().any(|group| {
            if !v.pre.is_empty() && !group.iter().any(|c| !c.v.pre.is_empty()) {
                return false;
            }
            group.iter().all(|c| c.matches(v))
        })
    }

    /// The highest of `versions` that satisfies the constraint.
    pub fn best<'a, I>(&self, versions: I) -> Option<&'a Version>
    where
        I: IntoIterator<Item = &'a Version>,
    {
        versions
            .into_iter()
            .filter(|v| self.matches(v))
            .max_by(|a, b| cmp_precedence(a, b))
    }
}

/// Semver precedence (build metadata ignored, as Helm does).
pub fn cmp_precedence(a: &Version, b: &Version) -> Ordering {
    (a.major, a.minor, a.patch)
        .cmp(&(b.major, b.minor, b.patch))
        .then_with(|| a.pre.cmp(&b.pre))
}

/// Parses an OCI tag as a chart version: Helm stores `+` (build metadata) as `_` in tags. Non-semver tags
/// (`latest`, `sha256-…`) give `None`.
pub fn version_from_tag(tag: &str) -> Option<Version> {
    Version::parse(&tag.replace('_', "+")).ok()
}

/// The OCI tag Helm uses for a chart version (`+` becomes `_`).
pub fn tag_for_version(version: &str) -> String {
    version.replace('+', "_")
}

fn tokenize(group: &str) -> Vec<String> {
    // Split on commas and whitespace, but keep an operator attached to the version that follows it
    // (`>= 1.2` is one constraint).
    let mut raw: Vec<String> = group
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let t = std::mem::take(&mut raw[i]);
        let is_op = matches!(
            t.as_str(),
            "=" | "!=" | ">" | "<" | ">=" | "<=" | "=<" | "=>" | "~" | "~>" | "^"
        );
        if is_op && i + 1 < raw.len() {
            out.push(format!("{t}{}", raw[i + 1]));
            i += 2;
        } else {
            out.push(t);
            i += 1;
        }
    }
    out
}

fn parse_constraint(token: &str) -> Result<Constraint, String> {
    let ops: [(&str, Op); 11] = [
        ("~>", Op::Tilde),
        (">=", Op::Ge),
        ("=>", Op::Ge),
        ("<=", Op::Le),
        ("=<", Op::Le),
        ("!=", Op::Ne),
        ("~", Op::Tilde),
        ("^", Op::Caret),
        (">", Op::Gt),
        ("<", Op::Lt),
        ("=", Op::Eq),
    ];
    for (prefix, op) in ops {
        if let Some(rest) = token.strip_prefix(prefix) {
            return Ok(Constraint {
                op,
                v: parse_partial(rest.trim())?,
            });
        }
    }
    Ok(Constraint {
        op: Op::Eq,
        v: parse_partial(token)?,
    })
}

fn parse_partial(s: &str) -> Result<Partial, String> {
    let s = s.strip_prefix('v').unwrap_or(s);
    if s.is_empty() {
        return Err("a version is missing after an operator".into());
    }
    // Build metadata is ignored in constraints.
    let s = s.split('+').next().unwrap_or_default();
    let (core, pre) = match s.split_once('-') {
        Some((c, p)) => (
            c,
            semver::Prerelease::new(p).map_err(|e| format!("bad prerelease '{p}': {e}"))?,
        ),
        None => (s, semver::Prerelease::EMPTY),
    };
    let mut parts = core.split('.');
    let mut next = |name: &str| -> Result<Option<u64>, String> {
        match parts.next() {
            None | Some("x" | "X" | "*") => Ok(None),
            Some(n) => n
                .parse::<u64>()
                .map(Some)
                .map_err(|_| format!("'{n}' is not a valid {name} version number")),
        }
    };
    let major = next("major")?;
    let minor = next("minor")?;
    let patch = next("patch")?;
    if parts.next().is_some() {
        return Err(format!("'{core}' has more than three version numbers"));
    }
    // A wildcard makes everything after it a wildcard (`1.x.3` is `1.x`).
    let minor = major.and(minor);
    let patch = minor.and(patch);
    Ok(Partial {
        major,
        minor,
        patch,
        pre,
    })
}

impl Constraint {
    fn matches(&self, v: &Version) -> bool {
        let c = &self.v;
        let base = c.version();
        let cmp = cmp_precedence(v, &base);
        let (lo, hi) = match self.op {
            Op::Eq | Op::Ne => {
                let inside = if c.any() {
                    true
                } else if c.patch.is_some() {
                    cmp == Ordering::Equal
                } else {
                    in_range(v, &base, &upper_of_wildcard(c))
                };
                return (self.op == Op::Eq) == inside;
            }
            Op::Gt => {
                if c.any() {
                    // `>*` matches nothing in Masterminds; keep that.
                    return false;
                }
                if c.patch.is_some() {
                    return cmp == Ordering::Greater;
                }
                return cmp_precedence(v, &upper_of_wildcard(c)) != Ordering::Less;
            }
            Op::Ge => return c.any() || cmp != Ordering::Less,
            Op::Lt => return !c.any() && cmp == Ordering::Less,
            Op::Le => {
                if c.any() {
                    return true;
                }
                if c.patch.is_some() {
                    return cmp != Ordering::Greater;
                }
                return cmp_precedence(v, &upper_of_wildcard(c)) == Ordering::Less;
            }
            Op::Tilde => {
                let hi = match (c.major, c.minor) {
                    (None, _) => return true,
                    (Some(m), None) => plain(m + 1, 0, 0),
                    (Some(m), Some(n)) => plain(m, n + 1, 0),
                };
                (base, hi)
            }
            Op::Caret => {
                let hi = match (c.major, c.minor, c.patch) {
                    (None, _, _) => return true,
                    (Some(0), Some(0), Some(p)) => plain(0, 0, p + 1),
                    (Some(0), Some(n), _) => plain(0, n + 1, 0),
                    (Some(0), None, _) => plain(1, 0, 0),
                    (Some(m), _, _) => plain(m + 1, 0, 0),
                };
                (base, hi)
            }
        };
        in_range(v, &lo, &hi)
    }
}

fn plain(major: u64, minor: u64, patch: u64) -> Version {
    Version::new(major, minor, patch)
}

/// The exclusive upper bound of a wildcard version: `1` → `2.0.0`, `1.2` → `1.3.0`.
fn upper_of_wildcard(c: &Partial) -> Version {
    match (c.major, c.minor) {
        (Some(m), None) => plain(m + 1, 0, 0),
        (Some(m), Some(n)) => plain(m, n + 1, 0),
        _ => plain(u64::MAX, 0, 0),
    }
}

fn in_range(v: &Version, lo: &Version, hi: &Version) -> bool {
    cmp_precedence(v, lo) != Ordering::Less && cmp_precedence(v, hi) == Ordering::Less
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn m(c: &str, v: &str) -> bool {
        VersionConstraint::parse(c)
            .unwrap()
            .matches(&Version::parse(v).unwrap())
    }

    #[test]
    fn tilde_follows_helm() {
        assert!(m("~1.2", "1.2.0"));
        assert!(m("~1.2", "1.2.9"));
        assert!(!m("~1.2", "1.3.0"));
        assert!(!m("~1.2", "1.1.9"));
        assert!(m("~1.2.3", "1.2.4"));
        assert!(!m("~1.2.3", "1.2.2"));
        assert!(m("~1", "1.9.0"));
        assert!(!m("~1", "2.0.0"));
        assert!(m("~>1.2", "1.2.5"));
    }

    #[test]
    fn caret_and_comparisons() {
        assert!(m("^1.2.3", "1.9.0"));
        assert!(!m("^1.2.3", "2.0.0"));
        assert!(m("^0.2.3", "0.2.9"));
        assert!(!m("^0.2.3", "0.3.0"));
        assert!(m("^0.0.3", "0.0.3"));
        assert!(!m("^0.0.3", "0.0.4"));
        assert!(m(">6.0.0", "6.0.1"));
        assert!(!m(">6.0.0", "6.0.0"));
        assert!(!m(">1.2", "1.2.9"));
        assert!(m(">1.2", "1.3.0"));
        assert!(m("<=1.2", "1.2.9"));
        assert!(!m("<=1.2", "1.3.0"));
        assert!(m(">= 1.2, < 3.0.0", "2.5.0"));
        assert!(m(">=1.2 <3", "2.5.0"));
        assert!(!m(">=1.2 <3", "3.0.0"));
        assert!(m("!=1.2.3", "1.2.4"));
        assert!(!m("!=1.2", "1.2.4"));
    }

    #[test]
    fn wildcards_partials_hyphens_and_or() {
        assert!(m("*", "0.0.1"));
        assert!(m("", "5.0.0"));
        assert!(m("1.2.x", "1.2.7"));
        assert!(!m("1.2.x", "1.3.0"));
        assert!(m("1.2", "1.2.7"));
        assert!(m("1.*", "1.9.9"));
        assert!(m("1.2 - 1.4.5", "1.4.5"));
        assert!(!m("1.2 - 1.4.5", "1.4.6"));
        assert!(m("2.3 - 4.5", "4.5.9"));
        assert!(m("^1 || ^3", "3.1.0"));
        assert!(!m("^1 || ^3", "2.1.0"));
        assert!(m("=v1.2.3", "1.2.3"));
    }

    #[test]
    fn prereleases_only_when_asked() {
        assert!(!m("*", "1.0.0-rc.1"));
        assert!(!m(">=1.0.0", "1.1.0-rc.1"));
        assert!(!m("~1.2", "1.2.5-beta"));
        assert!(m(">=1.0.0-0", "1.1.0-rc.1"));
        assert!(m(">=1.2.0-0, <2.0.0", "1.5.0-alpha"));
        assert!(m("1.2.3-rc.1", "1.2.3-rc.1"));
    }

    #[test]
    fn best_picks_the_highest_match() {
        let vs: Vec<Version> = ["1.2.0", "1.2.9", "1.3.0", "6.5.0", "6.5.1-rc.1", "7.0.0"]
            .iter()
            .map(|s| Version::parse(s).unwrap())
            .collect();
        let best = |c: &str| {
            VersionConstraint::parse(c)
                .unwrap()
                .best(&vs)
                .map(|v| v.to_string())
        };
        assert_eq!(best("~1.2").as_deref(), Some("1.2.9"));
        assert_eq!(best(">6.0.0 <7").as_deref(), Some("6.5.0"));
        assert_eq!(best("*").as_deref(), Some("7.0.0"));
        assert_eq!(best(">=6.5.1-0 <7").as_deref(), Some("6.5.1-rc.1"));
        assert_eq!(best("^9"), None);
    }

    #[test]
    fn bad_constraints_are_refused() {
        for bad in [">=", "1.2.3.4", "abc", "1.2 -", "^1 ||"] {
            let e = VersionConstraint::parse(bad).unwrap_err();
            assert!(e.to_string().contains(bad), "{e}");
        }
    }

    #[test]
    fn tags_round_trip_build_metadata() {
        assert_eq!(tag_for_version("1.2.3+build.5"), "1.2.3_build.5");
        assert_eq!(
            version_from_tag("1.2.3_build.5").unwrap().to_string(),
            "1.2.3+build.5"
        );
        assert!(version_from_tag("latest").is_none());
    }
}

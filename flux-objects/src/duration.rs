//! Go `time.Duration` strings: parsed like `time.ParseDuration`, printed like `Duration.String()`.

use crate::error::{Error, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

const NS: i128 = 1;
const US: i128 = 1_000;
const MS: i128 = 1_000_000;
const S: i128 = 1_000_000_000;
const M: i128 = 60 * S;
const H: i128 = 60 * M;

/// A Kubernetes `metav1.Duration`: nanoseconds, serialised as Go prints them (`5m0s`, `1h0m0s`, `30s`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration {
    nanos: i64,
}

impl Duration {
    /// Zero (`0s`).
    pub const ZERO: Duration = Duration { nanos: 0 };

    /// From whole seconds.
    pub const fn from_secs(secs: i64) -> Self {
        Duration {
            nanos: secs.saturating_mul(1_000_000_000),
        }
    }

    /// From whole minutes.
    pub const fn from_mins(mins: i64) -> Self {
        Self::from_secs(mins.saturating_mul(60))
    }

    /// From nanoseconds.
    pub const fn from_nanos(nanos: i64) -> Self {
        Duration { nanos }
    }

    /// The length in nanoseconds.
    pub const fn as_nanos(self) -> i64 {
        self.nanos
    }

    /// Parses a Go duration (`1m`, `1.5h`, `10m0s`, `300ms`); the error says `time: invalid duration "…"`.
    pub fn parse(s: &str) -> Result<Self> {
        parse_go(s).ok_or_else(|| Error::InvalidDuration(s.to_owned()))
    }

    /// Whether the string uses only units the Flux CRDs accept (`ms`, `s`, `m`, `h`).
    pub fn is_crd_compatible(self) -> bool {
        self.nanos >= 0 && self.nanos % 1_000_000 == 0
    }
}

fn parse_go(orig: &str) -> Option<Duration> {
    let mut s = orig;
    let mut neg = false;
    if let Some(r) = s.strip_prefix('-') {
        neg = true;
        s = r;
    } else if let Some(r) = s.strip_prefix('+') {
        s = r;
    }
    if s == "0" {
        return Some(Duration::ZERO);
    }
    if s.is_empty() {
        return None;
    }
    let mut total: i128 = 0;
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let mut whole: i128 = 0;
        while i < b.len() && b[i].is_ascii_digit() {
            whole = whole
                .checked_mul(10)?
                .checked_add(i128::from(b[i] - b'0'))?;
            i += 1;
        }
        let pre = i > start;
        let mut frac: i128 = 0;
        let mut scale: i128 = 1;
        let mut post = false;
        if i < b.len() && b[i] == b'.' {
            i += 1;
            let fs = i;
            while i < b.len() && b[i].is_ascii_digit() {
                if scale < 1_000_000_000_000_000_000 {
                    frac = frac * 10 + i128::from(b[i] - b'0');
                    scale *= 10;
                }
                i += 1;
            }
            post = i > fs;
        }
        if !pre && !post {
            return None;
        }
        let us = i;
        while i < b.len() && !(b[i] == b'.' || b[i].is_ascii_digit()) {
            i += 1;
        }
        let unit = match &s[us..i] {
            "ns" => NS,
            "us" | "µs" | "μs" => US,
            "ms" => MS,
            "s" => S,
            "m" => M,
            "h" => H,
            _ => return None,
        };
        total = total.checked_add(whole.checked_mul(unit)?)?;
        total = total.checked_add(frac * unit / scale)?;
        if total > i128::from(i64::MAX) {
            return None;
        }
    }
    let v = if neg { -total } else { total };
    Some(Duration {
        nanos: i64::try_from(v).ok()?,
    })
}

fn fmt_frac(buf: &mut String, mut v: u64, prec: usize) -> u64 {
    let mut digits = Vec::new();
    let mut print = false;
    for _ in 0..prec {
        let d = v % 10;
        print = print || d != 0;
        if print {
            digits.push(char::from(b'0' + d as u8));
        }
        v /= 10;
    }
    if print {
        digits.push('.');
    }
    digits.reverse();
    // digits are written in front of what follows; callers prepend.
    let s: String = digits.into_iter().collect();
    buf.insert_str(0, &s);
    v
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.nanos < 0;
        let mut u = self.nanos.unsigned_abs();
        let mut buf = String::new();
        if u < 1_000_000_000 {
            if u == 0 {
                return f.write_str("0s");
            }
            let (prec, unit) = if u < 1_000 {
                (0, "ns")
            } else if u < 1_000_000 {
                (3, "µs")
            } else {
                (6, "ms")
            };
            buf.push_str(unit);
            u = fmt_frac(&mut buf, u, prec);
            buf.insert_str(0, &u.to_string());
        } else {
            buf.push('s');
            u = fmt_frac(&mut buf, u, 9);
            buf.insert_str(0, &(u % 60).to_string());
            u /= 60;
            if u > 0 {
                buf.insert(0, 'm');
                buf.insert_str(0, &(u % 60).to_string());
                u /= 60;
                if u > 0 {
                    buf.insert(0, 'h');
                    buf.insert_str(0, &u.to_string());
                }
            }
        }
        if neg {
            buf.insert(0, '-');
        }
        f.write_str(&buf)
    }
}

impl fmt::Debug for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Duration({self})")
    }
}

impl FromStr for Duration {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Duration::parse(s)
    }
}

impl From<std::time::Duration> for Duration {
    fn from(d: std::time::Duration) -> Self {
        Duration {
            nanos: i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        }
    }
}

impl Serialize for Duration {
    fn serialize<Z: Serializer>(&self, s: Z) -> std::result::Result<Z::Ok, Z::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Duration::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_go() {
        for (input, want) in [
            ("5m", "5m0s"),
            ("1m0s", "1m0s"),
            ("10m", "10m0s"),
            ("1h", "1h0m0s"),
            ("90m", "1h30m0s"),
            ("30s", "30s"),
            ("60s", "1m0s"),
            ("1.5s", "1.5s"),
            ("300ms", "300ms"),
            ("1.5h", "1h30m0s"),
            ("0", "0s"),
            ("2us", "2µs"),
            ("-5m", "-5m0s"),
        ] {
            assert_eq!(
                Duration::parse(input)
                    .map(|d| d.to_string())
                    .ok()
                    .as_deref(),
                Some(want),
                "{input}"
            );
        }
    }

    #[test]
    fn rejects_what_go_rejects() {
        for bad in ["", "5", "m", "5x", "1..5s", "abc"] {
            let err = Duration::parse(bad).err().map(|e| e.to_string());
            assert_eq!(err, Some(format!("time: invalid duration \"{bad}\"")));
        }
    }
}

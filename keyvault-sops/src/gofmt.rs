//! Go's `strconv.FormatFloat` for the formats sops and its stores use (`'f'` and `'g'` with precision -1).

/// Shortest round-trip decimal digits and decimal exponent of `f` (finite, non-zero):
/// `f = 0.d1d2d3… × 10^dp`.
fn digits(f: f64) -> (String, i32) {
    let s = format!("{:e}", f.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    (digits, exp + 1)
}

fn special(f: f64) -> Option<String> {
    if f.is_nan() {
        Some("NaN".into())
    } else if f.is_infinite() {
        Some(if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        })
    } else {
        None
    }
}

/// `strconv.FormatFloat(f, 'f', -1, 64)`: never an exponent.
pub fn format_f(f: f64) -> String {
    if let Some(s) = special(f) {
        return s;
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let (d, dp) = digits(f);
    let mut out = String::new();
    if f < 0.0 {
        out.push('-');
    }
    if dp <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-dp) as usize));
        out.push_str(&d);
    } else if (dp as usize) >= d.len() {
        out.push_str(&d);
        out.extend(std::iter::repeat_n('0', dp as usize - d.len()));
    } else {
        out.push_str(&d[..dp as usize]);
        out.push('.');
        out.push_str(&d[dp as usize..]);
    }
    out
}

/// `strconv.FormatFloat(f, 'e', -1, 64)`.
pub fn format_e(f: f64) -> String {
    if let Some(s) = special(f) {
        return s;
    }
    let (d, dp) = if f == 0.0 {
        ("0".to_string(), 1)
    } else {
        digits(f)
    };
    let mut out = String::new();
    if f.is_sign_negative() {
        out.push('-');
    }
    out.push_str(&d[..1]);
    if d.len() > 1 {
        out.push('.');
        out.push_str(&d[1..]);
    }
    let exp = dp - 1;
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    out.push_str(&format!("{:02}", exp.abs()));
    out
}

/// `strconv.FormatFloat(f, 'g', -1, 64)` (what yaml.v3 writes for floats).
pub fn format_g(f: f64) -> String {
    if let Some(s) = special(f) {
        return s;
    }
    if f == 0.0 {
        return format_f(f);
    }
    let (_, dp) = digits(f);
    let exp = dp - 1;
    // Go: with the shortest precision, %e is used when exp < -4 || exp >= 6.
    if !(-4..6).contains(&exp) {
        format_e(f)
    } else {
        format_f(f)
    }
}

/// encoding/json's float formatting.
pub fn format_json(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format_e(f);
        // json: clean up e-09 to e-9
        if let Some(pos) = s.find("e-0") {
            let mut t = s.clone();
            t.remove(pos + 2);
            return t;
        }
        s
    } else {
        format_f(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f_never_uses_exponent() {
        assert_eq!(format_f(1234568000.0), "1234568000");
        assert_eq!(format_f(1234.5678), "1234.5678");
        assert_eq!(format_f(0.000012), "0.000012");
        assert_eq!(format_f(-2.5), "-2.5");
        assert_eq!(format_f(3.0), "3");
    }

    #[test]
    fn json_switches_to_exponent_outside_its_range() {
        assert_eq!(format_json(1e21), "1e+21");
        assert_eq!(format_json(1e-7), "1e-7");
        assert_eq!(format_json(0.5), "0.5");
        assert_eq!(format_g(1234567.0), "1.234567e+06");
        assert_eq!(format_g(123456.5), "123456.5");
        assert_eq!(format_g(0.0001), "0.0001");
        assert_eq!(format_g(0.00001), "1e-05");
    }
}

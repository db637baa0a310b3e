//! Durations and paths printed the way people write them: `8 ms`, `1.2 s`, `2 min 5 s` (not Rust's
//! `Debug` forms `8.00ms` / `0.00ns`), and workspace paths without `xtask/..` in them.

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

/// A duration as people write it.
///
/// ```
/// use std::time::Duration;
/// use xtask::human::duration;
/// assert_eq!(duration(Duration::ZERO), "0 ms");
/// assert_eq!(duration(Duration::from_micros(300)), "<1 ms");
/// assert_eq!(duration(Duration::from_millis(8)), "8 ms");
/// assert_eq!(duration(Duration::from_millis(1234)), "1.2 s");
/// assert_eq!(duration(Duration::from_secs(125)), "2 min 5 s");
/// assert_eq!(duration(Duration::from_secs(3 * 3600 + 120)), "3 h 2 min");
/// ```
pub fn duration(d: Duration) -> String {
    let ms = d.as_millis();
    if d.is_zero() {
        "0 ms".into()
    } else if ms == 0 {
        "<1 ms".into()
    } else if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 59_950 {
        // One decimal below a minute; whole seconds when it is `.0`.
        let tenths = (ms + 50) / 100;
        if tenths.is_multiple_of(10) {
            format!("{} s", tenths / 10)
        } else {
            format!("{}.{} s", tenths / 10, tenths % 10)
        }
    } else {
        let secs = (ms + 500) / 1000;
        if secs < 3600 {
            let (m, s) = (secs / 60, secs % 60);
            if s == 0 {
                format!("{m} min")
            } else {
                format!("{m} min {s} s")
            }
        } else {
            // Hours: to the nearest minute.
            let mins = (secs + 30) / 60;
            let (h, m) = (mins / 60, mins % 60);
            if m == 0 {
                format!("{h} h")
            } else {
                format!("{h} h {m} min")
            }
        }
    }
}

/// [`duration`] of a count of milliseconds.
pub fn millis(ms: u64) -> String {
    duration(Duration::from_millis(ms))
}

/// `path` with `.` and `dir/..` components folded away, without touching the file system (the path need
/// not exist, and symbolic links are kept as written).
///
/// ```
/// use std::path::Path;
/// assert_eq!(
///     xtask::human::normalize(Path::new("/work/azflux/xtask/../target/./azflux-sandbox")),
///     Path::new("/work/azflux/target/azflux-sandbox")
/// );
/// ```
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                let last_is_normal =
                    matches!(out.components().next_back(), Some(Component::Normal(_)));
                if last_is_normal {
                    out.pop();
                } else if !matches!(
                    out.components().next_back(),
                    Some(Component::RootDir | Component::Prefix(_))
                ) {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// The workspace root (the directory holding `xtask/`).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The Cargo target directory: `CARGO_TARGET_DIR` (normalised; relative to the workspace root when it is
/// relative, as Cargo reads it from the invocation directory, which `cargo xtask` runs in) or
/// `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                normalize(&dir)
            } else {
                let base = std::env::current_dir().unwrap_or_else(|_| workspace_root());
                normalize(&base.join(dir))
            }
        }
        None => workspace_root().join("target"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_write_them() {
        for (d, want) in [
            (Duration::from_nanos(1), "<1 ms"),
            (Duration::from_millis(1), "1 ms"),
            (Duration::from_millis(999), "999 ms"),
            (Duration::from_millis(1000), "1 s"),
            (Duration::from_millis(1049), "1 s"),
            (Duration::from_millis(1050), "1.1 s"),
            (Duration::from_millis(12_345), "12.3 s"),
            (Duration::from_millis(59_949), "59.9 s"),
            (Duration::from_millis(59_950), "1 min"),
            (Duration::from_secs(90), "1 min 30 s"),
            (Duration::from_secs(3600), "1 h"),
            (Duration::from_secs(3600 + 59 * 60 + 59), "2 h"),
        ] {
            assert_eq!(duration(d), want, "{d:?}");
        }
    }

    #[test]
    fn normalize_folds_dots_and_parents() {
        for (p, want) in [
            ("xtask/../target", "target"),
            ("/a/b/../../c", "/c"),
            ("/..", "/"),
            ("../x", "../x"),
            ("a/..", "."),
            ("./a/./b", "a/b"),
        ] {
            assert_eq!(normalize(Path::new(p)), Path::new(want), "{p}");
        }
        assert!(!workspace_root().to_string_lossy().contains(".."));
        assert!(!target_dir().to_string_lossy().contains(".."));
    }
}

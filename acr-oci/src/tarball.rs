//! The content layer of a Flux artifact: a directory (or one file) as a gzipped tarball laid out the way
//! `flux push artifact` lays it out, and its safe extraction.
//!
//! The layout follows fluxcd/pkg `tar.Tar` (called by `oci.Build`): a depth-first walk in lexical order
//! starting with the root itself (`.`), directories and regular files only (symlinks and other special
//! files are skipped), names relative to the root, uid/gid 0, no user/group names, modification time zero,
//! permissions (plus setuid/setgid/sticky) as on disk. Go's `archive/tar` writes these as USTAR headers
//! (zero time as `0`, the checksum as six octal digits, NUL, space) and ends with two zero blocks: this
//! module writes the same bytes, so the uncompressed tar is byte-identical to flux's for the same tree.
//! The gzip member has Go's header (no name, mtime 0, OS 255); the deflate stream comes from `flate2`, not
//! Go's `compress/flate`, so the compressed bytes (and the layer digest) differ from flux's.
//!
//! Ignore rules are fluxcd/pkg `sourceignore` (`.gitignore` syntax, one pattern per entry, later
//! patterns win, `!` re-includes); [`DEFAULT_IGNORE`] is flux's `excludeOCI` default of `--ignore-paths`.

use crate::api::{Error, Result};
use flate2::Compression;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

/// flux's default `--ignore-paths` (`excludeOCI`: sourceignore's `ExcludeVCS` then `ExcludeExt`).
pub const DEFAULT_IGNORE: &[&str] = &[
    ".git/",
    ".gitignore",
    ".gitmodules",
    ".gitattributes",
    "*.jpg",
    "*.jpeg",
    "*.gif",
    "*.png",
    "*.wmv",
    "*.flv",
    "*.tar.gz",
    "*.zip",
];

const BLOCK: usize = 512;
const NAME_SIZE: usize = 100;
const PREFIX_SIZE: usize = 155;

/// One `.gitignore` pattern, as fluxcd/pkg `sourceignore/gitignore` parses it (relative to the root).
#[derive(Debug, Clone)]
struct Pattern {
    parts: Vec<String>,
    inclusion: bool,
    dir_only: bool,
    is_glob: bool,
}

impl Pattern {
    fn parse(line: &str) -> Self {
        let mut p = line;
        let inclusion = p.starts_with('!');
        if inclusion {
            p = &p[1..];
        }
        let trimmed;
        if !p.ends_with("\\ ") {
            trimmed = p.trim_end_matches(' ');
            p = trimmed;
        }
        let dir_only = p.ends_with('/');
        if dir_only {
            p = &p[..p.len() - 1];
        }
        Self {
            parts: p.split('/').map(str::to_owned).collect(),
            inclusion,
            dir_only,
            is_glob: p.contains('/'),
        }
    }

    /// `Some(true)` excluded, `Some(false)` re-included, `None` no match.
    fn matches(&self, path: &[&str], is_dir: bool) -> Option<bool> {
        if path.is_empty() {
            return None;
        }
        let hit = if self.is_glob {
            self.glob_match(path, is_dir)
        } else {
            self.simple_match(path, is_dir)
        };
        hit.then_some(!self.inclusion)
    }

    fn simple_match(&self, path: &[&str], is_dir: bool) -> bool {
        for (i, name) in path.iter().enumerate() {
            match go_match(&self.parts[0], name) {
                None => return false,
                Some(false) => continue,
                Some(true) => {}
            }
            if self.dir_only && !is_dir && i == path.len() - 1 {
                return false;
            }
            return true;
        }
        false
    }

    fn glob_match(&self, mut path: &[&str], is_dir: bool) -> bool {
        let mut matched = false;
        let mut can_traverse = false;
        for (i, pattern) in self.parts.iter().enumerate() {
            if pattern.is_empty() {
                can_traverse = false;
                continue;
            }
            if pattern == "**" {
                if i == self.parts.len() - 1 {
                    break;
                }
                can_traverse = true;
                continue;
            }
            if pattern.contains("**") {
                return false;
            }
            if path.is_empty() {
                return false;
            }
            if can_traverse {
                can_traverse = false;
                while let Some((e, rest)) = path.split_first() {
                    path = rest;
                    match go_match(pattern, e) {
                        None => return false,
                        Some(true) => {
                            matched = true;
                            break;
                        }
                        Some(false) if path.is_empty() => matched = false,
                        Some(false) => {}
                    }
                }
            } else {
                if go_match(pattern, path[0]) != Some(true) {
                    return false;
                }
                matched = true;
                path = &path[1..];
            }
        }
        if matched && self.dir_only && !is_dir && path.is_empty() {
            matched = false;
        }
        matched
    }
}

/// Go's `filepath.Match` for one path element (no separators in `name`): `*`, `?`, `[…]` classes with `^`
/// negation and ranges, `\` escapes. `None` for a malformed pattern (Go's `ErrBadPattern`).
fn go_match(pattern: &str, name: &str) -> Option<bool> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_from(&p, &n)
}

fn match_from(p: &[char], n: &[char]) -> Option<bool> {
    if p.is_empty() {
        return Some(n.is_empty());
    }
    match p[0] {
        '*' => {
            let rest = &p[1..];
            for skip in 0..=n.len() {
                if match_from(rest, &n[skip..])? {
                    return Some(true);
                }
            }
            Some(false)
        }
        '?' => {
            if n.is_empty() {
                // Still validate the rest of the pattern, as Go does.
                match_from(&p[1..], n)?;
                return Some(false);
            }
            match_from(&p[1..], &n[1..])
        }
        '[' => {
            let (matched, used) = class(&p[1..], n.first().copied())?;
            if n.is_empty() {
                match_from(&p[1 + used..], n)?;
                return Some(false);
            }
            if !matched {
                match_from(&p[1 + used..], &n[1..])?;
                return Some(false);
            }
            match_from(&p[1 + used..], &n[1..])
        }
        '\\' => {
            let c = *p.get(1)?;
            if n.first() == Some(&c) {
                match_from(&p[2..], &n[1..])
            } else {
                match_from(&p[2..], n.get(1..).unwrap_or_default())?;
                Some(false)
            }
        }
        c => {
            if n.first() == Some(&c) {
                match_from(&p[1..], &n[1..])
            } else {
                match_from(&p[1..], n.get(1..).unwrap_or_default())?;
                Some(false)
            }
        }
    }
}

/// A `[…]` class after the `[`: whether `c` is in it, and how many pattern chars it used (with the `]`).
fn class(p: &[char], c: Option<char>) -> Option<(bool, usize)> {
    let mut i = 0;
    let negated = p.first() == Some(&'^');
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let ch = *p.get(i)?;
        if ch == ']' && !first {
            i += 1;
            break;
        }
        first = false;
        let lo = if ch == '\\' {
            i += 1;
            *p.get(i)?
        } else {
            ch
        };
        i += 1;
        let mut hi = lo;
        if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|&x| x != ']') {
            i += 1;
            hi = if p[i] == '\\' {
                i += 1;
                *p.get(i)?
            } else {
                p[i]
            };
            i += 1;
        }
        if let Some(c) = c
            && lo <= c
            && c <= hi
        {
            matched = true;
        }
    }
    Some((matched != negated, i))
}

/// The ignore matcher: the patterns in order, the last matching one decides.
#[derive(Debug, Clone, Default)]
pub struct IgnoreRules {
    patterns: Vec<Pattern>,
}

impl IgnoreRules {
    /// Rules from `.gitignore` lines (blank lines and `#` comments are skipped, like sourceignore).
    pub fn new<I, S>(lines: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let patterns = lines
            .into_iter()
            .flat_map(|l| {
                l.as_ref()
                    .lines()
                    .map(str::to_owned)
                    .collect::<Vec<String>>()
            })
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| Pattern::parse(&l))
            .collect();
        Self { patterns }
    }

    /// flux's defaults ([`DEFAULT_IGNORE`]).
    pub fn flux_default() -> Self {
        Self::new(DEFAULT_IGNORE)
    }

    /// Whether `relative` (components under the root) is excluded.
    pub fn is_ignored(&self, relative: &[&str], is_dir: bool) -> bool {
        self.patterns
            .iter()
            .rev()
            .find_map(|p| p.matches(relative, is_dir))
            .unwrap_or(false)
    }
}

/// A tar entry before it is written.
struct Entry {
    name: String,
    path: Option<PathBuf>,
    mode: u32,
    size: u64,
}

fn mode_of(meta: &std::fs::Metadata) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o7777
    }
    #[cfg(not(unix))]
    {
        if meta.is_dir() || !meta.permissions().readonly() {
            0o755
        } else {
            0o444
        }
    }
}

fn walk(
    dir: &Path,
    rel: &mut Vec<String>,
    rules: &IgnoreRules,
    out: &mut Vec<Entry>,
) -> Result<()> {
    let mut names: Vec<(Vec<u8>, std::fs::DirEntry)> = std::fs::read_dir(dir)
        .map_err(|e| Error::io("reading directory", dir, e))?
        .map(|e| {
            e.map(|e| (e.file_name().as_encoded_bytes().to_vec(), e))
                .map_err(|err| Error::io("reading directory", dir, err))
        })
        .collect::<Result<_>>()?;
    names.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, entry) in names {
        let path = entry.path();
        let ft = entry
            .file_type()
            .map_err(|e| Error::io("reading", &path, e))?;
        if !ft.is_dir() && !ft.is_file() {
            continue; // symlinks, sockets, devices: skipped, as flux does
        }
        let name = entry.file_name().into_string().map_err(|_| {
            Error::invalid(
                "artifact path",
                format!("'{}' is not valid UTF-8", path.display()),
            )
        })?;
        rel.push(name);
        let parts: Vec<&str> = rel.iter().map(String::as_str).collect();
        let excluded = rules.is_ignored(&parts, ft.is_dir());
        let meta = entry
            .metadata()
            .map_err(|e| Error::io("reading", &path, e))?;
        if !excluded {
            out.push(Entry {
                name: rel.join("/"),
                path: ft.is_file().then(|| path.clone()),
                mode: mode_of(&meta),
                size: if ft.is_file() { meta.len() } else { 0 },
            });
        }
        // flux's filter does not prune: an excluded directory is still walked, its entries matched one by one.
        if ft.is_dir() {
            walk(&path, rel, rules, out)?;
        }
        rel.pop();
    }
    Ok(())
}

fn octal(field: &mut [u8], value: u64) -> Result<()> {
    let s = format!("{value:o}");
    let width = field.len() - 1;
    if s.len() > width {
        return Err(Error::invalid(
            "artifact content",
            format!("the value {value} does not fit a tar header field"),
        ));
    }
    let padded = format!("{s:0>width$}");
    field[..width].copy_from_slice(padded.as_bytes());
    field[width] = 0;
    Ok(())
}

/// Go's `splitUSTARPath`: a name longer than 100 bytes split at a `/` into prefix (≤155) and name (≤100).
fn split_ustar(name: &str) -> Option<(&str, &str)> {
    let mut length = name.len();
    if length <= NAME_SIZE || !name.is_ascii() {
        return None;
    } else if length > PREFIX_SIZE + 1 {
        length = PREFIX_SIZE + 1;
    } else if name.as_bytes()[length - 1] == b'/' {
        length -= 1;
    }
    let i = name[..length].rfind('/')?;
    let nlen = name.len() - i - 1;
    if i == 0 || nlen > NAME_SIZE || nlen == 0 || i > PREFIX_SIZE {
        return None;
    }
    Some((&name[..i], &name[i + 1..]))
}

fn header(e: &Entry) -> Result<[u8; BLOCK]> {
    let mut b = [0u8; BLOCK];
    let (prefix, name) = if e.name.len() <= NAME_SIZE && e.name.is_ascii() {
        ("", e.name.as_str())
    } else {
        split_ustar(&e.name).ok_or_else(|| {
            Error::invalid(
                "artifact path",
                format!(
                    "'{}' is too long or not ASCII for a USTAR header (at most 100 bytes after a directory prefix of at most 155)",
                    e.name
                ),
            )
        })?
    };
    b[..name.len()].copy_from_slice(name.as_bytes());
    octal(&mut b[100..108], u64::from(e.mode))?;
    octal(&mut b[108..116], 0)?;
    octal(&mut b[116..124], 0)?;
    octal(&mut b[124..136], e.size)?;
    octal(&mut b[136..148], 0)?;
    b[156] = if e.path.is_some() { b'0' } else { b'5' };
    b[257..263].copy_from_slice(b"ustar\0");
    b[263..265].copy_from_slice(b"00");
    octal(&mut b[329..337], 0)?;
    octal(&mut b[337..345], 0)?;
    b[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
    // The checksum, as Go writes it: the sum with the field as spaces, six octal digits, NUL, space.
    b[148..156].fill(b' ');
    let sum: u64 = b.iter().map(|&x| u64::from(x)).sum();
    octal(&mut b[148..155], sum)?;
    b[155] = b' ';
    Ok(b)
}

/// The uncompressed tar of `source` (a directory, or one file placed at the root), flux's layout.
/// Fails when the content exceeds `max_bytes`.
pub fn tar_of(source: &Path, rules: &IgnoreRules, max_bytes: u64) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(source).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::invalid(
                "artifact path",
                format!("source path does not exist: {}", source.display()),
            )
        } else {
            Error::io("reading", source, e)
        }
    })?;
    let mut entries = Vec::new();
    if meta.is_dir() {
        entries.push(Entry {
            name: ".".into(),
            path: None,
            mode: mode_of(&meta),
            size: 0,
        });
        walk(source, &mut Vec::new(), rules, &mut entries)?;
    } else {
        // flux stages a single file in a fresh temporary directory (mode 0700) and tars that directory; the
        // copy is created with the file's permissions under the usual 022 umask.
        let name = source
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| {
                Error::invalid(
                    "artifact path",
                    format!("'{}' has no UTF-8 file name", source.display()),
                )
            })?
            .to_owned();
        entries.push(Entry {
            name: ".".into(),
            path: None,
            mode: 0o700,
            size: 0,
        });
        if !rules.is_ignored(&[name.as_str()], false) {
            entries.push(Entry {
                name,
                path: Some(source.to_owned()),
                mode: mode_of(&meta) & 0o777 & !0o022,
                size: meta.len(),
            });
        }
    }
    let total: u64 = entries.iter().map(|e| e.size).sum();
    if total > max_bytes {
        return Err(Error::invalid(
            "artifact path",
            format!(
                "'{}' holds {total} bytes, more than the limit of {max_bytes}",
                source.display()
            ),
        ));
    }
    let mut out = Vec::with_capacity(usize::try_from(total).unwrap_or(0) + entries.len() * 1024);
    for e in &entries {
        out.extend_from_slice(&header(e)?);
        if let Some(path) = &e.path {
            let data = std::fs::read(path).map_err(|err| Error::io("reading", path, err))?;
            if data.len() as u64 != e.size {
                return Err(Error::invalid(
                    "artifact path",
                    format!("'{}' changed while it was read", path.display()),
                ));
            }
            out.extend_from_slice(&data);
            let pad = (BLOCK - data.len() % BLOCK) % BLOCK;
            out.extend(std::iter::repeat_n(0u8, pad));
        }
    }
    out.extend(std::iter::repeat_n(0u8, 2 * BLOCK));
    Ok(out)
}

/// gzip with Go's `compress/gzip` header (no name, mtime 0, OS 255, XFL 0 at the default level).
pub fn gzip(data: &[u8]) -> Result<Vec<u8>> {
    let mut enc = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::default());
    enc.write_all(data)
        .and_then(|()| enc.finish())
        .map_err(|e| Error::invalid("artifact content", format!("gzip failed: {e}")))
}

/// The gzipped tarball flux pushes as the content layer for `source`.
pub fn build(source: &Path, rules: &IgnoreRules, max_bytes: u64) -> Result<Vec<u8>> {
    gzip(&tar_of(source, rules, max_bytes)?)
}

/// Whether `data` starts with the gzip magic (flux's test for a tarball layer).
pub fn is_gzip(data: &[u8]) -> bool {
    data.starts_with(&[0x1f, 0x8b])
}

/// A path inside the archive made safe: relative, no `..`, no root; `None` for the root itself.
fn safe_relative(name: &str) -> Result<Option<PathBuf>> {
    let mut out = PathBuf::new();
    for c in Path::new(name).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(Error::invalid(
                    "artifact content",
                    format!("the archive entry '{name}' points outside the output directory"),
                ));
            }
        }
    }
    Ok((!out.as_os_str().is_empty()).then_some(out))
}

/// Extracts a gzipped tarball into `dest` like fluxcd/pkg `tar.Untar` with `WithSkipSymlinks`: directories
/// and regular files only (links and devices are skipped), no entry may leave `dest`, and at most
/// `max_bytes` are written. Returns the relative paths of the files written.
pub fn extract(tgz: &[u8], dest: &Path, max_bytes: u64) -> Result<Vec<String>> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tgz));
    let mut written: u64 = 0;
    let mut files = Vec::new();
    let entries = archive
        .entries()
        .map_err(|e| Error::invalid("artifact content", format!("not a tar archive: {e}")))?;
    for entry in entries {
        let mut entry = entry
            .map_err(|e| Error::invalid("artifact content", format!("a bad tar entry: {e}")))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let kind = entry.header().entry_type();
        let Some(rel) = safe_relative(&name)? else {
            continue;
        };
        let target = dest.join(&rel);
        if kind.is_dir() {
            std::fs::create_dir_all(&target)
                .map_err(|e| Error::io("creating directory", &target, e))?;
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        let size = entry.header().size().unwrap_or(0);
        written = written.saturating_add(size);
        if written > max_bytes {
            return Err(Error::invalid(
                "artifact content",
                format!("it unpacks to more than {max_bytes} bytes"),
            ));
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io("creating directory", parent, e))?;
        }
        let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        entry
            .by_ref()
            .take(size)
            .read_to_end(&mut data)
            .map_err(|e| Error::invalid("artifact content", format!("reading '{name}': {e}")))?;
        std::fs::write(&target, &data).map_err(|e| Error::io("writing", &target, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = entry.header().mode().unwrap_or(0o644) & 0o777;
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode | 0o600))
                .map_err(|e| Error::io("setting permissions of", &target, e))?;
        }
        files.push(rel.to_string_lossy().replace('\\', "/"));
    }
    Ok(files)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        std::fs::create_dir_all(p.join("deploy")).unwrap();
        std::fs::create_dir_all(p.join(".git/objects")).unwrap();
        std::fs::write(p.join("deploy/app.yaml"), "kind: Deployment\n").unwrap();
        std::fs::write(
            p.join("kustomization.yaml"),
            "resources: [deploy/app.yaml]\n",
        )
        .unwrap();
        std::fs::write(p.join(".git/config"), "[core]\n").unwrap();
        std::fs::write(p.join("logo.png"), [0u8; 4]).unwrap();
        std::fs::write(p.join(".gitignore"), "x\n").unwrap();
        d
    }

    fn names(tar: &[u8]) -> Vec<String> {
        let mut a = tar::Archive::new(tar);
        a.entries()
            .unwrap()
            .map(|e| String::from_utf8_lossy(&e.unwrap().path_bytes()).into_owned())
            .collect()
    }

    #[test]
    fn default_rules_drop_vcs_and_binary_files_and_keep_lexical_order() {
        let d = tree();
        let tar = tar_of(d.path(), &IgnoreRules::flux_default(), 1 << 20).unwrap();
        assert_eq!(
            names(&tar),
            vec![".", "deploy", "deploy/app.yaml", "kustomization.yaml"]
        );
        assert_eq!(tar.len() % BLOCK, 0);
        assert!(tar[tar.len() - 1024..].iter().all(|&b| b == 0));
    }

    #[test]
    fn headers_are_gos_ustar_bytes() {
        let d = tree();
        let tar = tar_of(d.path(), &IgnoreRules::new(["*"]), 1 << 20).unwrap();
        // Only the root remains; its header is Go's: mode, zero ids/time/size, `ustar\0` `00`, checksum
        // as six digits + NUL + space.
        let h = &tar[..BLOCK];
        assert_eq!(&h[..2], b".\0");
        assert_eq!(&h[108..124], b"0000000\x000000000\x00");
        assert_eq!(&h[124..148], b"00000000000\x0000000000000\x00");
        assert_eq!(h[156], b'5');
        assert_eq!(&h[257..265], b"ustar\x0000");
        assert_eq!(&h[329..345], b"0000000\x000000000\x00");
        assert_eq!(h[154], 0);
        assert_eq!(h[155], b' ');
        let mut check = h.to_vec();
        check[148..156].fill(b' ');
        let sum: u64 = check.iter().map(|&x| u64::from(x)).sum();
        assert_eq!(
            std::str::from_utf8(&h[148..154]).unwrap(),
            format!("{sum:06o}")
        );
        // The tar crate reads it back as a valid archive.
        assert_eq!(names(&tar), vec!["."]);
    }

    #[test]
    fn patterns_follow_sourceignore() {
        let r = IgnoreRules::new(["*.yaml", "!keep/*.yaml", "/top/", "**/secret"]);
        assert!(r.is_ignored(&["a.yaml"], false));
        assert!(r.is_ignored(&["x", "a.yaml"], false));
        assert!(!r.is_ignored(&["keep", "a.yaml"], false));
        assert!(r.is_ignored(&["top"], true));
        assert!(!r.is_ignored(&["top"], false));
        assert!(r.is_ignored(&["a", "b", "secret"], false));
        assert!(!r.is_ignored(&["a.yml"], false));
        let dirs = IgnoreRules::new([".git/"]);
        assert!(dirs.is_ignored(&[".git", "config"], false));
        assert!(!dirs.is_ignored(&[".git"], false));
    }

    #[test]
    fn go_match_classes_and_escapes() {
        assert_eq!(go_match("a[b-d]e", "ace"), Some(true));
        assert_eq!(go_match("a[^b-d]e", "ace"), Some(false));
        assert_eq!(go_match("a\\*", "a*"), Some(true));
        assert_eq!(go_match("?x", "ax"), Some(true));
        assert_eq!(go_match("[", "a"), None);
    }

    #[test]
    fn round_trip_and_traversal_is_refused() {
        let d = tree();
        let tgz = build(d.path(), &IgnoreRules::flux_default(), 1 << 20).unwrap();
        assert!(is_gzip(&tgz));
        assert_eq!(&tgz[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
        let out = tempfile::tempdir().unwrap();
        let files = extract(&tgz, out.path(), 1 << 20).unwrap();
        assert_eq!(files, vec!["deploy/app.yaml", "kustomization.yaml"]);
        assert_eq!(
            std::fs::read_to_string(out.path().join("deploy/app.yaml")).unwrap(),
            "kind: Deployment\n"
        );

        let mut evil = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        h.set_entry_type(tar::EntryType::Regular);
        h.as_gnu_mut().unwrap().name[..9].copy_from_slice(b"../escape");
        h.set_cksum();
        evil.append(&h, &b"x"[..]).unwrap();
        let tgz = gzip(&evil.into_inner().unwrap()).unwrap();
        let err = extract(&tgz, out.path(), 1 << 20).unwrap_err();
        assert!(
            err.to_string().contains("outside the output directory"),
            "{err}"
        );
    }

    #[test]
    fn a_single_file_is_staged_under_the_root() {
        let d = tree();
        let tar = tar_of(
            &d.path().join("kustomization.yaml"),
            &IgnoreRules::flux_default(),
            1 << 20,
        )
        .unwrap();
        assert_eq!(names(&tar), vec![".", "kustomization.yaml"]);
    }
}

//! From a URL path to the script it names and the `PATH_INFO` after it.
//!
//! The walk is done on decoded segments, one at a time, so that `%2f` can never act as a
//! separator and `..` can never climb: a segment that decodes to `..`, or that contains `/`,
//! `\` or NUL, ends the request with `404` before the file system is asked anything. The first
//! segment that names a regular file is the script; the rest is `PATH_INFO`. The script is then
//! canonicalized and must still be inside its script directory (a symlink cannot lead out).

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::CgiConfig;
use crate::urlpath::{decode_segments, normalized, strip_dir, url_path};

/// A script directory: its URL segments and where it is on disk.
#[derive(Debug, Clone)]
pub(crate) struct ScriptDir {
    segments: Vec<Vec<u8>>,
    /// The URL path in its plain spelling, `/cgi-bin`, for the allocation-free fast path.
    url: String,
    fs: PathBuf,
}

impl ScriptDir {
    /// `url` is a URL path such as `/cgi-bin` or `cgi-bin/` (slashes around it do not matter).
    pub(crate) fn new(root: &Path, url: &str) -> ScriptDir {
        let segments: Vec<Vec<u8>> = url
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| s.as_bytes().to_vec())
            .collect();
        let mut fs = root.to_path_buf();
        let mut plain = String::new();
        for s in url.split('/').filter(|s| !s.is_empty()) {
            fs.push(s);
            plain.push('/');
            plain.push_str(s);
        }
        ScriptDir {
            segments,
            url: plain,
            fs,
        }
    }

    /// `url` mapped to `dir` rather than to the same path under the root.
    pub(crate) fn aliased(url: &str, dir: &Path) -> ScriptDir {
        ScriptDir {
            fs: dir.to_path_buf(),
            ..ScriptDir::new(Path::new("/"), url)
        }
    }
}

/// A script found for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The script file, canonical.
    pub file: PathBuf,
    /// The directory the script runs in (the canonical file's parent).
    pub dir: PathBuf,
    /// The decoded URL path of the script (`SCRIPT_NAME`), e.g. `/cgi-bin/env.sh`.
    pub script_name: Vec<u8>,
    /// The decoded rest of the URL path after the script (`PATH_INFO`), `""` or `/a/b`.
    pub path_info: Vec<u8>,
    /// The interpreter to run the script with, from its extension.
    pub interpreter: Option<PathBuf>,
    /// Whether the script's name starts with `nph-`: it writes the whole response itself.
    pub nph: bool,
}

/// Why no script runs for a path.
#[derive(Debug)]
pub enum LocateError {
    /// Nothing there, a directory, or a path that tries to escape (`..`, `%2f`, NUL, `\`,
    /// bad percent-encoding): `404`, so a probe learns nothing.
    NotFound,
    /// The file exists but may not be run: no execute bit and no interpreter, not a regular
    /// file, or a symlink that leads out of the script directory: `403`.
    Forbidden,
    /// The file system failed in some other way: `500`.
    Io(io::Error),
}

impl From<io::Error> for LocateError {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => LocateError::NotFound,
            io::ErrorKind::PermissionDenied => LocateError::Forbidden,
            _ => LocateError::Io(e),
        }
    }
}

/// Whether `path` (percent-encoded) falls under one of `dirs`.
///
/// Deliberately generous: the path is decoded, split on `/` and `\`, and `.`/`..` resolved
/// before comparing, so any spelling that some other handler might resolve into a script
/// directory comes here instead (and is then refused by [`locate`]) rather than having a
/// script's source served as a file.
pub(crate) fn matches(dirs: &[ScriptDir], path: &str) -> bool {
    // Every request asks, so the usual spelling is answered without decoding or allocating.
    let plain = !path.contains(['%', '\\']) && !path.contains("//") && !path.contains("/.");
    if plain {
        return dirs.iter().any(|d| {
            path.strip_prefix(d.url.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        });
    }
    let segments = normalized(path);
    dirs.iter().any(|d| segments.starts_with(&d.segments))
}

/// Finds the script that `path` (percent-encoded, as sent) names.
pub(crate) fn locate(
    config: &CgiConfig,
    dirs: &[ScriptDir],
    path: &str,
) -> Result<Located, LocateError> {
    let segments = decode_segments(path).ok_or(LocateError::NotFound)?;
    let (dir, rest) = dirs
        .iter()
        .find_map(|d| strip_dir(&segments, &d.segments).map(|rest| (d, rest)))
        .ok_or(LocateError::NotFound)?;
    let canonical_dir = fs::canonicalize(&dir.fs)?;
    let mut file = canonical_dir.clone();
    let mut script_name = url_path(&dir.segments);
    for (i, seg) in rest.iter().enumerate() {
        if seg.is_empty() || seg == b"." {
            continue;
        }
        file.push(os_str(seg));
        script_name.push(b'/');
        script_name.extend_from_slice(seg);
        let meta = fs::metadata(&file)?;
        if meta.is_dir() {
            continue;
        }
        if !meta.is_file() {
            return Err(LocateError::Forbidden);
        }
        return found(
            config,
            &canonical_dir,
            file,
            seg,
            script_name,
            &rest[i + 1..],
            &meta,
        );
    }
    Err(LocateError::NotFound)
}

fn found(
    config: &CgiConfig,
    canonical_dir: &Path,
    file: PathBuf,
    name: &[u8],
    script_name: Vec<u8>,
    after: &[Vec<u8>],
    meta: &fs::Metadata,
) -> Result<Located, LocateError> {
    let file = fs::canonicalize(&file)?;
    if !file.starts_with(canonical_dir) {
        return Err(LocateError::Forbidden);
    }
    let interpreter = config.interpreter_for(name).cloned();
    if interpreter.is_none() && meta.permissions().mode() & 0o111 == 0 {
        return Err(LocateError::Forbidden);
    }
    let dir = file.parent().unwrap_or(canonical_dir).to_path_buf();
    let path_info = if after.is_empty() {
        Vec::new()
    } else {
        let mut p = Vec::new();
        for seg in after {
            p.push(b'/');
            p.extend_from_slice(seg);
        }
        p
    };
    Ok(Located {
        file,
        dir,
        script_name,
        path_info,
        interpreter,
        nph: name.starts_with(b"nph-"),
    })
}

fn os_str(b: &[u8]) -> &std::ffi::OsStr {
    std::os::unix::ffi::OsStrExt::from_bytes(b)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn tree() -> (tempfile::TempDir, CgiConfig, Vec<ScriptDir>) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("www");
        fs::create_dir_all(root.join("cgi-bin/sub")).unwrap();
        for (name, mode) in [
            ("run.sh", 0o755),
            ("plain.txt", 0o644),
            ("x.py", 0o644),
            ("nph-raw", 0o755),
        ] {
            let p = root.join("cgi-bin").join(name);
            fs::write(&p, "#!/bin/sh\n").unwrap();
            fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
        }
        fs::write(root.join("cgi-bin/sub/deep.sh"), "").unwrap();
        fs::set_permissions(
            root.join("cgi-bin/sub/deep.sh"),
            fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        fs::write(tmp.path().join("secret.sh"), "").unwrap();
        fs::set_permissions(
            tmp.path().join("secret.sh"),
            fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        std::os::unix::fs::symlink(tmp.path().join("secret.sh"), root.join("cgi-bin/escape.sh"))
            .unwrap();
        let mut config = CgiConfig::new(&root);
        config
            .interpreters
            .push((".py".into(), "/usr/bin/python3".into()));
        let dirs = config
            .script_dirs
            .iter()
            .map(|d| ScriptDir::new(&root, d))
            .collect();
        (tmp, config, dirs)
    }

    #[test]
    fn finds_script_and_path_info() {
        let (_t, c, d) = tree();
        let l = locate(&c, &d, "/cgi-bin/run.sh/a%20b/c/").unwrap();
        assert!(l.file.ends_with("cgi-bin/run.sh"));
        assert_eq!(l.script_name, b"/cgi-bin/run.sh");
        assert_eq!(l.path_info, b"/a b/c/");
        assert!(!l.nph && l.interpreter.is_none());
        let l = locate(&c, &d, "/cgi-bin//./sub/deep.sh").unwrap();
        assert_eq!(l.script_name, b"/cgi-bin/sub/deep.sh");
        assert_eq!(l.path_info, b"");
        assert!(locate(&c, &d, "/cgi-bin/nph-raw").unwrap().nph);
        assert!(
            locate(&c, &d, "/cgi-bin/x.py")
                .unwrap()
                .interpreter
                .is_some()
        );
    }

    #[test]
    fn missing_and_directories_are_not_found() {
        let (_t, c, d) = tree();
        for p in [
            "/cgi-bin/nope.sh",
            "/cgi-bin/",
            "/cgi-bin",
            "/cgi-bin/sub",
            "/htbin/x",
            "/other/run.sh",
        ] {
            assert!(
                matches!(locate(&c, &d, p), Err(LocateError::NotFound)),
                "{p}"
            );
        }
    }

    #[test]
    fn not_executable_or_escaping_is_forbidden() {
        let (_t, c, d) = tree();
        for p in ["/cgi-bin/plain.txt", "/cgi-bin/escape.sh"] {
            assert!(
                matches!(locate(&c, &d, p), Err(LocateError::Forbidden)),
                "{p}"
            );
        }
    }

    #[test]
    fn traversal_tricks_never_resolve() {
        let (_t, c, d) = tree();
        for p in [
            "/cgi-bin/../secret.sh",
            "/cgi-bin/%2e%2e/secret.sh",
            "/cgi-bin/..%2fsecret.sh",
            "/cgi-bin%2frun.sh",
            "/cgi-bin/sub%2fdeep.sh",
            "/cgi-bin/run.sh%00",
            "/cgi-bin/..%5csecret.sh",
            "/cgi-bin/run.sh/../../secret.sh",
            "/cgi-bin/%zz",
        ] {
            assert!(
                matches!(locate(&c, &d, p), Err(LocateError::NotFound)),
                "{p}"
            );
        }
    }

    #[test]
    fn matching_is_generous() {
        let (_t, _c, d) = tree();
        for p in [
            "/cgi-bin",
            "/cgi-bin/x",
            "//cgi-bin/x",
            "/./cgi-bin/x",
            "/a/../cgi-bin/x",
            "/cgi-bin%2fx",
            "/%63gi-bin/x",
            "/htbin/",
        ] {
            assert!(matches(&d, p), "{p}");
        }
        for p in [
            "/",
            "/cgi-binx",
            "/cgi-bin/../x",
            "/index.html",
            "/x/cgi-bin/y",
        ] {
            assert!(!matches(&d, p), "{p}");
        }
    }
}

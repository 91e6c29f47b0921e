//! From a URL path to a relative filesystem path that cannot leave the root.
//!
//! The path is percent-decoded exactly once, segment by segment, so an encoded `/` (`%2f`) can
//! be told from a real one and refused. Segments that would climb (`..` in any spelling) are
//! refused rather than normalised: no legitimate client sends them (browsers and curl resolve
//! dot-segments before sending, RFC 3986 5.2.4), so one that arrives is a probe. Empty and `.`
//! segments are dropped, which also collapses doubled slashes.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use percent_encoding::percent_decode;

use crate::Error;

/// A decoded request path, relative to the root, known to stay below it lexically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelPath {
    /// The segments joined with `/`; empty for the root itself.
    pub path: PathBuf,
    /// Whether the URL path ended with `/` (it names a directory).
    pub slash: bool,
}

impl RelPath {
    /// The path [`resolve_into`] wrote.
    pub fn from_bytes(path: &[u8], slash: bool) -> RelPath {
        RelPath {
            path: PathBuf::from(OsStr::from_bytes(path)),
            slash,
        }
    }

    /// The decoded path as bytes, with a trailing `/` when the URL had one: the cache key.
    pub fn key(&self) -> Vec<u8> {
        // Room for a trailing `/` and the two bytes of a cache key's tag.
        let mut key = Vec::with_capacity(self.path.as_os_str().len() + 3);
        self.key_into(&mut key);
        key
    }

    /// [`RelPath::key`] written into `out` (cleared first), to reuse a buffer.
    pub fn key_into(&self, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(self.path.as_os_str().as_bytes());
        if self.slash {
            out.push(b'/');
        }
    }

    /// The decoded segments, for breadcrumbs.
    pub fn segments(&self) -> impl Iterator<Item = &OsStr> {
        self.path.iter()
    }
}

/// Decodes `raw` (the URL path as sent, starting with `/`) into a [`RelPath`].
///
/// Refuses with [`Error::BadPath`] anything that could name a file outside the root; with
/// [`Error::NotFound`] a dotfile when `hidden` is false (hidden means not there).
pub fn resolve(raw: &str, hidden: bool) -> Result<RelPath, Error> {
    let mut path = Vec::with_capacity(raw.len());
    let slash = resolve_into(raw, hidden, &mut path)?;
    Ok(RelPath::from_bytes(&path, slash))
}

/// [`resolve`] into a buffer: writes the decoded path into `out` (cleared first) and returns
/// whether the URL path ended with `/`. A cache hit needs no more than this, and it allocates
/// nothing once `out` has grown.
pub fn resolve_into(raw: &str, hidden: bool, out: &mut Vec<u8>) -> Result<bool, Error> {
    out.clear();
    let Some(rest) = raw.strip_prefix('/') else {
        return Err(Error::BadPath("path does not start with /"));
    };
    for segment in rest.split('/') {
        // Borrowed unless the segment has escapes: the common path allocates nothing here.
        let decoded: Cow<'_, [u8]> = percent_decode(segment.as_bytes()).into();
        check_segment(&decoded)?;
        match &*decoded {
            b"" | b"." => continue,
            [b'.', ..] if !hidden => return Err(Error::NotFound),
            _ => {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(&decoded);
            }
        }
    }
    Ok(raw.ends_with('/'))
}

/// Refuses a decoded segment that is not a plain name.
fn check_segment(decoded: &[u8]) -> Result<(), Error> {
    if decoded == b".." {
        return Err(Error::BadPath("dot-dot segment"));
    }
    for &b in decoded {
        match b {
            0 => return Err(Error::BadPath("NUL byte")),
            b'/' => return Err(Error::BadPath("encoded slash")),
            b'\\' => return Err(Error::BadPath("backslash")),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> (String, bool) {
        let r = resolve(raw, false).unwrap();
        (r.path.to_string_lossy().into_owned(), r.slash)
    }

    fn bad(raw: &str) -> bool {
        matches!(resolve(raw, false), Err(Error::BadPath(_)))
    }

    #[test]
    fn plain_paths_decode_once() {
        assert_eq!(ok("/"), (String::new(), true));
        assert_eq!(ok("/a%20b.txt"), ("a b.txt".into(), false));
        assert_eq!(ok("/dir/"), ("dir".into(), true));
        assert_eq!(ok("/100%25.txt"), ("100%.txt".into(), false));
        assert_eq!(ok("/%252e%252e"), ("%2e%2e".into(), false));
        assert_eq!(ok("//a//b/./c"), ("a/b/c".into(), false));
    }

    #[test]
    fn escapes_are_refused_in_every_spelling() {
        for raw in [
            "/..",
            "/../etc/passwd",
            "/a/../../b",
            "/%2e%2e/x",
            "/%2E%2e/x",
            "/.%2e/x",
            "/a%2f..%2fb",
            "/a%2Fb",
            "/..\\x",
            "/a%5cb",
            "/a%00b",
            "/a\\b",
        ] {
            assert!(bad(raw), "{raw} accepted");
        }
        assert!(bad("x"));
    }

    #[test]
    fn dotfiles_are_hidden_unless_asked() {
        assert!(matches!(resolve("/.env", false), Err(Error::NotFound)));
        assert!(matches!(
            resolve("/a/.git/config", false),
            Err(Error::NotFound)
        ));
        assert_eq!(resolve("/.env", true).unwrap().path, PathBuf::from(".env"));
    }

    #[test]
    fn non_utf8_bytes_survive() {
        let r = resolve("/caf%E9.txt", false).unwrap();
        assert_eq!(r.path.as_os_str().as_bytes(), b"caf\xe9.txt");
    }

    #[test]
    fn keys_keep_the_slash() {
        assert_eq!(resolve("/a/", false).unwrap().key(), b"a/");
        assert_eq!(resolve("/a", false).unwrap().key(), b"a");
    }
}

//! What one `stat` says about a file: its identity, to tell whether a cached copy is still the
//! file on disk, and its validators (`ETag`, `Last-Modified`).

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderValue;

/// How old a file's last change must be before its bytes are cached.
///
/// Timestamps tick in steps (a few milliseconds on many filesystems), so a file written twice
/// within one step can keep the same size and times. A file changed this recently is read from
/// disk on every request instead, the rule git applies to "racily clean" index entries; once it
/// has settled, any later write moves its times and is seen by the next `stat`.
pub const SETTLE_TIME: Duration = Duration::from_secs(2);

/// The identity of a file's content as far as `stat` can tell: a replaced file has another
/// inode, a written one another size, mtime or ctime (ctime cannot be set back by `touch`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FileId {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl FileId {
    /// The identity of the file `meta` describes.
    pub fn of(meta: &Metadata) -> FileId {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime_ns: nanos(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: nanos(meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// The file's size in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The modification time.
    pub fn modified(&self) -> SystemTime {
        let ns = self.mtime_ns.max(0);
        UNIX_EPOCH + Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
    }

    /// A strong entity tag (RFC 9110 8.8.3): it changes whenever the content may have changed.
    /// `suffix` tells apart the encoded representations of the same file.
    pub fn etag(&self, suffix: &str) -> HeaderValue {
        let text = format!(
            "\"{:x}-{:x}-{:x}{suffix}\"",
            self.ino, self.len, self.mtime_ns as u128 as u64
        );
        // Hex digits, dashes and a known suffix: always a valid header value.
        HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("\"0\""))
    }

    /// Whether the file has been left alone for [`SETTLE_TIME`] and may be cached.
    pub fn is_settled(&self, now: SystemTime) -> bool {
        let Ok(since_epoch) = now.duration_since(UNIX_EPOCH) else {
            return false;
        };
        let horizon = since_epoch.saturating_sub(SETTLE_TIME).as_nanos() as i128;
        self.mtime_ns < horizon && self.ctime_ns < horizon
    }
}

fn nanos(secs: i64, nsec: i64) -> i128 {
    i128::from(secs) * 1_000_000_000 + i128::from(nsec)
}

/// The `Last-Modified` value for `t`.
pub fn http_date(t: SystemTime) -> HeaderValue {
    let text = httpdate::fmt_http_date(t.max(UNIX_EPOCH));
    HeaderValue::from_str(&text)
        .unwrap_or(HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_write_changes_the_identity_and_the_etag() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"one").unwrap();
        let a = FileId::of(&std::fs::metadata(&p).unwrap());
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"!")
            .unwrap();
        let b = FileId::of(&std::fs::metadata(&p).unwrap());
        assert_ne!(a, b);
        assert_ne!(a.etag(""), b.etag(""));
        assert_ne!(a.etag(""), a.etag("-br"));
        assert!(a.etag("").to_str().unwrap().starts_with('"'));
    }

    #[test]
    fn fresh_files_are_not_settled() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"x").unwrap();
        let id = FileId::of(&std::fs::metadata(&p).unwrap());
        assert!(!id.is_settled(SystemTime::now()));
        assert!(id.is_settled(SystemTime::now() + Duration::from_secs(60)));
    }
}

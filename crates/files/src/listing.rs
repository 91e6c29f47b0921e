//! Directory listings: read once, sort as the query asks, render as HTML or JSON.
//!
//! Names are bytes, not strings: a name that is not UTF-8 is shown lossily but linked by its
//! exact bytes, percent-encoded, so every entry stays reachable. Every name is HTML-escaped in
//! text and percent-encoded in hrefs, which also keeps `#`, `?` and `%` in names from being
//! read as URL syntax.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::ffi::OsString;
use std::fmt;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use askama::Template;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};
use semantics::html::Escaped;
use semantics::size::Size;
use serde::Serialize;

use crate::beneath::link_allowed;
pub use crate::query::{Sort, SortKey};
use crate::resolve::RelPath;

/// Bytes left alone in an href: RFC 3986 unreserved characters. Everything else, `:` included
/// (so `a:b` cannot read as a scheme), is percent-encoded.
const HREF: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// One entry of a directory.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The name as the filesystem has it.
    pub name: OsString,
    /// Whether it is a directory (after following a symlink).
    pub is_dir: bool,
    /// Size in bytes (files only).
    pub size: u64,
    /// Modification time, when known.
    pub modified: Option<SystemTime>,
}

/// Reads `dir`: one `stat` per entry for size and time (the kind comes free with the entry),
/// more for a symlink (its target decides). Dotfiles are left out unless `hidden`, and so are
/// symlinks to them; symlinks that leave `root` are left out unless `follow_symlinks`, as are
/// dangling ones: a listing shows what a request may fetch.
pub fn read(
    dir: &Path,
    root: &Path,
    hidden: bool,
    follow_symlinks: bool,
) -> io::Result<Vec<Entry>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if !hidden && name.as_bytes().starts_with(b".") {
            continue;
        }
        let meta = if entry.file_type()?.is_symlink() {
            let path = entry.path();
            match std::fs::metadata(&path) {
                Ok(m) if link_allowed(root, &path, hidden, follow_symlinks) => m,
                _ => continue,
            }
        } else {
            match entry.metadata() {
                Ok(m) => m,
                Err(_) => continue, // removed while we read: not there any more
            }
        };
        out.push(Entry {
            name,
            is_dir: meta.is_dir(),
            size: if meta.is_dir() { 0 } else { meta.len() },
            modified: meta.modified().ok(),
        });
    }
    Ok(out)
}

impl Sort {
    /// Sorts `entries`.
    pub fn apply(self, entries: &mut [Entry]) {
        entries.sort_unstable_by(|a, b| {
            b.is_dir.cmp(&a.is_dir).then_with(|| {
                let o = match self.key {
                    SortKey::Name => Ordering::Equal,
                    SortKey::Size => a.size.cmp(&b.size),
                    SortKey::Modified => a.modified.cmp(&b.modified),
                };
                let o = o.then_with(|| by_name(a, b));
                if self.descending { o.reverse() } else { o }
            })
        });
    }
}

fn by_name(a: &Entry, b: &Entry) -> Ordering {
    let (a, b) = (a.name.as_bytes(), b.name.as_bytes());
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (x.to_ascii_lowercase(), y.to_ascii_lowercase());
        if x != y {
            return x.cmp(&y);
        }
    }
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// The percent-encoded form of a name, for an href.
fn href(name: &[u8]) -> String {
    percent_encoding::percent_encode(name, HREF).to_string()
}

/// `YYYY-MM-DD HH:MM` in UTC.
pub fn short_time(t: SystemTime) -> String {
    ShortTime(t).to_string()
}

/// A time as a listing shows it: `YYYY-MM-DD HH:MM` in UTC.
#[derive(Debug, Clone, Copy)]
struct ShortTime(SystemTime);

impl fmt::Display for ShortTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
        let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400) as u64);
        let (y, m, d) = http1::date::civil_from_days(days);
        let y = y.max(0);
        write!(
            f,
            "{y:04}-{m:02}-{d:02} {:02}:{:02}",
            rem / 3600,
            rem % 3600 / 60
        )
    }
}

/// A name percent-encoded for an href, written straight into the page.
struct Href<'a>(&'a [u8]);

impl fmt::Display for Href<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for piece in percent_encoding::percent_encode(self.0, HREF) {
            f.write_str(piece)?;
        }
        Ok(())
    }
}

impl Entry {
    /// The name as the page shows it (lossily, when it is not UTF-8).
    fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(self.name.as_bytes())
    }

    /// The name as the page links to it: its exact bytes, percent-encoded.
    fn href(&self) -> Href<'_> {
        Href(self.name.as_bytes())
    }

    /// The size for humans.
    fn size(&self) -> Size {
        Size(self.size)
    }

    /// The modification time for humans.
    fn time(&self) -> Option<ShortTime> {
        self.modified.map(ShortTime)
    }
}

/// askama's escaper for the listing's template (`askama.toml`), so names are escaped by the
/// server's one rule ([`semantics::html`]): `&lt;`, `&amp;`, `&quot;`, `&#39;`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct HtmlEscaper;

impl askama::filters::Escaper for HtmlEscaper {
    fn write_escaped_str<W: fmt::Write>(&self, mut dest: W, string: &str) -> fmt::Result {
        write!(dest, "{}", Escaped(string))
    }
}

/// The listing page, from `templates/listing.html`.
#[derive(Template)]
#[template(path = "listing.html")]
struct Page<'a> {
    /// `/a/b/`, for the title.
    title: String,
    /// The URL path the root is served at (empty for `/`).
    mount: &'a str,
    /// The ancestors below the root, each linked.
    crumbs: Vec<Crumb<'a>>,
    /// This directory's own name, unless it is the root.
    here: Option<Cow<'a, str>>,
    columns: [Column; 3],
    /// Whether to link the parent directory (not at the root).
    parent: bool,
    entries: &'a [Entry],
    actions: Actions,
    dirs: usize,
    files: usize,
}

/// An ancestor in the `Index of /a/b/` heading.
struct Crumb<'a> {
    /// Its path below the mount, percent-encoded, ending in `/`.
    href: String,
    name: Cow<'a, str>,
}

/// A column header linking to the listing sorted by it (toggling the order when it is the
/// current column).
struct Column {
    class: &'static str,
    label: &'static str,
    /// Whether the listing is sorted by this column.
    on: bool,
    param: &'static str,
    order: &'static str,
    arrow: &'static str,
}

impl Column {
    fn new(sort: Sort, key: SortKey, label: &'static str, class: &'static str) -> Self {
        let on = sort.key == key;
        Self {
            class,
            label,
            on,
            param: Sort {
                key,
                descending: false,
            }
            .param(),
            order: if on && !sort.descending {
                "desc"
            } else {
                "asc"
            },
            arrow: match (on, sort.descending) {
                (false, _) => "",
                (true, false) => " \u{2191}",
                (true, true) => " \u{2193}",
            },
        }
    }
}

/// What a listing page offers besides its entries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Actions {
    /// Links to the directory as `.tar.gz` and `.zip` ([`crate::archive`]).
    pub download: bool,
    /// The upload form ([`crate::upload`]).
    pub upload: bool,
}

/// The listing of the directory at `rel` as an HTML page.
pub fn html(rel: &RelPath, entries: &[Entry], sort: Sort) -> String {
    html_with(rel, entries, sort, Actions::default(), "")
}

/// [`html`] with the download links and the upload form, as `actions` says. The form posts
/// `multipart/form-data` to the directory itself; the browser shows the upload's progress.
/// `mount` is the URL path the root is served at (empty for `/`).
pub fn html_with(
    rel: &RelPath,
    entries: &[Entry],
    sort: Sort,
    actions: Actions,
    mount: &str,
) -> String {
    let segments: Vec<&std::ffi::OsStr> = rel.segments().collect();
    let mut crumbs = Vec::with_capacity(segments.len());
    let mut href_path = String::new();
    for seg in segments.iter().take(segments.len().saturating_sub(1)) {
        href_path.push_str(&href(seg.as_bytes()));
        href_path.push('/');
        crumbs.push(Crumb {
            href: href_path.clone(),
            name: String::from_utf8_lossy(seg.as_bytes()),
        });
    }
    let dirs = entries.iter().filter(|e| e.is_dir).count();
    let page = Page {
        title: display_path(rel),
        mount,
        crumbs,
        here: segments
            .last()
            .map(|seg| String::from_utf8_lossy(seg.as_bytes())),
        columns: [
            Column::new(sort, SortKey::Name, "Name", ""),
            Column::new(sort, SortKey::Size, "Size", "s"),
            Column::new(sort, SortKey::Modified, "Modified", "m"),
        ],
        parent: !segments.is_empty(),
        entries,
        actions,
        dirs,
        files: entries.len() - dirs,
    };
    let mut out = String::with_capacity(4096 + entries.len() * 200);
    // Writing into a String only fails if a Display impl does, and none here does.
    let _ = page.render_into(&mut out);
    out
}

fn display_path(rel: &RelPath) -> String {
    let mut s = String::from("/");
    for seg in rel.segments() {
        s.push_str(&String::from_utf8_lossy(seg.as_bytes()));
        s.push('/');
    }
    s
}

#[derive(Serialize)]
struct JsonListing<'a> {
    path: String,
    entries: Vec<JsonEntry<'a>>,
}

#[derive(Serialize)]
struct JsonEntry<'a> {
    name: std::borrow::Cow<'a, str>,
    href: String,
    #[serde(rename = "type")]
    kind: &'static str,
    size: u64,
    modified: Option<u64>,
}

/// The listing as JSON: `{"path": "/a/", "entries": [{"name", "href", "type": "dir"|"file",
/// "size", "modified" (Unix seconds)}]}`. `href` carries the exact bytes of names that are not
/// UTF-8 (`name` shows them lossily).
pub fn json(rel: &RelPath, entries: &[Entry]) -> String {
    let listing = JsonListing {
        path: display_path(rel),
        entries: entries
            .iter()
            .map(|e| JsonEntry {
                name: String::from_utf8_lossy(e.name.as_bytes()),
                href: if e.is_dir {
                    href(e.name.as_bytes()) + "/"
                } else {
                    href(e.name.as_bytes())
                },
                kind: if e.is_dir { "dir" } else { "file" },
                size: e.size,
                modified: e
                    .modified
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map(|d| d.as_secs()),
            })
            .collect(),
    };
    serde_json::to_string(&listing).unwrap_or_else(|_| "{}".to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn e(name: &[u8], is_dir: bool, size: u64, t: u64) -> Entry {
        Entry {
            name: std::ffi::OsStr::from_bytes(name).to_owned(),
            is_dir,
            size,
            modified: Some(UNIX_EPOCH + Duration::from_secs(t)),
        }
    }

    fn names(v: &[Entry]) -> Vec<String> {
        v.iter()
            .map(|e| e.name.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn sorting_keeps_directories_first() {
        let mut v = vec![
            e(b"b", false, 5, 1),
            e(b"A", false, 9, 3),
            e(b"z", true, 0, 2),
            e(b"c", false, 1, 2),
        ];
        Sort::from_query(None).apply(&mut v);
        assert_eq!(names(&v), ["z", "A", "b", "c"]);
        Sort::from_query(Some("sort=size&order=desc")).apply(&mut v);
        assert_eq!(names(&v), ["z", "A", "b", "c"]);
        Sort::from_query(Some("sort=size")).apply(&mut v);
        assert_eq!(names(&v), ["z", "c", "b", "A"]);
        Sort::from_query(Some("sort=modified&order=desc")).apply(&mut v);
        assert_eq!(names(&v), ["z", "A", "c", "b"]);
    }

    #[test]
    fn awkward_names_are_escaped_and_encoded() {
        let rel = crate::resolve::resolve("/d%20x/", false).unwrap();
        let v = vec![
            e(b"<x>&\"y\".txt", false, 1, 0),
            e(b"q?#%.txt", false, 1, 0),
            e(b"caf\xe9", false, 1, 0),
        ];
        let page = html(&rel, &v, Sort::from_query(None));
        assert!(
            page.contains("href=\"%3Cx%3E%26%22y%22.txt\">&lt;x&gt;&amp;&quot;y&quot;.txt</a>"),
            "{page}"
        );
        assert!(page.contains("href=\"q%3F%23%25.txt\">q?#%.txt</a>"));
        assert!(page.contains("href=\"caf%E9\">caf\u{fffd}</a>"));
        assert!(page.contains("<title>Index of /d x/</title>"));
        assert!(!page.contains("<x>"));
        let j: serde_json::Value = serde_json::from_str(&json(&rel, &v)).unwrap();
        assert_eq!(j["path"], "/d x/");
        assert_eq!(j["entries"][2]["href"], "caf%E9");
    }

    #[test]
    fn times_for_humans() {
        assert_eq!(
            short_time(UNIX_EPOCH + Duration::from_secs(784_111_777)),
            "1994-11-06 08:49"
        );
        assert_eq!(
            short_time(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29 00:00"
        );
    }
}

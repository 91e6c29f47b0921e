//! Directory listings: read once, sort as the query asks, render as HTML or JSON.
//!
//! Names are bytes, not strings: a name that is not UTF-8 is shown lossily but linked by its
//! exact bytes, percent-encoded, so every entry stays reachable. Every name is HTML-escaped in
//! text and percent-encoded in hrefs, which also keeps `#`, `?` and `%` in names from being
//! read as URL syntax.

use std::cmp::Ordering;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};
use semantics::html::escape_into;
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

/// Appends the percent-encoded form of a name.
fn push_href(out: &mut String, name: &[u8]) {
    for piece in percent_encoding::percent_encode(name, HREF) {
        out.push_str(piece);
    }
}

/// Appends `n` with at least `width` digits.
fn push_num(out: &mut String, n: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let start = i.min(digits.len() - width.min(digits.len()));
    for &d in &digits[start..] {
        out.push(char::from(d));
    }
}

/// `YYYY-MM-DD HH:MM` in UTC.
pub fn short_time(t: SystemTime) -> String {
    let mut out = String::new();
    push_time(&mut out, t);
    out
}

fn push_time(out: &mut String, t: SystemTime) {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400) as u64);
    let (y, m, d) = http1::date::civil_from_days(days);
    push_num(out, y.max(0) as u64, 4);
    out.push('-');
    push_num(out, u64::from(m), 2);
    out.push('-');
    push_num(out, u64::from(d), 2);
    out.push(' ');
    push_num(out, rem / 3600, 2);
    out.push(':');
    push_num(out, rem % 3600 / 60, 2);
}

const STYLE: &str = "\
:root{color-scheme:light dark;--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--bg:#fff;--hover:#f6f8fa;--link:#0969da}\
@media(prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#8d96a0;--line:#30363d;--bg:#0d1117;--hover:#161b22;--link:#4493f8}}\
*{box-sizing:border-box}\
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif}\
main{max-width:960px;margin:0 auto;padding:32px 20px}\
h1{font-size:20px;font-weight:600;margin:0 0 20px;word-break:break-all}\
h1 a{color:var(--link);text-decoration:none}h1 a:hover{text-decoration:underline}\
h1 .sep{color:var(--muted);margin-right:4px;font-weight:400}\
table{width:100%;border-collapse:collapse;border:1px solid var(--line);border-radius:8px;overflow:hidden}\
th,td{padding:8px 14px;text-align:left;border-bottom:1px solid var(--line)}\
th{font-size:13px;font-weight:600;background:var(--hover)}\
th a{color:var(--muted);text-decoration:none}th a:hover,th a.on{color:var(--fg)}\
tr:last-child td{border-bottom:0}tbody tr:hover{background:var(--hover)}\
td.n a{color:var(--link);text-decoration:none;word-break:break-all}td.n a:hover{text-decoration:underline}\
td.n a::before{content:\"\";display:inline-block;width:14px;height:11px;margin-right:10px;border:1.5px solid var(--muted);border-radius:2px;vertical-align:-1px}\
tr.d td.n a::before{background:var(--muted);border-radius:1px 4px 2px 2px;opacity:.55}\
tr.up td.n a::before{border:0;background:none;opacity:1;width:14px;height:auto;content:\"\\2190\";color:var(--muted)}\
td.s,th.s{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}\
td.m{white-space:nowrap;color:var(--muted);font-variant-numeric:tabular-nums}\
footer{margin-top:14px;color:var(--muted);font-size:13px}\
@media(max-width:600px){td.m,th.m{display:none}}";

/// The listing of the directory at `rel` as an HTML page; `mount` is the URL path the root is
/// served at (empty for `/`).
pub fn html(rel: &RelPath, entries: &[Entry], sort: Sort, mount: &str) -> String {
    let mut out = String::with_capacity(2048 + entries.len() * 160);
    let title = display_path(rel);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str(
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Index of ",
    );
    escape_into(&mut out, &title);
    out.push_str("</title><style>");
    out.push_str(STYLE);
    out.push_str("</style></head><body><main><h1>");
    breadcrumb(&mut out, rel, mount);
    out.push_str("</h1><table><thead><tr>");
    header_cell(&mut out, sort, SortKey::Name, "Name", "");
    header_cell(&mut out, sort, SortKey::Size, "Size", "s");
    header_cell(&mut out, sort, SortKey::Modified, "Modified", "m");
    out.push_str("</tr></thead><tbody>");
    if !rel.path.as_os_str().is_empty() {
        out.push_str("<tr class=\"up d\"><td class=\"n\"><a href=\"../\">Parent directory</a></td><td class=\"s\"></td><td class=\"m\"></td></tr>");
    }
    let mut dirs = 0;
    for e in entries {
        dirs += usize::from(e.is_dir);
        row(&mut out, e);
    }
    let _ = writeln!(
        out,
        "</tbody></table><footer>{dirs} {}, {} {}</footer></main></body></html>",
        if dirs == 1 {
            "directory"
        } else {
            "directories"
        },
        entries.len() - dirs,
        if entries.len() - dirs == 1 {
            "file"
        } else {
            "files"
        },
    );
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

/// `Index of /a/b/`: the root and every ancestor linked by its absolute path.
fn breadcrumb(out: &mut String, rel: &RelPath, mount: &str) {
    let count = rel.segments().count();
    out.push_str("<span class=\"sep\">Index of</span> ");
    let mut href_path = format!("{mount}/");
    if count == 0 {
        out.push_str("<span>/</span>");
    } else {
        out.push_str("<a href=\"");
        out.push_str(&href_path);
        out.push_str("\">/</a>");
    }
    for (i, seg) in rel.segments().enumerate() {
        href_path.push_str(&href(seg.as_bytes()));
        href_path.push('/');
        let name = String::from_utf8_lossy(seg.as_bytes());
        if i + 1 == count {
            out.push_str("<span>");
            escape_into(out, &name);
            out.push_str("/</span>");
        } else {
            out.push_str("<a href=\"");
            out.push_str(&href_path);
            out.push_str("\">");
            escape_into(out, &name);
            out.push_str("/</a>");
        }
    }
}

/// A column header linking to the listing sorted by it (toggling the order when it is the
/// current column).
fn header_cell(out: &mut String, sort: Sort, key: SortKey, label: &str, class: &str) {
    let this = Sort {
        key,
        descending: false,
    };
    let on = sort.key == key;
    let order = if on && !sort.descending {
        "desc"
    } else {
        "asc"
    };
    let arrow = match (on, sort.descending) {
        (false, _) => "",
        (true, false) => " \u{2191}",
        (true, true) => " \u{2193}",
    };
    let _ = write!(
        out,
        "<th class=\"{class}\"><a class=\"{}\" href=\"?sort={}&amp;order={order}\">{label}{arrow}</a></th>",
        if on { "on" } else { "" },
        this.param(),
    );
}

fn row(out: &mut String, e: &Entry) {
    let name = String::from_utf8_lossy(e.name.as_bytes());
    out.push_str(if e.is_dir {
        "<tr class=\"d\"><td class=\"n\"><a href=\""
    } else {
        "<tr><td class=\"n\"><a href=\""
    });
    push_href(out, e.name.as_bytes());
    if e.is_dir {
        out.push('/');
    }
    out.push_str("\">");
    escape_into(out, &name);
    if e.is_dir {
        out.push('/');
    }
    out.push_str("</a></td><td class=\"s\">");
    if e.is_dir {
        out.push('\u{2014}');
    } else {
        let _ = write!(out, "{}", Size(e.size));
    }
    out.push_str("</td><td class=\"m\">");
    if let Some(t) = e.modified {
        push_time(out, t);
    }
    out.push_str("</td></tr>");
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
        let page = html(&rel, &v, Sort::from_query(None), "");
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
        let mut n = String::new();
        push_num(&mut n, 7, 2);
        push_num(&mut n, 12345, 2);
        assert_eq!(n, "0712345");
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

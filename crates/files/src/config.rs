//! What the file server is told to do. The CLI builds and validates it; nothing here reads argv.

use std::io;
use std::path::{Path, PathBuf};

use http::{HeaderName, HeaderValue};
use http1::Headers;

/// Index files tried for a directory when none are configured, in order.
pub const DEFAULT_INDEX: [&str; 2] = ["index.html", "index.htm"];

/// Header fields the server computes for each response (framing, coding, validators, the
/// clock), which a configured field may not replace: a wrong `Content-Length` or `ETag` would
/// corrupt the response or every cache behind it. The CLI refuses them at startup.
const COMPUTED: [&str; 8] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "content-encoding",
    "content-range",
    "etag",
    "last-modified",
    "date",
];

/// Whether `name` is a field the server computes itself, so `-H` may not set it.
pub fn is_computed(name: &HeaderName) -> bool {
    COMPUTED.contains(&name.as_str())
}

/// Settings of one [`crate::Files`] service.
#[derive(Debug, Clone)]
pub struct Config {
    /// The directory served, canonical (symlinks resolved), so containment checks compare
    /// canonical paths with canonical paths.
    pub root: PathBuf,
    /// File names tried, in order, for a URL that names a directory.
    pub index: Vec<String>,
    /// Whether a directory without an index is listed (otherwise `404`).
    pub listing: bool,
    /// Whether names starting with `.` are listed and served.
    pub hidden: bool,
    /// Whether symlinks leading outside the root are followed (otherwise `404`).
    pub follow_symlinks: bool,
    /// Whether compressible files are compressed on the fly (precompressed sidecars are used
    /// either way).
    pub compress: bool,
    /// A file, relative to the root, served with `200` instead of a `404` (single-page apps).
    pub spa: Option<PathBuf>,
    /// `Cache-Control` of files and listings.
    pub cache_control: HeaderValue,
    /// Whether every response allows any origin (`Access-Control-Allow-Origin: *`) and
    /// preflight requests are answered.
    pub cors: bool,
    /// Fields added to every response (`-H`), each replacing the server's field of the same
    /// name, except `Vary`, which is merged with the server's. Names [`is_computed`] accepts
    /// must not be among them.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The URL path the root is mounted at when a router strips a prefix before the request
    /// reaches this service (`/files`), so the absolute links of listings keep it; empty at `/`.
    pub mount: String,
    /// Uploads and changes (`PUT`, `DELETE`, `MKCOL`, the listing's upload form) and their
    /// limits; `None`, the default: read-only. Whoever turns it on puts authentication in
    /// front (the CLI refuses it without, unless told the site is public).
    pub upload: Option<crate::upload::Upload>,
    /// Whether listings offer their directory as `.tar.gz` and `.zip` (`?download=`).
    pub archives: bool,
    /// Changes made to every response's fields last, after [`Config::headers`]: a
    /// configuration route's `headers = { set, add, remove }`. Made here rather than on each
    /// answer, they are part of the fields a cached file renders once.
    pub rules: FieldRules,
}

/// `remove`, then `set` (replacing every field of the name), then `add` (beside the
/// response's own), in that order, on a response's fields.
#[derive(Debug, Clone, Default)]
pub struct FieldRules {
    /// Taken out.
    pub remove: Vec<HeaderName>,
    /// Replace any field of the same name.
    pub set: Vec<(HeaderName, HeaderValue)>,
    /// Appended, keeping the response's.
    pub add: Vec<(HeaderName, HeaderValue)>,
}

impl FieldRules {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.remove.is_empty() && self.set.is_empty() && self.add.is_empty()
    }

    /// Whether applying the rules may change or drop a field already in `fields` (not only
    /// add one after them).
    pub fn touches(&self, fields: &Headers) -> bool {
        let mut names = self.remove.iter().chain(self.set.iter().map(|(n, _)| n));
        names.any(|n| fields.contains(n.as_str()))
    }

    /// Applies the rules to `fields`.
    pub fn apply(&self, fields: &mut Headers) {
        for name in &self.remove {
            fields.remove(name.as_str());
        }
        for (name, value) in &self.set {
            fields.insert(name.clone(), value.clone());
        }
        for (name, value) in &self.add {
            fields.append(name.clone(), value.clone());
        }
    }
}

impl Config {
    /// Defaults for serving `root`: index files, listings on, dotfiles hidden, symlinks kept
    /// inside, compression on, `Cache-Control: no-cache` (clients may store files but revalidate
    /// each use, which a `304` makes cheap, so an edited file shows on the next reload).
    ///
    /// Fails when `root` does not exist or is not a directory.
    pub fn new(root: impl AsRef<Path>) -> io::Result<Config> {
        let root = std::fs::canonicalize(root.as_ref())?;
        if !std::fs::metadata(&root)?.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                "not a directory",
            ));
        }
        Ok(Config {
            root,
            index: DEFAULT_INDEX.iter().map(|s| s.to_string()).collect(),
            listing: true,
            hidden: false,
            follow_symlinks: false,
            compress: true,
            spa: None,
            cache_control: HeaderValue::from_static("no-cache"),
            cors: false,
            headers: Vec::new(),
            mount: String::new(),
            upload: None,
            archives: true,
            rules: FieldRules::default(),
        })
    }

    /// `Cache-Control: max-age=SECS` instead of the default `no-cache`.
    pub fn max_age(&mut self, secs: u64) {
        // A decimal number is always a valid header value.
        if let Ok(v) = HeaderValue::from_str(&format!("max-age={secs}")) {
            self.cache_control = v;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn fields(list: &[(&'static str, &'static str)]) -> Headers {
        let mut h = Headers::new();
        for (n, v) in list {
            h.append(HeaderName::from_static(n), HeaderValue::from_static(v));
        }
        h
    }

    fn rules() -> FieldRules {
        FieldRules {
            remove: vec![HeaderName::from_static("x-gone")],
            set: vec![(
                HeaderName::from_static("x-content-type-options"),
                HeaderValue::from_static("nosniff"),
            )],
            add: vec![(
                HeaderName::from_static("link"),
                HeaderValue::from_static("</a.css>"),
            )],
        }
    }

    #[test]
    fn remove_then_set_then_add() {
        let mut h = fields(&[
            ("x-content-type-options", "nosniff"),
            ("x-gone", "1"),
            ("link", "</b.css>"),
            ("x-content-type-options", "other"),
        ]);
        rules().apply(&mut h);
        let got: Vec<(&str, &str)> = h
            .iter()
            .map(|(n, v)| (n.as_str(), v.to_str().unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                ("link", "</b.css>"),
                ("x-content-type-options", "nosniff"),
                ("link", "</a.css>"),
            ]
        );
    }

    #[test]
    fn touches_only_names_it_changes_or_removes() {
        let r = rules();
        assert!(r.touches(&fields(&[("x-content-type-options", "nosniff")])));
        assert!(r.touches(&fields(&[("x-gone", "1")])));
        assert!(!r.touches(&fields(&[("link", "</b.css>"), ("etag", "\"x\"")])));
        assert!(!FieldRules::default().touches(&fields(&[("x-gone", "1")])));
        assert!(FieldRules::default().is_empty() && !r.is_empty());
    }
}

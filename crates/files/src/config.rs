//! What the file server is told to do. The CLI builds and validates it; nothing here reads argv.

use std::io;
use std::path::{Path, PathBuf};

use http::{HeaderName, HeaderValue};

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

//! Choosing the site for a host and the route for a path, without allocating.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::host::{HostPattern, request_host};
use crate::model::{RoutePath, Site};

/// The sites of a configuration, indexed for [`Hosts::find`]: a hash lookup for the exact
/// name, and one for the name without its first label (one-label wildcards), however many
/// sites there are.
#[derive(Debug, Clone)]
pub struct Hosts {
    /// Exact names, lowercase, to their site.
    exact: HashMap<Box<str>, usize, Fnv>,
    /// `example.test` of each `*.example.test`, lowercase, to its site.
    wild: HashMap<Box<str>, usize, Fnv>,
    /// The site for hosts no pattern matches: the `default = true` one, else the first
    /// site without `hosts`.
    fallback: Option<usize>,
    /// The lengths of the keys of `exact` and of `wild`, one bit each ([`length_bit`]): a
    /// name of a length no key has is not hashed (an address sent as `Host` to a server of
    /// named sites, say).
    exact_lengths: u64,
    wild_lengths: u64,
}

/// The bit of a key's length in [`Hosts`]' masks; lengths 64 apart share one, which only
/// costs a lookup that misses.
fn length_bit(len: usize) -> u64 {
    1 << (len % 64)
}

impl Hosts {
    /// The index for `sites` (validated: at most one default, each name claimed once).
    pub fn new(sites: &[Site]) -> Hosts {
        let (mut exact, mut wild) = (HashMap::default(), HashMap::default());
        for (i, site) in sites.iter().enumerate() {
            for pattern in &site.hosts {
                let (table, key) = match pattern {
                    HostPattern::Exact(name) => (&mut exact, name.as_str()),
                    HostPattern::Wildcard(suffix) => (&mut wild, &suffix[1..]),
                };
                table.entry(key.into()).or_insert(i);
            }
        }
        let fallback = sites
            .iter()
            .position(|s| s.default)
            .or_else(|| sites.iter().position(|s| s.hosts.is_empty()));
        let lengths = |t: &HashMap<Box<str>, usize, Fnv>| {
            t.keys().fold(0, |bits, k| bits | length_bit(k.len()))
        };
        Hosts {
            exact_lengths: lengths(&exact),
            wild_lengths: lengths(&wild),
            exact,
            wild,
            fallback,
        }
    }

    /// The site for a `Host` value (port and trailing dot ignored), or `None` when no site
    /// claims it and none is the default.
    pub fn find(&self, host: Option<&str>) -> Option<usize> {
        host.and_then(|h| self.lookup(request_host(h)))
            .or(self.fallback)
    }

    /// The site for a TLS server name (SNI), for choosing among certificates.
    pub fn find_sni(&self, name: &str) -> Option<usize> {
        self.lookup(name.strip_suffix('.').unwrap_or(name))
    }

    /// Exact names win over wildcards (as in nginx); a wildcard takes one label only.
    fn lookup(&self, host: &str) -> Option<usize> {
        // Clients send host names in lowercase; only another spelling costs a copy.
        let lower: Cow<'_, str> = if host.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(host.to_ascii_lowercase())
        } else {
            Cow::Borrowed(host)
        };
        if self.exact_lengths & length_bit(lower.len()) != 0
            && let Some(i) = self.exact.get(&*lower)
        {
            return Some(*i);
        }
        match lower.split_once('.') {
            Some((label, rest)) if !label.is_empty() => {
                let maybe = self.wild_lengths & length_bit(rest.len()) != 0;
                maybe.then(|| self.wild.get(rest).copied()).flatten()
            }
            _ => None,
        }
    }
}

/// FNV-1a over a host name: a few bytes hashed per request instead of SipHash's rounds. The
/// keys are the configuration's own names, so a client choosing its `Host` cannot make them
/// collide; the worst it can do is miss.
#[derive(Debug, Clone, Copy, Default)]
struct Fnv;

impl std::hash::BuildHasher for Fnv {
    type Hasher = FnvHasher;
    fn build_hasher(&self) -> FnvHasher {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}

/// The state of [`Fnv`].
struct FnvHasher(u64);

impl std::hash::Hasher for FnvHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// One site's routes, indexed for [`Routes::find`].
#[derive(Debug, Clone)]
pub struct Routes {
    /// (path, route index) of exact routes.
    exact: Vec<(String, usize)>,
    /// (prefix without its trailing slash, route index), longest first.
    prefixes: Vec<(String, usize)>,
}

/// What [`Routes::find`] chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    /// The route's index in the site.
    pub route: usize,
    /// How many bytes of the path the route's prefix covers (its mount point); the rest,
    /// from a `/`, is what the handler sees. 0 for `/` and for exact routes.
    pub prefix_len: usize,
}

impl Routes {
    /// The index for `site`'s routes.
    pub fn new(site: &Site) -> Routes {
        let mut exact = Vec::new();
        let mut prefixes = Vec::new();
        for (i, r) in site.routes.iter().enumerate() {
            match &r.path {
                RoutePath::Exact(p) => exact.push((p.clone(), i)),
                RoutePath::Prefix(p) => prefixes.push((p.trim_end_matches('/').to_string(), i)),
            }
        }
        prefixes.sort_by_key(|p| std::cmp::Reverse(p.0.len()));
        Routes { exact, prefixes }
    }

    /// The route for `path` (still percent-encoded, as sent): an exact route, else the
    /// longest prefix that ends at a segment boundary.
    pub fn find(&self, path: &str) -> Option<Found> {
        if let Some((_, i)) = self.exact.iter().find(|(p, _)| p == path) {
            return Some(Found {
                route: *i,
                prefix_len: 0,
            });
        }
        self.prefixes
            .iter()
            .find(|(p, _)| {
                // `/` (kept as ``) is the prefix of every path: no `memcmp` of nothing.
                at_boundary(path, p.len()) && (p.is_empty() || path.starts_with(p.as_str()))
            })
            .map(|(p, i)| Found {
                route: *i,
                prefix_len: p.len(),
            })
    }
}

/// Whether a prefix `len` bytes long would end `path` at a segment boundary: at its end or
/// before a `/`. Checked before the prefix itself, it passes over most prefixes with one
/// byte read instead of a `memcmp` call.
fn at_boundary(path: &str, len: usize) -> bool {
    match path.as_bytes().get(len) {
        Some(b) => *b == b'/',
        None => path.len() == len,
    }
}

/// A path with `..` in it, or an encoded `/` or NUL: refused (400) before any route sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadPath;

/// The path routes are matched against: percent-escapes of unreserved characters decoded (RFC
/// 3986 6.2.2.2: `/%61dmin/` is `/admin/`), repeated slashes merged and `.` segments dropped,
/// as nginx normalizes before its `location` match. Otherwise a rule on `/admin/` (`allow`,
/// `auth`) could be passed by spelling the path another way that a handler still resolves to
/// the same file. A `..` segment, or `%2F`/`%00`, is refused. The usual path, with none of
/// `%`, `//` or `/.`, is returned as it is, without allocating.
pub fn canonical_path(path: &str) -> Result<Cow<'_, str>, BadPath> {
    if is_plain(path.as_bytes()) {
        return Ok(Cow::Borrowed(path));
    }
    let mut decoded = String::with_capacity(path.len());
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(0 | b'/' | b'\\') => return Err(BadPath),
                Some(c) if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') => {
                    decoded.push(char::from(c));
                    i += 3;
                    continue;
                }
                _ => {}
            }
        }
        decoded.push(char::from(b));
        i += 1;
    }
    let mut out = String::with_capacity(decoded.len());
    for segment in decoded.split('/').skip(1) {
        match segment {
            "" | "." => {}
            ".." => return Err(BadPath),
            s => {
                out.push('/');
                out.push_str(s);
            }
        }
    }
    if out.is_empty() || decoded.ends_with('/') || decoded.ends_with("/.") {
        out.push('/');
    }
    Ok(Cow::Owned(out))
}

/// Whether `path` has none of `%`, `//` and `/.`, so that [`canonical_path`] keeps it as it
/// is. One pass over the bytes: `str::contains` with a two-byte needle compares every window
/// of a short path through `memcmp`, and this runs on every request.
fn is_plain(path: &[u8]) -> bool {
    let mut slash = false;
    for &b in path {
        if b == b'%' || (slash && matches!(b, b'/' | b'.')) {
            return false;
        }
        slash = b == b'/';
    }
    true
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::{Handler, Respond, Route, Rules};

    #[test]
    fn a_prefix_ends_at_the_end_or_before_a_slash() {
        assert!(at_boundary("/app", 4));
        assert!(at_boundary("/app/x", 4));
        assert!(!at_boundary("/appx", 4));
        assert!(!at_boundary("/a", 4));
        assert!(at_boundary("/", 0));
    }

    #[test]
    fn plain_paths_are_those_without_escapes_double_slashes_or_dot_segments() {
        for p in [
            "/", "/1k.bin", "/a/b.c/d", "/a.", "/.", "//", "/a//b", "/a/./b", "/%41", "%",
        ] {
            let contains = p.contains('%') || p.contains("//") || p.contains("/.");
            assert_eq!(is_plain(p.as_bytes()), !contains, "{p}");
        }
        assert!(is_plain(b""));
    }

    #[test]
    fn canonical_paths() {
        let c = |p: &str| canonical_path(p).map(|c| c.into_owned());
        assert!(matches!(canonical_path("/admin/x"), Ok(Cow::Borrowed(_))));
        assert_eq!(c("/%61dmin/x").unwrap(), "/admin/x");
        assert_eq!(c("//admin//x/").unwrap(), "/admin/x/");
        assert_eq!(c("/./admin/./x").unwrap(), "/admin/x");
        assert_eq!(c("/a/.").unwrap(), "/a/");
        assert_eq!(c("/caf%C3%A9").unwrap(), "/caf%C3%A9");
        assert_eq!(c("/%").unwrap(), "/%");
        assert_eq!(c("/a%2").unwrap(), "/a%2");
        assert!(c("/a/../admin").is_err());
        assert!(c("/a/%2e%2e/admin").is_err());
        assert!(c("/a%2Fb").is_err());
        assert!(c("/a%00").is_err());
    }

    fn site(hosts: &[&str], default: bool, paths: &[&str]) -> Site {
        let routes = paths
            .iter()
            .map(|p| Route {
                path: match p.strip_prefix('=') {
                    Some(e) => RoutePath::Exact(e.into()),
                    None => RoutePath::Prefix((*p).into()),
                },
                handler: Handler::Respond(Respond {
                    status: http::StatusCode::OK,
                    body: String::new(),
                    content_type: http::HeaderValue::from_static("text/plain"),
                }),
                rules: Rules::default(),
            })
            .collect();
        Site {
            hosts: hosts
                .iter()
                .map(|h| HostPattern::parse(h).unwrap())
                .collect(),
            default,
            errors: Default::default(),
            access_log: None,
            routes,
        }
    }

    #[test]
    fn hosts_exact_before_wildcard_then_default() {
        let sites = [
            site(&["*.a.test"], false, &[]),
            site(&["www.a.test"], false, &[]),
            site(&["b.test"], true, &[]),
        ];
        let h = Hosts::new(&sites);
        assert_eq!(h.find(Some("www.a.test:8080")), Some(1));
        assert_eq!(h.find(Some("x.a.test.")), Some(0));
        assert_eq!(h.find(Some("B.TEST")), Some(2));
        assert_eq!(h.find(Some("nobody.test")), Some(2));
        assert_eq!(h.find(None), Some(2));
        let strict = Hosts::new(&sites[..2]);
        assert_eq!(strict.find(Some("nobody.test")), None);
        // One label only, any case; the bare suffix and an empty label are not under it.
        assert_eq!(strict.find(Some("X.A.Test:1")), Some(0));
        assert_eq!(strict.find(Some("a.b.a.test")), None);
        assert_eq!(strict.find(Some("a.test")), None);
        assert_eq!(strict.find(Some(".a.test")), None);
        assert_eq!(strict.find_sni("www.a.test."), Some(1));
        assert_eq!(strict.find_sni("b.test"), None);
    }

    #[test]
    fn hosts_of_lengths_no_name_has_go_to_the_default() {
        // Names 64 bytes longer than `a.test` and `b.test` share their lengths' bit.
        let labels = format!("{}.{}", "x".repeat(31), "x".repeat(31));
        let long = format!("{labels}.a.test");
        let sites = [
            site(&["a.test", "*.b.test"], false, &[]),
            site(&[long.as_str()], false, &[]),
            site(&[], true, &[]),
        ];
        let h = Hosts::new(&sites);
        assert_eq!(length_bit("a.test".len()), length_bit(long.len()));
        assert_eq!(h.find(Some("127.0.0.1:8080")), Some(2));
        assert_eq!(h.find(Some("a.test")), Some(0));
        assert_eq!(h.find(Some("x.b.test")), Some(0));
        assert_eq!(h.find(Some(&long)), Some(1));
        assert_eq!(h.find(Some(&format!("{labels}.b.test"))), Some(2));
        assert_eq!(h.find(Some(&format!("z.{labels}.b.test"))), Some(2));
    }

    #[test]
    fn longest_prefix_by_segment_and_exact_first() {
        let s = site(
            &[],
            false,
            &["/", "/app/", "/app/api", "=/app/api", "/health"],
        );
        let r = Routes::new(&s);
        let f = |p: &str| r.find(p).map(|f| (f.route, f.prefix_len));
        assert_eq!(f("/"), Some((0, 0)));
        assert_eq!(f("/x"), Some((0, 0)));
        assert_eq!(f("/app"), Some((1, 4)));
        assert_eq!(f("/app/x"), Some((1, 4)));
        assert_eq!(f("/app/api"), Some((3, 0)));
        assert_eq!(f("/app/api/1"), Some((2, 8)));
        assert_eq!(f("/app/apix"), Some((1, 4)));
        assert_eq!(f("/healthz"), Some((0, 0)));
        assert_eq!(f("/health"), Some((4, 7)));
        let none = Routes::new(&site(&[], false, &["/a/"]));
        assert_eq!(none.find("/b"), None);
    }
}

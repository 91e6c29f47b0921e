//! Choosing the site for a host and the route for a path, without allocating.

use std::borrow::Cow;

use crate::host::{HostPattern, request_host};
use crate::model::{RoutePath, Site};

/// The sites of a configuration, indexed for [`Hosts::find`].
#[derive(Debug, Clone)]
pub struct Hosts {
    /// (pattern, site index), exact names first, then wildcards, each in file order.
    patterns: Vec<(HostPattern, usize)>,
    /// The site for hosts no pattern matches: the `default = true` one, else the first
    /// site without `hosts`.
    fallback: Option<usize>,
}

impl Hosts {
    /// The index for `sites` (validated: at most one default).
    pub fn new(sites: &[Site]) -> Hosts {
        let mut patterns: Vec<(HostPattern, usize)> = sites
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.hosts.iter().map(move |h| (h.clone(), i)))
            .collect();
        // Stable: file order within exact names and within wildcards.
        patterns.sort_by_key(|(p, _)| !p.is_exact());
        let fallback = sites
            .iter()
            .position(|s| s.default)
            .or_else(|| sites.iter().position(|s| s.hosts.is_empty()));
        Hosts { patterns, fallback }
    }

    /// The site for a `Host` value (port and trailing dot ignored), or `None` when no site
    /// claims it and none is the default.
    pub fn find(&self, host: Option<&str>) -> Option<usize> {
        let Some(host) = host.map(request_host) else {
            return self.fallback;
        };
        self.patterns
            .iter()
            .find(|(p, _)| p.matches(host))
            .map(|(_, i)| *i)
            .or(self.fallback)
    }

    /// The site for a TLS server name (SNI), for choosing among certificates.
    pub fn find_sni(&self, name: &str) -> Option<usize> {
        let name = name.strip_suffix('.').unwrap_or(name);
        self.patterns
            .iter()
            .find(|(p, _)| p.matches(name))
            .map(|(_, i)| *i)
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
                path.starts_with(p.as_str())
                    && (path.len() == p.len() || path.as_bytes()[p.len()] == b'/')
            })
            .map(|(p, i)| Found {
                route: *i,
                prefix_len: p.len(),
            })
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
    if !path.contains('%') && !path.contains("//") && !path.contains("/.") {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::{Handler, Respond, Route, Rules};

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

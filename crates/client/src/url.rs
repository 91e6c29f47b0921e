//! `http://` and `https://` URLs: what the client connects to (and how), what it puts in
//! `Host`, and how a redirect's `Location` is resolved against the URL it came from (RFC 3986
//! section 5).

use std::fmt;
use std::net::Ipv6Addr;

/// The port of `http://` when the URL names none.
pub const DEFAULT_PORT: u16 = 80;

/// The port of `https://` when the URL names none (RFC 9110 4.2.2).
pub const DEFAULT_TLS_PORT: u16 = 443;

/// How a URL is reached: over plain TCP or over TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `http://`: plain TCP.
    Http,
    /// `https://`: TLS, the server's certificate verified for the host.
    Https,
}

impl Scheme {
    /// The port used when the URL names none.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => DEFAULT_PORT,
            Scheme::Https => DEFAULT_TLS_PORT,
        }
    }

    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// An absolute `http://` or `https://` URL, with any fragment removed and the target
/// percent-encoded where it has to be, so it can go on a request line as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    scheme: Scheme,
    /// Lower-case name or address, without the brackets of an IPv6 literal.
    host: String,
    port: u16,
    /// `/path?query`, never empty.
    target: String,
}

/// Why a URL cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlError {
    /// Another scheme (`ftp:`, `mailto:`...).
    UnsupportedScheme(String),
    /// No host after `http://`.
    MissingHost,
    /// A host with characters no host name has.
    BadHost(String),
    /// A port that is not a number from 1 to 65535.
    BadPort(String),
    /// `user:password@`: we send no credentials from URLs (use `-H 'Authorization: ...'`).
    Userinfo,
    /// `HOST:PORT` without the port, for the raw TCP client.
    MissingPort(String),
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::UnsupportedScheme(s) => {
                write!(
                    f,
                    "unsupported URL scheme {s:?}; only http:// and https:// are supported"
                )
            }
            UrlError::MissingHost => f.write_str("the URL has no host"),
            UrlError::BadHost(h) => write!(f, "invalid host {h:?}"),
            UrlError::BadPort(p) => write!(f, "invalid port {p:?}"),
            UrlError::Userinfo => f.write_str(
                "credentials in the URL are not supported; send an Authorization header",
            ),
            UrlError::MissingPort(a) => write!(f, "{a:?} has no port; write HOST:PORT"),
        }
    }
}

impl std::error::Error for UrlError {}

impl Url {
    /// Parses an absolute URL. With no `scheme://` at all, `http://` is assumed, as curl does.
    pub fn parse(input: &str) -> Result<Url, UrlError> {
        let input = input.trim();
        let (scheme, rest) = match input.split_once("://") {
            Some((scheme, rest)) if is_scheme(scheme) => match scheme.to_ascii_lowercase().as_str()
            {
                "http" => (Scheme::Http, rest),
                "https" => (Scheme::Https, rest),
                other => return Err(UrlError::UnsupportedScheme(other.to_string())),
            },
            _ => (Scheme::Http, input),
        };
        let rest = strip_fragment(rest);
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(end);
        let (host, port) = parse_authority(authority, Some(scheme.default_port()))?;
        let target = match target {
            "" => "/".to_string(),
            t if t.starts_with('?') => format!("/{}", encode_target(t)),
            t => encode_target(t),
        };
        Ok(Url {
            scheme,
            host,
            port,
            target,
        })
    }

    /// Whether the URL is reached over plain TCP or TLS.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host to resolve (an IPv6 literal without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port to connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `/path?query`: the request target in origin form.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split_once('?').map_or(&self.target, |(p, _)| p)
    }

    /// The `Host` header value: `host`, `host:port`, `[v6]:port`; the scheme's default port is
    /// omitted.
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == self.scheme.default_port() {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// `host:port` (`[v6]:port`) with the port always written, to name the server in messages.
    pub fn authority_with_port(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Whether `other` is reached over the same connection (same scheme, host and port).
    pub fn same_endpoint(&self, other: &Url) -> bool {
        self.scheme == other.scheme && self.host == other.host && self.port == other.port
    }

    /// Resolves a `Location` (absolute, scheme-relative, absolute-path or relative) against
    /// this URL, per RFC 3986 section 5.2.
    pub fn join(&self, reference: &str) -> Result<Url, UrlError> {
        let reference = strip_fragment(reference.trim());
        if let Some((scheme, _)) = reference.split_once(':')
            && is_scheme(scheme)
        {
            if !reference.contains("://") {
                return Err(UrlError::UnsupportedScheme(scheme.to_ascii_lowercase()));
            }
            return Url::parse(reference);
        }
        if let Some(rest) = reference.strip_prefix("//") {
            return Url::parse(&format!("{}://{rest}", self.scheme.as_str()));
        }
        let target = if reference.is_empty() {
            self.target.clone()
        } else if reference.starts_with('?') {
            format!("{}{reference}", self.path())
        } else {
            let (path, query) = match reference.split_once('?') {
                Some((p, q)) => (p, Some(q)),
                None => (reference, None),
            };
            let merged = if path.starts_with('/') {
                path.to_string()
            } else {
                let base = self.path();
                let dir = &base[..base.rfind('/').map_or(0, |i| i + 1)];
                format!("{dir}{path}")
            };
            let mut target = remove_dot_segments(&merged);
            if let Some(q) = query {
                target.push('?');
                target.push_str(q);
            }
            target
        };
        Ok(Url {
            scheme: self.scheme,
            host: self.host.clone(),
            port: self.port,
            target: encode_target(&target),
        })
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}{}",
            self.scheme.as_str(),
            self.authority(),
            self.target
        )
    }
}

/// Splits `HOST:PORT` (or `[v6]:PORT`) for the raw TCP client, which has no default port.
pub fn parse_host_port(input: &str) -> Result<(String, u16), UrlError> {
    parse_authority(input.trim(), None)
}

/// `host[:port]` or `[v6][:port]`; `default` fills a missing port, `None` makes it an error.
fn parse_authority(authority: &str, default: Option<u16>) -> Result<(String, u16), UrlError> {
    if authority.contains('@') {
        return Err(UrlError::Userinfo);
    }
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (v6, after) = rest
            .split_once(']')
            .ok_or_else(|| UrlError::BadHost(authority.to_string()))?;
        if v6.parse::<Ipv6Addr>().is_err() {
            return Err(UrlError::BadHost(v6.to_string()));
        }
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| UrlError::BadHost(authority.to_string()))?,
            ),
        };
        (v6.to_ascii_lowercase(), port)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        if !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
        {
            return Err(UrlError::BadHost(host.to_string()));
        }
        (host.to_ascii_lowercase(), port)
    };
    if host.is_empty() {
        return Err(UrlError::MissingHost);
    }
    let port = match (port, default) {
        (Some(""), Some(d)) | (None, Some(d)) => d,
        (Some("") | None, None) => return Err(UrlError::MissingPort(authority.to_string())),
        (Some(p), _) => match p.parse::<u16>() {
            Ok(n) if n != 0 && p.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => return Err(UrlError::BadPort(p.to_string())),
        },
    };
    Ok((host, port))
}

/// RFC 3986 3.1: `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
fn is_scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
}

fn strip_fragment(s: &str) -> &str {
    s.split_once('#').map_or(s, |(before, _)| before)
}

/// Percent-encodes the bytes that may not appear on a request line (controls, space, non-ASCII
/// and the delimiters RFC 3986 never allows); existing `%XX` escapes are kept as they are.
fn encode_target(target: &str) -> String {
    let mut out = String::with_capacity(target.len());
    for &b in target.as_bytes() {
        if b.is_ascii_graphic() && !b"\"<>\\^`{|}".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// RFC 3986 5.2.4 on an absolute path: `.` and `..` segments resolved, never above the root.
fn remove_dot_segments(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let mut out: Vec<&str> = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *segment {
            "." => {}
            ".." => {
                out.pop();
            }
            s => {
                out.push(s);
                continue;
            }
        }
        // A trailing `.` or `..` still names a directory: keep the final slash.
        if last {
            out.push("");
        }
    }
    format!("/{}", out.join("/"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn parses_the_usual_forms() {
        let u = url("http://Example.COM:8080/a/b?x=1#frag");
        assert_eq!(
            (u.host(), u.port(), u.target()),
            ("example.com", 8080, "/a/b?x=1")
        );
        assert_eq!(u.authority(), "example.com:8080");
        assert_eq!(u.to_string(), "http://example.com:8080/a/b?x=1");
        let u = url("HTTP://localhost");
        assert_eq!(
            (u.port(), u.target(), u.authority().as_str()),
            (80, "/", "localhost")
        );
        assert_eq!(url("http://h?q").target(), "/?q");
        assert_eq!(url("127.0.0.1:9/x").port(), 9);
        let v6 = url("http://[::1]:8000/");
        assert_eq!((v6.host(), v6.authority().as_str()), ("::1", "[::1]:8000"));
        assert_eq!(url("http://h/a b\"<>").target(), "/a%20b%22%3C%3E");
        assert_eq!(url("http://h/caf\u{e9}").target(), "/caf%C3%A9");
        assert_eq!(url("http://h/%41").target(), "/%41");
    }

    #[test]
    fn rejects_what_it_cannot_fetch() {
        assert_eq!(
            Url::parse("ftp://x/"),
            Err(UrlError::UnsupportedScheme("ftp".into()))
        );
        assert_eq!(Url::parse("http:///path"), Err(UrlError::MissingHost));
        assert_eq!(Url::parse(""), Err(UrlError::MissingHost));
        assert_eq!(Url::parse("http://u:p@h/"), Err(UrlError::Userinfo));
        assert_eq!(
            Url::parse("http://h:0/"),
            Err(UrlError::BadPort("0".into()))
        );
        assert_eq!(
            Url::parse("http://h:70000/"),
            Err(UrlError::BadPort("70000".into()))
        );
        assert_eq!(
            Url::parse("http://h:+80/"),
            Err(UrlError::BadPort("+80".into()))
        );
        assert!(matches!(
            Url::parse("http://a b/"),
            Err(UrlError::BadHost(_))
        ));
        assert!(matches!(
            Url::parse("http://[::1/"),
            Err(UrlError::BadHost(_))
        ));
        assert!(matches!(
            Url::parse("http://[zz]/"),
            Err(UrlError::BadHost(_))
        ));
        assert!(matches!(
            Url::parse("http://h:80:90/"),
            Err(UrlError::BadPort(_))
        ));
    }

    #[test]
    fn joins_references_per_rfc_3986() {
        let base = url("http://a/b/c/d;p?q");
        for (reference, expected) in [
            ("g", "http://a/b/c/g"),
            ("./g", "http://a/b/c/g"),
            ("g/", "http://a/b/c/g/"),
            ("/g", "http://a/g"),
            ("//g", "http://g/"),
            ("?y", "http://a/b/c/d;p?y"),
            ("g?y", "http://a/b/c/g?y"),
            ("#s", "http://a/b/c/d;p?q"),
            ("", "http://a/b/c/d;p?q"),
            (".", "http://a/b/c/"),
            ("..", "http://a/b/"),
            ("../g", "http://a/b/g"),
            ("../../../g", "http://a/g"),
            ("/./g", "http://a/g"),
            ("g/../h", "http://a/b/c/h"),
            ("http://other:81/x", "http://other:81/x"),
        ] {
            assert_eq!(
                base.join(reference).unwrap().to_string(),
                expected,
                "{reference}"
            );
        }
        assert_eq!(base.join("https://a/").unwrap().to_string(), "https://a/");
        let tls = url("https://a/b");
        assert_eq!(tls.join("//c/d").unwrap().to_string(), "https://c/d");
        assert_eq!(tls.join("http://a/").unwrap().scheme(), Scheme::Http);
        assert!(!tls.same_endpoint(&url("http://a:443/")));
        assert_eq!(
            base.join("mailto:x@y"),
            Err(UrlError::UnsupportedScheme("mailto".into()))
        );
    }

    #[test]
    fn https_defaults_to_port_443() {
        let u = url("https://Example.com/x");
        assert_eq!(
            (u.scheme(), u.host(), u.port(), u.target()),
            (Scheme::Https, "example.com", 443, "/x")
        );
        assert_eq!(u.authority(), "example.com");
        assert_eq!(u.to_string(), "https://example.com/x");
        let u = url("HTTPS://h:8443");
        assert_eq!((u.port(), u.authority().as_str()), (8443, "h:8443"));
        assert_eq!(u.to_string(), "https://h:8443/");
        // Port 80 is not the default of https, so it stays in Host.
        assert_eq!(url("https://h:80/").authority(), "h:80");
        assert_eq!(url("http://h:443/").authority(), "h:443");
        assert_eq!(url("http://h/").scheme(), Scheme::Http);
    }

    #[test]
    fn host_port_pairs() {
        assert_eq!(parse_host_port("localhost:7"), Ok(("localhost".into(), 7)));
        assert_eq!(parse_host_port("[::1]:7"), Ok(("::1".into(), 7)));
        assert!(matches!(
            parse_host_port("localhost"),
            Err(UrlError::MissingPort(_))
        ));
        assert!(matches!(parse_host_port("h:x"), Err(UrlError::BadPort(_))));
    }
}

//! Host names a site answers: exact names and one-label wildcards, matched without allocating.

use std::fmt;

/// One entry of a site's `hosts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// `example.test`: that name (any case).
    Exact(String),
    /// `*.example.test`: exactly one label before `.example.test` (as nginx and Caddy match
    /// `*.` names), so `a.example.test` but neither `example.test` nor `a.b.example.test`.
    /// Holds `.example.test`.
    Wildcard(String),
}

/// Why a `hosts` entry is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadHost(pub &'static str);

impl fmt::Display for BadHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl HostPattern {
    /// Parses `example.test`, `*.example.test`, an IPv4 address or `[::1]`; stored lowercase
    /// without a trailing dot.
    pub fn parse(raw: &str) -> Result<HostPattern, BadHost> {
        let lower = raw.trim_end_matches('.').to_ascii_lowercase();
        if lower.starts_with('[') {
            let ok = lower.ends_with(']')
                && lower[1..lower.len() - 1]
                    .parse::<std::net::Ipv6Addr>()
                    .is_ok();
            return if ok {
                Ok(HostPattern::Exact(lower))
            } else {
                Err(BadHost("not an IPv6 address in brackets"))
            };
        }
        if lower.contains(':') {
            return Err(BadHost(
                "a host name without a port (the port is the listener's)",
            ));
        }
        let (wild, name) = match lower.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, lower.as_str()),
        };
        if name.contains('*') {
            return Err(BadHost(
                "only a leading `*.` wildcard is allowed, such as *.example.test",
            ));
        }
        if name.is_empty() || !name.split('.').all(valid_label) {
            return Err(BadHost(
                "not a host name (letters, digits, `-` and dots; labels of 1 to 63 characters)",
            ));
        }
        Ok(if wild {
            HostPattern::Wildcard(format!(".{name}"))
        } else {
            HostPattern::Exact(name.to_string())
        })
    }

    /// Whether `host` (already without port and trailing dot, any case) is this name.
    pub fn matches(&self, host: &str) -> bool {
        match self {
            HostPattern::Exact(name) => host.eq_ignore_ascii_case(name),
            HostPattern::Wildcard(suffix) => {
                host.len() > suffix.len()
                    && host.is_char_boundary(host.len() - suffix.len())
                    && host[host.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
                    && !host[..host.len() - suffix.len()].contains('.')
            }
        }
    }

    /// Whether this is an exact name (exact names win over wildcards, as in nginx).
    pub fn is_exact(&self) -> bool {
        matches!(self, HostPattern::Exact(_))
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostPattern::Exact(n) => f.write_str(n),
            HostPattern::Wildcard(s) => write!(f, "*{s}"),
        }
    }
}

/// An RFC 1123 label: letters, digits and inner hyphens (underscores too, which real names
/// carry), 1 to 63 bytes.
fn valid_label(label: &str) -> bool {
    (1..=63).contains(&label.len())
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// The host of a `Host` field value: the port and a trailing dot taken off (`Example.test.:80`
/// is `Example.test`); brackets of an IPv6 literal kept. No allocation.
pub fn request_host(value: &str) -> &str {
    let host = if value.starts_with('[') {
        match value.find(']') {
            Some(end) => &value[..=end],
            None => value,
        }
    } else {
        match value.rfind(':') {
            Some(i) => &value[..i],
            None => value,
        }
    };
    host.strip_suffix('.').unwrap_or(host)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_wildcard() {
        let exact = HostPattern::parse("Example.TEST.").unwrap();
        assert!(exact.matches("example.test"));
        assert!(exact.matches("EXAMPLE.test"));
        assert!(!exact.matches("a.example.test"));
        let wild = HostPattern::parse("*.example.test").unwrap();
        assert!(wild.matches("a.example.test"));
        assert!(wild.matches("A.Example.Test"));
        assert!(!wild.matches("example.test"));
        assert!(!wild.matches("a.b.example.test"));
        assert!(!wild.matches(".example.test"));
        assert!(HostPattern::parse("[::1]").unwrap().matches("[::1]"));
    }

    #[test]
    fn bad_hosts() {
        for bad in [
            "", "a..b", "*", "a.*.b", "**.a", "a:80", "-a.b", "a b", "[zz]",
        ] {
            assert!(HostPattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn request_host_drops_port_and_dot() {
        assert_eq!(request_host("a.test:8080"), "a.test");
        assert_eq!(request_host("a.test."), "a.test");
        assert_eq!(request_host("a.test.:80"), "a.test");
        assert_eq!(request_host("[::1]:80"), "[::1]");
        assert_eq!(request_host("[::1]"), "[::1]");
    }
}

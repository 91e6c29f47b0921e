//! Validating an authority (`host[:port]`), as found in the `Host` header, an absolute-form
//! target or a `CONNECT` target (RFC 9110 4.2 and 7.2, RFC 3986 3.2).
//!
//! ```text
//! authority   = host [ ":" port ]          ; userinfo is not allowed in http(s) URIs
//! host        = IP-literal / IPv4address / reg-name
//! IP-literal  = "[" IPv6address "]"        ; IPvFuture is not accepted
//! reg-name    = *( unreserved / pct-encoded / sub-delims )
//! port        = *DIGIT
//! ```
//! An IPv4 address is also a valid reg-name, so it needs no rule of its own.

use std::net::Ipv6Addr;

use crate::ParseError;

/// Whether the authority must name a port, as the `CONNECT` target does (RFC 9112 3.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Port {
    Optional,
    Required,
}

/// Checks that `authority` is `host[:port]` with a non-empty host.
pub(crate) fn validate(authority: &[u8], port: Port) -> Result<(), ParseError> {
    if memchr::memchr(b'@', authority).is_some() {
        // RFC 9110 4.2.4: userinfo is deprecated in http(s) URIs; we treat it as an error
        // rather than guess whose credentials they are.
        return Err(ParseError::BadRequest("userinfo in the authority"));
    }
    let (host, rest) = split_host(authority)?;
    if host.is_empty() {
        return Err(ParseError::BadRequest("empty host"));
    }
    match rest {
        [] if port == Port::Required => Err(ParseError::BadRequest("missing port")),
        [] => Ok(()),
        [b':', digits @ ..] if digits.iter().all(u8::is_ascii_digit) => Ok(()),
        _ => Err(ParseError::BadRequest("invalid port")),
    }
}

/// Splits `authority` into its host and whatever follows it (empty or `:port`), checking the
/// host's syntax on the way.
fn split_host(authority: &[u8]) -> Result<(&[u8], &[u8]), ParseError> {
    if let Some(literal) = authority.strip_prefix(b"[") {
        let end =
            memchr::memchr(b']', literal).ok_or(ParseError::BadRequest("unclosed IP literal"))?;
        validate_ipv6(&literal[..end])?;
        return Ok((&authority[..end + 2], &literal[end + 1..]));
    }
    let end = memchr::memchr(b':', authority).unwrap_or(authority.len());
    let host = &authority[..end];
    if !is_reg_name(host) {
        return Err(ParseError::BadRequest("invalid host"));
    }
    Ok((host, &authority[end..]))
}

/// Checks the inside of `[...]` with the standard library's IPv6 parser.
fn validate_ipv6(inner: &[u8]) -> Result<(), ParseError> {
    std::str::from_utf8(inner)
        .ok()
        .and_then(|s| s.parse::<Ipv6Addr>().ok())
        .map(drop)
        .ok_or(ParseError::BadRequest("invalid IPv6 literal"))
}

/// `reg-name = *( unreserved / pct-encoded / sub-delims )`.
fn is_reg_name(host: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&b) = host.get(i) {
        if REG_NAME_CHARS[usize::from(b)] {
            i += 1;
            continue;
        }
        if b == b'%'
            && host
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
        {
            i += 3;
            continue;
        }
        return false;
    }
    true
}

/// The bytes a reg-name holds outside its percent-escapes: unreserved and sub-delims, looked
/// up in a table because every request's `Host` passes through here.
static REG_NAME_CHARS: [bool; 256] = semantics::byte_set!(
    b'A'..=b'Z'
        | b'a'..=b'z'
        | b'0'..=b'9'
        // unreserved
        | b'-' | b'.' | b'_' | b'~'
        // sub-delims
        | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
);

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(a: &str) -> bool {
        validate(a.as_bytes(), Port::Optional).is_ok()
    }

    #[test]
    fn accepts_names_addresses_and_ports() {
        for a in [
            "localhost",
            "localhost:80",
            "localhost:",
            "foo-bar.example.com",
            "foo_bar.example.com",
            "0.0.0.0=5000",
            "127.0.0.1",
            "127.01.0.1",
            "017700000001",
            "%3127.0.0.1",
            "[::1]",
            "[::1:2]",
            "[4712::abcd]:8000",
            "[4712:abcd::]",
        ] {
            assert!(ok(a), "{a}");
        }
    }

    #[test]
    fn rejects_malformed_authorities() {
        for a in [
            "",
            ":80",
            "localhost:80x",
            "localhost:80:80",
            "localhost::80",
            "4713::abcd:8001",
            "[4712::abcd::]",
            "[::1",
            "[::1]x",
            "[v1.fe]",
            "foo@localhost",
            "a%12:b!&*$@hypnotoad.org:1234",
            "abc\\foo",
            "abc\u{a0}",
            "local host",
            "%zz",
            "%4",
        ] {
            assert!(!ok(a), "{a:?}");
        }
    }

    #[test]
    fn connect_needs_a_port() {
        assert!(validate(b"example.com:443", Port::Required).is_ok());
        assert!(validate(b"[::1]:443", Port::Required).is_ok());
        assert!(validate(b"example.com", Port::Required).is_err());
    }
}

//! Parsing a request target into one of its four forms (RFC 9112 section 3.2).
//!
//! ```text
//! request-target = origin-form / absolute-form / authority-form / asterisk-form
//! origin-form    = absolute-path [ "?" query ]
//! absolute-form  = absolute-URI              ; only http and https are served
//! authority-form = uri-host ":" port         ; only for CONNECT
//! asterisk-form  = "*"                       ; only for OPTIONS
//! ```

use std::borrow::Cow;
use std::ops::Range;

use http::Method;

use crate::authority::{self, Port};
use crate::request::TargetForm;
use crate::{ParseError, Target};

/// Parses `raw` as the target of a `method` request. Only the characters of RFC 3986 are
/// allowed (see [`URI_CHARS`]; UTF-8 must be percent-encoded). A fragment is dropped: a client
/// must not send one, but RFC 9110 4.2.5 says it is not part of the resource, and refusing it
/// gains nothing.
pub(crate) fn parse_target(raw: &[u8], method: &Method) -> Result<Target, ParseError> {
    if !raw.iter().all(|&b| URI_CHARS[usize::from(b)]) {
        return Err(ParseError::BadRequest("invalid byte in the request target"));
    }
    let raw = match memchr::memchr(b'#', raw) {
        Some(hash) => &raw[..hash],
        None => raw,
    };
    let (text, parts) = if *method == Method::CONNECT {
        (Cow::Borrowed(raw), authority_form(raw)?)
    } else if raw.first() == Some(&b'/') {
        (Cow::Borrowed(raw), origin_form(raw))
    } else if raw == b"*" && *method == Method::OPTIONS {
        (Cow::Borrowed(raw), Parts::new(TargetForm::Asterisk, 0..0))
    } else {
        absolute_form(raw)?
    };
    // All bytes are visible ASCII, so this cannot fail; the error arm only avoids a panic path.
    let text = std::str::from_utf8(&text)
        .map(smol_str::SmolStr::new)
        .map_err(|_| ParseError::BadRequest("invalid byte in the request target"))?;
    Ok(Target::from_parts(
        text,
        parts.form,
        parts.path,
        parts.query,
        parts.authority,
    ))
}

/// The bytes a request target may hold: RFC 3986's unreserved and reserved characters and `%`
/// (section 2). Everything else is `400`: controls, space, non-ASCII, and the visible ASCII that
/// RFC 3986 leaves out (`"` `<` `>` `\` `^` `` ` `` `{` `|` `}`), which a client must
/// percent-encode (RFC 9112 3.2: a target that does not match the grammar gets `400`). nginx
/// refuses controls, space and DEL at this point; the rest is refused here as well, as the
/// grammar says, so that such a byte never reaches a handler, a CGI script or the access log.
static URI_CHARS: [bool; 256] = semantics::byte_set!(
    b'A'..=b'Z'
        | b'a'..=b'z'
        | b'0'..=b'9'
        // unreserved
        | b'-' | b'.' | b'_' | b'~'
        // gen-delims
        | b':' | b'/' | b'?' | b'#' | b'[' | b']' | b'@'
        // sub-delims
        | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
        // pct-encoded
        | b'%'
);

/// The ranges of a target's components within its text.
struct Parts {
    form: TargetForm,
    path: Range<usize>,
    query: Option<Range<usize>>,
    authority: Option<Range<usize>>,
}

impl Parts {
    fn new(form: TargetForm, path: Range<usize>) -> Parts {
        Parts {
            form,
            path,
            query: None,
            authority: None,
        }
    }
}

/// `/path?query`: the path runs to the first `?`, the query is everything after it.
fn origin_form(raw: &[u8]) -> Parts {
    split_path_query(raw, 0, TargetForm::Origin)
}

/// `host:port`, the only form `CONNECT` takes.
fn authority_form(raw: &[u8]) -> Result<Parts, ParseError> {
    authority::validate(raw, Port::Required)?;
    let mut parts = Parts::new(TargetForm::Authority, 0..0);
    parts.authority = Some(0..raw.len());
    Ok(parts)
}

/// `http://authority/path?query`; the scheme is case-insensitive (RFC 3986 3.1).
///
/// An empty path is normalized to `/` (RFC 9110 4.2.3), so that `http://a?q` has the path `/`
/// and the origin-form `/?q`, both slices of the one string.
fn absolute_form(raw: &[u8]) -> Result<(Cow<'_, [u8]>, Parts), ParseError> {
    let start = scheme_len(raw).ok_or(ParseError::BadRequest("unsupported request target"))?;
    let rest = &raw[start..];
    let end = start + memchr::memchr2(b'/', b'?', rest).unwrap_or(rest.len());
    authority::validate(&raw[start..end], Port::Optional)?;
    let text = if raw.get(end) == Some(&b'/') {
        Cow::Borrowed(raw)
    } else {
        Cow::Owned([&raw[..end], b"/", &raw[end..]].concat())
    };
    let mut parts = split_path_query(&text, end, TargetForm::Absolute);
    parts.authority = Some(start..end);
    Ok((text, parts))
}

/// The length of `http://` or `https://` at the start of `raw`.
fn scheme_len(raw: &[u8]) -> Option<usize> {
    [&b"http://"[..], b"https://"]
        .into_iter()
        .find_map(|scheme| {
            let head = raw.get(..scheme.len())?;
            head.eq_ignore_ascii_case(scheme).then_some(scheme.len())
        })
}

/// Splits `raw[from..]` at the first `?` into path and query.
fn split_path_query(raw: &[u8], from: usize, form: TargetForm) -> Parts {
    match memchr::memchr(b'?', &raw[from..]) {
        Some(q) => Parts {
            form,
            path: from..from + q,
            query: Some(from + q + 1..raw.len()),
            authority: None,
        },
        None => Parts::new(form, from..raw.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(raw: &str) -> Result<Target, ParseError> {
        parse_target(raw.as_bytes(), &Method::GET)
    }

    fn ok(raw: &str) -> Target {
        get(raw).expect(raw)
    }

    #[test]
    fn origin_form_splits_path_and_query() {
        let t = ok("/test.cgi?foo=bar?baz");
        assert_eq!(t.form(), TargetForm::Origin);
        assert_eq!(t.path(), "/test.cgi");
        assert_eq!(t.query(), Some("foo=bar?baz"));
        assert_eq!(t.authority(), None);
        assert_eq!(t.path_and_query(), "/test.cgi?foo=bar?baz");
        let t = ok("/a%20b");
        assert_eq!((t.path(), t.query()), ("/a%20b", None));
        assert_eq!(ok("/x?").query(), Some(""));
    }

    #[test]
    fn accepts_every_character_rfc_3986_allows() {
        let t = ok("/AZaz09-._~:@!$&'()*+,;=%20/?q=[1]&r=/?:@");
        assert_eq!(t.query(), Some("q=[1]&r=/?:@"));
    }

    #[test]
    fn fragment_is_dropped() {
        let t = ok("/forums/1/topics/2375?page=1#posts-17408");
        assert_eq!(t.as_str(), "/forums/1/topics/2375?page=1");
        assert_eq!(t.query(), Some("page=1"));
        assert_eq!(ok("/#frag").path(), "/");
    }

    #[test]
    fn absolute_form() {
        let t = ok("HTTP://hypnotoad.org:1234?hail=all");
        assert_eq!(t.form(), TargetForm::Absolute);
        assert_eq!(t.authority(), Some("hypnotoad.org:1234"));
        assert_eq!(t.path(), "/");
        assert_eq!(t.query(), Some("hail=all"));
        assert_eq!(t.path_and_query(), "/?hail=all");
        assert_eq!(t.as_str(), "HTTP://hypnotoad.org:1234/?hail=all");
        let t = ok("http://hypnotoad.org:1234");
        assert_eq!((t.path(), t.path_and_query()), ("/", "/"));
        let t = ok("https://[::1]:81/a/b?c");
        assert_eq!(
            (t.authority(), t.path(), t.query()),
            (Some("[::1]:81"), "/a/b", Some("c"))
        );
        assert_eq!(t.path_and_query(), "/a/b?c");
        let t = ok("http://foo_bar/");
        assert_eq!((t.authority(), t.path()), (Some("foo_bar"), "/"));
    }

    #[test]
    fn authority_and_asterisk_forms_are_method_specific() {
        let t = parse_target(b"home_0.netscape.com:443", &Method::CONNECT).expect("CONNECT");
        assert_eq!(t.form(), TargetForm::Authority);
        assert_eq!(t.authority(), Some("home_0.netscape.com:443"));
        assert_eq!(t.path(), "");
        assert!(parse_target(b"/", &Method::CONNECT).is_err());
        assert!(get("example.com:443").is_err());
        let t = parse_target(b"*", &Method::OPTIONS).expect("OPTIONS *");
        assert_eq!((t.form(), t.path()), (TargetForm::Asterisk, "*"));
        let pri = Method::from_bytes(b"PRI").expect("PRI is a token");
        assert!(parse_target(b"*", &pri).is_err());
        assert!(get("*").is_err());
    }

    #[test]
    fn rejects_bad_targets() {
        for raw in [
            &b""[..],
            b"/\x00",
            b"/\x01",
            b"/\xce\xb4",
            b"/a\x7f",
            b"/foo bar/",
            b"ftp://example.com/",
            b"http://",
            b"http:///x",
            b"http://foo@localhost:80/",
            b"http://localhost:80x/",
            b"http://localhost:80:80/",
            b"http://localhost::80/",
            b"http://[4712::abcd::]/",
            b"http://4713::abcd:8001/",
            b"relative/path",
        ] {
            assert!(parse_target(raw, &Method::GET).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn rejects_characters_rfc_3986_leaves_out() {
        for raw in [
            &b"/with_\"lovely\"_quotes"[..],
            b"/test.cgi?query=|",
            b"/a<b",
            b"/a>b",
            b"/a\\b",
            b"/a^b",
            b"/a`b",
            b"/a{b}",
            b"/?q=\"x\"",
            b"http://example.com/\"",
        ] {
            assert!(parse_target(raw, &Method::GET).is_err(), "{raw:?}");
        }
    }
}

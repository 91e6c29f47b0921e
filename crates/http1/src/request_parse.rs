//! The request-head parser behind [`crate::parse_request_head`].
//!
//! Two passes: [`scan`] finds where the head ends (checking line endings and every limit, so
//! partial input is refused as soon as it breaks one) without building anything; only a complete
//! head is then parsed. The field lines are copied once into a shared buffer and each header
//! value is a slice of it.
//!
//! ```text
//! HTTP-message = start-line CRLF *( field-line CRLF ) CRLF [ message-body ]
//! request-line = method SP request-target SP HTTP-version
//! ```

use bytes::{Bytes, BytesMut};
use http::{HeaderName, HeaderValue, Method, Version, header};

use crate::authority::{self, Port};
use crate::framing::{ConnectionOptions, Framing};
use crate::syntax::{Line, find_line, is_token, split_field_line};
use crate::{Headers, Limits, ParseError, RequestHead, Target};

/// Empty lines skipped before a request line. RFC 9112 2.2 asks a server to ignore at least
/// one (old clients send a stray CRLF after a POST body, sometimes two); an empty line past
/// these is read as an empty request line, a 400.
const MAX_EMPTY_LINES: usize = 4;

pub(crate) fn parse_request_head(
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<(RequestHead, usize)>, ParseError> {
    let Some(shape) = scan(buf, limits)? else {
        return Ok(None);
    };
    let fields = Bytes::copy_from_slice(&buf[shape.line_end + 2..shape.end]);
    let head = build(&buf[shape.start..shape.line_end], &fields, &shape, limits)?;
    Ok(Some((head, shape.end)))
}

pub(crate) fn take_request_head(
    buf: &mut BytesMut,
    limits: &Limits,
) -> Result<Option<RequestHead>, ParseError> {
    let Some(shape) = scan(buf, limits)? else {
        return Ok(None);
    };
    let taken = buf.split_to(shape.end).freeze();
    let fields = taken.slice(shape.line_end + 2..shape.end);
    build(&taken[shape.start..shape.line_end], &fields, &shape, limits).map(Some)
}

/// The head whose request line is `line` and whose field lines are `fields` (as [`scan`]
/// found them), header values sharing `fields`' allocation.
fn build(
    line: &[u8],
    fields: &Bytes,
    shape: &Shape,
    limits: &Limits,
) -> Result<RequestHead, ParseError> {
    let (method, target, version) = parse_request_line(line).map_err(|e| {
        // Looked for only once the line failed, so a valid request pays nothing for it.
        if shape.start == 0 && shape.fields == 0 && line == b"PRI * HTTP/2.0" {
            ParseError::Http2Preface
        } else {
            e
        }
    })?;
    let mut facts = Facts::default();
    let headers = parse_fields(fields, shape.fields, &mut facts)?;
    if version == Version::HTTP_11 && facts.hosts == 0 {
        // RFC 9112 3.2: a server MUST respond with 400 to an HTTP/1.1 request without Host.
        return Err(ParseError::BadRequest("missing Host header"));
    }
    Ok(RequestHead {
        method,
        target,
        version,
        headers,
        body: facts.framing.finish(version, limits.max_body_size)?,
        keep_alive: facts.connection.keep_alive(version),
        expect_continue: facts.expect_continue && version == Version::HTTP_11,
        field_lines: fields.clone(),
    })
}

/// Where the parts of a complete head lie in the buffer.
#[derive(Debug, PartialEq, Eq)]
struct Shape {
    /// Start of the request line, after any skipped empty lines.
    start: usize,
    /// End of the request line's content (its CRLF follows).
    line_end: usize,
    /// End of the head, after the empty line that closes it.
    end: usize,
    /// Number of field lines.
    fields: usize,
}

/// Finds the end of the head, or `None` while it is incomplete. Every line must end in CRLF,
/// and the limits apply to what has arrived so far.
fn scan(buf: &[u8], limits: &Limits) -> Result<Option<Shape>, ParseError> {
    let start = skip_empty_lines(buf);
    let line_end = match find_line(buf, start, limits.max_request_line)? {
        Line::Complete(end) => end,
        Line::Partial => return Ok(None),
        Line::TooLong => return Err(ParseError::UriTooLong),
    };
    // A request line without a version is refused as soon as it is whole, not when the head
    // ends: an HTTP/0.9 client sends no header section and would wait for the head timeout.
    let line = &buf[start..line_end];
    if let Some((_, rest)) = split_at_space(line)
        && split_at_space(rest).is_none()
    {
        return Err(simple_request_error(rest));
    }
    let head_limit = start.saturating_add(limits.max_head_size);
    let mut pos = line_end + 2;
    let mut fields = 0;
    loop {
        match find_line(buf, pos, head_limit.saturating_sub(pos))? {
            Line::Complete(end) if end == pos => {
                let end = end + 2;
                return Ok(Some(Shape {
                    start,
                    line_end,
                    end,
                    fields,
                }));
            }
            Line::Complete(end) if fields < limits.max_headers => {
                fields += 1;
                pos = end + 2;
            }
            Line::Complete(_) | Line::TooLong => return Err(ParseError::HeadersTooLarge),
            Line::Partial => return Ok(None),
        }
    }
}

/// The offset of the request line: up to [`MAX_EMPTY_LINES`] CRLFs are skipped.
pub(crate) fn skip_empty_lines(buf: &[u8]) -> usize {
    let mut pos = 0;
    for _ in 0..MAX_EMPTY_LINES {
        match buf.get(pos..pos + 2) {
            Some(b"\r\n") => pos += 2,
            _ => break,
        }
    }
    pos
}

/// `method SP request-target SP HTTP-version`, with exactly one SP between the parts (RFC 9112
/// 3: other whitespace is where request smuggling hides).
fn parse_request_line(line: &[u8]) -> Result<(Method, Target, Version), ParseError> {
    let (method, rest) =
        split_at_space(line).ok_or(ParseError::BadRequest("invalid request line"))?;
    let Some((target, version)) = split_at_space(rest) else {
        return Err(simple_request_error(rest));
    };
    let version = parse_version(version)?;
    let method = parse_method(method)?;
    let target = Target::parse(target, &method)?;
    Ok((method, target, version))
}

/// A request line of two parts is an HTTP/0.9 simple request (`GET /`), a protocol we do not
/// speak (505), unless the second part is itself a version, in which case a part is missing (400).
fn simple_request_error(second: &[u8]) -> ParseError {
    let looks_like_target = !second.is_empty() && second.iter().all(u8::is_ascii_graphic);
    if looks_like_target && !second.starts_with(b"HTTP/") {
        ParseError::VersionNotSupported
    } else {
        ParseError::BadRequest("invalid request line")
    }
}

fn split_at_space(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = memchr::memchr(b' ', s)?;
    Some((&s[..i], &s[i + 1..]))
}

/// `method = token`, case-sensitive: `get` is a valid method we do not implement (501).
fn parse_method(method: &[u8]) -> Result<Method, ParseError> {
    if !is_token(method) {
        return Err(ParseError::BadRequest("invalid method"));
    }
    Method::from_bytes(method).map_err(|_| ParseError::BadRequest("invalid method"))
}

/// `HTTP-version = "HTTP/" DIGIT "." DIGIT` (RFC 9112 2.3), case-sensitive.
///
/// A higher 1.x minor is answered as 1.1, the highest minor we support (RFC 9110 6.2); another
/// major version is 505.
fn parse_version(version: &[u8]) -> Result<Version, ParseError> {
    match *version {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            match (major, minor) {
                (b'1', b'0') => Ok(Version::HTTP_10),
                (b'1', _) => Ok(Version::HTTP_11),
                _ => Err(ParseError::VersionNotSupported),
            }
        }
        _ => Err(ParseError::BadRequest("invalid HTTP version")),
    }
}

/// Parses the field lines of `block` (which [`scan`] has checked: `count` lines, each ending in
/// CRLF, then the closing CRLF) into headers whose values share `block`'s allocation.
fn parse_fields(block: &Bytes, count: usize, facts: &mut Facts) -> Result<Headers, ParseError> {
    let mut headers = Headers::with_capacity(count);
    let mut pos = 0;
    for _ in 0..count {
        // `scan` saw `count` CRLF-terminated lines here; a miss would be a bug, not a panic.
        let end = memchr::memchr(b'\r', &block[pos..])
            .map(|i| pos + i)
            .ok_or(ParseError::BadRequest("field line"))?;
        let (name, value) = split_field_line(&block[pos..end])?;
        let name = HeaderName::from_bytes(name)
            .map_err(|_| ParseError::BadRequest("invalid field name"))?;
        facts.observe(&name, value)?;
        let value = HeaderValue::from_maybe_shared(block.slice_ref(value))
            .map_err(|_| ParseError::BadRequest("invalid field value"))?;
        headers.append(name, value);
        pos = end + 2;
    }
    Ok(headers)
}

/// What the fields that carry protocol meaning said, gathered as they are parsed.
#[derive(Debug, Default)]
struct Facts {
    framing: Framing,
    connection: ConnectionOptions,
    hosts: usize,
    expect_continue: bool,
}

impl Facts {
    fn observe(&mut self, name: &HeaderName, value: &[u8]) -> Result<(), ParseError> {
        if name == header::HOST {
            self.host(value)
        } else if name == header::CONTENT_LENGTH {
            self.framing.content_length(value)
        } else if name == header::TRANSFER_ENCODING {
            self.framing.transfer_encoding(value)
        } else if name == header::CONNECTION {
            self.connection.add(value);
            Ok(())
        } else if name == header::EXPECT {
            self.expect_continue |= value.eq_ignore_ascii_case(b"100-continue");
            Ok(())
        } else {
            Ok(())
        }
    }

    /// RFC 9112 3.2: more than one Host field, or an invalid one, is a 400. An empty value is
    /// what a client sends when the target URI has no authority (RFC 9110 7.2), so it is
    /// accepted; [`RequestHead::host`] then returns `Some("")`.
    fn host(&mut self, value: &[u8]) -> Result<(), ParseError> {
        self.hosts += 1;
        if self.hosts > 1 {
            return Err(ParseError::BadRequest("more than one Host header"));
        }
        if value.is_empty() {
            return Ok(());
        }
        authority::validate(value, Port::Optional)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BodyKind, TargetForm};

    /// Parses `input` from a slice, and checks that taking it off a buffer agrees.
    fn parse(input: &[u8]) -> Result<Option<(RequestHead, usize)>, ParseError> {
        let parsed = parse_request_head(input, &Limits::default());
        let mut buf = BytesMut::from(input);
        let taken = take_request_head(&mut buf, &Limits::default());
        match (&taken, &parsed) {
            (Ok(Some(t)), Ok(Some((p, used)))) => {
                assert_eq!(t, p);
                assert_eq!(buf.len(), input.len() - used);
            }
            (Ok(None), Ok(None)) => assert_eq!(&buf[..], input),
            (Err(a), Err(b)) => assert_eq!(a, b),
            (t, p) => panic!("take {t:?} but parse {p:?}"),
        }
        parsed
    }

    fn head(input: &[u8]) -> RequestHead {
        match parse(input) {
            Ok(Some((head, used))) => {
                assert_eq!(used, input.len(), "consumed");
                head
            }
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(input)),
        }
    }

    fn error(input: &[u8]) -> ParseError {
        match parse(input) {
            Err(e) => e,
            other => panic!(
                "{:?} should fail: {other:?}",
                String::from_utf8_lossy(input)
            ),
        }
    }

    fn bad(input: &[u8]) {
        assert!(
            matches!(error(input), ParseError::BadRequest(_)),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }

    /// `GET / HTTP/1.1` with a Host and the given field lines.
    fn with_fields(fields: &str) -> Vec<u8> {
        format!("GET / HTTP/1.1\r\nHost: a\r\n{fields}\r\n").into_bytes()
    }

    #[test]
    fn taking_heads_leaves_what_follows_and_shares_the_buffer() {
        let mut buf = BytesMut::from(
            &b"\r\nGET /one HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\r\nGET /two HTTP/1.1\r\nHost: b\r\n\r\nPOST"[..],
        );
        let limits = Limits::default();
        let one = take_request_head(&mut buf, &limits).unwrap().unwrap();
        assert_eq!(one.target.as_str(), "/one");
        assert_eq!(one.headers.get_str("x-a"), Some("1"));
        let two = take_request_head(&mut buf, &limits).unwrap().unwrap();
        assert_eq!(two.target.as_str(), "/two");
        assert_eq!(two.host(), Some("b"));
        assert_eq!(&buf[..], b"POST");
        assert!(take_request_head(&mut buf, &limits).unwrap().is_none());
        assert_eq!(&buf[..], b"POST", "an incomplete head stays in the buffer");
        // The values outlive the buffer they were parsed from.
        drop(buf);
        assert_eq!(one.headers.get_str("host"), Some("a"));
        let mut bad = BytesMut::from(&b"GET / HTTP/1.1\r\n\r\n"[..]);
        assert!(take_request_head(&mut bad, &limits).is_err());
    }

    #[test]
    fn parses_a_simple_request() {
        let h = head(b"GET /a/b?c=d HTTP/1.1\r\nHost: example.com\r\nX-Thing:  v a l  \r\n\r\n");
        assert_eq!(h.method, Method::GET);
        assert_eq!(h.target.path(), "/a/b");
        assert_eq!(h.target.query(), Some("c=d"));
        assert_eq!(h.version, Version::HTTP_11);
        assert_eq!(h.headers.get_str("x-thing"), Some("v a l"));
        assert_eq!(h.host(), Some("example.com"));
        assert_eq!(h.body, BodyKind::Empty);
        assert_eq!(h.content_length(), Some(0));
        assert!(h.keep_alive);
        assert!(!h.expect_continue);
    }

    #[test]
    fn incomplete_heads_are_not_errors() {
        let full = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n";
        for cut in 0..full.len() {
            assert!(matches!(parse(&full[..cut]), Ok(None)), "cut at {cut}");
        }
    }

    #[test]
    fn stops_at_the_end_of_the_head() {
        let input = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\n";
        let (h, used) = parse(input).expect("valid").expect("complete");
        assert_eq!(used, 27);
        assert_eq!(h.target.path(), "/");
    }

    #[test]
    fn leading_empty_lines_are_skipped_and_counted() {
        assert_eq!(head(b"\r\nGET / HTTP/1.0\r\n\r\n").target.path(), "/");
        assert_eq!(head(b"\r\n\r\nGET / HTTP/1.0\r\n\r\n").target.path(), "/");
        assert!(matches!(parse(b"\r\n"), Ok(None)));
        assert!(matches!(parse(b"\r"), Ok(None)));
        bad(b"\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.0\r\n\r\n");
        bad(b"\nGET / HTTP/1.0\r\n\r\n");
        bad(b"\rGET / HTTP/1.0\r\n\r\n");
    }

    #[test]
    fn only_crlf_ends_a_line() {
        bad(b"GET / HTTP/1.0\n\n");
        bad(b"GET / HTTP/1.0\r\n\n");
        bad(b"GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n");
        bad(b"GET / HTTP/1.1\r\nHost: a\r\nX: y\rZ: w\r\n\r\n");
        bad(b"GET / HTTP/1.1\rLine: 1\r\n");
        // A bare CR is refused as soon as the byte after it arrives.
        bad(b"GET / HTTP/1.0\r\r");
        bad(b"GET / HTTP/1.0\r\nHost: localhost:80 x\r\n\rX");
    }

    #[test]
    fn request_line_needs_exactly_one_space_between_parts() {
        for line in [
            &b"GET  / HTTP/1.0"[..],
            b"GET /  HTTP/1.0",
            b" GET / HTTP/1.0",
            b"GET / HTTP/1.0 ",
            b"GET / HTTP/1.0  ",
            b"GET\t/ HTTP/1.0",
            b"GET /\tHTTP/1.0",
            b"GET\x0c/ HTTP/1.0",
            b"G\0ET / HTTP/1.0",
            b"GET / HTTP/1.0\0",
            b"GET",
        ] {
            bad(&[line, b"\r\n\r\n"].concat());
        }
    }

    #[test]
    fn a_request_line_without_version_is_http09_and_505() {
        assert_eq!(error(b"GET /\r\n\r\n"), ParseError::VersionNotSupported);
        assert_eq!(
            error(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
            ParseError::Http2Preface
        );
        // Not the preface: anything before it, or a field in it.
        assert_eq!(
            error(b"\r\nPRI * HTTP/2.0\r\n\r\n"),
            ParseError::VersionNotSupported
        );
        assert_eq!(
            error(b"PRI * HTTP/2.0\r\nHost: a\r\n\r\n"),
            ParseError::VersionNotSupported
        );
        assert_eq!(
            error(b"Host: localhost\r\n\r\n"),
            ParseError::VersionNotSupported
        );
        bad(b"GET HTTP/1.1\r\n\r\n");
    }

    #[test]
    fn request_line_without_version_is_refused_before_the_head_ends() {
        assert_eq!(error(b"GET /\r\n"), ParseError::VersionNotSupported);
        assert_eq!(error(b"\r\nGET /\r\nHost"), ParseError::VersionNotSupported);
        assert!(matches!(
            error(b"GET HTTP/1.1\r\n"),
            ParseError::BadRequest(_)
        ));
        assert!(matches!(parse(b"GET / HTTP/1.1\r\n"), Ok(None)));
    }

    #[test]
    fn methods_are_case_sensitive_tokens() {
        let h = head(b"get / HTTP/1.0\r\n\r\n");
        assert_eq!(h.method.as_str(), "get");
        assert_ne!(h.method, Method::GET);
        assert_eq!(
            head(b"M-SEARCH /x HTTP/1.0\r\n\r\n").method.as_str(),
            "M-SEARCH"
        );
        bad(b"G/T / HTTP/1.0\r\n\r\n");
        bad(b"G(T / HTTP/1.0\r\n\r\n");
        bad(b"GE\xc3\x89T / HTTP/1.0\r\n\r\n");
    }

    #[test]
    fn versions() {
        let version = |v: &str| {
            parse(format!("GET / {v}\r\nHost: a\r\n\r\n").as_bytes())
                .map(|r| r.map(|(h, _)| h.version))
        };
        assert_eq!(version("HTTP/1.0"), Ok(Some(Version::HTTP_10)));
        assert_eq!(version("HTTP/1.1"), Ok(Some(Version::HTTP_11)));
        assert_eq!(version("HTTP/1.2"), Ok(Some(Version::HTTP_11)));
        assert_eq!(version("HTTP/1.9"), Ok(Some(Version::HTTP_11)));
        for v in ["HTTP/2.0", "HTTP/5.6", "HTTP/0.9", "HTTP/0.8", "HTTP/3.0"] {
            assert_eq!(version(v), Err(ParseError::VersionNotSupported), "{v}");
        }
        for v in [
            "HTTP/1.11",
            "HTTP/10.0",
            "HTT/1.0",
            "HTTP/",
            "ICE/1.0",
            "RTSP/1.0",
            "IHTTP/1.0",
            "http/1.1",
            "HTTP/1",
            "HTTP/1.x",
            "HTTP/1,1",
        ] {
            assert!(matches!(version(v), Err(ParseError::BadRequest(_))), "{v}");
        }
    }

    #[test]
    fn targets() {
        let h = head(b"GET /forums/1?page=1#posts-17408 HTTP/1.0\r\n\r\n");
        assert_eq!(h.target.as_str(), "/forums/1?page=1");
        let h = head(b"OPTIONS * HTTP/1.0\r\n\r\n");
        assert_eq!(h.target.form(), TargetForm::Asterisk);
        let h = head(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
        assert_eq!(h.target.form(), TargetForm::Authority);
        let h = head(b"GET http://foo:81/x HTTP/1.0\r\nHost: bar\r\n\r\n");
        assert_eq!(h.host(), Some("foo:81"));
        bad(b"PRI * HTTP/1.1\r\nHost: a\r\n\r\n");
        bad(b"GET /\x01 HTTP/1.0\r\n\r\n");
        bad(b"GET /\xce\xb4 HTTP/1.0\r\n\r\n");
        bad(b"GET /foo bar/ HTTP/1.1\r\nHost: a\r\n\r\n");
        bad(b"GET http://foo@localhost/ HTTP/1.0\r\n\r\n");
    }

    #[test]
    fn field_lines() {
        let h = head(&with_fields(
            "A:b\r\nC: \t d\te \t\r\nEmpty:\r\nObs: D\u{fc}sseldorf\r\n",
        ));
        assert_eq!(h.headers.get_str("a"), Some("b"));
        assert_eq!(h.headers.get_str("c"), Some("d\te"));
        assert_eq!(h.headers.get_str("empty"), Some(""));
        assert_eq!(
            h.headers.get("obs").map(|v| v.as_bytes()),
            Some("D\u{fc}sseldorf".as_bytes())
        );
        let names: Vec<_> = h.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["host", "a", "c", "empty", "obs"]);
        let h = head(b"GET / HTTP/1.0\r\nX: \xff\x80\r\n\r\n");
        assert_eq!(
            h.headers.get("x").map(|v| v.as_bytes()),
            Some(&b"\xff\x80"[..])
        );
        for line in [
            &b" Folded: x"[..],
            b"\tFolded: x",
            b"NoColon",
            b": empty name",
            b"Name : v",
            b"Na me: v",
            b"Fo@: v",
            b"F\x01o: bar",
            b"Foo\x01\test: Bar",
            b"Foo: b\x00ar",
            b"Foo: b\x01ar",
            b"Foo: hello\x0cworld",
            b"Foo: \x7f",
            b"Foo: \x1b",
        ] {
            let input = [&b"GET / HTTP/1.1\r\nHost: a\r\n"[..], line, b"\r\n\r\n"].concat();
            bad(&input);
        }
    }

    #[test]
    fn host_rules() {
        bad(b"GET / HTTP/1.1\r\n\r\n");
        bad(b"GET http://a/ HTTP/1.1\r\n\r\n");
        bad(b"GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n");
        bad(b"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n");
        for host in [
            &b"4714::abcd:8001"[..],
            b"abc\xa0",
            b"abc\\foo",
            b"a b",
            b"localhost:80x",
            b"u@h",
            b"[::1",
        ] {
            bad(&[&b"GET / HTTP/1.0\r\nHost: "[..], host, b"\r\n\r\n"].concat());
        }
        for host in [
            "[::1]",
            "[4711::abcd]:8000",
            "foo_bar.example.com",
            "0.0.0.0=5000",
            "a:1",
        ] {
            let h = head(format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes());
            assert_eq!(h.host(), Some(host));
        }
        // RFC 9110 7.2: an empty Host is what a client sends for a target without authority.
        assert_eq!(head(b"GET / HTTP/1.1\r\nHost:\r\n\r\n").host(), Some(""));
        assert_eq!(head(b"GET / HTTP/1.0\r\n\r\n").host(), None);
    }

    #[test]
    fn content_length() {
        assert_eq!(
            head(&with_fields("Content-Length: 42\r\n")).body,
            BodyKind::Length(42)
        );
        assert_eq!(
            head(&with_fields("Content-Length:  42 \r\n")).body,
            BodyKind::Length(42)
        );
        assert_eq!(
            head(&with_fields("content-length:\t42\t \r\n")).body,
            BodyKind::Length(42)
        );
        assert_eq!(
            head(&with_fields("Content-Length: 003\r\n")).content_length(),
            Some(3)
        );
        assert_eq!(
            head(&with_fields(
                "Content-Length: 5, 5\r\nContent-Length: 5\r\n"
            ))
            .body,
            BodyKind::Length(5)
        );
        assert_eq!(
            head(&with_fields("Content-Length: 0\r\n")).body,
            BodyKind::Empty
        );
        for v in [
            "",
            "4 2",
            "13 37",
            "+5",
            "-1",
            "5,",
            "1000000000000000000000",
            "99999999999999999999",
        ] {
            bad(&with_fields(&format!("Content-Length: {v}\r\n")));
        }
        bad(&with_fields("Content-Length: 1\r\nContent-Length: 2\r\n"));
        bad(&with_fields("Content-Length : 4\r\n"));
        let limits = Limits {
            max_body_size: 100,
            ..Limits::default()
        };
        let r = parse_request_head(&with_fields("Content-Length: 101\r\n"), &limits);
        assert_eq!(r.err(), Some(ParseError::BodyTooLarge));
        let r = parse_request_head(&with_fields("Content-Length: 100\r\n"), &limits);
        assert_eq!(
            r.map(|r| r.map(|(h, _)| h.body)),
            Ok(Some(BodyKind::Length(100)))
        );
    }

    #[test]
    fn transfer_encoding() {
        let h = head(&with_fields("Transfer-Encoding: chunked\r\n"));
        assert_eq!((h.body, h.content_length()), (BodyKind::Chunked, None));
        assert_eq!(
            head(&with_fields("Transfer-Encoding: Chunked \r\n")).body,
            BodyKind::Chunked
        );
        for te in [
            "identity",
            "pigeons",
            "chunkedchunked",
            "deflate",
            "deflate, chunked",
        ] {
            let e = error(&with_fields(&format!("Transfer-Encoding: {te}\r\n")));
            assert_eq!(e, ParseError::UnsupportedTransferCoding, "{te}");
        }
        assert_eq!(
            error(&with_fields(
                "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"
            )),
            ParseError::UnsupportedTransferCoding
        );
        bad(&with_fields("Transfer-Encoding: chunked, deflate\r\n"));
        bad(&with_fields(
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: deflate\r\n",
        ));
        bad(&with_fields("Transfer-Encoding:\r\n"));
        bad(&with_fields("Transfer-Encoding: ,chunked\r\n"));
        bad(&with_fields(
            "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
        ));
        bad(&with_fields(
            "Content-Length: 1\r\nTransfer-Encoding: identity\r\n",
        ));
        bad(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n");
        bad(&with_fields("Transfer-Encoding: chunked\r\n  abc\r\n"));
    }

    #[test]
    fn keep_alive_and_expect() {
        let h11 = |fields: &str| head(&with_fields(fields));
        let h10 = |fields: &str| head(format!("GET / HTTP/1.0\r\n{fields}\r\n").as_bytes());
        assert!(h11("").keep_alive);
        assert!(!h11("Connection: close\r\n").keep_alive);
        assert!(!h11("Connection: Upgrade, Close\r\n").keep_alive);
        assert!(!h11("Connection: keep-alive\r\nConnection: close\r\n").keep_alive);
        assert!(!h10("").keep_alive);
        assert!(h10("Connection: Keep-Alive\r\n").keep_alive);
        assert!(!h10("Connection: keep-alive, close\r\n").keep_alive);
        assert!(h11("Expect: 100-Continue\r\n").expect_continue);
        assert!(!h11("Expect: something-else\r\n").expect_continue);
        assert!(!h10("Expect: 100-continue\r\n").expect_continue);
    }

    #[test]
    fn request_line_limit_is_414_even_on_partial_input() {
        let limits = Limits {
            max_request_line: 32,
            ..Limits::default()
        };
        let long = format!("GET /{} HTTP/1.1\r\n", "a".repeat(40));
        assert_eq!(
            parse_request_head(long.as_bytes(), &limits).err(),
            Some(ParseError::UriTooLong)
        );
        assert_eq!(
            parse_request_head(&long.as_bytes()[..33], &limits).err(),
            Some(ParseError::UriTooLong)
        );
        assert!(matches!(
            parse_request_head(&long.as_bytes()[..31], &limits),
            Ok(None)
        ));
        let fits = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(16));
        assert!(matches!(
            parse_request_head(fits.as_bytes(), &limits),
            Ok(Some(_))
        ));
    }

    #[test]
    fn cr_at_the_request_line_limit_is_414_for_every_prefix() {
        // Found by fuzzing: the whole input said 400 (bare CR) while a prefix said 414.
        let limits = Limits {
            max_request_line: 16,
            ..Limits::default()
        };
        let input = b"GET /aaaaaaaaaa\r\x08";
        for end in 0..=input.len() {
            let r = parse_request_head(&input[..end], &limits);
            let expected = if end < 16 {
                None
            } else {
                Some(ParseError::UriTooLong)
            };
            assert_eq!(r.err(), expected, "prefix of {end}");
        }
    }

    #[test]
    fn head_size_limit_is_431_even_on_partial_input() {
        let limits = Limits {
            max_head_size: 64,
            ..Limits::default()
        };
        let big = format!("GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n", "v".repeat(60));
        assert_eq!(
            parse_request_head(big.as_bytes(), &limits).err(),
            Some(ParseError::HeadersTooLarge)
        );
        assert_eq!(
            parse_request_head(&big.as_bytes()[..70], &limits).err(),
            Some(ParseError::HeadersTooLarge)
        );
        let exact = format!(
            "GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n",
            "v".repeat(64 - 32)
        );
        assert_eq!(exact.len(), 64);
        assert!(matches!(
            parse_request_head(exact.as_bytes(), &limits),
            Ok(Some(_))
        ));
    }

    #[test]
    fn field_count_limit_is_431() {
        let limits = Limits {
            max_headers: 3,
            ..Limits::default()
        };
        let three = b"GET / HTTP/1.1\r\nHost: a\r\nB: 1\r\nC: 2\r\n\r\n";
        assert!(matches!(parse_request_head(three, &limits), Ok(Some(_))));
        let four = b"GET / HTTP/1.1\r\nHost: a\r\nB: 1\r\nC: 2\r\nD: 3\r\n";
        assert_eq!(
            parse_request_head(four, &limits).err(),
            Some(ParseError::HeadersTooLarge)
        );
    }

    #[test]
    fn every_split_gives_the_same_head() {
        let requests: &[&[u8]] = &[
            b"GET /a?b HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n",
            b"\r\nPOST /form HTTP/1.1\r\nHost: [::1]:8080\r\nContent-Length: 4\r\nConnection: close\r\n\r\nq=42",
            b"PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
            b"OPTIONS * HTTP/1.0\r\nX: \xc3\xbc\r\n\r\n",
        ];
        for input in requests {
            let (whole, used) = parse(input).expect("valid").expect("complete");
            for cut in 0..used {
                assert!(matches!(parse(&input[..cut]), Ok(None)), "cut at {cut}");
            }
            for end in used..=input.len() {
                let (h, n) = parse(&input[..end]).expect("valid").expect("complete");
                assert_eq!(n, used);
                assert_eq!(
                    (h.method, h.target, h.headers, h.body),
                    (
                        whole.method.clone(),
                        whole.target.clone(),
                        whole.headers.clone(),
                        whole.body
                    )
                );
                assert_eq!(
                    (h.keep_alive, h.expect_continue, h.version),
                    (whole.keep_alive, whole.expect_continue, whole.version)
                );
            }
        }
    }

    #[test]
    fn scan_finds_the_shape() {
        let input = b"\r\nGET / HTTP/1.1\r\nA: b\r\nC: d\r\n\r\nbody";
        let shape = Shape {
            start: 2,
            line_end: 16,
            end: 32,
            fields: 2,
        };
        assert_eq!(scan(input, &Limits::default()), Ok(Some(shape)));
    }
}

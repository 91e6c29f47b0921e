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

use bytes::Bytes;
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
    let (method, target, version) = parse_request_line(&buf[shape.start..shape.line_end])?;
    let fields = Bytes::copy_from_slice(&buf[shape.line_end + 2..shape.end]);
    let mut facts = Facts::default();
    let headers = parse_fields(&fields, shape.fields, &mut facts)?;
    if version == Version::HTTP_11 && facts.hosts == 0 {
        // RFC 9112 3.2: a server MUST respond with 400 to an HTTP/1.1 request without Host.
        return Err(ParseError::BadRequest("missing Host header"));
    }
    let head = RequestHead {
        method,
        target,
        version,
        headers,
        body: facts.framing.finish(version, limits.max_body_size)?,
        keep_alive: facts.connection.keep_alive(version),
        expect_continue: facts.expect_continue && version == Version::HTTP_11,
    };
    Ok(Some((head, shape.end)))
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
fn skip_empty_lines(buf: &[u8]) -> usize {
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
    let (target, version) =
        split_at_space(rest).ok_or(ParseError::BadRequest("missing HTTP version"))?;
    let version = parse_version(version)?;
    let method = parse_method(method)?;
    let target = Target::parse(target, &method)?;
    Ok((method, target, version))
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
        let end = memchr::memchr(b'\r', &block[pos..]).map_or(block.len(), |i| pos + i);
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

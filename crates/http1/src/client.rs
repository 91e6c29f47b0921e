//! The client side: parsing a response head and deciding how its body is framed.
//!
//! The server parses requests strictly because a lenient server is where request smuggling
//! starts. A client talks to a peer it chose, so this parser accepts the harmless deviations real
//! servers send (a bare LF line ending, a missing reason phrase, an obsolete line fold, which
//! RFC 9112 5.2 tells a user agent to replace with a space) and still rejects anything that would
//! make the body framing ambiguous.

use std::fmt;

use http::{HeaderName, HeaderValue, Method, StatusCode, Version};
use semantics::decimal::parse_u64 as parse_decimal;

use crate::headers::trim_ows;
use crate::{BodyKind, Headers};

/// Largest response head accepted. A server that sends more without ending its head is
/// answered with [`ResponseError::HeadTooLarge`] and the connection is dropped.
pub const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// Most header fields in one response; more is [`ResponseError::HeadTooLarge`].
pub const MAX_RESPONSE_HEADERS: usize = 100;

/// A parsed response head.
#[derive(Debug, Clone)]
pub struct ResponseHead {
    /// `HTTP/1.0` or `HTTP/1.1`; an unknown `HTTP/1.x` minor is read as `HTTP/1.1`.
    pub version: Version,
    /// The status code.
    pub status: StatusCode,
    /// The reason phrase as sent (possibly empty); clients should not rely on it.
    pub reason: String,
    /// Header fields in the order received.
    pub headers: Headers,
}

impl ResponseHead {
    /// Whether this is an interim response (1xx other than `101 Switching Protocols`), which the
    /// client skips while it waits for the final one (RFC 9110 15.2).
    pub fn is_interim(&self) -> bool {
        self.status.is_informational() && self.status != StatusCode::SWITCHING_PROTOCOLS
    }

    /// How the body that follows is delimited, for a response to a `method` request
    /// (RFC 9112 section 6.3, in the order the rules are given there).
    pub fn body_kind(&self, method: &Method) -> Result<BodyKind, ResponseError> {
        // Rule 1: no body after HEAD, 1xx, 204 and 304, whatever the headers say.
        if method == Method::HEAD
            || self.status.is_informational()
            || self.status == StatusCode::NO_CONTENT
            || self.status == StatusCode::NOT_MODIFIED
        {
            return Ok(BodyKind::Empty);
        }
        // Rule 2: a successful CONNECT turns the connection into a tunnel; no HTTP body.
        if method == Method::CONNECT && self.status.is_success() {
            return Ok(BodyKind::Empty);
        }
        let length = content_length(&self.headers)?;
        if self.headers.contains("transfer-encoding") {
            // Rule 3: both framings at once is how response splitting looks; refuse it.
            if length.is_some() {
                return Err(ResponseError::Malformed(
                    "both Transfer-Encoding and Content-Length",
                ));
            }
            // Rule 4: we only decode `chunked`, so any other coding cannot be delivered as-is.
            return if is_only_chunked(&self.headers) {
                Ok(BodyKind::Chunked)
            } else {
                Err(ResponseError::UnsupportedTransferCoding)
            };
        }
        // Rules 6 and 8: a length, or everything until the server closes.
        Ok(length.map_or(BodyKind::UntilClose, BodyKind::Length))
    }

    /// Whether the server lets the connection carry another request after this response
    /// (RFC 9112 9.3). A close-delimited body ends the connection regardless.
    pub fn keep_alive(&self) -> bool {
        if self.version == Version::HTTP_10 {
            self.headers.has_token("connection", "keep-alive")
        } else {
            !self.headers.has_token("connection", "close")
        }
    }
}

/// A response the client cannot use; the connection is dropped after any of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseError {
    /// The status line or a header line is not HTTP (the reason says where).
    Malformed(&'static str),
    /// The head is larger than [`MAX_RESPONSE_HEAD`] or has more than [`MAX_RESPONSE_HEADERS`]
    /// fields.
    HeadTooLarge,
    /// The HTTP major version is not 1.
    VersionNotSupported,
    /// The body has a transfer coding other than `chunked` alone.
    UnsupportedTransferCoding,
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseError::Malformed(why) => write!(f, "malformed response: {why}"),
            ResponseError::HeadTooLarge => f.write_str("response header section too large"),
            ResponseError::VersionNotSupported => {
                f.write_str("response HTTP version not supported")
            }
            ResponseError::UnsupportedTransferCoding => {
                f.write_str("response uses a transfer coding other than chunked")
            }
        }
    }
}

impl std::error::Error for ResponseError {}

/// Parses one response head from the start of `buf`.
///
/// Returns `Ok(None)` while the head is incomplete, or the head and the number of bytes it took.
/// Input that cannot become a response (it does not start with `HTTP/`, or it grows past
/// [`MAX_RESPONSE_HEAD`]) is an error as soon as it is seen, so a garbage peer is not waited on.
pub fn parse_response_head(buf: &[u8]) -> Result<Option<(ResponseHead, usize)>, ResponseError> {
    let prefix = buf.len().min(5);
    if buf[..prefix] != b"HTTP/"[..prefix] {
        return Err(ResponseError::Malformed("not an HTTP response"));
    }
    let Some(end) = head_end(buf) else {
        return if buf.len() > MAX_RESPONSE_HEAD {
            Err(ResponseError::HeadTooLarge)
        } else {
            Ok(None)
        };
    };
    if end > MAX_RESPONSE_HEAD {
        return Err(ResponseError::HeadTooLarge);
    }
    let mut lines = Lines { rest: &buf[..end] };
    let status_line = lines.next_line()?.unwrap_or_default();
    let (version, status, reason) = parse_status_line(status_line)?;
    let headers = parse_fields(&mut lines)?;
    let head = ResponseHead {
        version,
        status,
        reason,
        headers,
    };
    Ok(Some((head, end)))
}

/// The offset just past the empty line that ends the head, if it has arrived.
fn head_end(buf: &[u8]) -> Option<usize> {
    let mut start = 0;
    while let Some(i) = buf[start..].iter().position(|&b| b == b'\n') {
        let line = &buf[start..start + i];
        if line.is_empty() || line == b"\r" {
            return Some(start + i + 1);
        }
        start += i + 1;
    }
    None
}

/// Lines of a complete head, CRLF or bare LF terminated, up to the empty line.
struct Lines<'a> {
    rest: &'a [u8],
}

impl<'a> Lines<'a> {
    /// The next line without its terminator; `None` at the empty line that ends the head.
    fn next_line(&mut self) -> Result<Option<&'a [u8]>, ResponseError> {
        let Some(i) = self.rest.iter().position(|&b| b == b'\n') else {
            return Ok(None);
        };
        let mut line = &self.rest[..i];
        self.rest = &self.rest[i + 1..];
        if let [body @ .., b'\r'] = line {
            line = body;
        }
        if line.contains(&b'\r') {
            return Err(ResponseError::Malformed("bare CR in the head"));
        }
        Ok((!line.is_empty()).then_some(line))
    }
}

/// `HTTP/1.1 200 OK`; the reason phrase and the space before it may be missing.
fn parse_status_line(line: &[u8]) -> Result<(Version, StatusCode, String), ResponseError> {
    let bad = ResponseError::Malformed("bad status line");
    let rest = line.strip_prefix(b"HTTP/").ok_or(bad.clone())?;
    let version = match rest {
        [b'1', b'.', b'0', ..] => Version::HTTP_10,
        [b'1', b'.', minor, ..] if minor.is_ascii_digit() => Version::HTTP_11,
        [major, b'.', minor, ..] if major.is_ascii_digit() && minor.is_ascii_digit() => {
            return Err(ResponseError::VersionNotSupported);
        }
        _ => return Err(bad),
    };
    let rest = rest[3..].strip_prefix(b" ").ok_or(bad.clone())?;
    let (code, reason) = match rest.get(3) {
        None => (rest, &b""[..]),
        Some(b' ') => (&rest[..3], &rest[4..]),
        Some(_) => return Err(bad),
    };
    if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
        return Err(bad);
    }
    let status = StatusCode::from_bytes(code).map_err(|_| bad.clone())?;
    if reason.iter().any(|&b| b.is_ascii_control() && b != b'\t') {
        return Err(bad);
    }
    Ok((
        version,
        status,
        String::from_utf8_lossy(reason).into_owned(),
    ))
}

/// The header section: `name: value` lines, with obsolete folds joined by a space.
fn parse_fields(lines: &mut Lines<'_>) -> Result<Headers, ResponseError> {
    let mut fields: Vec<(HeaderName, Vec<u8>)> = Vec::new();
    while let Some(line) = lines.next_line()? {
        if let [b' ' | b'\t', ..] = line {
            let (_, value) = fields
                .last_mut()
                .ok_or(ResponseError::Malformed("folded line before any field"))?;
            value.push(b' ');
            value.extend_from_slice(trim_ows(line));
            continue;
        }
        if fields.len() == MAX_RESPONSE_HEADERS {
            return Err(ResponseError::HeadTooLarge);
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or(ResponseError::Malformed("header line without a colon"))?;
        // A space before the colon is not allowed (RFC 9112 5.1); the name check rejects it.
        let name = HeaderName::from_bytes(&line[..colon])
            .map_err(|_| ResponseError::Malformed("bad header name"))?;
        fields.push((name, trim_ows(&line[colon + 1..]).to_vec()));
    }
    let mut headers = Headers::with_capacity(fields.len());
    for (name, value) in fields {
        let value = HeaderValue::from_bytes(trim_ows(&value))
            .map_err(|_| ResponseError::Malformed("bad header value"))?;
        headers.append(name, value);
    }
    Ok(headers)
}

/// The `Content-Length`, if any: every value (and every list item) must be the same number.
fn content_length(headers: &Headers) -> Result<Option<u64>, ResponseError> {
    let bad = ResponseError::Malformed("invalid Content-Length");
    let mut length = None;
    for value in headers.get_all("content-length") {
        for item in value.as_bytes().split(|&b| b == b',') {
            let n = parse_decimal(trim_ows(item)).ok_or(bad.clone())?;
            if length.is_some_and(|seen| seen != n) {
                return Err(bad);
            }
            length = Some(n);
        }
    }
    Ok(length)
}

/// Whether `Transfer-Encoding` lists exactly one coding, `chunked`.
fn is_only_chunked(headers: &Headers) -> bool {
    let mut codings = headers
        .get_all("transfer-encoding")
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .map(trim_ows)
        .filter(|c| !c.is_empty());
    matches!(
        (codings.next(), codings.next()),
        (Some(c), None) if c.eq_ignore_ascii_case(b"chunked")
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SIMPLE: &[u8] =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";

    fn parse(raw: &[u8]) -> ResponseHead {
        let (head, _) = parse_response_head(raw).unwrap().unwrap();
        head
    }

    fn kind(raw: &str, method: &Method) -> Result<BodyKind, ResponseError> {
        parse(raw.as_bytes()).body_kind(method)
    }

    #[test]
    fn parses_a_simple_head_and_reports_its_length() {
        let (head, used) = parse_response_head(SIMPLE).unwrap().unwrap();
        assert_eq!(used, SIMPLE.len() - 5);
        assert_eq!(head.version, Version::HTTP_11);
        assert_eq!(head.status, StatusCode::OK);
        assert_eq!(head.reason, "OK");
        assert_eq!(head.headers.get_str("content-type"), Some("text/plain"));
        assert_eq!(head.body_kind(&Method::GET), Ok(BodyKind::Length(5)));
        assert!(head.keep_alive());
    }

    #[test]
    fn incomplete_at_every_split_point() {
        let head_len = SIMPLE.len() - 5;
        for cut in 0..head_len {
            assert_eq!(
                parse_response_head(&SIMPLE[..cut]).unwrap().map(|(_, n)| n),
                None,
                "cut {cut}"
            );
        }
    }

    #[test]
    fn garbage_is_rejected_before_a_line_ends() {
        assert!(matches!(
            parse_response_head(b"SSH-2.0-OpenSSH"),
            Err(ResponseError::Malformed(_))
        ));
        assert!(matches!(
            parse_response_head(b"<html>"),
            Err(ResponseError::Malformed(_))
        ));
        assert!(parse_response_head(b"HTT").unwrap().is_none());
    }

    #[test]
    fn lenient_where_harmless() {
        let head = parse(b"HTTP/1.0 404\nServer: x\n  continued\n\n");
        assert_eq!(head.version, Version::HTTP_10);
        assert_eq!(head.status, StatusCode::NOT_FOUND);
        assert_eq!(head.reason, "");
        assert_eq!(head.headers.get_str("server"), Some("x continued"));
        assert_eq!(parse(b"HTTP/1.1 200 \r\n\r\n").reason, "");
        assert_eq!(
            parse(b"HTTP/1.2 200 Fine Thanks\r\n\r\n").version,
            Version::HTTP_11
        );
    }

    #[test]
    fn malformed_heads() {
        for raw in [
            &b"HTTP/1.1 20 OK\r\n\r\n"[..],
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"HTTP/1.1  200 OK\r\n\r\n",
            b"HTTP/1.1 099 OK\r\n\r\n",
            b"HTTP/x.1 200 OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nName : v\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n folded first\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n",
            b"HTTP/1.1 200 O\x01K\r\n\r\n",
        ] {
            let got = parse_response_head(raw);
            assert!(
                matches!(got, Err(ResponseError::Malformed(_))),
                "{:?}: {got:?}",
                String::from_utf8_lossy(raw)
            );
        }
        assert_eq!(
            parse_response_head(b"HTTP/2.0 200 OK\r\n\r\n").unwrap_err(),
            ResponseError::VersionNotSupported
        );
    }

    #[test]
    fn limits() {
        let mut big = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        big.resize(MAX_RESPONSE_HEAD + 1, b'a');
        assert_eq!(
            parse_response_head(&big).unwrap_err(),
            ResponseError::HeadTooLarge
        );
        let mut many = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..=MAX_RESPONSE_HEADERS {
            many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(
            parse_response_head(&many).unwrap_err(),
            ResponseError::HeadTooLarge
        );
    }

    #[test]
    fn framing_follows_rfc_9112_6_3() {
        let get = Method::GET;
        assert_eq!(
            kind(
                "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n",
                &Method::HEAD
            ),
            Ok(BodyKind::Empty)
        );
        assert_eq!(
            kind("HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n", &get),
            Ok(BodyKind::Empty)
        );
        assert_eq!(
            kind("HTTP/1.1 304 Not Modified\r\n\r\n", &get),
            Ok(BodyKind::Empty)
        );
        assert_eq!(
            kind("HTTP/1.1 100 Continue\r\n\r\n", &get),
            Ok(BodyKind::Empty)
        );
        assert_eq!(
            kind(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n",
                &get
            ),
            Ok(BodyKind::Chunked)
        );
        assert_eq!(
            kind("HTTP/1.1 200 OK\r\n\r\n", &get),
            Ok(BodyKind::UntilClose)
        );
        assert_eq!(
            kind("HTTP/1.1 200 OK\r\nContent-Length: 7, 7\r\n\r\n", &get),
            Ok(BodyKind::Length(7))
        );
        for bad in [
            "HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 8\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        ] {
            assert!(
                matches!(kind(bad, &get), Err(ResponseError::Malformed(_))),
                "{bad}"
            );
        }
        assert_eq!(
            kind(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                &get
            ),
            Err(ResponseError::UnsupportedTransferCoding)
        );
    }

    #[test]
    fn keep_alive_depends_on_version_and_connection() {
        assert!(!parse(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n").keep_alive());
        assert!(!parse(b"HTTP/1.0 200 OK\r\n\r\n").keep_alive());
        assert!(parse(b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n\r\n").keep_alive());
    }

    #[test]
    fn interim_responses() {
        assert!(parse(b"HTTP/1.1 100 Continue\r\n\r\n").is_interim());
        assert!(parse(b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n").is_interim());
        assert!(!parse(b"HTTP/1.1 101 Switching Protocols\r\n\r\n").is_interim());
    }
}

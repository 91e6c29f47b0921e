//! The request head: request line and header section, parsed strictly per RFC 9112.

use std::ops::Range;

use bytes::Bytes;
use http::{Method, Version};
use smol_str::SmolStr;

use crate::framing::BodyKind;
use crate::{Headers, Limits, ParseError};

/// A parsed and validated request head.
///
/// Only heads that passed every check of [`parse_request_head`] exist: Host rules, a single
/// valid body framing, no forbidden bytes. The server can act on one without re-checking.
#[derive(Debug, Clone)]
pub struct RequestHead {
    /// The method token, case-sensitive as sent.
    pub method: Method,
    /// The request target.
    pub target: Target,
    /// `HTTP/1.0` or `HTTP/1.1`; an unknown `HTTP/1.x` minor is read as `HTTP/1.1`.
    pub version: Version,
    /// Header fields in the order received.
    pub headers: Headers,
    /// How the body that follows is delimited.
    pub body: BodyKind,
    /// Whether the connection may carry another request after this one
    /// (RFC 9112 section 9.3: 1.1 unless `close`, 1.0 only with `keep-alive`).
    pub keep_alive: bool,
    /// Whether the client sent `Expect: 100-continue` and waits for it before the body.
    pub expect_continue: bool,
    /// The field lines as received, each ending in CRLF, for [`RequestHead::raw_names`]: a
    /// reference into the parsed head's buffer, not a copy; empty for a head built in code or
    /// from HTTP/2.
    pub field_lines: Bytes,
}

/// Heads compare by what they say; how the field names were spelt on the wire is not part of
/// it (`field_lines` is left out).
impl PartialEq for RequestHead {
    fn eq(&self, other: &Self) -> bool {
        self.method == other.method
            && self.target == other.target
            && self.version == other.version
            && self.headers == other.headers
            && self.body == other.body
            && self.keep_alive == other.keep_alive
            && self.expect_continue == other.expect_continue
    }
}

impl Eq for RequestHead {}

impl RequestHead {
    /// The field names exactly as the client spelt them (`HeaderName` is lower case), in the
    /// order received: empty for a head not parsed from HTTP/1.1, and unaffected by fields
    /// added or removed since.
    pub fn raw_names(&self) -> impl Iterator<Item = &[u8]> {
        self.field_lines
            .split(|&b| b == b'\n')
            .filter_map(|line| line.iter().position(|&b| b == b':').map(|c| &line[..c]))
    }

    /// The `Host` header, or the authority of an absolute-form target (which wins, RFC 9112 3.2.2).
    pub fn host(&self) -> Option<&str> {
        self.target
            .authority()
            .or_else(|| self.headers.get_str(&http::header::HOST))
    }

    /// The length of the body when the head declares it: `Some(0)` when there is no body,
    /// `None` for a chunked body, whose length is known only at its end.
    pub fn content_length(&self) -> Option<u64> {
        match self.body {
            BodyKind::Empty => Some(0),
            BodyKind::Length(n) => Some(n),
            BodyKind::Chunked | BodyKind::UntilClose => None,
        }
    }
}

/// The four forms a request target can take (RFC 9112 section 3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetForm {
    /// `/path?query`, the usual form.
    Origin,
    /// `http://host:port/path?query`, as sent to proxies.
    Absolute,
    /// `host:port`, only with `CONNECT`.
    Authority,
    /// `*`, only with `OPTIONS`.
    Asterisk,
}

/// A request target, validated, with a fragment (if a client sent one) removed.
///
/// The text is kept as sent (still percent-encoded); the ranges point into it so the path and
/// query cost no allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    raw: SmolStr,
    form: TargetForm,
    path: Range<usize>,
    query: Option<Range<usize>>,
    authority: Option<Range<usize>>,
}

impl Target {
    /// Parses a request target for `method`.
    pub fn parse(raw: &[u8], method: &Method) -> Result<Target, ParseError> {
        crate::target_parse::parse_target(raw, method)
    }

    /// Builds a target from parts already validated by the parser.
    pub(crate) fn from_parts(
        raw: SmolStr,
        form: TargetForm,
        path: Range<usize>,
        query: Option<Range<usize>>,
        authority: Option<Range<usize>>,
    ) -> Target {
        Target {
            raw,
            form,
            path,
            query,
            authority,
        }
    }

    /// The whole target as sent, less any fragment.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Which of the four forms this is.
    pub fn form(&self) -> TargetForm {
        self.form
    }

    /// The path, still percent-encoded: `/a%20b`. `/` for an absolute-form target with an empty
    /// path, `*` for asterisk-form, empty for authority-form.
    pub fn path(&self) -> &str {
        if self.path.is_empty() {
            return match self.form {
                TargetForm::Absolute => "/",
                TargetForm::Asterisk => "*",
                _ => "",
            };
        }
        &self.raw[self.path.clone()]
    }

    /// The query without its `?`, exactly as sent (it may itself contain `?` and `//`).
    pub fn query(&self) -> Option<&str> {
        self.query.clone().map(|r| &self.raw[r])
    }

    /// `host[:port]` of an absolute-form or authority-form target.
    pub fn authority(&self) -> Option<&str> {
        self.authority.clone().map(|r| &self.raw[r])
    }

    /// The path followed by `?query` when there is one: what an origin server routes on.
    pub fn path_and_query(&self) -> &str {
        match (self.form, &self.query) {
            (TargetForm::Origin, _) => &self.raw,
            (_, Some(q)) if !self.path.is_empty() => &self.raw[self.path.start..q.end],
            _ => self.path(),
        }
    }
}

/// Parses one request head from the start of `buf`.
///
/// Returns `Ok(None)` while the head is incomplete (that is not an error), or the head and the
/// number of bytes it took, including one empty line before the request line if the client sent
/// one. An error means the connection must be answered with [`ParseError::status`] and closed.
/// Limits are checked on partial input too, so a client cannot grow the buffer past them.
pub fn parse_request_head(
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<(RequestHead, usize)>, ParseError> {
    crate::request_parse::parse_request_head(buf, limits)
}

/// Parses one request head from the start of `buf` and takes it off: as
/// [`parse_request_head`], but the header values share `buf`'s memory instead of a copy, so a
/// connection that reuses its buffer parses a head without allocating for it. The buffer's
/// memory is reused once the head and every value taken from it are dropped.
pub fn take_request_head(
    buf: &mut bytes::BytesMut,
    limits: &Limits,
) -> Result<Option<RequestHead>, ParseError> {
    crate::request_parse::take_request_head(buf, limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_names_keep_the_spelling_and_order_received() {
        let head = b"GET / HTTP/1.1\r\nHOST: a\r\nX-Mixed-Case: 1\r\nx-b: 2:3\r\n\r\n";
        let (parsed, _) = crate::parse_request_head(head, &crate::Limits::default())
            .expect("valid")
            .expect("complete");
        let names: Vec<&[u8]> = parsed.raw_names().collect();
        assert_eq!(names, [&b"HOST"[..], b"X-Mixed-Case", b"x-b"]);
        let mut built = parsed.clone();
        built.field_lines = Bytes::new();
        assert_eq!(built.raw_names().count(), 0);
        assert_eq!(built, parsed, "the spelling is not compared");
        let mut fields = Headers::new();
        for (n, v) in &parsed.headers {
            fields.append(n.clone(), v.clone());
        }
        assert_eq!(fields, parsed.headers);
    }
}

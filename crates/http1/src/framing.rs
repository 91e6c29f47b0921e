//! How a message body is delimited (RFC 9112 section 6).

/// The framing of a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// No body: no `Content-Length` and no `Transfer-Encoding` on a request, or a response to
    /// `HEAD`, or a 1xx/204/304 response.
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the peer closes (responses only, RFC 9112 6.3 rule 8).
    UntilClose,
}

//! What can be wrong with a request, and the one place that maps it to a status.

use std::fmt;

use http::StatusCode;

/// A request the server will not process. Each variant is a different answer to the client;
/// after any of them the connection is closed, because the bytes that follow can no longer be
/// trusted to start a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The request line or a header line breaks the grammar of RFC 9112 (the reason says where).
    BadRequest(&'static str),
    /// The request line is longer than [`crate::Limits::max_request_line`].
    UriTooLong,
    /// The head is larger than [`crate::Limits::max_head_size`] or has more than
    /// [`crate::Limits::max_headers`] fields.
    HeadersTooLarge,
    /// The declared or streamed body is larger than [`crate::Limits::max_body_size`].
    BodyTooLarge,
    /// The HTTP major version is not 1.
    VersionNotSupported,
    /// A transfer coding other than `chunked` was applied (we do not decode others).
    UnsupportedTransferCoding,
    /// The body framing is malformed (bad chunk size, missing CRLF, bad extension...).
    BadBody(&'static str),
    /// The connection's first bytes are the start of the HTTP/2 connection preface
    /// (`PRI * HTTP/2.0`, then an empty line): a client speaking HTTP/2 with prior knowledge
    /// (RFC 9113 3.3). A server that speaks HTTP/2 hands the connection over, having taken
    /// exactly those 18 bytes off the buffer; one that does not answers 505, as for any other
    /// version.
    Http2Preface,
}

impl ParseError {
    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ParseError::BadRequest(_) | ParseError::BadBody(_) => StatusCode::BAD_REQUEST,
            ParseError::UriTooLong => StatusCode::URI_TOO_LONG,
            ParseError::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ParseError::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ParseError::VersionNotSupported | ParseError::Http2Preface => {
                StatusCode::HTTP_VERSION_NOT_SUPPORTED
            }
            ParseError::UnsupportedTransferCoding => StatusCode::NOT_IMPLEMENTED,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::BadRequest(why) => write!(f, "malformed request: {why}"),
            ParseError::UriTooLong => f.write_str("request line too long"),
            ParseError::HeadersTooLarge => f.write_str("request header section too large"),
            ParseError::BodyTooLarge => f.write_str("request body too large"),
            ParseError::VersionNotSupported => f.write_str("HTTP version not supported"),
            ParseError::UnsupportedTransferCoding => f.write_str("transfer coding not implemented"),
            ParseError::BadBody(why) => write!(f, "malformed body: {why}"),
            ParseError::Http2Preface => f.write_str("HTTP/2 connection preface"),
        }
    }
}

impl std::error::Error for ParseError {}

//! The response a [`crate::Service`] returns.

use std::fmt;
use std::io;
use std::pin::Pin;

use bytes::Bytes;
use futures_core::Stream;
use http1::response::RenderedFields;
use http1::{HeaderName, HeaderValue, Headers, StatusCode};

/// A stream of response body pieces.
pub type BoxStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// A region of an open file, sent with `sendfile(2)` so its bytes never pass through user space.
#[derive(Debug)]
pub struct FileRegion {
    /// The open file.
    pub file: std::fs::File,
    /// Where the region starts.
    pub offset: u64,
    /// How many bytes it has.
    pub len: u64,
}

/// What follows a response head.
pub enum ResponseBody {
    /// No bytes (`Content-Length: 0`).
    Empty,
    /// Bytes in memory.
    Full(Bytes),
    /// Part of a file, sent zero-copy.
    File(FileRegion),
    /// Pieces produced over time; `len` gives `Content-Length` when known, otherwise the body is
    /// sent chunked (or, to an HTTP/1.0 client, until the connection closes).
    Stream {
        /// The pieces.
        stream: BoxStream,
        /// The total length, when known in advance.
        len: Option<u64>,
    },
    /// The handler produced the whole response, status line and head included (CGI `nph-`
    /// scripts). The server writes it as it is and closes the connection after it.
    Raw(BoxStream),
}

impl fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseBody::Empty => f.write_str("Empty"),
            ResponseBody::Full(b) => write!(f, "Full({} bytes)", b.len()),
            ResponseBody::File(r) => write!(f, "File({} bytes at {})", r.len, r.offset),
            ResponseBody::Stream { len, .. } => write!(f, "Stream(len={len:?})"),
            ResponseBody::Raw(_) => f.write_str("Raw"),
        }
    }
}

impl ResponseBody {
    /// The length, when known before sending.
    pub fn len(&self) -> Option<u64> {
        match self {
            ResponseBody::Empty => Some(0),
            ResponseBody::Full(b) => Some(b.len() as u64),
            ResponseBody::File(r) => Some(r.len),
            ResponseBody::Stream { len, .. } => *len,
            ResponseBody::Raw(_) => None,
        }
    }

    /// Whether the body is known to be empty.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
}

/// A status, header fields and a body. `Content-Length`, `Transfer-Encoding` and `Connection`
/// are set by the server from the body; handlers set the rest.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: StatusCode,
    /// A reason phrase other than the standard one (CGI's `Status: 404 Gone Fishing`);
    /// `None` for the standard phrase. Clients must not depend on it (RFC 9112 4).
    pub reason: Option<Box<str>>,
    /// Header fields, in the order they are sent.
    pub headers: Headers,
    /// Fields rendered once and shared by many responses (a cached file's), sent after
    /// `headers` as they are.
    pub rendered: Option<RenderedFields>,
    /// The body.
    pub body: ResponseBody,
    /// The user the service verified for this request, which the access log shows; `None`
    /// when nobody was (the `Authorization` field alone names nobody).
    pub user: Option<crate::RemoteUser>,
    /// The site and route the request is counted under in the metrics; `None` counts it under
    /// the default site.
    pub tag: Option<crate::metrics::Tag>,
}

impl Response {
    /// An empty response with `status`.
    pub fn new(status: StatusCode) -> Response {
        Response {
            status,
            reason: None,
            headers: Headers::new(),
            rendered: None,
            body: ResponseBody::Empty,
            user: None,
            tag: None,
        }
    }

    /// A response with a body and its `Content-Type`.
    pub fn with_body(
        status: StatusCode,
        content_type: &'static str,
        body: impl Into<Bytes>,
    ) -> Response {
        let mut r = Response::new(status);
        r.headers.append(
            http1::header::CONTENT_TYPE,
            HeaderValue::from_static(content_type),
        );
        r.body = ResponseBody::Full(body.into());
        r
    }

    /// A `text/plain; charset=utf-8` response.
    pub fn text(status: StatusCode, body: impl Into<Bytes>) -> Response {
        Response::with_body(status, "text/plain; charset=utf-8", body)
    }

    /// A `text/html; charset=utf-8` response.
    pub fn html(status: StatusCode, body: impl Into<Bytes>) -> Response {
        Response::with_body(status, "text/html; charset=utf-8", body)
    }

    /// The plain error page the server itself sends for `status` (reason phrase as text).
    pub fn error(status: StatusCode) -> Response {
        let reason = status.canonical_reason().unwrap_or("Error");
        Response::text(status, format!("{} {}\n", status.as_u16(), reason))
    }

    /// Appends a header (builder style). Panics only on an invalid *static* value, which is a
    /// programming error; use [`Response::try_header`] for values from outside.
    pub fn header(mut self, name: HeaderName, value: &'static str) -> Response {
        self.headers.append(name, HeaderValue::from_static(value));
        self
    }

    /// Counts this response under `tag` (its site and route) in the metrics (builder style).
    pub fn tagged(mut self, tag: crate::metrics::Tag) -> Response {
        self.tag = Some(tag);
        self
    }

    /// Appends a header whose value is computed; invalid values (control bytes) are refused.
    pub fn try_header(
        mut self,
        name: HeaderName,
        value: &str,
    ) -> Result<Response, http::header::InvalidHeaderValue> {
        self.headers.append(name, HeaderValue::from_str(value)?);
        Ok(self)
    }
}

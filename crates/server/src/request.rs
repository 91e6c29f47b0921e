//! The request a [`crate::Service`] receives.

use std::net::SocketAddr;
use std::sync::Arc;

use http1::{Headers, Method, RequestHead, Version};

use crate::Body;

/// Where a connection comes from, where it arrived, and whether over TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnInfo {
    /// The client's address.
    pub peer: SocketAddr,
    /// The server's address the client connected to.
    pub local: SocketAddr,
    /// What the TLS handshake settled; `None` for plain TCP. Shared, so a request copies a
    /// pointer, not the strings.
    pub tls: Option<Arc<TlsInfo>>,
}

impl ConnInfo {
    /// Whether the request came over TLS (its scheme is `https`).
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// `"https"` over TLS, `"http"` otherwise.
    pub fn scheme(&self) -> &'static str {
        if self.is_tls() { "https" } else { "http" }
    }
}

/// A TLS connection's parameters, named as Apache's `mod_ssl` names them for CGI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// `TLSv1.2` or `TLSv1.3` (`SSL_PROTOCOL`).
    pub version: &'static str,
    /// The cipher suite by its OpenSSL name, e.g. `TLS_AES_128_GCM_SHA256` (`SSL_CIPHER`).
    pub cipher: &'static str,
    /// The protocol agreed by ALPN (`http/1.1`, `h2`), if any.
    pub alpn: Option<&'static str>,
    /// The server name the client asked for (SNI), if it sent one.
    pub sni: Option<Box<str>>,
    /// The subject of the client's verified certificate as an RFC 2253 string, e.g.
    /// `CN=alice,O=Example` (`SSL_CLIENT_S_DN`); `None` without client certificates.
    pub client_subject: Option<Box<str>>,
}

impl Default for ConnInfo {
    fn default() -> Self {
        let zero = SocketAddr::from(([127, 0, 0, 1], 0));
        ConnInfo {
            peer: zero,
            local: zero,
            tls: None,
        }
    }
}

/// One HTTP request: the validated head, the body as a stream, and the connection it came on.
#[derive(Debug)]
pub struct Request {
    /// Request line and header fields, boxed so that moving the request through the layers of
    /// a service moves a pointer rather than the head.
    pub head: Box<RequestHead>,
    /// The body, read from the connection as the handler asks for it.
    pub body: Body,
    /// Peer and local address.
    pub conn: ConnInfo,
    /// Values that layers above the server attach to the request (route parameters, ...).
    pub extensions: http::Extensions,
}

impl Request {
    /// A request from its parts, as the connection builds it (and as tests do without a socket).
    pub fn new(head: impl Into<Box<RequestHead>>, body: Body, conn: ConnInfo) -> Request {
        Request {
            head: head.into(),
            body,
            conn,
            extensions: http::Extensions::new(),
        }
    }

    /// Parses `raw` (a whole request head, e.g. `b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"`) into a
    /// request with `body`, for tests and internal re-dispatch.
    pub fn from_raw_head(raw: &[u8], body: Body) -> Result<Request, http1::ParseError> {
        match http1::parse_request_head(raw, &http1::Limits::default())? {
            Some((head, _)) => Ok(Request::new(head, body, ConnInfo::default())),
            None => Err(http1::ParseError::BadRequest("incomplete request head")),
        }
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.head.method
    }

    /// The path, still percent-encoded.
    pub fn path(&self) -> &str {
        self.head.target.path()
    }

    /// The query string without `?`, exactly as sent.
    pub fn query(&self) -> Option<&str> {
        self.head.target.query()
    }

    /// The header fields.
    pub fn headers(&self) -> &Headers {
        &self.head.headers
    }

    /// The protocol version.
    pub fn version(&self) -> Version {
        self.head.version
    }
}

/// The user a layer above the server verified (HTTP Basic against a password file), put in
/// [`Request::extensions`] for the handler (CGI's `REMOTE_USER`) and in [`crate::Response::user`]
/// for the access log. Nothing takes a user name from the `Authorization` field unverified.
///
/// One thin pointer, so that carrying it costs a [`crate::Response`] eight bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteUser(Arc<String>);

impl RemoteUser {
    /// A verified user called `name`.
    pub fn new(name: impl Into<String>) -> RemoteUser {
        RemoteUser(Arc::new(name.into()))
    }

    /// The user name.
    pub fn name(&self) -> &str {
        &self.0
    }
}

/// The pseudo-header fields of an HTTP/2 request (RFC 9113 8.3.1), exactly as received. The
/// HTTP/2 driver puts them in [`Request::extensions`]; the head holds what they mean (method,
/// target, `Host`), so only a page that shows the request as sent (`/echo`) needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PseudoHeaders {
    method: http::Method,
    /// What the HTTP/2 driver made of `:scheme`, `:authority` and `:path`; kept whole (a few
    /// reference counts) and read apart only when asked, so a request pays no copies.
    uri: http::Uri,
}

impl PseudoHeaders {
    /// The fields of `method` and `uri` as the HTTP/2 driver received them.
    pub fn new(method: http::Method, uri: http::Uri) -> PseudoHeaders {
        PseudoHeaders { method, uri }
    }

    /// `:method`.
    pub fn method(&self) -> &str {
        self.method.as_str()
    }

    /// `:scheme`; empty for `CONNECT`.
    pub fn scheme(&self) -> &str {
        self.uri.scheme_str().unwrap_or_default()
    }

    /// `:authority`; empty when the client sent none.
    pub fn authority(&self) -> &str {
        self.uri.authority().map_or("", |a| a.as_str())
    }

    /// `:path`; empty for `CONNECT`.
    pub fn path(&self) -> &str {
        self.uri.path_and_query().map_or("", |p| p.as_str())
    }
}

//! The clients of sockserve: HTTP/1.1 over TCP and TLS, and the tutorial's raw TCP client. The services they
//! talk to live in the server crates (`sockserve-services` for the plain TCP/UDP ones).
//!
//! The HTTP client drives the same sans-IO [`http1`] crate the server does, from the other end:
//! it encodes a request head with [`http1::client_request`], parses the response head with
//! [`http1::client::parse_response_head`] and frames the body with [`http1::Decoder`]. Nothing
//! here parses HTTP on its own.
//!
//! # Layout
//! - [`url`]: `http://` and `https://` URLs: parsing, the `Host` value, resolving a redirect's
//!   `Location`.
//! - [`error`]: [`Error`], one variant per way a fetch or a send can fail.
//! - [`net`]: resolving and connecting with a timeout, shared by both clients.
//! - [`tls`]: which certificates are trusted, the handshake, and what it settled.
//! - [`request`]: the [`Request`].
//! - [`conn`]: one connection, plain or TLS: write a request, read a head, stream a body.
//! - [`redirect`]: which responses are followed and how the next request changes.
//! - [`fetch`]: [`Client`]: redirects, connection reuse, and the [`Events`] a caller observes.
//! - [`h2c`]: one request over HTTP/2 (the h2 crate's framing), with prior knowledge or over
//!   TLS after ALPN `h2`.
//! - [`frames`]: the frame heads crossing an HTTP/2 connection, for tracing.
//! - [`tcp`]: the tutorial's raw client: connect, send, half-close, read the reply.

pub mod conn;
pub mod error;
pub mod fetch;
pub mod frames;
pub mod h2c;
pub mod net;
pub mod redirect;
pub mod request;
pub mod tcp;
pub mod tls;
pub mod url;

pub use error::{Closed, Error};
pub use fetch::{Client, Events, HeadRole, Outcome};
pub use request::Request;
pub use tls::{CertificateSummary, TlsInfo, Trust};
pub use url::{Scheme, Url, UrlError};

/// The `User-Agent` sent unless the caller sets its own.
pub const USER_AGENT: &str = concat!("sockserve/", env!("CARGO_PKG_VERSION"));

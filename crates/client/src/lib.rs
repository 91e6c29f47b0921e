//! The clients of sockserve, and the tiny services they were written to talk to.
//!
//! The HTTP client drives the same sans-IO [`http1`] crate the server does, from the other end:
//! it encodes a request head, parses the response head with
//! [`http1::client::parse_response_head`] and frames the body with [`http1::Decoder`]. Nothing
//! here parses HTTP on its own.
//!
//! # Layout
//! - [`url`]: `http://` URLs: parsing, the `Host` value, resolving a redirect's `Location`.
//! - [`error`]: [`Error`], one variant per way a fetch or a send can fail.
//! - [`net`]: resolving and connecting with a timeout, shared by both clients.
//! - [`request`]: the [`Request`] and its head on the wire.
//! - [`conn`]: one connection: write a request, read a head, stream a body.
//! - [`redirect`]: which responses are followed and how the next request changes.
//! - [`fetch`]: [`Client`]: redirects, connection reuse, and the [`Events`] a caller observes.
//! - [`tcp`]: the tutorial's raw client: connect, send, half-close, read the reply.
//! - [`services`]: the raw TCP reply service and RFC 867 daytime, on the server's runtime.

pub mod conn;
pub mod error;
pub mod fetch;
pub mod net;
pub mod redirect;
pub mod request;
pub mod services;
pub mod tcp;
pub mod url;

pub use error::{Closed, Error};
pub use fetch::{Client, Events, HeadRole, Outcome};
pub use request::Request;
pub use url::{Url, UrlError};

/// The `User-Agent` sent unless the caller sets its own.
pub const USER_AGENT: &str = concat!("sockserve/", env!("CARGO_PKG_VERSION"));

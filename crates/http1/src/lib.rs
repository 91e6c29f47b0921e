//! Sans-IO HTTP/1.1 for sockserve: bytes in, typed heads and body frames out, and back.
//!
//! Nothing in this crate touches a socket, a runtime or a clock, and nothing in it makes a
//! system call (the caller hands in the time); the server drives it over a connection and the
//! client over its own. Every function is pure over byte buffers, so each one can be tested by
//! feeding it input split at every position.
//!
//! # Layout
//! - [`limits`]: the named size limits and what happens when one is hit.
//! - [`error`]: [`ParseError`], one variant per kind of bad input, mapped to a status in one place.
//! - [`headers`]: [`Headers`], an ordered list of fields (order matters for `/echo` and CGI).
//! - [`request`]: [`RequestHead`] and its target, parsed strictly per RFC 9112.
//! - [`framing`]: how a request body is delimited ([`BodyKind`]) and whether the connection persists.
//! - [`decode`]: the streaming body [`Decoder`] for `Content-Length` and `chunked`.
//! - [`conn`]: the server connection's state machine: keep-alive, HEAD, HTTP/1.0, CONNECT,
//!   `100-continue`, draining an unread body, closing; bytes and the time in, decisions out.
//! - [`response`]: encoding a response head and chunked body frames.
//! - [`date`]: the `Date` header value rendered from a time the caller gives (no clock here).
//! - [`client`]: parsing a response head, for the HTTP client.

mod authority;
mod chunked;
pub mod client;
pub mod client_request;
#[cfg(test)]
mod conformance_tests;
pub mod conn;
pub mod date;
pub mod decode;
mod decode_impl;
pub mod error;
pub mod framing;
pub mod headers;
pub mod limits;
pub mod request;
mod request_parse;
pub mod response;
mod syntax;
mod target_parse;

pub use decode::{Decoded, Decoder};
pub use error::ParseError;
pub use framing::BodyKind;
pub use headers::{FieldName, Headers};
pub use http::{HeaderName, HeaderValue, Method, StatusCode, Version, header};
pub use limits::Limits;
pub use request::{RequestHead, Target, TargetForm, parse_request_head, take_request_head};

//! Sans-IO HTTP/2 for the sockserve server (RFC 9113, RFC 7541, RFC 8441): bytes in, events
//! and bytes out.
//!
//! Nothing here touches a socket, a runtime or a clock: the server's driver reads the socket
//! and hands the bytes to [`Connection::recv`], takes [`Event`]s (requests, body bytes,
//! resets), answers with [`Connection::send_headers`] and [`Connection::send_data`] within the
//! windows [`Connection::capacity`] gives, and writes what [`Connection::take_output`] returns.
//! Time-based limits (timeouts, reset rates) are the driver's.
//!
//! It is written for memory: a connection with no open stream and no partial frame holds no
//! read or write buffer, no stream table, no event queue; only the HPACK decoder's dynamic
//! table, in one byte vector. The encoder's table, which makes repeated response fields a
//! byte each, is dropped when the server says the connection went quiet ([`Connection::shrink`]).
//!
//! # Layout
//! - [`frame`]: frame heads and the encoding of every frame the server sends.
//! - [`hpack`]: header compression: Huffman, the tables, the decoder and the encoder.
//! - `request`: a header block as a request head, with the malformed-request rules.
//! - [`conn`]: the connection: settings, flow control, stream states, limits, GOAWAY; its
//!   `recv` part has one function per frame type the client sends.
//! - [`flood`]: the count of frames without request payload (PING, SETTINGS, empty frames).
//! - [`error`]: error codes and the connection error.

pub mod conn;
pub mod error;
pub mod flood;
pub mod frame;
pub mod hpack;
mod request;

pub use conn::{Config, Connection, Event, PREFACE};
pub use error::{ConnError, Reason};
pub use request::{RequestHead, is_connection_specific};

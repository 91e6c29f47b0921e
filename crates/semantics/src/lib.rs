//! The rules of HTTP semantics (RFC 9110) that several sockserve crates apply, each written once.
//!
//! A crate of its own, below http1, because these rules hold whichever protocol version
//! carries the request (HTTP/1.1 today, HTTP/2 next) and every service needs them, while
//! http1 is the HTTP/1.1 wire format and server is the runtime.
//! Every function is pure: bytes or strings in, a decision out; nothing here does I/O.
//!
//! Functions that read a header take all of its field lines (`headers.get_all(name)`):
//! a list-based field sent on several lines means the same as one line joining them with
//! commas (RFC 9110 section 5.3).
//!
//! # Layout
//! - [`list`]: the list grammar (`#element`, parameters, quoted strings) and q-values.
//! - [`negotiate`]: `Accept-Encoding` and `Accept`: which codings and types a client takes.
//! - [`etag`]: entity tags and the `If-Match` / `If-None-Match` lists.
//! - [`compressible`]: which media types are worth compressing.
//! - [`method`]: which methods HTTP defines.
//! - [`auth`]: the user-id of `Authorization: Basic` credentials (RFC 7617).
//! - [`decimal`]: strict decimal integers (`Content-Length`, range bounds).
//! - [`html`]: escaping untrusted text for HTML pages.
//! - [`size`]: byte counts for humans.

/// A 256-entry table of the bytes a `matches!` pattern allows, built at compile time, for a
/// grammar checked one load per byte (`tchar`, a request target's characters, a reg-name's).
///
/// ```
/// static DIGITS: [bool; 256] = semantics::byte_set!(b'0'..=b'9');
/// assert!(DIGITS[usize::from(b'7')] && !DIGITS[usize::from(b'x')]);
/// ```
#[macro_export]
macro_rules! byte_set {
    ($($pattern:tt)+) => {{
        let mut table = [false; 256];
        let mut b = 0;
        while b < 256 {
            table[b] = matches!(b as u8, $($pattern)+);
            b += 1;
        }
        table
    }};
}

pub mod auth;
pub mod compressible;
pub mod decimal;
pub mod etag;
pub mod html;
pub mod list;
pub mod method;
pub mod negotiate;
pub mod size;

//! The methods the site recognises.
//!
//! RFC 9110 section 9.1: "An origin server that receives a request method that is unrecognized
//! or not implemented SHOULD respond with the 501 (Not Implemented) status code." A method it
//! knows but a resource does not allow gets `405` with `Allow` instead (section 15.5.6).

use http1::Method;

/// Whether `method` is one of the methods of RFC 9110 section 9 or `PATCH` (RFC 5789).
/// Method names are case-sensitive, so `get` is not `GET`.
pub fn is_known(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET
            | Method::HEAD
            | Method::POST
            | Method::PUT
            | Method::DELETE
            | Method::CONNECT
            | Method::OPTIONS
            | Method::TRACE
            | Method::PATCH
    )
}

//! Which request methods HTTP defines.

use http::Method;

/// Whether `method` is registered by RFC 9110 (section 9) or is `PATCH` (RFC 5789). Method
/// names are case-sensitive: `get` is not `GET`.
///
/// RFC 9110 section 9.1: "An origin server that receives a request method that is unrecognized
/// or not implemented SHOULD respond with the 501 (Not Implemented) status code"; a method it
/// knows but a resource does not allow gets `405`.
pub fn is_standard(method: &Method) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_methods_only() {
        assert!(is_standard(&Method::GET));
        assert!(is_standard(&Method::PATCH));
        assert!(is_standard(&Method::CONNECT));
        for other in ["get", "PROPFIND", "BREW"] {
            let m = Method::from_bytes(other.as_bytes()).unwrap_or(Method::GET);
            assert_ne!(m, Method::GET);
            assert!(!is_standard(&m), "{other}");
        }
    }
}

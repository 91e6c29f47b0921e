//! The client side, outgoing: encoding a request head (the counterpart of [`crate::client`],
//! which parses the response head).
//!
//! The framing field is written from the body length, never copied from the caller's fields, for
//! the same reason the server's response encoder does it: the head must not disagree with the body.

use http::Method;

use crate::Headers;
use crate::response::push_decimal;

/// What a request head is made of; [`ClientRequest::encode`] writes it.
#[derive(Debug, Clone, Copy)]
pub struct ClientRequest<'a> {
    /// The method.
    pub method: &'a Method,
    /// The request target in origin form: `/path?query`.
    pub target: &'a str,
    /// The `Host` value (`host`, `host:port`, `[v6]:port`), sent unless `headers` has one.
    pub host: &'a str,
    /// The `User-Agent` value, sent unless `headers` has one.
    pub user_agent: &'a str,
    /// The caller's fields. `Host`, `User-Agent` and `Accept` here replace the defaults;
    /// `Content-Length` and `Transfer-Encoding` are dropped, since `body_len` decides them.
    pub headers: &'a Headers,
    /// Length of the body that follows the head (sent with `Content-Length`).
    pub body_len: u64,
}

impl ClientRequest<'_> {
    /// Appends the request line and header section to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.method.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.target.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        let defaults = [
            ("Host", self.host),
            ("User-Agent", self.user_agent),
            ("Accept", "*/*"),
        ];
        for (name, value) in defaults {
            if !self.headers.contains(name) {
                push_field(out, name.as_bytes(), value.as_bytes());
            }
        }
        for (name, value) in self.headers {
            if !matches!(name.as_str(), "content-length" | "transfer-encoding") {
                push_field(out, name.as_str().as_bytes(), value.as_bytes());
            }
        }
        if self.body_len > 0 || expects_body(self.method) {
            out.extend_from_slice(b"Content-Length: ");
            push_decimal(out, self.body_len);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// Methods whose body has a meaning, so an empty one is announced as `Content-Length: 0`
/// (RFC 9110 8.6) rather than left for the server to guess.
fn expects_body(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH)
}

fn push_field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use http::{HeaderName, HeaderValue};

    fn encode(method: &Method, headers: &Headers, body_len: u64) -> String {
        let mut out = Vec::new();
        ClientRequest {
            method,
            target: "/a?b",
            host: "h:8080",
            user_agent: "ua/1",
            headers,
            body_len,
        }
        .encode(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn get_has_the_default_fields_and_no_length() {
        assert_eq!(
            encode(&Method::GET, &Headers::new(), 0),
            "GET /a?b HTTP/1.1\r\nHost: h:8080\r\nUser-Agent: ua/1\r\nAccept: */*\r\n\r\n"
        );
    }

    #[test]
    fn caller_fields_replace_defaults_but_never_framing() {
        let mut headers = Headers::new();
        for (n, v) in [
            ("accept", "text/html"),
            ("content-length", "99"),
            ("x-one", "1"),
        ] {
            headers.append(HeaderName::from_static(n), HeaderValue::from_static(v));
        }
        let head = encode(&Method::POST, &headers, 3);
        assert!(head.contains("\r\naccept: text/html\r\n"), "{head}");
        assert!(!head.contains("*/*"));
        assert!(!head.contains("99"));
        assert!(
            head.ends_with("x-one: 1\r\nContent-Length: 3\r\n\r\n"),
            "{head}"
        );
    }

    #[test]
    fn empty_post_announces_zero() {
        let head = encode(&Method::POST, &Headers::new(), 0);
        assert!(head.ends_with("Content-Length: 0\r\n\r\n"), "{head}");
    }
}

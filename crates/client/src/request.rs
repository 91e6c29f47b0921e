//! The request the client sends, and its head on the wire.

use bytes::Bytes;
use http::Method;
use http1::Headers;
use http1::response::push_decimal;

use crate::{USER_AGENT, Url};

/// One request: method, URL, the caller's header fields and a body held in memory (so a 307 or
/// 308 redirect can send it again).
#[derive(Debug, Clone)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// Where to send it.
    pub url: Url,
    /// The caller's fields. `Host`, `User-Agent` and `Accept` here replace the defaults;
    /// `Content-Length` and `Transfer-Encoding` are ignored, since the body decides them.
    pub headers: Headers,
    /// The body; empty for none.
    pub body: Bytes,
}

impl Request {
    /// A request with no extra fields and no body.
    pub fn new(method: Method, url: Url) -> Request {
        Request {
            method,
            url,
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// Whether the caller asked for the connection to close after this exchange.
    pub fn wants_close(&self) -> bool {
        self.headers.has_token("connection", "close")
    }

    /// Appends the request line and header section to `out`.
    ///
    /// The framing field is written from the body, never copied from the caller's fields, for
    /// the same reason the server's encoder does it: the head must not disagree with the body.
    pub fn encode_head(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.method.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.url.target().as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        let defaults = [
            ("Host", self.url.authority()),
            ("User-Agent", USER_AGENT.to_string()),
            ("Accept", "*/*".to_string()),
        ];
        for (name, value) in &defaults {
            if !self.headers.contains(name) {
                push_field(out, name.as_bytes(), value.as_bytes());
            }
        }
        for (name, value) in &self.headers {
            if !matches!(name.as_str(), "content-length" | "transfer-encoding") {
                push_field(out, name.as_str().as_bytes(), value.as_bytes());
            }
        }
        if !self.body.is_empty() || expects_body(&self.method) {
            out.extend_from_slice(b"Content-Length: ");
            push_decimal(out, self.body.len() as u64);
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

    fn encode(req: &Request) -> String {
        let mut out = Vec::new();
        req.encode_head(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn get_has_the_default_fields_and_no_length() {
        let req = Request::new(Method::GET, Url::parse("http://h:8080/a?b").unwrap());
        assert_eq!(
            encode(&req),
            format!(
                "GET /a?b HTTP/1.1\r\nHost: h:8080\r\nUser-Agent: {USER_AGENT}\r\nAccept: */*\r\n\r\n"
            )
        );
    }

    #[test]
    fn caller_fields_replace_defaults_but_never_framing() {
        let mut req = Request::new(Method::POST, Url::parse("http://h/").unwrap());
        req.body = Bytes::from_static(b"a=1");
        for (n, v) in [
            ("accept", "text/html"),
            ("content-length", "99"),
            ("x-one", "1"),
        ] {
            req.headers
                .append(HeaderName::from_static(n), HeaderValue::from_static(v));
        }
        let head = encode(&req);
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
        let req = Request::new(Method::POST, Url::parse("http://h/").unwrap());
        assert!(encode(&req).ends_with("Content-Length: 0\r\n\r\n"));
    }
}

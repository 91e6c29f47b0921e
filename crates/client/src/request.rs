//! The request the client sends; its head is encoded by [`http1::client_request`].

use bytes::Bytes;
use http::Method;
use http1::Headers;
use http1::client_request::ClientRequest;

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
    pub fn encode_head(&self, out: &mut Vec<u8>) {
        ClientRequest {
            method: &self.method,
            target: self.url.target(),
            host: &self.url.authority(),
            user_agent: USER_AGENT,
            headers: &self.headers,
            body_len: self.body.len() as u64,
        }
        .encode(out);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn head_carries_the_url_and_the_user_agent() {
        let req = Request::new(Method::GET, Url::parse("http://h:8080/a?b").unwrap());
        let mut out = Vec::new();
        req.encode_head(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!(
                "GET /a?b HTTP/1.1\r\nHost: h:8080\r\nUser-Agent: {USER_AGENT}\r\nAccept: */*\r\n\r\n"
            )
        );
    }
}

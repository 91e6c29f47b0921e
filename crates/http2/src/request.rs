//! A request's header block as fields: the pseudo-header fields of RFC 9113 8.3.1 (and
//! RFC 8441's `:protocol`), the regular fields, and every rule that makes a request malformed
//! (RFC 9113 8.1.1, 8.2).

use http::{HeaderMap, HeaderName, HeaderValue, Method};

/// A request head as the client sent it.
#[derive(Debug, Clone)]
pub struct RequestHead {
    /// `:method`.
    pub method: Method,
    /// `:scheme` (absent for a plain CONNECT).
    pub scheme: Option<String>,
    /// `:authority`.
    pub authority: Option<String>,
    /// `:path` (absent for a plain CONNECT).
    pub path: Option<String>,
    /// `:protocol` of an extended CONNECT (RFC 8441 4).
    pub protocol: Option<String>,
    /// The regular fields, in order.
    pub fields: HeaderMap,
    /// `Content-Length`, when sent.
    pub content_length: Option<u64>,
}

/// Why a header block makes no request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Malformed (RFC 9113 8.1.1): the stream is reset with `PROTOCOL_ERROR`.
    Malformed,
    /// Larger than the header list limit: answered 431.
    TooLarge,
}

/// Fields collected from a decoding header block.
#[derive(Debug)]
pub(crate) struct Block {
    limit: usize,
    size: usize,
    trailers: bool,
    connect_protocol: bool,
    malformed: bool,
    regular_seen: bool,
    method: Option<Method>,
    scheme: Option<String>,
    authority: Option<String>,
    path: Option<String>,
    protocol: Option<String>,
    fields: HeaderMap,
    content_length: Option<u64>,
}

impl Block {
    /// A block whose list may reach `limit` bytes (RFC 9113 6.5.2 sizes).
    pub(crate) fn new(limit: usize, trailers: bool, connect_protocol: bool) -> Block {
        Block {
            limit,
            size: 0,
            trailers,
            connect_protocol,
            malformed: false,
            regular_seen: false,
            method: None,
            scheme: None,
            authority: None,
            path: None,
            protocol: None,
            fields: HeaderMap::new(),
            content_length: None,
        }
    }

    /// One decoded field. Past the limit nothing more is kept, though decoding goes on (the
    /// HPACK table must stay in step): what an HPACK bomb expands to is never held.
    pub(crate) fn field(&mut self, name: &[u8], value: &[u8]) {
        self.size += name.len() + value.len() + crate::hpack::ENTRY_OVERHEAD;
        if self.size > self.limit || self.malformed {
            return;
        }
        if self.check(name, value).is_none() {
            self.malformed = true;
        }
    }

    fn check(&mut self, name: &[u8], value: &[u8]) -> Option<()> {
        if let Some(pseudo) = name.strip_prefix(b":") {
            if self.regular_seen || self.trailers {
                return None;
            }
            let text = || std::str::from_utf8(value).ok().map(str::to_owned);
            let slot = match pseudo {
                b"method" => {
                    if self.method.is_some() {
                        return None;
                    }
                    self.method = Some(Method::from_bytes(value).ok()?);
                    return Some(());
                }
                b"scheme" => &mut self.scheme,
                b"authority" => &mut self.authority,
                b"path" => &mut self.path,
                b"protocol" if self.connect_protocol => &mut self.protocol,
                _ => return None,
            };
            if slot.is_some() {
                return None;
            }
            *slot = Some(text()?);
            return Some(());
        }
        self.regular_seen = true;
        // RFC 9113 8.2.1: names are lower case tokens.
        if name.is_empty() || name.iter().any(u8::is_ascii_uppercase) {
            return None;
        }
        let name = HeaderName::from_bytes(name).ok()?;
        // RFC 9113 8.2.1: no NUL, CR or LF; no whitespace at either end.
        if value.first().is_some_and(|b| *b == b' ' || *b == b'\t')
            || value.last().is_some_and(|b| *b == b' ' || *b == b'\t')
        {
            return None;
        }
        let value = HeaderValue::from_bytes(value).ok()?;
        // RFC 9113 8.2.2: connection-specific fields make a request malformed.
        if is_connection_specific(&name) || (name == http::header::TE && value != "trailers") {
            return None;
        }
        if name == http::header::CONTENT_LENGTH {
            let n: u64 = value.to_str().ok()?.parse().ok()?;
            if self.content_length.is_some_and(|m| m != n) {
                return None;
            }
            self.content_length = Some(n);
        }
        self.fields.append(name, value);
        Some(())
    }

    /// The request, once the block is complete (RFC 9113 8.3.1, RFC 8441 4).
    pub(crate) fn finish_request(self) -> Result<RequestHead, Refusal> {
        if self.size > self.limit {
            return Err(Refusal::TooLarge);
        }
        if self.malformed {
            return Err(Refusal::Malformed);
        }
        let method = self.method.ok_or(Refusal::Malformed)?;
        let connect = method == Method::CONNECT;
        if self.protocol.is_some() {
            // An extended CONNECT has all of them.
            if !connect || self.scheme.is_none() || self.path.is_none() || self.authority.is_none()
            {
                return Err(Refusal::Malformed);
            }
        } else if connect {
            if self.scheme.is_some() || self.path.is_some() || self.authority.is_none() {
                return Err(Refusal::Malformed);
            }
        } else if self.scheme.is_none() || self.path.as_ref().is_none_or(|p| p.is_empty()) {
            return Err(Refusal::Malformed);
        }
        Ok(RequestHead {
            method,
            scheme: self.scheme,
            authority: self.authority,
            path: self.path,
            protocol: self.protocol,
            fields: self.fields,
            content_length: self.content_length,
        })
    }

    /// Trailers: no pseudo-header fields, nothing malformed. Past the limit they are dropped.
    pub(crate) fn finish_trailers(self) -> Result<(), Refusal> {
        if self.malformed {
            return Err(Refusal::Malformed);
        }
        Ok(())
    }
}

/// RFC 9113 8.2.2: fields that are about one HTTP/1.1 connection.
pub fn is_connection_specific(name: &HeaderName) -> bool {
    name == http::header::CONNECTION
        || name == http::header::TRANSFER_ENCODING
        || name == http::header::UPGRADE
        || name == "keep-alive"
        || name == "proxy-connection"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(fields: &[(&str, &str)]) -> Result<RequestHead, Refusal> {
        let mut b = Block::new(1000, false, true);
        for (n, v) in fields {
            b.field(n.as_bytes(), v.as_bytes());
        }
        b.finish_request()
    }

    const GET: [(&str, &str); 3] = [(":method", "GET"), (":scheme", "https"), (":path", "/")];

    #[test]
    fn a_plain_get_is_a_request() {
        let head = block(&GET).expect("request");
        assert_eq!(head.method, Method::GET);
        assert_eq!(head.path.as_deref(), Some("/"));
        assert!(head.authority.is_none());
    }

    #[test]
    fn pseudo_header_rules_make_requests_malformed() {
        let cases: &[&[(&str, &str)]] = &[
            &[(":method", "GET"), (":path", "/")],
            &[(":method", "GET"), (":scheme", "http")],
            &[(":method", "GET"), (":scheme", "http"), (":path", "")],
            &[
                (":method", "GET"),
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
            ],
            &[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                (":status", "200"),
            ],
            &[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                (":foo", "x"),
            ],
            &[
                (":method", "GET"),
                (":scheme", "http"),
                ("a", "b"),
                (":path", "/"),
            ],
            &[
                (":method", "CONNECT"),
                (":authority", "a:1"),
                (":path", "/"),
            ],
            &[(":method", "CONNECT"), (":scheme", "https"), (":path", "/")],
            &[
                (":method", "GET"),
                (":protocol", "websocket"),
                (":scheme", "https"),
                (":path", "/"),
                (":authority", "a"),
            ],
        ];
        for fields in cases {
            assert_eq!(block(fields).err(), Some(Refusal::Malformed), "{fields:?}");
        }
        let connect = block(&[(":method", "CONNECT"), (":authority", "a:1")]).expect("CONNECT");
        assert_eq!(connect.authority.as_deref(), Some("a:1"));
        let ws = block(&[
            (":method", "CONNECT"),
            (":protocol", "websocket"),
            (":scheme", "https"),
            (":path", "/chat"),
            (":authority", "a"),
        ])
        .expect("extended CONNECT");
        assert_eq!(ws.protocol.as_deref(), Some("websocket"));
    }

    #[test]
    fn field_rules_make_requests_malformed() {
        for field in [
            ("Accept", "x"),
            ("connection", "close"),
            ("keep-alive", "1"),
            ("proxy-connection", "x"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "h2c"),
            ("te", "gzip"),
            ("x", " padded"),
            ("x", "a\nb"),
            ("content-length", "x"),
        ] {
            let mut fields = GET.to_vec();
            fields.push(field);
            assert_eq!(block(&fields).err(), Some(Refusal::Malformed), "{field:?}");
        }
        let mut fields = GET.to_vec();
        fields.push(("te", "trailers"));
        fields.push(("content-length", "5"));
        fields.push(("content-length", "5"));
        assert_eq!(block(&fields).expect("fine").content_length, Some(5));
        fields.push(("content-length", "6"));
        assert_eq!(block(&fields).err(), Some(Refusal::Malformed));
    }

    #[test]
    fn a_list_past_the_limit_is_too_large_and_not_kept() {
        let mut b = Block::new(100, false, true);
        for (n, v) in GET {
            b.field(n.as_bytes(), v.as_bytes());
        }
        for _ in 0..1000 {
            b.field(b"x-bomb", &[b'b'; 100]);
        }
        assert!(b.fields.is_empty());
        assert_eq!(b.finish_request().err(), Some(Refusal::TooLarge));
    }

    #[test]
    fn trailers_have_no_pseudo_header_fields() {
        let mut b = Block::new(100, true, true);
        b.field(b"x-checksum", b"1");
        assert!(b.finish_trailers().is_ok());
        let mut b = Block::new(100, true, true);
        b.field(b":path", b"/");
        assert_eq!(b.finish_trailers(), Err(Refusal::Malformed));
    }
}

//! Encoding a response head and the frames of a chunked body.
//!
//! The encoder owns the framing fields: `Content-Length`, `Transfer-Encoding` and `Connection`
//! are written from the arguments, never copied from the handler's headers, so a handler cannot
//! produce a response whose framing disagrees with its body.

use std::sync::Arc;

use http::{HeaderValue, StatusCode, Version, header};

use crate::Headers;
use crate::date::HttpDate;

/// The product name sent in `Server` unless a handler set its own.
pub const SERVER_NAME: &str = concat!("sockserve/", env!("CARGO_PKG_VERSION"));

/// The interim response sent before reading a body announced with `Expect: 100-continue`.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// The last chunk and an empty trailer section, ending a chunked body.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// How the length of a response body is announced in its head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    /// `Content-Length: n`.
    Known(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Neither header: 1xx, 204 and 304 responses, or a body that ends when the connection closes.
    Omitted,
}

/// Whether a response with `status` to a request with `method` may carry a body at all
/// (RFC 9110 section 6.4.1: never for HEAD, 1xx, 204 and 304).
pub fn allows_body(head_request: bool, status: StatusCode) -> bool {
    !(head_request
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED)
}

/// Whether a response with `status` may announce a length at all (never 1xx, 204, 304).
pub fn allows_length(status: StatusCode) -> bool {
    !(status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED)
}

/// The header fields of a response: a list, then lines rendered earlier, written as they are.
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a> {
    /// Fields set for this response.
    pub list: &'a Headers,
    /// Fields shared with other responses, rendered once.
    pub rendered: Option<&'a RenderedFields>,
}

impl<'a> From<&'a Headers> for Fields<'a> {
    fn from(list: &'a Headers) -> Fields<'a> {
        Fields {
            list,
            rendered: None,
        }
    }
}

/// Header fields rendered once, for responses that repeat them (a cached file's): they go out
/// with one copy instead of one per field. Made only from [`Headers`], so every line is a valid
/// field, and without the framing fields, which the encoder writes itself.
///
/// Shared, so a copy is one reference count and a response that carries it stays small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFields(Arc<Rendered>);

#[derive(Debug, PartialEq, Eq)]
struct Rendered {
    lines: Box<[u8]>,
    /// The fields the lines were rendered from, for an encoder that wants them as fields
    /// (HTTP/2's HPACK) rather than parsing the lines again per response.
    fields: Headers,
    has_date: bool,
    has_server: bool,
}

impl RenderedFields {
    /// Renders `headers` as `Name: value` lines.
    pub fn render(headers: &Headers) -> RenderedFields {
        let mut lines = Vec::with_capacity(256);
        let (has_date, has_server) = push_fields(&mut lines, headers);
        RenderedFields(Arc::new(Rendered {
            lines: lines.into(),
            fields: headers.clone(),
            has_date,
            has_server,
        }))
    }

    /// The lines, each ending in CRLF.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0.lines
    }

    /// The same fields as a list.
    pub fn fields(&self) -> &Headers {
        &self.0.fields
    }
}

/// How a response head frames what follows it, as the connection decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framing {
    /// The request's version: a kept-alive HTTP/1.0 connection is told `keep-alive`.
    pub version: Version,
    /// How the body's length is announced.
    pub length: Length,
    /// Whether the connection ends after this response (`Connection: close`).
    pub close: bool,
}

/// Appends a complete response head to `out`.
///
/// `reason` replaces the standard reason phrase (a CGI script's `Status: 404 Gone Fishing`); it
/// is used only if it is a valid reason-phrase (RFC 9112 4: HTAB, SP, VCHAR, obs-text). `date`
/// is sent unless the fields carry a `Date` of their own: the caller renders it once a second.
pub fn encode_head<'a>(
    out: &mut Vec<u8>,
    status: StatusCode,
    reason: Option<&str>,
    fields: impl Into<Fields<'a>>,
    framing: Framing,
    date: &HttpDate,
) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    let reason = reason
        .filter(|r| !r.is_empty() && r.bytes().all(is_reason_byte))
        .or(status.canonical_reason())
        .unwrap_or("Unknown");
    out.extend_from_slice(reason.as_bytes());
    out.extend_from_slice(b"\r\n");

    let fields = fields.into();
    let (mut has_date, mut has_server) = push_fields(out, fields.list);
    if let Some(RenderedFields(rendered)) = fields.rendered {
        out.extend_from_slice(&rendered.lines);
        has_date |= rendered.has_date;
        has_server |= rendered.has_server;
    }
    if !has_server {
        out.extend_from_slice(b"Server: ");
        out.extend_from_slice(SERVER_NAME.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !has_date {
        out.extend_from_slice(b"Date: ");
        out.extend_from_slice(date.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    match framing.length {
        Length::Known(n) => {
            out.extend_from_slice(b"Content-Length: ");
            push_decimal(out, n);
            out.extend_from_slice(b"\r\n");
        }
        Length::Chunked => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
        Length::Omitted => {}
    }
    if status == StatusCode::SWITCHING_PROTOCOLS && !framing.close {
        // `Upgrade` is hop-by-hop, so the switch names it in `Connection` (RFC 9110 7.8).
        out.extend_from_slice(b"Connection: upgrade\r\n");
    } else if framing.close {
        out.extend_from_slice(b"Connection: close\r\n");
    } else if framing.version == Version::HTTP_10 {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// A `Server` field with this (empty) value is not sent, and stops the encoder from adding
/// its own: how a response says it names no server (a configuration's
/// `remove = ["Server"]`). An empty `Server` is not valid on the wire anyway (RFC 9110 10.2.4:
/// at least one product).
pub const NO_SERVER: HeaderValue = HeaderValue::from_static("");

/// Appends `headers` as lines, leaving out the framing fields (and a [`NO_SERVER`] field);
/// returns whether `Date` and `Server` were among them.
fn push_fields(out: &mut Vec<u8>, headers: &Headers) -> (bool, bool) {
    let mut has_date = false;
    let mut has_server = false;
    for (name, value) in headers {
        // Compared as names, not strings: for the standard names that is an enum comparison.
        if name == header::CONTENT_LENGTH
            || name == header::TRANSFER_ENCODING
            || name == header::CONNECTION
        {
            continue;
        }
        has_date |= name == header::DATE;
        if name == header::SERVER {
            has_server = true;
            if value.is_empty() {
                // [`NO_SERVER`]: no field, and none added.
                continue;
            }
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    (has_date, has_server)
}

fn is_reason_byte(b: u8) -> bool {
    b == b'\t' || b == b' ' || b.is_ascii_graphic() || b >= 0x80
}

/// Appends the size line of a chunk of `len` bytes (the data and its CRLF follow).
pub fn encode_chunk_head(out: &mut Vec<u8>, len: usize) {
    let mut digits = [0u8; 16];
    let mut n = len;
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b"0123456789abcdef"[n & 0xf];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(b"\r\n");
}

/// Appends a whole chunk: size line, data, CRLF. An empty `data` would end the body, so it is
/// skipped.
pub fn encode_chunk(out: &mut Vec<u8>, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    encode_chunk_head(out, data.len());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Appends `n` in decimal without going through `fmt`.
pub fn push_decimal(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderName, HeaderValue};

    fn date() -> HttpDate {
        HttpDate::from_unix_secs(784_111_777)
    }

    fn text(out: &[u8]) -> String {
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn a_no_server_field_is_left_out_and_no_server_is_added() {
        let framing = Framing {
            version: Version::HTTP_11,
            length: Length::Known(0),
            close: false,
        };
        let mut h = Headers::new();
        h.append(header::SERVER, NO_SERVER);
        let mut out = Vec::new();
        encode_head(&mut out, StatusCode::OK, None, &h, framing, &date());
        assert!(
            !text(&out).to_ascii_lowercase().contains("server"),
            "{}",
            text(&out)
        );
        // Rendered once for many responses, the same.
        let rendered = RenderedFields::render(&h);
        let mut out = Vec::new();
        let fields = Fields {
            list: &Headers::new(),
            rendered: Some(&rendered),
        };
        encode_head(&mut out, StatusCode::OK, None, fields, framing, &date());
        assert!(
            !text(&out).to_ascii_lowercase().contains("server"),
            "{}",
            text(&out)
        );
    }

    #[test]
    fn head_has_framing_from_arguments_only() {
        let mut h = Headers::new();
        h.append(
            HeaderName::from_static("content-type"),
            HeaderValue::from_static("text/plain"),
        );
        h.append(
            HeaderName::from_static("content-length"),
            HeaderValue::from_static("999"),
        );
        let mut out = Vec::new();
        encode_head(
            &mut out,
            StatusCode::OK,
            None,
            &h,
            Framing {
                version: Version::HTTP_11,
                length: Length::Known(5),
                close: false,
            },
            &date(),
        );
        let s = text(&out);
        assert!(
            s.starts_with("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n"),
            "{s}"
        );
        assert!(s.contains("\r\nContent-Length: 5\r\n"));
        assert!(!s.contains("999"));
        assert!(s.contains("\r\nDate: "));
        assert!(s.contains("\r\nServer: sockserve/"));
        assert!(s.ends_with("\r\n\r\n"));
        assert!(!s.contains("Connection"));
    }

    #[test]
    fn a_handler_may_name_the_server_and_date_but_not_the_framing() {
        let mut h = Headers::new();
        for (n, v) in [
            ("server", "custom/1"),
            ("date", "Thu, 01 Jan 2026 00:00:00 GMT"),
            ("transfer-encoding", "chunked"),
            ("connection", "upgrade"),
        ] {
            h.append(HeaderName::from_static(n), HeaderValue::from_static(v));
        }
        let mut out = Vec::new();
        let (v, ok) = (Version::HTTP_11, StatusCode::OK);
        encode_head(
            &mut out,
            ok,
            None,
            &h,
            Framing {
                version: v,
                length: Length::Known(0),
                close: false,
            },
            &date(),
        );
        let s = text(&out);
        assert!(s.contains("\r\nserver: custom/1\r\n"), "{s}");
        assert!(!s.contains("sockserve/"), "{s}");
        assert!(
            s.contains("\r\ndate: Thu, 01 Jan 2026 00:00:00 GMT\r\n"),
            "{s}"
        );
        assert!(!s.contains("Date: "), "{s}");
        assert!(!s.to_ascii_lowercase().contains("transfer-encoding"), "{s}");
        assert!(!s.to_ascii_lowercase().contains("connection"), "{s}");
    }

    #[test]
    fn a_switch_of_protocols_names_upgrade_in_connection() {
        let mut h = Headers::new();
        h.append(
            HeaderName::from_static("upgrade"),
            HeaderValue::from_static("websocket"),
        );
        let mut out = Vec::new();
        let framing = Framing {
            version: Version::HTTP_11,
            length: Length::Omitted,
            close: false,
        };
        let status = StatusCode::SWITCHING_PROTOCOLS;
        encode_head(&mut out, status, None, &h, framing, &date());
        let s = text(&out);
        assert!(s.starts_with("HTTP/1.1 101 Switching Protocols\r\n"), "{s}");
        assert!(s.contains("\r\nConnection: upgrade\r\n"), "{s}");
        assert!(!s.contains("Content-Length"), "{s}");
    }

    #[test]
    fn connection_header_follows_version_and_close() {
        let mut out = Vec::new();
        encode_head(
            &mut out,
            StatusCode::OK,
            None,
            &Headers::new(),
            Framing {
                version: Version::HTTP_10,
                length: Length::Chunked,
                close: false,
            },
            &date(),
        );
        assert!(text(&out).contains("Connection: keep-alive\r\n"));
        out.clear();
        encode_head(
            &mut out,
            StatusCode::NOT_FOUND,
            None,
            &Headers::new(),
            Framing {
                version: Version::HTTP_11,
                length: Length::Omitted,
                close: true,
            },
            &date(),
        );
        let s = text(&out);
        assert!(s.starts_with("HTTP/1.1 404 Not Found\r\n"));
        assert!(s.contains("Connection: close\r\n"));
    }

    #[test]
    fn a_custom_reason_is_used_only_when_valid() {
        let mut out = Vec::new();
        let h = Headers::new();
        encode_head(
            &mut out,
            StatusCode::NOT_FOUND,
            Some("Gone Fishing"),
            &h,
            Framing {
                version: Version::HTTP_11,
                length: Length::Known(0),
                close: false,
            },
            &date(),
        );
        assert!(text(&out).starts_with("HTTP/1.1 404 Gone Fishing\r\n"));
        out.clear();
        encode_head(
            &mut out,
            StatusCode::NOT_FOUND,
            Some("bad\r\nX: y"),
            &h,
            Framing {
                version: Version::HTTP_11,
                length: Length::Known(0),
                close: false,
            },
            &date(),
        );
        assert!(text(&out).starts_with("HTTP/1.1 404 Not Found\r\n"));
    }

    #[test]
    fn rendered_fields_go_out_as_the_list_would() {
        let mut h = Headers::new();
        for (n, v) in [
            ("etag", "\"abc\""),
            ("content-length", "7"),
            ("server", "custom/1"),
        ] {
            h.append(HeaderName::from_static(n), HeaderValue::from_static(v));
        }
        let rendered = RenderedFields::render(&h);
        assert_eq!(
            text(rendered.as_bytes()),
            "etag: \"abc\"\r\nserver: custom/1\r\n"
        );
        let mut own = Headers::new();
        own.append(
            HeaderName::from_static("x-own"),
            HeaderValue::from_static("1"),
        );
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let fields = Fields {
            list: &own,
            rendered: Some(&rendered),
        };
        encode_head(
            &mut a,
            StatusCode::OK,
            None,
            fields,
            Framing {
                version: Version::HTTP_11,
                length: Length::Known(1),
                close: false,
            },
            &date(),
        );
        for (n, v) in &h {
            own.append(n.clone(), v.clone());
        }
        encode_head(
            &mut b,
            StatusCode::OK,
            None,
            &own,
            Framing {
                version: Version::HTTP_11,
                length: Length::Known(1),
                close: false,
            },
            &date(),
        );
        assert_eq!(text(&a), text(&b));
        assert!(text(&a).starts_with("HTTP/1.1 200 OK\r\nx-own: 1\r\netag: "));
        assert!(!text(&a).contains("sockserve/"));
    }

    #[test]
    fn chunks_are_hex_sized() {
        let mut out = Vec::new();
        encode_chunk(&mut out, &[b'x'; 26]);
        encode_chunk(&mut out, b"");
        out.extend_from_slice(LAST_CHUNK);
        assert_eq!(text(&out), format!("1a\r\n{}\r\n0\r\n\r\n", "x".repeat(26)));
    }

    #[test]
    fn decimal_digits() {
        for n in [0u64, 7, 10, 12345, u64::MAX] {
            let mut out = Vec::new();
            push_decimal(&mut out, n);
            assert_eq!(text(&out), n.to_string());
        }
    }

    #[test]
    fn bodies_are_forbidden_where_rfc_says() {
        assert!(!allows_body(true, StatusCode::OK));
        assert!(!allows_body(false, StatusCode::NO_CONTENT));
        assert!(!allows_body(false, StatusCode::NOT_MODIFIED));
        assert!(allows_body(false, StatusCode::NOT_FOUND));
        assert!(!allows_length(StatusCode::NO_CONTENT));
    }
}

//! Gzip for compressible responses.

use std::io::Write;

use bytes::Bytes;
use flate2::Compression as Level;
use flate2::write::GzEncoder;
use futures_util::FutureExt;
use http1::{HeaderValue, Headers, StatusCode, header};
use server::{Request, Response, ResponseBody, Service};

/// Bodies shorter than this (in bytes) are sent as they are: gzip's framing would outweigh the
/// saving.
pub const MIN_COMPRESS_SIZE: usize = 256;

/// Gzips in-memory response bodies of compressible types (text, JSON, JavaScript, XML, SVG)
/// when the request's `Accept-Encoding` allows `gzip`, and adds `Vary: Accept-Encoding`.
/// Streaming and file bodies pass through unchanged (the static file server compresses its own).
#[derive(Debug, Clone)]
pub struct Compression<S> {
    inner: S,
}

impl<S> Compression<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Compression { inner }
    }
}

/// The request is handed to the inner service before the returned future exists, so no layer
/// keeps a copy of it in its state.
impl<S: Service> Service for Compression<S> {
    fn call(&self, req: Request) -> impl Future<Output = Response> + Send {
        let gzip_ok = accepts_gzip(req.headers());
        self.inner
            .call(req)
            .map(move |response| compress(response, gzip_ok))
    }
}

/// Gzips `response` when it is worth it and the client accepts it (`gzip_ok`).
fn compress(mut response: Response, gzip_ok: bool) -> Response {
    if !is_compressible(&response) {
        return response;
    }
    response
        .headers
        .append(header::VARY, HeaderValue::from_static("accept-encoding"));
    if !gzip_ok {
        return response;
    }
    let ResponseBody::Full(body) = &response.body else {
        return response;
    };
    match gzip(body) {
        Ok(compressed) if compressed.len() < body.len() => {
            response.body = ResponseBody::Full(compressed);
            response
                .headers
                .append(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            weaken_etag(&mut response.headers);
            response
        }
        _ => response,
    }
}

fn is_compressible(r: &Response) -> bool {
    let ResponseBody::Full(body) = &r.body else {
        return false;
    };
    if body.len() < MIN_COMPRESS_SIZE
        || r.status == StatusCode::PARTIAL_CONTENT
        || r.headers.contains("content-encoding")
    {
        return false;
    }
    r.headers
        .get_str("content-type")
        .is_some_and(semantics::compressible::is_compressible)
}

/// Whether `Accept-Encoding`, every field line of it, gives `gzip` (or `*`) a weight above
/// zero (RFC 9110 12.5.3).
fn accepts_gzip(headers: &Headers) -> bool {
    semantics::negotiate::accepts_coding(headers.get_all("accept-encoding"), "gzip")
}

fn gzip(data: &[u8]) -> std::io::Result<Bytes> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(data.len() / 3), Level::fast());
    encoder.write_all(data)?;
    encoder.finish().map(Bytes::from)
}

/// A strong ETag names exact bytes; the gzipped body has other bytes, so it becomes weak.
fn weaken_etag(headers: &mut Headers) {
    let Some(tag) = headers.get_str("etag").map(str::to_string) else {
        return;
    };
    if tag.starts_with("W/") {
        return;
    }
    if let Ok(v) = HeaderValue::from_str(&format!("W/{tag}")) {
        headers.insert(header::ETAG, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(ae: &str) -> Headers {
        let mut h = Headers::new();
        h.append(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(ae).expect("valid"),
        );
        h
    }

    #[test]
    fn accept_encoding_rules() {
        assert!(accepts_gzip(&headers("gzip, deflate, br")));
        assert!(accepts_gzip(&headers("br;q=1, *;q=0.1")));
        assert!(!accepts_gzip(&headers("gzip;q=0")));
        assert!(!accepts_gzip(&headers("br")));
        assert!(!accepts_gzip(&Headers::new()));
    }

    #[test]
    fn malformed_or_refused_gzip_is_not_accepted() {
        // `q=2` is not a qvalue, so the element is ignored; `*;q=0` does not undo `gzip`.
        assert!(!accepts_gzip(&headers("gzip;q=2")));
        assert!(!accepts_gzip(&headers("gzip;q=0, *")));
        assert!(accepts_gzip(&headers("gzip, *;q=0")));
        let mut two = headers("br");
        two.append(header::ACCEPT_ENCODING, HeaderValue::from_static("GZIP"));
        assert!(accepts_gzip(&two));
    }

    #[test]
    fn compresses_text_not_images() {
        let page = "<p>hello</p>".repeat(100);
        let r = Response::html(StatusCode::OK, page);
        assert!(is_compressible(&r));
        let r = Response::with_body(StatusCode::OK, "image/jpeg", vec![0u8; 1000]);
        assert!(!is_compressible(&r));
        let r = Response::text(StatusCode::OK, "short");
        assert!(!is_compressible(&r));
    }
}

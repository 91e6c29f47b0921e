//! Gzip for compressible responses.

use std::cell::RefCell;

use bytes::Bytes;
use flate2::{Compress, Compression as Level, Crc, FlushCompress, Status};
use futures_util::FutureExt;
use http1::{HeaderValue, Headers, StatusCode, header};
use server::{Request, Response, ResponseBody, Service};

/// Bodies shorter than this (in bytes) are sent as they are: gzip's framing would outweigh the
/// saving.
pub const MIN_COMPRESS_SIZE: usize = 256;

/// `Vary: accept-encoding`, on every response that could have been compressed.
const VARY_ACCEPT_ENCODING: HeaderValue = HeaderValue::from_static("accept-encoding");

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
    response.headers.append(header::VARY, VARY_ACCEPT_ENCODING);
    if !gzip_ok {
        return response;
    }
    let ResponseBody::Full(body) = &response.body else {
        return response;
    };
    let strong_etag = response
        .headers
        .get(&header::ETAG)
        .filter(|tag| !tag.as_bytes().starts_with(b"W/"));
    let compressed = match strong_etag {
        Some(tag) => remembered::gzip(tag, body),
        None => gzip_if_smaller(body),
    };
    match compressed {
        Some(compressed) => {
            response.body = ResponseBody::Full(compressed);
            response
                .headers
                .append(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            weaken_etag(&mut response.headers);
            response
        }
        None => response,
    }
}

fn is_compressible(r: &Response) -> bool {
    let ResponseBody::Full(body) = &r.body else {
        return false;
    };
    if body.len() < MIN_COMPRESS_SIZE
        || r.status == StatusCode::PARTIAL_CONTENT
        || r.headers.contains(&header::CONTENT_ENCODING)
    {
        return false;
    }
    r.headers
        .get(&header::CONTENT_TYPE)
        .is_some_and(|t| semantics::compressible::is_compressible(t.as_bytes()))
}

/// Whether `Accept-Encoding`, every field line of it, gives `gzip` (or `*`) a weight above
/// zero (RFC 9110 12.5.3).
fn accepts_gzip(headers: &Headers) -> bool {
    semantics::negotiate::accepts_coding(headers.get_all(&header::ACCEPT_ENCODING), "gzip")
}

/// `data` gzipped, when that makes it smaller (and compressing did not fail).
fn gzip_if_smaller(data: &[u8]) -> Option<Bytes> {
    gzip(data).ok().filter(|c| c.len() < data.len())
}

/// `data` as one gzip member (RFC 1952): a fixed header, raw deflate, CRC-32 and size.
///
/// The deflate state (a few hundred KiB of tables) is kept per worker thread and reset between
/// bodies: made afresh for each response, as `GzEncoder::new` does, its allocation and first
/// touch cost more than compressing a page.
fn gzip(data: &[u8]) -> std::io::Result<Bytes> {
    thread_local! {
        static DEFLATE: RefCell<Compress> = RefCell::new(Compress::new(Level::fast(), false));
    }
    /// ID1 ID2, CM = deflate, no flags, no modification time, no extra flags, OS unknown.
    const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut out = Vec::with_capacity(HEADER.len() + data.len() / 2 + 64);
    out.extend_from_slice(&HEADER);
    DEFLATE.with_borrow_mut(|deflate| {
        deflate.reset();
        loop {
            let read = usize::try_from(deflate.total_in()).unwrap_or(usize::MAX);
            let rest = data.get(read..).unwrap_or_default();
            out.reserve(rest.len() / 2 + 64);
            match deflate.compress_vec(rest, &mut out, FlushCompress::Finish) {
                Ok(Status::StreamEnd) => return Ok(()),
                Ok(Status::Ok | Status::BufError) => {}
                Err(e) => return Err(std::io::Error::other(e)),
            }
        }
    })?;
    let mut crc = Crc::new();
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    // ISIZE is the length modulo 2^32 (RFC 1952 2.3.1).
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    Ok(Bytes::from(out))
}

/// Gzipped bodies remembered by their strong ETag, so that a page served the same to everyone
/// (an embedded asset, a rendered page with a content hash as its tag) is compressed once per
/// worker thread instead of once per request, as nginx's `gzip_static` and Caddy's
/// `precompressed` serve files compressed ahead of time.
///
/// A strong ETag promises the same bytes only for one resource; the cache does not rely on it
/// across resources: a hit also needs the body to be byte for byte the one remembered.
mod remembered {
    use std::cell::RefCell;

    use bytes::Bytes;
    use http1::HeaderValue;

    /// Bodies remembered per worker thread; past it the oldest is forgotten.
    pub(super) const ENTRIES: usize = 32;

    /// Largest body remembered (bytes): large enough for pages and scripts, small enough that
    /// the cache holds at most a few MiB per thread.
    pub(super) const MAX_BODY: usize = 64 * 1024;

    struct Entry {
        etag: HeaderValue,
        plain: Bytes,
        /// `None`: gzip did not make this body smaller.
        gzipped: Option<Bytes>,
    }

    thread_local! {
        static CACHE: RefCell<(Vec<Entry>, usize)> = const { RefCell::new((Vec::new(), 0)) };
    }

    /// `body` gzipped, if that makes it smaller: from the cache when `etag` and the bytes match
    /// what was remembered, else compressed now (and remembered when small enough).
    pub(super) fn gzip(etag: &HeaderValue, body: &Bytes) -> Option<Bytes> {
        let hit = CACHE.with_borrow(|(entries, _)| {
            entries
                .iter()
                .find(|e| e.etag == etag && e.plain == body)
                .map(|e| e.gzipped.clone())
        });
        if let Some(gzipped) = hit {
            return gzipped;
        }
        let gzipped = super::gzip_if_smaller(body);
        if body.len() <= MAX_BODY {
            CACHE.with_borrow_mut(|(entries, next)| {
                let entry = Entry {
                    etag: etag.clone(),
                    plain: body.clone(),
                    gzipped: gzipped.clone(),
                };
                if entries.len() < ENTRIES {
                    entries.push(entry);
                } else {
                    entries[*next] = entry;
                    *next = (*next + 1) % ENTRIES;
                }
            });
        }
        gzipped
    }
}

/// A strong ETag names exact bytes; the gzipped body has other bytes, so it becomes weak.
fn weaken_etag(headers: &mut Headers) {
    let Some(tag) = headers.get_str(&header::ETAG).map(str::to_string) else {
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

    fn tagged_page(tag: &'static str, page: Bytes) -> Response {
        let mut r = Response::with_body(StatusCode::OK, "text/html", page);
        r.headers
            .append(header::ETAG, HeaderValue::from_static(tag));
        r
    }

    fn gzipped_body(r: &Response) -> Bytes {
        assert_eq!(r.headers.get_str("content-encoding"), Some("gzip"));
        match &r.body {
            ResponseBody::Full(b) => b.clone(),
            _ => panic!("not a full body"),
        }
    }

    #[test]
    fn a_page_with_a_strong_etag_is_gzipped_once_and_then_served_from_memory() {
        let page = Bytes::from("<p>the same for everyone</p>".repeat(50));
        let first = compress(tagged_page("\"same\"", page.clone()), true);
        let again = compress(tagged_page("\"same\"", page.clone()), true);
        let (first, again) = (gzipped_body(&first), gzipped_body(&again));
        // The remembered bytes themselves, not a second compression of the same page.
        assert_eq!(first.as_ptr(), again.as_ptr());
        assert_eq!(again.len(), first.len());
    }

    #[test]
    fn a_different_body_under_a_remembered_etag_is_compressed_afresh() {
        let one = Bytes::from("<p>one page</p>".repeat(50));
        let other = Bytes::from("<p>another page</p>".repeat(50));
        let _ = compress(tagged_page("\"reused\"", one), true);
        let r = compress(tagged_page("\"reused\"", other.clone()), true);
        assert_eq!(gunzip(&gzipped_body(&r)), other);
    }

    #[test]
    fn the_remembered_bodies_are_bounded() {
        for i in 0..remembered::ENTRIES + 8 {
            let page = Bytes::from(format!("<p>page {i}</p>").repeat(40));
            let r = compress(tagged_page("\"many\"", page), true);
            assert_eq!(r.headers.get_str(&header::ETAG), Some("W/\"many\""));
        }
        let big = Bytes::from("x".repeat(remembered::MAX_BODY + 1));
        let first = compress(tagged_page("\"big\"", big.clone()), true);
        let again = compress(tagged_page("\"big\"", big), true);
        assert_ne!(gzipped_body(&first).as_ptr(), gzipped_body(&again).as_ptr());
    }

    fn gunzip(data: &[u8]) -> Vec<u8> {
        let mut plain = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(data), &mut plain)
            .expect("valid gzip");
        plain
    }

    #[test]
    fn gzip_members_decode_to_their_input_with_the_deflate_state_reused() {
        let text = "<li>an item of a list</li>\n".repeat(400);
        for body in [&b""[..], b"a", text.as_bytes(), &text.as_bytes()[..1000]] {
            let gz = gzip(body).expect("compressed");
            assert_eq!(gunzip(&gz), body);
            assert_eq!(&gz[..3], &[0x1f, 0x8b, 8]);
        }
        // Incompressible bytes larger than the first guess at the output size.
        let noise: Vec<u8> = (0u32..50_000)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        assert_eq!(gunzip(&gzip(&noise).expect("compressed")), noise);
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

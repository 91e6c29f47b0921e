//! The page and picture of the tutorial, embedded in the binary.

use bytes::Bytes;
use http1::{HeaderValue, Headers, StatusCode, header};
use server::Response;
use web::semantics::etag::{self, Comparison};

/// One embedded file: its bytes, content type and a strong ETag derived from the bytes.
#[derive(Debug)]
pub struct Asset {
    bytes: &'static [u8],
    content_type: &'static str,
    /// `"<fnv1a-64 of the bytes, 16 hex digits>"`, rendered at compile time.
    etag: [u8; 18],
}

impl Asset {
    const fn new(bytes: &'static [u8], content_type: &'static str) -> Asset {
        Asset {
            bytes,
            content_type,
            etag: quoted_hex(fnv1a(bytes)),
        }
    }

    /// The bytes.
    pub fn bytes(&self) -> &'static [u8] {
        self.bytes
    }

    /// The content type.
    pub fn content_type(&self) -> &'static str {
        self.content_type
    }

    /// The strong validator, `"<fnv1a-64 of the bytes>"`.
    pub fn etag(&self) -> &str {
        // Hex digits and quotes only, so always UTF-8.
        std::str::from_utf8(&self.etag).unwrap_or("\"\"")
    }

    /// `200` with the bytes, or `304` when `If-None-Match` already names this version.
    /// Takes a `'static` asset so that its headers are borrowed, not copied, per request.
    pub fn respond(&'static self, request_headers: &Headers) -> Response {
        let etag = self.etag();
        let fresh = etag::list_matches(
            request_headers.get_all("if-none-match"),
            etag,
            Comparison::Weak,
        );
        let mut response = if fresh {
            Response::new(StatusCode::NOT_MODIFIED)
        } else {
            Response::with_body(
                StatusCode::OK,
                self.content_type,
                Bytes::from_static(self.bytes),
            )
        };
        response
            .headers
            .append(header::ETAG, HeaderValue::from_static(etag));
        response.headers.append(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        );
        response
    }
}

/// FNV-1a, 64 bits: a fast, stable hash for ETags (not for security).
/// Computed at compile time for the embedded files.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash = (hash ^ bytes[i] as u64).wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// `n` as 16 lower-case hex digits between double quotes.
const fn quoted_hex(n: u64) -> [u8; 18] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'"'; 18];
    let mut i = 0;
    while i < 16 {
        out[1 + i] = DIGITS[((n >> (60 - 4 * i)) & 0xf) as usize];
        i += 1;
    }
    out
}

/// `/`: the tutorial's page.
pub static INDEX: Asset = Asset::new(
    include_bytes!("../assets/index.html"),
    "text/html; charset=utf-8",
);

/// `/test.jpg`: the picture the page shows.
pub static TEST_JPG: Asset = Asset::new(include_bytes!("../assets/test.jpg"), "image/jpeg");

/// The body of every `404`.
pub const NOT_FOUND_PAGE: &str = include_str!("../assets/404.html");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_etag_is_the_quoted_hash_in_hex() {
        for asset in [&INDEX, &TEST_JPG] {
            assert_eq!(asset.etag(), format!("\"{:016x}\"", fnv1a(asset.bytes)));
        }
        assert_eq!(&quoted_hex(0xab), b"\"00000000000000ab\"");
    }

    #[test]
    fn a_matching_validator_gets_304() {
        let mut h = Headers::new();
        assert_eq!(INDEX.respond(&h).status, StatusCode::OK);
        h.append(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(INDEX.etag()).expect("ascii"),
        );
        let r = INDEX.respond(&h);
        assert_eq!(r.status, StatusCode::NOT_MODIFIED);
        assert_eq!(r.headers.get_str("etag"), Some(INDEX.etag()));
    }

    fn status_for(if_none_match: &str) -> StatusCode {
        let mut h = Headers::new();
        h.append(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(if_none_match).expect("ascii"),
        );
        INDEX.respond(&h).status
    }

    #[test]
    fn if_none_match_is_read_by_the_entity_tag_grammar() {
        let tag = INDEX.etag();
        assert_eq!(status_for(&format!("W/{tag}")), StatusCode::NOT_MODIFIED);
        assert_eq!(
            status_for(&format!("\"a,b\", {tag}")),
            StatusCode::NOT_MODIFIED
        );
        assert_eq!(status_for("*"), StatusCode::NOT_MODIFIED);
        // Split on commas and stripped of every `W/`, these used to match.
        assert_eq!(status_for(&format!("W/W/{tag}")), StatusCode::OK);
        assert_eq!(status_for("\"x\", *"), StatusCode::OK);
        assert_eq!(status_for(&format!("w/{tag}")), StatusCode::OK);
    }
}

//! The page and picture of the tutorial, embedded in the binary.

use bytes::Bytes;
use web::{HeaderValue, Response, ResponseBody, StatusCode, header};

/// One embedded file: its bytes, and its content type and strong ETag as header values
/// validated at compile time, so that answering with it checks and copies nothing.
#[derive(Debug)]
pub struct Asset {
    bytes: &'static [u8],
    content_type: HeaderValue,
    /// `"<fnv1a-64 of the bytes, 16 hex digits>"`.
    etag: HeaderValue,
}

/// An [`Asset`] of the file at `$path` (relative to this source file), its ETag hashed at
/// compile time.
macro_rules! asset {
    ($path:literal, $content_type:literal) => {{
        const BYTES: &[u8] = include_bytes!($path);
        const TAG: [u8; 18] = quoted_hex(fnv1a(BYTES));
        const TAG_STR: &str = match std::str::from_utf8(&TAG) {
            Ok(tag) => tag,
            Err(_) => panic!("hex digits and quotes are UTF-8"),
        };
        Asset {
            bytes: BYTES,
            content_type: HeaderValue::from_static($content_type),
            etag: HeaderValue::from_static(TAG_STR),
        }
    }};
}

/// How long a browser may reuse an embedded file without asking.
const CACHE_CONTROL: HeaderValue = HeaderValue::from_static("public, max-age=3600");

impl Asset {
    /// The bytes.
    pub fn bytes(&self) -> &'static [u8] {
        self.bytes
    }

    /// The content type.
    pub fn content_type(&self) -> &HeaderValue {
        &self.content_type
    }

    /// The strong validator, `"<fnv1a-64 of the bytes>"`.
    pub fn etag(&self) -> &HeaderValue {
        &self.etag
    }

    /// `200` with the bytes and their validator; [`crate::conditional`] turns it into a `304`
    /// when the client already has this version. Takes a `'static` asset so that its body is
    /// borrowed, not copied, per request.
    pub fn respond(&'static self) -> Response {
        let mut response = Response::new(StatusCode::OK);
        let headers = &mut response.headers;
        headers.append(header::CONTENT_TYPE, self.content_type.clone());
        headers.append(header::ETAG, self.etag.clone());
        headers.append(header::CACHE_CONTROL, CACHE_CONTROL);
        response.body = ResponseBody::Full(Bytes::from_static(self.bytes));
        response
    }
}

/// A strong validator for `bytes` built at run time (a rendered page): `"<fnv1a-64 in hex>"`.
pub fn etag_of(bytes: &[u8]) -> HeaderValue {
    let quoted = quoted_hex(fnv1a(bytes));
    // Hex digits and quotes only, so always a valid field value.
    HeaderValue::from_bytes(&quoted).unwrap_or_else(|_| HeaderValue::from_static("\"\""))
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
pub static INDEX: Asset = asset!("../assets/index.html", "text/html; charset=utf-8");

/// `/test.jpg`: the picture the page shows.
pub static TEST_JPG: Asset = asset!("../assets/test.jpg", "image/jpeg");

/// The body of every `404`.
pub const NOT_FOUND_PAGE: &str = include_str!("../assets/404.html");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_etag_is_the_quoted_hash_in_hex() {
        for asset in [&INDEX, &TEST_JPG] {
            assert_eq!(asset.etag(), &format!("\"{:016x}\"", fnv1a(asset.bytes)));
        }
        assert_eq!(&quoted_hex(0xab), b"\"00000000000000ab\"");
    }
}

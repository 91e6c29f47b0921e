//! Size limits for a request head and body. Each one maps to exactly one status.

/// Longest request line accepted. Longer lines are answered `414 URI Too Long`.
pub const MAX_REQUEST_LINE: usize = 8 * 1024;

/// Largest request head (request line plus all header lines). Larger heads are answered
/// `431 Request Header Fields Too Large`.
pub const MAX_HEAD_SIZE: usize = 64 * 1024;

/// Most header fields in one request. More are answered `431 Request Header Fields Too Large`.
pub const MAX_HEADERS: usize = 100;

/// Largest request body by default. A larger declared `Content-Length` is answered
/// `413 Content Too Large` before the body is read; a chunked body that grows past it is cut off
/// with `413` too.
pub const MAX_BODY_SIZE: u64 = 1024 * 1024 * 1024;

/// Longest chunk-size line (size, extensions and CRLF). Longer lines are a `400`.
pub const MAX_CHUNK_LINE: usize = 4 * 1024;

/// Largest trailer section after the last chunk. Larger trailers are a `431`.
pub const MAX_TRAILER_SIZE: usize = 16 * 1024;

/// The limits one server applies; each field defaults to the constant of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// See [`MAX_REQUEST_LINE`].
    pub max_request_line: usize,
    /// See [`MAX_HEAD_SIZE`].
    pub max_head_size: usize,
    /// See [`MAX_HEADERS`].
    pub max_headers: usize,
    /// See [`MAX_BODY_SIZE`].
    pub max_body_size: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_line: MAX_REQUEST_LINE,
            max_head_size: MAX_HEAD_SIZE,
            max_headers: MAX_HEADERS,
            max_body_size: MAX_BODY_SIZE,
        }
    }
}

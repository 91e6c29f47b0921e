//! From a representation of a file and the request's headers to the response: preconditions
//! first (`304`/`412`), then ranges (`206`/`416`), else the whole content (`200`).

use std::collections::VecDeque;
use std::collections::hash_map::RandomState;
use std::fmt::Write as _;
use std::hash::{BuildHasher, Hasher};
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Method, StatusCode, header};
use http1::Headers;
use server::{FileRegion, Response, ResponseBody};

use crate::compress::Encoding;
use crate::conditional::{self, Outcome, Validators};
use crate::range::{self, ByteRange, Ranges};

/// How much of a file one step of a multipart body reads.
const READ_CHUNK: u64 = 64 * 1024;

/// Everything about a representation except its bytes.
#[derive(Debug, Clone)]
pub struct RepMeta {
    /// Length in bytes (of the encoded form, when encoded).
    pub len: u64,
    /// Strong entity tag.
    pub etag: HeaderValue,
    /// `Last-Modified`, rendered.
    pub last_modified: HeaderValue,
    /// The modification time behind it.
    pub modified: SystemTime,
    /// `Content-Type` of the file (not of the encoding).
    pub content_type: HeaderValue,
    /// The content coding applied, if any.
    pub encoding: Option<Encoding>,
    /// Whether the response depends on `Accept-Encoding` (`Vary: Accept-Encoding`).
    pub vary: bool,
    /// For an unencoded form: whether an encoded form could be served to a client that
    /// accepts one (a sidecar exists or the file is compressible), so a cache hit on this
    /// form must not be used for such a client.
    pub alternatives: bool,
}

/// Where the bytes of a representation are.
#[derive(Debug)]
pub enum Content {
    /// In memory (cached small files, compressed forms).
    Memory(Bytes),
    /// In an open file, sent with `sendfile`.
    Disk(std::fs::File),
    /// Coming from a compression under way (never ranged: only encoded forms stream).
    Stream(crate::flight::Reader),
}

/// A representation: what the response to a GET describes.
#[derive(Debug)]
pub struct Rep {
    /// Headers and validators.
    pub meta: RepMeta,
    /// The bytes.
    pub content: Content,
}

/// The response to `method` with request `headers` for `rep`.
pub fn file_response(
    method: &Method,
    headers: &Headers,
    rep: Rep,
    cache_control: &HeaderValue,
) -> Response {
    let meta = &rep.meta;
    let etag = meta.etag.to_str().unwrap_or("");
    let validators = Validators {
        etag,
        modified: meta.modified,
    };
    match conditional::evaluate(headers, method, validators) {
        Outcome::Proceed => {}
        Outcome::NotModified => {
            let mut r = response(StatusCode::NOT_MODIFIED);
            let m = rep.meta;
            validator_headers(
                &mut r.headers,
                m.etag,
                m.last_modified,
                m.vary,
                cache_control,
            );
            return r;
        }
        Outcome::Failed => return Response::error(StatusCode::PRECONDITION_FAILED),
    }
    let ranges = match headers.get_str("range") {
        Some(value)
            if method == Method::GET
                && meta.encoding.is_none()
                && !matches!(rep.content, Content::Stream(_))
                && conditional::if_range_holds(headers, validators) =>
        {
            range::parse(value, meta.len)
        }
        _ => Ranges::Full,
    };
    match ranges {
        Ranges::Full => whole(rep, cache_control),
        Ranges::Unsatisfiable => {
            let mut r = Response::error(StatusCode::RANGE_NOT_SATISFIABLE);
            insert(
                &mut r.headers,
                header::CONTENT_RANGE,
                &format!("bytes */{}", meta.len),
            );
            r
        }
        Ranges::Partial(list) if list.len() == 1 => single(rep, list[0], cache_control),
        Ranges::Partial(list) => multipart(rep, &list, cache_control),
    }
}

/// `200` with every byte.
fn whole(rep: Rep, cache_control: &HeaderValue) -> Response {
    let mut r = response(StatusCode::OK);
    let len = rep.meta.len;
    entity_headers(&mut r.headers, rep.meta, cache_control);
    r.body = whole_body(rep.content, len);
    r
}

/// The body of a `200`: all `len` bytes of `content`.
pub(crate) fn whole_body(content: Content, len: u64) -> ResponseBody {
    match content {
        Content::Memory(b) => ResponseBody::Full(b),
        Content::Disk(file) if len > 0 => ResponseBody::File(FileRegion {
            file,
            offset: 0,
            len,
        }),
        Content::Disk(_) => ResponseBody::Empty,
        Content::Stream(reader) => reader.into_body(),
    }
}

/// Whether the answer to `method` with `headers` is the whole representation, whatever it
/// is: no precondition to evaluate and no range to cut (a `Range` counts only for `GET`).
pub(crate) fn is_whole(method: &Method, headers: &Headers) -> bool {
    let get = method == Method::GET;
    !headers.iter().any(|(name, _)| {
        // Compared as names: for the standard names that is an enum comparison.
        name == header::IF_MATCH
            || name == header::IF_NONE_MATCH
            || name == header::IF_MODIFIED_SINCE
            || name == header::IF_UNMODIFIED_SINCE
            || (get && name == header::RANGE)
    })
}

/// `206` with one range.
fn single(rep: Rep, range: ByteRange, cache_control: &HeaderValue) -> Response {
    let mut r = response(StatusCode::PARTIAL_CONTENT);
    let content_range = range.content_range(rep.meta.len);
    entity_headers(&mut r.headers, rep.meta, cache_control);
    insert(&mut r.headers, header::CONTENT_RANGE, &content_range);
    r.body = match rep.content {
        Content::Memory(b) => {
            ResponseBody::Full(b.slice(range.start as usize..=range.end as usize))
        }
        Content::Disk(file) => ResponseBody::File(FileRegion {
            file,
            offset: range.start,
            len: range.len(),
        }),
        // Not reached: `file_response` ranges no stream.
        Content::Stream(reader) => reader.into_body(),
    };
    r
}

/// One piece of a multipart body: part headers, or a region of the content.
enum Piece {
    Bytes(Bytes),
    Region(ByteRange),
}

/// `206` with `multipart/byteranges` (RFC 9110 14.6).
fn multipart(rep: Rep, ranges: &[ByteRange], cache_control: &HeaderValue) -> Response {
    let boundary = boundary();
    let ct = rep
        .meta
        .content_type
        .to_str()
        .unwrap_or(crate::mime::UNKNOWN);
    let mut pieces = VecDeque::with_capacity(ranges.len() * 2 + 1);
    for r in ranges {
        let mut head = String::with_capacity(128);
        let _ = write!(
            head,
            "\r\n--{boundary}\r\nContent-Type: {ct}\r\nContent-Range: {}\r\n\r\n",
            r.content_range(rep.meta.len)
        );
        pieces.push_back(Piece::Bytes(Bytes::from(head)));
        pieces.push_back(Piece::Region(*r));
    }
    pieces.push_back(Piece::Bytes(Bytes::from(format!("\r\n--{boundary}--\r\n"))));
    let total: u64 = pieces
        .iter()
        .map(|p| match p {
            Piece::Bytes(b) => b.len() as u64,
            Piece::Region(r) => r.len(),
        })
        .sum();

    let mut r = response(StatusCode::PARTIAL_CONTENT);
    entity_headers(&mut r.headers, rep.meta, cache_control);
    insert(
        &mut r.headers,
        header::CONTENT_TYPE,
        &format!("multipart/byteranges; boundary={boundary}"),
    );
    r.body = match rep.content {
        Content::Memory(b) => {
            let mut out = BytesMut::with_capacity(total as usize);
            for p in pieces {
                match p {
                    Piece::Bytes(h) => out.extend_from_slice(&h),
                    Piece::Region(r) => {
                        out.extend_from_slice(&b[r.start as usize..=r.end as usize])
                    }
                }
            }
            ResponseBody::Full(out.freeze())
        }
        Content::Disk(file) => ResponseBody::Stream {
            stream: Box::pin(disk_pieces(Arc::new(file), pieces)),
            len: Some(total),
        },
        // Not reached: `file_response` ranges no stream.
        Content::Stream(reader) => reader.into_body(),
    };
    r
}

/// Streams `pieces`, reading regions of `file` on a blocking thread a chunk at a time.
fn disk_pieces(
    file: Arc<std::fs::File>,
    pieces: VecDeque<Piece>,
) -> impl futures_core::Stream<Item = std::io::Result<Bytes>> + Send {
    futures_util::stream::unfold((file, pieces), |(file, mut pieces)| async move {
        let item = match pieces.pop_front()? {
            Piece::Bytes(b) => Ok(b),
            Piece::Region(r) => {
                let n = r.len().min(READ_CHUNK);
                if n < r.len() {
                    pieces.push_front(Piece::Region(ByteRange {
                        start: r.start + n,
                        end: r.end,
                    }));
                }
                read_at(file.clone(), r.start, n as usize).await
            }
        };
        Some((item, (file, pieces)))
    })
}

/// Reads exactly `len` bytes at `offset` (a file that shrank meanwhile is an error, which
/// ends the response early rather than sending a body shorter than announced).
async fn read_at(file: Arc<std::fs::File>, offset: u64, len: usize) -> std::io::Result<Bytes> {
    let task = tokio::task::spawn_blocking(move || {
        let mut buf = vec![0u8; len];
        file.read_exact_at(&mut buf, offset)?;
        Ok(Bytes::from(buf))
    });
    task.await.map_err(std::io::Error::other)?
}

/// A boundary no file is likely to contain: 128 random bits.
fn boundary() -> String {
    let a = RandomState::new().build_hasher().finish();
    let mut h = RandomState::new().build_hasher();
    h.write_u64(a);
    format!("{:016x}{:016x}", a, h.finish())
}

/// Header fields a file response usually ends up with (entity, validators, `nosniff`, a few
/// extra): reserved up front so the list is allocated once.
const TYPICAL_HEADERS: usize = 12;

/// An empty response with room for [`TYPICAL_HEADERS`].
fn response(status: StatusCode) -> Response {
    let mut r = Response::new(status);
    r.headers = Headers::with_capacity(TYPICAL_HEADERS);
    r
}

/// The headers every successful response for a representation carries. Takes the values
/// over rather than cloning them: each clone of a shared value is an atomic increment.
pub(crate) fn entity_headers(h: &mut Headers, meta: RepMeta, cache_control: &HeaderValue) {
    h.append(header::CONTENT_TYPE, meta.content_type);
    match meta.encoding {
        Some(e) => h.append(header::CONTENT_ENCODING, e.header_value()),
        None => h.append(header::ACCEPT_RANGES, HeaderValue::from_static("bytes")),
    }
    validator_headers(h, meta.etag, meta.last_modified, meta.vary, cache_control);
}

/// The headers a `304` must repeat (RFC 9110 15.4.5): ETag, Last-Modified, Cache-Control, Vary.
fn validator_headers(
    h: &mut Headers,
    etag: HeaderValue,
    last_modified: HeaderValue,
    vary: bool,
    cache_control: &HeaderValue,
) {
    h.append(header::ETAG, etag);
    h.append(header::LAST_MODIFIED, last_modified);
    h.append(header::CACHE_CONTROL, cache_control.clone());
    if vary {
        h.append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
}

fn insert(h: &mut Headers, name: http::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(name, v);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn rep(data: &'static [u8]) -> Rep {
        Rep {
            meta: RepMeta {
                len: data.len() as u64,
                etag: HeaderValue::from_static("\"t\""),
                last_modified: HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
                modified: UNIX_EPOCH + Duration::from_secs(784_111_777),
                content_type: HeaderValue::from_static("text/plain; charset=utf-8"),
                encoding: None,
                vary: false,
                alternatives: false,
            },
            content: Content::Memory(Bytes::from_static(data)),
        }
    }

    fn get(pairs: &[(&'static str, &'static str)], data: &'static [u8]) -> Response {
        let mut h = Headers::new();
        for (n, v) in pairs {
            h.append(
                http::HeaderName::from_static(n),
                HeaderValue::from_static(v),
            );
        }
        file_response(
            &Method::GET,
            &h,
            rep(data),
            &HeaderValue::from_static("no-cache"),
        )
    }

    fn body(r: &Response) -> &[u8] {
        match &r.body {
            ResponseBody::Full(b) => b,
            other => panic!("unexpected body {other:?}"),
        }
    }

    #[test]
    fn whole_and_not_modified() {
        let r = get(&[], b"hello");
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(body(&r), b"hello");
        assert_eq!(r.headers.get_str("accept-ranges"), Some("bytes"));
        let r = get(&[("if-none-match", "\"t\"")], b"hello");
        assert_eq!(r.status, StatusCode::NOT_MODIFIED);
        assert_eq!(r.headers.get_str("etag"), Some("\"t\""));
        assert!(r.body.is_empty());
        assert_eq!(
            get(&[("if-match", "\"u\"")], b"hello").status,
            StatusCode::PRECONDITION_FAILED
        );
    }

    #[test]
    fn ranges() {
        let r = get(&[("range", "bytes=1-3")], b"hello");
        assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
        assert_eq!(body(&r), b"ell");
        assert_eq!(r.headers.get_str("content-range"), Some("bytes 1-3/5"));
        let r = get(&[("range", "bytes=9-")], b"hello");
        assert_eq!(r.status, StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(r.headers.get_str("content-range"), Some("bytes */5"));
        let r = get(
            &[("range", "bytes=0-0"), ("if-range", "\"other\"")],
            b"hello",
        );
        assert_eq!(r.status, StatusCode::OK);
    }

    #[test]
    fn multipart_has_every_part() {
        let r = get(&[("range", "bytes=0-0,-1")], b"hello");
        assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
        let ct = r.headers.get_str("content-type").unwrap();
        let boundary = ct.strip_prefix("multipart/byteranges; boundary=").unwrap();
        let text = String::from_utf8(body(&r).to_vec()).unwrap();
        assert!(text.contains("Content-Range: bytes 0-0/5\r\n\r\nh\r\n"));
        assert!(text.contains("Content-Range: bytes 4-4/5\r\n\r\no\r\n"));
        assert!(text.ends_with(&format!("--{boundary}--\r\n")));
    }
}

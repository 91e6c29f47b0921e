//! The script's header block (RFC 3875 section 6), parsed as a pure function over bytes.
//!
//! The block is looked for incrementally as stdout arrives ([`HeadScanner`]); once complete it
//! is parsed whole ([`parse_head`]). Anything malformed is an error that becomes `500`: a
//! broken line is never passed on to the client, where it could split or smuggle a response.
//! The error names the line at fault, so that the log says what the script did wrong.

use std::fmt;

use http1::{HeaderName, HeaderValue, Headers, StatusCode};

/// Largest header block a script may print (the blank line included). A script whose first
/// 64 KiB hold no blank line gets `500` and is killed.
pub const MAX_HEADER_BLOCK: usize = 64 * 1024;

/// Header fields a script may not set because the server frames the response itself; they
/// are dropped. (`Content-Length` and `Transfer-Encoding` are read to frame the body, then set
/// by the server.)
const HOP_BY_HOP: [&str; 6] = [
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
];

/// What is wrong with a header block; every variant means `500`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputError {
    /// No blank line within [`MAX_HEADER_BLOCK`] bytes.
    TooLarge,
    /// Output ended before the blank line.
    Incomplete,
    /// A line without a colon (this includes folded continuation lines).
    NoColon,
    /// A line starting with a colon.
    EmptyName,
    /// A field name with a byte that is not a token character (whitespace, NUL, controls).
    BadName,
    /// A field value with NUL or another control byte other than HTAB.
    BadValue,
    /// `Status` is not three digits in 200..=599, optionally followed by a reason.
    BadStatus,
    /// `Content-Length` is not a number.
    BadContentLength,
    /// `Status`, `Location`, `Content-Type`, `Content-Length` or `Transfer-Encoding` given twice.
    Duplicate,
    /// A `Transfer-Encoding` other than `chunked` alone: the server could not take the body
    /// apart, and passing it on as it is would hand the client framing as content.
    BadTransferEncoding,
    /// Both `Content-Length` and `Transfer-Encoding`: which one frames the body is anyone's
    /// guess, the way request smuggling starts (RFC 9112 6.1), so neither is trusted.
    LengthAndChunked,
    /// None of `Content-Type`, `Status` or `Location`: not a CGI response (RFC 3875 6.2 needs
    /// one of them), e.g. a script whose output is only a blank line.
    NotAResponse,
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OutputError::TooLarge => "larger than 64 KiB",
            OutputError::Incomplete => "output ended before the blank line that ends it",
            OutputError::NoColon => "no colon",
            OutputError::EmptyName => "empty name",
            OutputError::BadName => "invalid field name",
            OutputError::BadValue => "control byte in the value",
            OutputError::BadStatus => "invalid Status",
            OutputError::BadContentLength => "invalid Content-Length",
            OutputError::Duplicate => {
                "Status, Location, Content-Type, Content-Length or Transfer-Encoding repeated"
            }
            OutputError::BadTransferEncoding => "a Transfer-Encoding other than chunked",
            OutputError::LengthAndChunked => "both Content-Length and Transfer-Encoding",
            OutputError::NotAResponse => "none of Content-Type, Status or Location",
        })
    }
}

impl std::error::Error for OutputError {}

/// Most bytes of a bad line quoted in the log.
const MAX_QUOTED_LINE: usize = 200;

/// A malformed header block: what is wrong, and the line at fault when it is one line's fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedHead {
    /// What is wrong.
    pub error: OutputError,
    /// The offending line as the script wrote it (without its line ending).
    pub line: Option<Vec<u8>>,
}

impl MalformedHead {
    fn at(error: OutputError, line: &[u8]) -> MalformedHead {
        MalformedHead {
            error,
            line: Some(line.to_vec()),
        }
    }
}

impl From<OutputError> for MalformedHead {
    fn from(error: OutputError) -> Self {
        MalformedHead { error, line: None }
    }
}

impl fmt::Display for MalformedHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.line {
            Some(line) => {
                let shown = &line[..line.len().min(MAX_QUOTED_LINE)];
                let more = if shown.len() < line.len() { "..." } else { "" };
                write!(
                    f,
                    "script sent a malformed header line ({}): \"{}\"{more}",
                    self.error,
                    shown.escape_ascii()
                )
            }
            None => write!(f, "script sent a malformed header block: {}", self.error),
        }
    }
}

impl std::error::Error for MalformedHead {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// A parsed header block.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ScriptHead {
    /// From `Status: NNN reason`.
    pub status: Option<StatusCode>,
    /// The reason of `Status: NNN reason`, when the script gave one.
    pub reason: Option<String>,
    /// `Location`, as given.
    pub location: Option<HeaderValue>,
    /// `Content-Length`, which frames the body that follows.
    pub content_length: Option<u64>,
    /// `Transfer-Encoding: chunked`: the body that follows is chunked and is decoded before
    /// it is passed on.
    pub chunked: bool,
    /// Every other field, in order, to be sent to the client.
    pub headers: Headers,
}

impl ScriptHead {
    /// A local redirect (RFC 3875 6.2.2): a `Location` that is an absolute path and no
    /// `Status`; the server answers it as if the client had asked for that path.
    pub fn local_redirect(&self) -> Option<&str> {
        let loc = self.location.as_ref()?.to_str().ok()?;
        (self.status.is_none() && loc.starts_with('/') && !loc.starts_with("//")).then_some(loc)
    }
}

/// Finds the end of the header block as output arrives, without rescanning.
#[derive(Debug, Default)]
pub struct HeadScanner {
    scanned: usize,
    line_start: usize,
}

impl HeadScanner {
    /// Looks for the blank line in `buf` (everything received so far). `Ok(Some((block, end)))`:
    /// the block is `buf[..block]` and the body starts at `buf[end]`; `Ok(None)`: need more.
    pub fn scan(&mut self, buf: &[u8]) -> Result<Option<(usize, usize)>, OutputError> {
        while let Some(i) = memchr(b'\n', &buf[self.scanned..]) {
            let nl = self.scanned + i;
            let line = &buf[self.line_start..nl];
            self.scanned = nl + 1;
            if line.is_empty() || line == b"\r" {
                if nl + 1 > MAX_HEADER_BLOCK {
                    return Err(OutputError::TooLarge);
                }
                return Ok(Some((self.line_start, nl + 1)));
            }
            self.line_start = nl + 1;
        }
        self.scanned = buf.len();
        if buf.len() >= MAX_HEADER_BLOCK {
            return Err(OutputError::TooLarge);
        }
        Ok(None)
    }
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

/// Parses a header block (without its blank line); lines end in LF or CRLF.
pub fn parse_head(block: &[u8]) -> Result<ScriptHead, MalformedHead> {
    let (head, content_type) = parse_lines(block)?;
    if head.chunked && head.content_length.is_some() {
        return Err(OutputError::LengthAndChunked.into());
    }
    if head.status.is_none() && head.location.is_none() && !content_type {
        return Err(OutputError::NotAResponse.into());
    }
    Ok(head)
}

/// What is wrong with output that ended before its blank line (`buf` is all of it): the first
/// malformed line if there is one (a script that printed `Hello` and no header at all), else
/// [`OutputError::Incomplete`].
pub fn unfinished(buf: &[u8]) -> MalformedHead {
    match parse_lines(buf) {
        Err(e) => e,
        Ok(_) => OutputError::Incomplete.into(),
    }
}

/// Every line of a block checked and sorted; also says whether `Content-Type` was there.
fn parse_lines(block: &[u8]) -> Result<(ScriptHead, bool), MalformedHead> {
    let mut head = ScriptHead::default();
    let mut content_type = None;
    let mut transfer_encoding = None;
    for line in block.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        parse_line(line, &mut head, &mut content_type, &mut transfer_encoding)
            .map_err(|e| MalformedHead::at(e, line))?;
    }
    Ok((head, content_type.is_some()))
}

/// One line of the block, stored where it belongs in `head`.
fn parse_line(
    line: &[u8],
    head: &mut ScriptHead,
    content_type: &mut Option<()>,
    transfer_encoding: &mut Option<()>,
) -> Result<(), OutputError> {
    let (name, value) = split_field(line)?;
    if name.eq_ignore_ascii_case(b"status") {
        let (status, reason) = parse_status(value)?;
        once(&mut head.status, status)?;
        head.reason = reason;
    } else if name.eq_ignore_ascii_case(b"location") {
        once(&mut head.location, header_value(value)?)?;
    } else if name.eq_ignore_ascii_case(b"content-length") {
        once(&mut head.content_length, parse_length(value)?)?;
    } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
        // A script may chunk its own output. The chunks are taken apart here and the server
        // frames the body again, as lighttpd does with its CGI, FastCGI and SCGI backends; the
        // alternative, 500, would fail scripts that work behind those servers. Only `chunked`
        // alone is understood: the RFC 9112 7 list syntax allows more, and anything else
        // (gzip, a list) cannot be framed safely, so it is `500`, never passed on raw.
        once(transfer_encoding, ())?;
        if !value.eq_ignore_ascii_case(b"chunked") {
            return Err(OutputError::BadTransferEncoding);
        }
        head.chunked = true;
    } else if !HOP_BY_HOP
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h.as_bytes()))
    {
        if name.eq_ignore_ascii_case(b"content-type") {
            once(content_type, ())?;
        }
        let name = HeaderName::from_bytes(name).map_err(|_| OutputError::BadName)?;
        head.headers.append(name, header_value(value)?);
    }
    Ok(())
}

/// One `name: value` line, each side checked.
fn split_field(line: &[u8]) -> Result<(&[u8], &[u8]), OutputError> {
    let colon = memchr(b':', line).ok_or(OutputError::NoColon)?;
    let name = &line[..colon];
    if name.is_empty() {
        return Err(OutputError::EmptyName);
    }
    if !name.iter().all(|&b| is_tchar(b)) {
        return Err(OutputError::BadName);
    }
    let value = http1::headers::trim_ows(&line[colon + 1..]);
    if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(OutputError::BadValue);
    }
    Ok((name, value))
}

/// RFC 9110 5.6.2 token characters.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Stores a field that may appear only once.
fn once<T>(slot: &mut Option<T>, value: T) -> Result<(), OutputError> {
    if slot.is_some() {
        return Err(OutputError::Duplicate);
    }
    *slot = Some(value);
    Ok(())
}

/// `Status: 404 Not Found` (RFC 3875 6.3.3): three digits, then nothing or a space and a reason.
fn parse_status(value: &[u8]) -> Result<(StatusCode, Option<String>), OutputError> {
    let (code, rest) = value.split_at_checked(3).ok_or(OutputError::BadStatus)?;
    if !code.iter().all(u8::is_ascii_digit)
        || !(rest.is_empty() || rest[0] == b' ' || rest[0] == b'\t')
    {
        return Err(OutputError::BadStatus);
    }
    let status = StatusCode::from_bytes(code).map_err(|_| OutputError::BadStatus)?;
    if !(200..=599).contains(&status.as_u16()) {
        return Err(OutputError::BadStatus);
    }
    // The line was already checked for control bytes; a reason that is not UTF-8 is dropped.
    let reason = std::str::from_utf8(rest)
        .ok()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    Ok((status, reason))
}

fn parse_length(value: &[u8]) -> Result<u64, OutputError> {
    semantics::decimal::parse_u64(value).ok_or(OutputError::BadContentLength)
}

fn header_value(value: &[u8]) -> Result<HeaderValue, OutputError> {
    HeaderValue::from_bytes(value).map_err(|_| OutputError::BadValue)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn head(raw: &[u8]) -> Result<(ScriptHead, usize), OutputError> {
        let (block, end) = HeadScanner::default()
            .scan(raw)?
            .ok_or(OutputError::Incomplete)?;
        Ok((parse_head(&raw[..block]).map_err(|e| e.error)?, end))
    }

    #[test]
    fn document_response_with_crlf_or_lf() {
        for raw in [
            &b"Content-Type: text/plain\r\nX-A: 1\r\n\r\nbody"[..],
            b"Content-Type: text/plain\nX-A: 1\n\nbody",
        ] {
            let (h, end) = head(raw).unwrap();
            assert_eq!(&raw[end..], b"body");
            assert_eq!(h.status, None);
            assert_eq!(h.headers.get_str("content-type"), Some("text/plain"));
            assert_eq!(h.headers.get_str("x-a"), Some("1"));
        }
    }

    #[test]
    fn found_incrementally_at_every_split() {
        let raw = b"Status: 201 Created\r\nContent-Type: a/b\r\n\r\nrest";
        for split in 0..raw.len() {
            let mut s = HeadScanner::default();
            let first = s.scan(&raw[..split]).unwrap();
            let got = match first {
                Some(x) => x,
                None => s.scan(raw).unwrap().unwrap(),
            };
            assert_eq!(got, (raw.len() - 6, raw.len() - 4), "split at {split}");
        }
    }

    #[test]
    fn status_location_and_length() {
        let (h, _) = head(b"Status: 404 Not Found\nContent-Length: 12\n\n").unwrap();
        assert_eq!(h.status, Some(StatusCode::NOT_FOUND));
        assert_eq!(h.reason.as_deref(), Some("Not Found"));
        assert_eq!(h.content_length, Some(12));
        assert!(h.headers.is_empty());
        let (h, _) = head(b"Location: /other?x=1\n\n").unwrap();
        assert_eq!(h.local_redirect(), Some("/other?x=1"));
        let (h, _) = head(b"Location: http://example.org/\n\n").unwrap();
        assert_eq!(h.local_redirect(), None);
        let (h, _) = head(b"Location: //evil/\n\n").unwrap();
        assert_eq!(h.local_redirect(), None);
        let (h, _) = head(b"Status: 301\nLocation: /moved\n\n").unwrap();
        assert_eq!(h.local_redirect(), None);
        assert_eq!(h.status, Some(StatusCode::MOVED_PERMANENTLY));
    }

    #[test]
    fn framing_headers_are_dropped() {
        let (h, _) =
            head(b"Status: 200\nConnection: close\nTransfer-Encoding: chunked\nFoo:\nX: b\tar\n\n")
                .unwrap();
        let names: Vec<_> = h.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["foo", "x"]);
        assert!(h.chunked);
    }

    #[test]
    fn blank_line_alone_is_not_a_response() {
        for raw in [&b"\n"[..], b"\r\n", b"X-Foo: 1\r\n\r\nbody"] {
            assert_eq!(head(raw).err(), Some(OutputError::NotAResponse), "{raw:?}");
        }
        for raw in [
            &b"Status: 204\n\n"[..],
            b"Location: /x\n\n",
            b"Content-Type: a\n\n",
        ] {
            assert!(head(raw).is_ok(), "{raw:?}");
        }
    }

    #[test]
    fn script_transfer_encoding_is_chunked_alone_or_500() {
        let (h, _) = head(b"Content-Type: a\r\nTransfer-Encoding: Chunked\r\n\r\n").unwrap();
        assert!(h.chunked && h.headers.get_str("transfer-encoding").is_none());
        for (raw, want) in [
            (
                &b"Content-Type: a\nTransfer-Encoding: gzip, chunked\n\n"[..],
                OutputError::BadTransferEncoding,
            ),
            (
                b"Content-Type: a\nTransfer-Encoding: gzip\n\n",
                OutputError::BadTransferEncoding,
            ),
            (
                b"Content-Type: a\nTransfer-Encoding: chunked\nTransfer-Encoding: chunked\n\n",
                OutputError::Duplicate,
            ),
            (
                b"Content-Type: a\nContent-Length: 3\nTransfer-Encoding: chunked\n\n",
                OutputError::LengthAndChunked,
            ),
        ] {
            assert_eq!(head(raw).err(), Some(want), "{raw:?}");
        }
    }

    #[test]
    fn malformed_line_is_named_with_the_line() {
        let e = parse_head(b"Content-Type: a\r\nno colon here").unwrap_err();
        assert_eq!(e.line.as_deref(), Some(&b"no colon here"[..]));
        assert_eq!(
            e.to_string(),
            "script sent a malformed header line (no colon): \"no colon here\""
        );
        // Output that ended before its blank line: the bad line, else "incomplete".
        let e = unfinished(b"Hello world\n");
        assert_eq!(e.error, OutputError::NoColon);
        assert!(e.to_string().contains("\"Hello world\""), "{e}");
        assert_eq!(
            unfinished(b"Content-Type: a\r\n"),
            MalformedHead::from(OutputError::Incomplete)
        );
        let long = [b'x'; 1000];
        let shown = MalformedHead::at(OutputError::NoColon, &long).to_string();
        assert!(shown.len() < 300 && shown.ends_with("..."), "{shown}");
    }

    #[test]
    fn malformed_blocks_are_errors() {
        let cases: [(&[u8], OutputError); 14] = [
            (
                b"Content-Type: a\r\nF\x00oo: bar\r\n\r\n",
                OutputError::BadName,
            ),
            (
                b"Content-Type: a\r\nF\x01oo: bar\r\n\r\n",
                OutputError::BadName,
            ),
            (
                b"Content-Type: a\r\nF\noo: bar\r\n\r\n",
                OutputError::NoColon,
            ),
            (b"Content-Type: a\r\n: bar\r\n\r\n", OutputError::EmptyName),
            (
                b"Content-Type: a\r\nFoo: b\x01ar\r\n\r\n",
                OutputError::BadValue,
            ),
            (
                b"Content-Type: a\r\nFoo: b\rar\r\n\r\n",
                OutputError::BadValue,
            ),
            (
                b"Content-Type: a\r\nFoo : bar\r\n\r\n",
                OutputError::BadName,
            ),
            (b"Content-Type: a\r\n folded\r\n\r\n", OutputError::NoColon),
            (b"Status: 2000\n\n", OutputError::BadStatus),
            (b"Status: 100 Continue\n\n", OutputError::BadStatus),
            (b"Status: abc\n\n", OutputError::BadStatus),
            (b"Content-Length: -1\n\n", OutputError::BadContentLength),
            (b"Status: 200\nStatus: 200\n\n", OutputError::Duplicate),
            (
                b"Content-Type: a\nContent-Type: b\n\n",
                OutputError::Duplicate,
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(
                head(raw).err(),
                Some(want),
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut x: u32 = 12345;
        let alphabet = b"Status: 20 4\r\n\t\x00\x01Location/:-aZ\x7f\xff";
        for _ in 0..20_000 {
            let mut raw = Vec::new();
            for _ in 0..(x % 64) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                raw.push(alphabet[x as usize % alphabet.len()]);
            }
            let _ = head(&raw);
        }
    }

    #[test]
    fn missing_blank_line_and_oversize() {
        assert_eq!(
            HeadScanner::default().scan(b"Content-Type: a\r\n").unwrap(),
            None
        );
        let big = vec![b'a'; MAX_HEADER_BLOCK];
        assert_eq!(
            HeadScanner::default().scan(&big),
            Err(OutputError::TooLarge)
        );
        let mut long = b"X: ".to_vec();
        long.extend(std::iter::repeat_n(b'a', MAX_HEADER_BLOCK));
        long.extend_from_slice(b"\n\n");
        assert_eq!(
            HeadScanner::default().scan(&long),
            Err(OutputError::TooLarge)
        );
    }
}

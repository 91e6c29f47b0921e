//! The chunked transfer coding (RFC 9112 section 7.1), decoded one state at a time so input
//! may arrive split at any byte.
//!
//! ```text
//! chunked-body   = *chunk last-chunk trailer-section CRLF
//! chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//! chunk-size     = 1*HEXDIG
//! last-chunk     = 1*("0") [ chunk-ext ] CRLF
//! chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//! chunk-ext-name = token
//! chunk-ext-val  = token / quoted-string
//! ```
//! Extensions are checked and dropped: nothing we serve understands one. Whitespace is
//! accepted only where the grammar has BWS, so `a \r\n` (space before the CRLF) is a 400.

use bytes::{Buf, BytesMut};
use http::{HeaderName, HeaderValue};

use crate::limits::{MAX_CHUNK_LINE, MAX_TRAILER_SIZE};
use crate::syntax::{Line, find_line, is_tchar, split_field_line};
use crate::{Decoded, Headers, ParseError};

/// Most hex digits in a chunk size: 16 fill a `u64`, and leading zeros are not worth more.
const MAX_SIZE_DIGITS: u8 = 16;

/// Where the decoder is within the chunked body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Hex digits of the chunk size.
    Size,
    /// BWS after the size or an extension value: only `;` may follow.
    SizeBws,
    /// BWS after `;`, before an extension name.
    ExtBws,
    /// An extension name.
    ExtName,
    /// BWS after an extension name: `=` or `;` may follow.
    ExtNameBws,
    /// BWS after `=`, before the value.
    ExtValueBws,
    /// A token extension value.
    ExtToken,
    /// Inside a quoted-string extension value.
    ExtQuoted,
    /// After a `\` inside a quoted string.
    ExtQuotedEscape,
    /// After the closing quote of a value.
    ExtQuotedEnd,
    /// After the CR ending the size line.
    SizeLf,
    /// Inside the chunk data.
    Data,
    /// After the chunk data, expecting CR.
    DataCr,
    /// After the chunk data's CR, expecting LF.
    DataLf,
    /// Trailer field lines after the last chunk, up to an empty line.
    Trailers,
    /// The body is complete.
    Done,
}

/// The chunked decoder's state between calls.
#[derive(Debug, Clone)]
pub(crate) struct Chunked {
    step: Step,
    /// The chunk size while it is read, then the data bytes left in the chunk.
    size: u64,
    digits: u8,
    /// Bytes of the current size line so far (bounded by [`MAX_CHUNK_LINE`]).
    line_len: usize,
    /// Bytes of trailer section so far (bounded by [`MAX_TRAILER_SIZE`]).
    trailer_len: usize,
}

impl Chunked {
    pub(crate) fn new() -> Chunked {
        Chunked {
            step: Step::Size,
            size: 0,
            digits: 0,
            line_len: 0,
            trailer_len: 0,
        }
    }

    pub(crate) fn is_done(&self) -> bool {
        self.step == Step::Done
    }

    /// Decodes from the front of `buf` until a piece of data, the end, or the end of input.
    pub(crate) fn decode(
        &mut self,
        buf: &mut BytesMut,
        seen: &mut u64,
        max: u64,
        trailers: &mut Headers,
    ) -> Result<Decoded, ParseError> {
        loop {
            match self.step {
                Step::Data => return Ok(self.data(buf, seen)),
                Step::Done => return Ok(Decoded::Done),
                Step::Trailers => {
                    if !self.trailer_line(buf, trailers)? {
                        return Ok(Decoded::NeedMore);
                    }
                }
                _ => {
                    let Some(&b) = buf.first() else {
                        return Ok(Decoded::NeedMore);
                    };
                    self.step = self.line_byte(b, *seen, max)?;
                    buf.advance(1);
                }
            }
        }
    }

    /// Hands out as much of the current chunk's data as is buffered.
    fn data(&mut self, buf: &mut BytesMut, seen: &mut u64) -> Decoded {
        if buf.is_empty() {
            return Decoded::NeedMore;
        }
        let take = usize::try_from(self.size)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let data = buf.split_to(take).freeze();
        self.size -= take as u64;
        *seen += take as u64;
        if self.size == 0 {
            self.step = Step::DataCr;
        }
        Decoded::Data(data)
    }

    /// One byte of a size line or of the CRLF after chunk data.
    fn line_byte(&mut self, b: u8, seen: u64, max: u64) -> Result<Step, ParseError> {
        self.line_len += 1;
        if self.line_len > MAX_CHUNK_LINE {
            return Err(ParseError::BadBody("chunk size line too long"));
        }
        match self.step {
            Step::Size => self.size_digit(b),
            Step::SizeBws => size_bws(b),
            Step::ExtBws => ext_bws(b),
            Step::ExtName => ext_name(b),
            Step::ExtNameBws => ext_name_bws(b),
            Step::ExtValueBws => ext_value_bws(b),
            Step::ExtToken if is_tchar(b) => Ok(Step::ExtToken),
            Step::ExtToken | Step::ExtQuotedEnd => after_ext_value(b),
            Step::ExtQuoted => ext_quoted(b),
            Step::ExtQuotedEscape => ext_quoted_escape(b),
            Step::SizeLf => self.size_lf(b, seen, max),
            Step::DataCr => expect(b, b'\r', Step::DataLf),
            Step::DataLf => self.data_lf(b),
            Step::Data | Step::Trailers | Step::Done => {
                Err(ParseError::BadBody("chunked decoder state"))
            }
        }
    }

    /// `chunk-size = 1*HEXDIG`, then extensions, BWS before them, or CR.
    fn size_digit(&mut self, b: u8) -> Result<Step, ParseError> {
        if let Some(d) = (b as char).to_digit(16) {
            if self.digits == MAX_SIZE_DIGITS {
                return Err(ParseError::BadBody("chunk size too large"));
            }
            self.digits += 1;
            self.size = self.size << 4 | u64::from(d);
            return Ok(Step::Size);
        }
        if self.digits == 0 {
            return Err(ParseError::BadBody("invalid chunk size"));
        }
        match b {
            b';' => Ok(Step::ExtBws),
            b' ' | b'\t' => Ok(Step::SizeBws),
            b'\r' => Ok(Step::SizeLf),
            _ => Err(ParseError::BadBody("invalid chunk size")),
        }
    }

    /// The LF ending the size line: the data follows, or the trailers after the last chunk.
    fn size_lf(&mut self, b: u8, seen: u64, max: u64) -> Result<Step, ParseError> {
        if b != b'\n' {
            return Err(ParseError::BadBody("chunk size line not ended by CRLF"));
        }
        if seen.saturating_add(self.size) > max {
            return Err(ParseError::BodyTooLarge);
        }
        self.line_len = 0;
        Ok(if self.size == 0 {
            Step::Trailers
        } else {
            Step::Data
        })
    }

    /// The LF after a chunk's data; the next size line starts.
    fn data_lf(&mut self, b: u8) -> Result<Step, ParseError> {
        let next = expect(b, b'\n', Step::Size)?;
        self.size = 0;
        self.digits = 0;
        self.line_len = 0;
        Ok(next)
    }

    /// Reads one trailer line if a whole one is buffered; `false` when more input is needed.
    fn trailer_line(
        &mut self,
        buf: &mut BytesMut,
        trailers: &mut Headers,
    ) -> Result<bool, ParseError> {
        let room = MAX_TRAILER_SIZE.saturating_sub(self.trailer_len);
        let end = match find_line(buf, 0, room).map_err(body_error)? {
            Line::Complete(end) => end,
            Line::Partial => return Ok(false),
            Line::TooLong => return Err(ParseError::HeadersTooLarge),
        };
        self.trailer_len += end + 2;
        let line = buf.split_to(end + 2).freeze();
        if end == 0 {
            self.step = Step::Done;
            return Ok(true);
        }
        let (name, value) = split_field_line(&line[..end]).map_err(body_error)?;
        let name = HeaderName::from_bytes(name)
            .map_err(|_| ParseError::BadBody("invalid trailer name"))?;
        let value = HeaderValue::from_maybe_shared(line.slice_ref(value))
            .map_err(|_| ParseError::BadBody("invalid trailer value"))?;
        trailers.append(name, value);
        Ok(true)
    }
}

fn expect(b: u8, wanted: u8, next: Step) -> Result<Step, ParseError> {
    if b == wanted {
        Ok(next)
    } else {
        Err(ParseError::BadBody("chunk data not followed by CRLF"))
    }
}

fn size_bws(b: u8) -> Result<Step, ParseError> {
    match b {
        b' ' | b'\t' => Ok(Step::SizeBws),
        b';' => Ok(Step::ExtBws),
        _ => Err(ParseError::BadBody("invalid chunk size line")),
    }
}

fn ext_bws(b: u8) -> Result<Step, ParseError> {
    match b {
        b' ' | b'\t' => Ok(Step::ExtBws),
        _ if is_tchar(b) => Ok(Step::ExtName),
        _ => Err(ParseError::BadBody("missing chunk extension name")),
    }
}

fn ext_name(b: u8) -> Result<Step, ParseError> {
    match b {
        _ if is_tchar(b) => Ok(Step::ExtName),
        b' ' | b'\t' => Ok(Step::ExtNameBws),
        b'=' => Ok(Step::ExtValueBws),
        b';' => Ok(Step::ExtBws),
        b'\r' => Ok(Step::SizeLf),
        _ => Err(ParseError::BadBody("invalid chunk extension")),
    }
}

fn ext_name_bws(b: u8) -> Result<Step, ParseError> {
    match b {
        b' ' | b'\t' => Ok(Step::ExtNameBws),
        b'=' => Ok(Step::ExtValueBws),
        b';' => Ok(Step::ExtBws),
        _ => Err(ParseError::BadBody("invalid chunk extension")),
    }
}

fn ext_value_bws(b: u8) -> Result<Step, ParseError> {
    match b {
        b' ' | b'\t' => Ok(Step::ExtValueBws),
        b'"' => Ok(Step::ExtQuoted),
        _ if is_tchar(b) => Ok(Step::ExtToken),
        _ => Err(ParseError::BadBody("missing chunk extension value")),
    }
}

/// After a complete extension value: another extension, BWS, or the end of the line.
fn after_ext_value(b: u8) -> Result<Step, ParseError> {
    match b {
        b';' => Ok(Step::ExtBws),
        b' ' | b'\t' => Ok(Step::SizeBws),
        b'\r' => Ok(Step::SizeLf),
        _ => Err(ParseError::BadBody("invalid chunk extension")),
    }
}

/// `qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text` (RFC 9110 5.6.4).
fn ext_quoted(b: u8) -> Result<Step, ParseError> {
    match b {
        b'"' => Ok(Step::ExtQuotedEnd),
        b'\\' => Ok(Step::ExtQuotedEscape),
        b'\t' | b' '..=b'~' | 0x80..=0xFF => Ok(Step::ExtQuoted),
        _ => Err(ParseError::BadBody(
            "unterminated quoted string in a chunk extension",
        )),
    }
}

/// `quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )`.
fn ext_quoted_escape(b: u8) -> Result<Step, ParseError> {
    match b {
        b'\t' | b' '..=b'~' | 0x80..=0xFF => Ok(Step::ExtQuoted),
        _ => Err(ParseError::BadBody("invalid escape in a chunk extension")),
    }
}

/// Errors of the shared line grammar are body errors here.
fn body_error(e: ParseError) -> ParseError {
    match e {
        ParseError::BadRequest(why) => ParseError::BadBody(why),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use bytes::{Bytes, BytesMut};

    use crate::limits::{MAX_CHUNK_LINE, MAX_TRAILER_SIZE};
    use crate::{BodyKind, Decoded, Decoder, Headers, ParseError};

    /// The body, the trailers, and the bytes left after it.
    type Complete = (Vec<u8>, Headers, Vec<u8>);

    /// Decodes `input` delivered in pieces cut at `cuts`; `Ok(None)` if it never completes.
    fn decode_split(
        input: &[u8],
        cuts: &[usize],
        max: u64,
    ) -> Result<Option<Complete>, ParseError> {
        let mut d = Decoder::new(BodyKind::Chunked, max);
        let mut buf = BytesMut::new();
        let mut body = Vec::new();
        let mut fed = 0;
        for &end in cuts.iter().chain(std::iter::once(&input.len())) {
            buf.extend_from_slice(&input[fed..end]);
            fed = end;
            loop {
                match d.decode(&mut buf)? {
                    Decoded::Data(b) => body.extend_from_slice(&b),
                    Decoded::NeedMore => break,
                    Decoded::Done => {
                        let rest = [&buf[..], &input[fed..]].concat();
                        return Ok(Some((body, d.trailers().clone(), rest)));
                    }
                }
            }
        }
        Ok(None)
    }

    fn decode(input: &[u8]) -> Result<Complete, ParseError> {
        decode_split(input, &[], 1 << 20)?.ok_or(ParseError::BadBody("incomplete"))
    }

    fn body(input: &[u8]) -> Vec<u8> {
        match decode(input) {
            Ok((body, _, _)) => body,
            Err(e) => panic!("{:?}: {e:?}", String::from_utf8_lossy(input)),
        }
    }

    fn bad(input: &[u8]) {
        let r = decode_split(input, &[], 1 << 20);
        assert!(
            matches!(r, Err(ParseError::BadBody(_))),
            "{:?}: {r:?}",
            String::from_utf8_lossy(input)
        );
    }

    #[test]
    fn decodes_chunks_and_leaves_what_follows() {
        let (body, trailers, rest) =
            decode(b"5\r\nhello\r\n6\r\n world\r\n000\r\n\r\nGET /").expect("valid");
        assert_eq!(body, b"hello world");
        assert!(trailers.is_empty());
        assert_eq!(rest, b"GET /");
        assert_eq!(self::body(b"a\r\n0123456789\r\n0\r\n\r\n"), b"0123456789");
        assert_eq!(self::body(b"A\r\n0123456789\r\n0\r\n\r\n"), b"0123456789");
        assert_eq!(self::body(b"0\r\n\r\n"), b"");
        assert_eq!(self::body(b"0000000000000001\r\nx\r\n0\r\n\r\n"), b"x");
    }

    #[test]
    fn data_is_handed_out_without_copying_the_rest() {
        let mut d = Decoder::new(BodyKind::Chunked, 100);
        let mut buf = BytesMut::from(&b"5\r\nhel"[..]);
        assert_eq!(
            d.decode(&mut buf),
            Ok(Decoded::Data(Bytes::from_static(b"hel")))
        );
        assert_eq!(d.decode(&mut buf), Ok(Decoded::NeedMore));
        buf.extend_from_slice(b"lo\r\n0\r\n\r\n");
        assert_eq!(
            d.decode(&mut buf),
            Ok(Decoded::Data(Bytes::from_static(b"lo")))
        );
        assert_eq!(d.decode(&mut buf), Ok(Decoded::Done));
        assert!(d.is_done());
        assert_eq!(d.bytes_seen(), 5);
        assert_eq!(d.eof(), Ok(()));
    }

    #[test]
    fn extensions_are_checked_and_dropped() {
        for ok in [
            &b"5;ilovew3;somuchlove=aretheseparametersfor;another=withvalue\r\nhello\r\n0\r\n\r\n"[..],
            b"5;ilovew3=\"I \\\"love\\\"; \\\\extensions\\\\\";somuchlove=\"aretheseparametersfor\";blah;foo=bar\r\nhello\r\n0\r\n\r\n",
            b"5 ;a = b ; c=\"d\"\r\nhello\r\n0;last\r\n\r\n",
            b"5;a=\"\xff\t\"\r\nhello\r\n0\r\n\r\n",
        ] {
            assert_eq!(body(ok), b"hello", "{:?}", String::from_utf8_lossy(ok));
        }
        for no in [
            &b"2;\r\naa\r\n0\r\n\r\n"[..],
            b"2 erfrferferf\r\naa\r\n0\r\n\r\n",
            b"5;a=\"abc\";b=\"def; ghi\r\nhello\r\n0\r\n\r\n",
            b"2;a=\r\naa\r\n0\r\n\r\n",
            b"2;a b\r\naa\r\n0\r\n\r\n",
            b"2;=b\r\naa\r\n0\r\n\r\n",
            b"2;a=\"b\"c\r\naa\r\n0\r\n\r\n",
            b"2;a=\"\x01\"\r\naa\r\n0\r\n\r\n",
            b"2;a=\"\\\x01\"\r\naa\r\n0\r\n\r\n",
            b"2;a=b\"\r\naa\r\n0\r\n\r\n",
        ] {
            bad(no);
        }
    }

    #[test]
    fn malformed_sizes_and_line_ends() {
        for no in [
            &b"\r\naa\r\n0\r\n\r\n"[..],
            b"x\r\n",
            b"-2\r\naa\r\n0\r\n\r\n",
            b"+2\r\naa\r\n0\r\n\r\n",
            b" 2\r\naa\r\n0\r\n\r\n",
            b"0x2\r\naa\r\n0\r\n\r\n",
            b"a \r\n0123456789\r\n0\r\n\r\n",
            b"3 \n  \r\nfoo\r\n\r\n",
            b"2\naa\r\n0\r\n\r\n",
            b"2\r\raa\r\n0\r\n\r\n",
            b"5\r\r;ABCD\r\n34\r\nE\r\n0\r\n\r\n",
            b"5\r\nABCDE0\r\n",
            b"2\r\naa\n0\r\n\r\n",
            b"2\r\naa\r0\r\n\r\n",
            b"3\r\nfoo\r\n\r\n",
            b"10000000000000000\r\n",
            b"00000000000000001\r\nx\r\n",
        ] {
            bad(no);
        }
    }

    #[test]
    fn size_line_is_limited() {
        let mut long = b"1;".to_vec();
        long.extend(std::iter::repeat_n(b'a', MAX_CHUNK_LINE));
        assert_eq!(
            decode_split(&long, &[], 100),
            Err(ParseError::BadBody("chunk size line too long"))
        );
        let mut fits = b"1;".to_vec();
        fits.extend(std::iter::repeat_n(b'a', MAX_CHUNK_LINE - 4));
        fits.extend_from_slice(b"\r\nx\r\n0\r\n\r\n");
        assert_eq!(body(&fits), b"x");
    }

    #[test]
    fn trailers_are_parsed_like_fields() {
        let (body, trailers, rest) =
            decode(b"5\r\nhello\r\n0\r\nVary: *\r\nContent-Type:  text/plain \r\n\r\nnext")
                .expect("valid");
        assert_eq!(body, b"hello");
        assert_eq!(trailers.get_str("vary"), Some("*"));
        assert_eq!(trailers.get_str("content-type"), Some("text/plain"));
        assert_eq!(rest, b"next");
        for no in [
            &b"0\r\n Folded: x\r\n\r\n"[..],
            b"0\r\nNoColon\r\n\r\n",
            b"0\r\nA: b\x01\r\n\r\n",
            b"0\r\nA: b\n\r\n",
            b"0\r\nA : b\r\n\r\n",
        ] {
            bad(no);
        }
    }

    #[test]
    fn trailer_section_is_limited() {
        let mut big = b"0\r\n".to_vec();
        while big.len() < MAX_TRAILER_SIZE + 10 {
            big.extend_from_slice(b"X-Filler: 0123456789012345678901234567890123456789\r\n");
        }
        assert_eq!(
            decode_split(&big, &[], 100),
            Err(ParseError::HeadersTooLarge)
        );
        // Without a line end, the limit still applies to what has arrived.
        let mut one_line = b"0\r\nX: ".to_vec();
        one_line.extend(std::iter::repeat_n(b'a', MAX_TRAILER_SIZE));
        assert_eq!(
            decode_split(&one_line, &[], 100),
            Err(ParseError::HeadersTooLarge)
        );
    }

    #[test]
    fn body_past_the_limit_is_too_large() {
        assert_eq!(
            decode_split(b"5\r\nhello\r\n0\r\n\r\n", &[], 5).map(|r| r.is_some()),
            Ok(true)
        );
        assert_eq!(
            decode_split(b"5\r\nhello\r\n1\r\n", &[], 5),
            Err(ParseError::BodyTooLarge)
        );
        assert_eq!(
            decode_split(b"ffffffffffffffff\r\n", &[], u64::MAX - 1),
            Err(ParseError::BodyTooLarge)
        );
    }

    #[test]
    fn every_split_gives_the_same_result() {
        let inputs: &[&[u8]] = &[
            b"5;a=\"q\\\"x\";b\r\nhello\r\n6 ;c=d\r\n world\r\n0\r\nVary: *\r\n\r\nrest",
            b"1e\r\nall your base are belong to us\r\n000\r\n\r\n",
            b"5\r\nABCDE0\r\n",
            b"2;a=\"abc\r\naa\r\n0\r\n\r\n",
        ];
        for input in inputs {
            let whole = decode_split(input, &[], 1 << 20);
            for cut in 0..=input.len() {
                assert_eq!(
                    decode_split(input, &[cut], 1 << 20),
                    whole,
                    "one cut at {cut}"
                );
            }
            let every_byte: Vec<usize> = (1..input.len()).collect();
            assert_eq!(
                decode_split(input, &every_byte, 1 << 20),
                whole,
                "byte by byte"
            );
        }
    }
}

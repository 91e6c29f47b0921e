//! The byte-level grammar shared by the head parser and the chunked decoder: tokens, field
//! values, and finding a CRLF-terminated line (RFC 9110 section 5, RFC 9112 section 2.2).

use crate::ParseError;
use crate::headers::trim_ows;

/// `tchar` and tokens (RFC 9110 5.6.2), shared with every other reader of HTTP lists.
pub(crate) use semantics::list::{is_tchar, is_token};

/// Where the line starting at `start` ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Line {
    /// The line's content ends at `.0` (exclusive); its CRLF ends at `.0 + 2`.
    Complete(usize),
    /// No CRLF yet, and the line is still within its length limit.
    Partial,
    /// No CRLF within the length limit.
    TooLong,
}

/// Finds the CRLF ending the line that starts at `start`, looking at most `max` bytes ahead
/// (CRLF included).
///
/// RFC 9112 2.2 lets a recipient accept a bare LF; we do not, and a CR that is not followed by
/// LF is an error too: both are how request smuggling starts. Only CR and LF are searched
/// for, so the scan runs at `memchr` speed.
pub(crate) fn find_line(buf: &[u8], start: usize, max: usize) -> Result<Line, ParseError> {
    let window = &buf[start..buf.len().min(start.saturating_add(max))];
    let Some(i) = memchr::memchr2(b'\r', b'\n', window) else {
        return Ok(if window.len() >= max {
            Line::TooLong
        } else {
            Line::Partial
        });
    };
    if window[i] == b'\n' {
        return Err(ParseError::BadRequest("line ends in a bare LF"));
    }
    if i + 2 > max {
        // Whatever follows this CR, the line cannot fit: the same answer for any split.
        return Ok(Line::TooLong);
    }
    match buf.get(start + i + 1) {
        Some(b'\n') => Ok(Line::Complete(start + i)),
        Some(_) => Err(ParseError::BadRequest("bare CR")),
        None => Ok(Line::Partial),
    }
}

/// A field line split into its name and its value, OWS trimmed (RFC 9112 5).
///
/// ```text
/// field-line = field-name ":" OWS field-value OWS
/// ```
/// A line starting with whitespace is obsolete line folding (RFC 9112 5.2), which a server
/// must either reject or replace; we reject it. Whitespace between the name and the colon
/// must be rejected (RFC 9112 5.1); it fails the token check.
pub(crate) fn split_field_line(line: &[u8]) -> Result<(&[u8], &[u8]), ParseError> {
    if matches!(line.first(), Some(b' ' | b'\t')) {
        return Err(ParseError::BadRequest("obsolete line folding"));
    }
    let colon =
        memchr::memchr(b':', line).ok_or(ParseError::BadRequest("field line without a colon"))?;
    let name = &line[..colon];
    if !is_token(name) {
        return Err(ParseError::BadRequest("invalid field name"));
    }
    Ok((name, trim_ows(&line[colon + 1..])))
}

/// Splits a comma-separated list into its trimmed elements (RFC 9110 5.6.1). Empty elements
/// are yielded too; callers that do not allow them check for them.
pub(crate) fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(trim_ows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tchar_matches_the_rfc() {
        let expected: Vec<u8> = (0u8..=255)
            .filter(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b))
            .collect();
        let actual: Vec<u8> = (0u8..=255).filter(|&b| is_tchar(b)).collect();
        assert_eq!(actual, expected);
    }

    #[test]
    fn header_values_allow_exactly_the_field_value_bytes() {
        // RFC 9110 5.5: field-value = *( VCHAR / obs-text / SP / HTAB ), which the parsers
        // leave to `HeaderValue` to enforce.
        for b in 0u8..=255 {
            let allowed = b == b'\t' || b == b' ' || b.is_ascii_graphic() || b >= 0x80;
            let built = http::HeaderValue::from_bytes(&[b'a', b, b'a']).is_ok();
            assert_eq!(built, allowed, "{b:#x}");
        }
    }

    #[test]
    fn lines_end_in_crlf_only() {
        assert_eq!(find_line(b"ab\r\ncd", 0, 100), Ok(Line::Complete(2)));
        assert_eq!(find_line(b"ab\r\ncd\r\n", 4, 100), Ok(Line::Complete(6)));
        assert_eq!(find_line(b"ab\r", 0, 100), Ok(Line::Partial));
        assert_eq!(find_line(b"ab", 0, 100), Ok(Line::Partial));
        assert!(find_line(b"ab\ncd", 0, 100).is_err());
        assert!(find_line(b"ab\rcd", 0, 100).is_err());
    }

    #[test]
    fn line_limit_counts_the_crlf() {
        assert_eq!(find_line(b"abcd\r\n", 0, 6), Ok(Line::Complete(4)));
        assert_eq!(find_line(b"abcd\r\n", 0, 5), Ok(Line::TooLong));
        assert_eq!(find_line(b"abcde\r\n", 0, 5), Ok(Line::TooLong));
        assert_eq!(find_line(b"abcd", 0, 5), Ok(Line::Partial));
        assert_eq!(find_line(b"abcde", 0, 5), Ok(Line::TooLong));
        // Found by fuzzing: a CR at the limit is too long whether or not a bad byte follows,
        // so a prefix of the input gets the same answer as the whole.
        assert_eq!(find_line(b"abcd\r", 0, 5), Ok(Line::TooLong));
        assert_eq!(find_line(b"abcd\r\x08", 0, 5), Ok(Line::TooLong));
    }

    #[test]
    fn field_lines() {
        assert_eq!(
            split_field_line(b"Foo: bar "),
            Ok((&b"Foo"[..], &b"bar"[..]))
        );
        assert_eq!(
            split_field_line(b"Foo:\t b\tar\t"),
            Ok((&b"Foo"[..], &b"b\tar"[..]))
        );
        assert_eq!(split_field_line(b"X:"), Ok((&b"X"[..], &b""[..])));
        for bad in [
            &b" Foo: bar"[..],
            b"Foo",
            b": bar",
            b"Foo :bar",
            b"F o: bar",
        ] {
            assert!(split_field_line(bad).is_err(), "{bad:?}");
        }
    }
}

//! How a message body is delimited (RFC 9112 section 6), and the header fields that decide it.
//!
//! The parser feeds every `Content-Length` and `Transfer-Encoding` field to a [`Framing`] as it
//! meets them and asks for the [`BodyKind`] at the end, so each field is read once and the
//! smuggling rules (CL with TE, disagreeing lengths, `chunked` not last) live in one place.

use http::Version;
use semantics::decimal::parse_u64 as parse_decimal;

use crate::ParseError;
use crate::syntax::{is_token, list_elements};

/// The framing of a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// No body: no `Content-Length` and no `Transfer-Encoding` on a request, or a response to
    /// `HEAD`, or a 1xx/204/304 response.
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the peer closes (responses only, RFC 9112 6.3 rule 8).
    UntilClose,
}

/// What the framing fields of one head said so far.
#[derive(Debug, Default)]
pub(crate) struct Framing {
    content_length: Option<u64>,
    codings: Codings,
}

/// The transfer codings listed over all `Transfer-Encoding` fields, in order.
#[derive(Debug, Default)]
struct Codings {
    /// How many codings were listed.
    count: usize,
    /// Whether the last one listed is `chunked`.
    last_is_chunked: bool,
}

impl Framing {
    /// Reads one `Content-Length` field value.
    ///
    /// RFC 9112 6.3 rule 5: a list of identical lengths (from a proxy that merged fields) is
    /// one length; anything else that is not a single decimal number is unrecoverable.
    pub(crate) fn content_length(&mut self, value: &[u8]) -> Result<(), ParseError> {
        for element in list_elements(value) {
            let n =
                parse_decimal(element).ok_or(ParseError::BadRequest("invalid Content-Length"))?;
            if self.content_length.is_some_and(|seen| seen != n) {
                return Err(ParseError::BadRequest("conflicting Content-Length values"));
            }
            self.content_length = Some(n);
        }
        Ok(())
    }

    /// Reads one `Transfer-Encoding` field value: a non-empty list of codings (RFC 9112 6.1).
    pub(crate) fn transfer_encoding(&mut self, value: &[u8]) -> Result<(), ParseError> {
        for element in list_elements(value) {
            // Coding parameters are not accepted: no coding we could decode has any.
            if !is_token(element) {
                return Err(ParseError::BadRequest("invalid Transfer-Encoding"));
            }
            if self.codings.last_is_chunked {
                // RFC 9112 6.3 rule 4: chunked must be the final coding, or the length of
                // the body cannot be determined.
                return Err(ParseError::BadRequest(
                    "chunked is not the final transfer coding",
                ));
            }
            self.codings.count += 1;
            self.codings.last_is_chunked = element.eq_ignore_ascii_case(b"chunked");
        }
        Ok(())
    }

    /// The body framing, once every field has been read.
    ///
    /// - `Transfer-Encoding` together with `Content-Length` is a smuggling attempt or a broken
    ///   proxy: 400 (RFC 9112 6.3 rule 3 allows processing it; we refuse it, as it must
    ///   then close the connection anyway).
    /// - `Transfer-Encoding` in HTTP/1.0 is a 400 for the same reason (RFC 9112 6.1).
    /// - Codings other than one `chunked` are 501: we decode no other coding.
    /// - A declared length over `max_body` is 413 before a byte of body is read.
    pub(crate) fn finish(self, version: Version, max_body: u64) -> Result<BodyKind, ParseError> {
        if self.codings.count > 0 {
            if self.content_length.is_some() {
                return Err(ParseError::BadRequest(
                    "both Transfer-Encoding and Content-Length",
                ));
            }
            if version == Version::HTTP_10 {
                return Err(ParseError::BadRequest(
                    "Transfer-Encoding in an HTTP/1.0 request",
                ));
            }
            if self.codings.count > 1 || !self.codings.last_is_chunked {
                return Err(ParseError::UnsupportedTransferCoding);
            }
            return Ok(BodyKind::Chunked);
        }
        match self.content_length {
            None | Some(0) => Ok(BodyKind::Empty),
            Some(n) if n > max_body => Err(ParseError::BodyTooLarge),
            Some(n) => Ok(BodyKind::Length(n)),
        }
    }
}

/// The options of the `Connection` header that decide persistence (RFC 9112 9.3).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct ConnectionOptions {
    close: bool,
    keep_alive: bool,
}

impl ConnectionOptions {
    /// Reads one `Connection` field value.
    pub(crate) fn add(&mut self, value: &[u8]) {
        for option in list_elements(value) {
            self.close |= option.eq_ignore_ascii_case(b"close");
            self.keep_alive |= option.eq_ignore_ascii_case(b"keep-alive");
        }
    }

    /// Whether the connection persists: HTTP/1.1 unless `close`, HTTP/1.0 only with
    /// `keep-alive` (and no `close`).
    pub(crate) fn keep_alive(self, version: Version) -> bool {
        !self.close && (version != Version::HTTP_10 || self.keep_alive)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: u64 = 1000;

    fn framing(cl: &[&str], te: &[&str], version: Version) -> Result<BodyKind, ParseError> {
        let mut f = Framing::default();
        for v in cl {
            f.content_length(v.as_bytes())?;
        }
        for v in te {
            f.transfer_encoding(v.as_bytes())?;
        }
        f.finish(version, MAX)
    }

    fn v11(cl: &[&str], te: &[&str]) -> Result<BodyKind, ParseError> {
        framing(cl, te, Version::HTTP_11)
    }

    #[test]
    fn content_length() {
        assert_eq!(v11(&[], &[]), Ok(BodyKind::Empty));
        assert_eq!(v11(&["0"], &[]), Ok(BodyKind::Empty));
        assert_eq!(v11(&["003"], &[]), Ok(BodyKind::Length(3)));
        assert_eq!(v11(&["5, 5", "5"], &[]), Ok(BodyKind::Length(5)));
        assert_eq!(v11(&["1000"], &[]), Ok(BodyKind::Length(1000)));
        assert_eq!(v11(&["1001"], &[]), Err(ParseError::BodyTooLarge));
        assert_eq!(
            v11(&["18446744073709551615"], &[]),
            Err(ParseError::BodyTooLarge)
        );
        for bad in [
            "",
            "4 2",
            "+5",
            "-1",
            "0x10",
            "5,",
            ",5",
            "1000000000000000000000",
            "18446744073709551616",
        ] {
            assert!(
                matches!(v11(&[bad], &[]), Err(ParseError::BadRequest(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            v11(&["1", "2"], &[]),
            Err(ParseError::BadRequest(_))
        ));
        assert!(matches!(
            v11(&["1, 2"], &[]),
            Err(ParseError::BadRequest(_))
        ));
    }

    #[test]
    fn transfer_encoding() {
        assert_eq!(v11(&[], &["chunked"]), Ok(BodyKind::Chunked));
        assert_eq!(v11(&[], &["CHUNKED"]), Ok(BodyKind::Chunked));
        let unsupported = Err(ParseError::UnsupportedTransferCoding);
        for te in [
            &["identity"][..],
            &["pigeons"],
            &["chunkedchunked"],
            &["deflate"],
            &["deflate, chunked"],
        ] {
            assert_eq!(v11(&[], te), unsupported, "{te:?}");
        }
        assert_eq!(v11(&[], &["deflate", "chunked"]), unsupported);
        for te in [
            &["chunked, deflate"][..],
            &["chunked", "deflate"],
            &[""],
            &["chunked,"],
            &[", chunked"],
            &["chunked, chunked"],
        ] {
            assert!(
                matches!(v11(&[], te), Err(ParseError::BadRequest(_))),
                "{te:?}"
            );
        }
    }

    #[test]
    fn transfer_encoding_excludes_content_length_and_http_10() {
        assert!(matches!(
            v11(&["1"], &["identity"]),
            Err(ParseError::BadRequest(_))
        ));
        assert!(matches!(
            v11(&["10"], &["chunked"]),
            Err(ParseError::BadRequest(_))
        ));
        let r = framing(&[], &["chunked"], Version::HTTP_10);
        assert!(matches!(r, Err(ParseError::BadRequest(_))));
    }

    #[test]
    fn connection_options() {
        let opts = |v: &str| {
            let mut o = ConnectionOptions::default();
            o.add(v.as_bytes());
            o
        };
        assert!(opts("").keep_alive(Version::HTTP_11));
        assert!(!opts("close\t").keep_alive(Version::HTTP_11));
        assert!(!opts("").keep_alive(Version::HTTP_10));
        assert!(opts("Keep-Alive").keep_alive(Version::HTTP_10));
        assert!(!opts("keep-alive, close").keep_alive(Version::HTTP_10));
        assert!(!opts("close, token, upgrade, token, keep-alive").keep_alive(Version::HTTP_11));
    }
}

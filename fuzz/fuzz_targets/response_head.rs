//! Feeds arbitrary bytes to the client's side: the response-head parser, then the body framed
//! the way the client frames it (`Content-Length`, `chunked` or until close), as the client
//! does with no size limit.
//!
//! Beyond "never panics": a prefix of the input is incomplete or parses to the same head as the
//! whole; a parsed head written back out parses to the same head; the body decodes to the same
//! bytes, trailers and leftovers whether it arrives whole or in three reads; and what the
//! framing promised holds (a `Content-Length` body has exactly that length, an empty one
//! consumes nothing, a close-delimited one is everything up to the close).

#![no_main]

use bytes::BytesMut;
use http1::client::{ResponseError, ResponseHead, parse_response_head};
use http1::{BodyKind, Decoded, Decoder, Headers, Method, ParseError, Version};
use libfuzzer_sys::fuzz_target;

/// The body, the trailers and the bytes after the body, or the error, or `None` if the
/// connection closed before the body ended.
type Body = Result<Option<(Vec<u8>, Headers, Vec<u8>)>, ParseError>;

fuzz_target!(|data: &[u8]| {
    let whole = parse_response_head(data);
    let (a, b) = cuts(data);
    for cut in [a, b] {
        match parse_response_head(&data[..cut]) {
            Ok(None) => {}
            prefix => assert_eq!(summary(&prefix), summary(&whole), "cut at {cut}"),
        }
    }
    let Ok(Some((head, used))) = whole else {
        return;
    };
    assert!(0 < used && used <= data.len());
    let _ = (head.is_interim(), head.keep_alive());
    let rendered = render(&head);
    let again = parse_response_head(&rendered);
    assert_eq!(
        summary(&again),
        summary(&Ok(Some((head.clone(), rendered.len()))))
    );

    let rest = &data[used..];
    for method in [Method::GET, Method::HEAD, Method::CONNECT] {
        let Ok(kind) = head.body_kind(&method) else {
            continue;
        };
        if method == Method::HEAD {
            assert_eq!(kind, BodyKind::Empty);
        }
        let (a, b) = cuts(rest);
        let once = decode(kind, rest, &[]);
        assert_eq!(decode(kind, rest, &[a, b]), once);
        let Ok(Some((body, _, after))) = once else {
            continue;
        };
        assert!(body.len() + after.len() <= rest.len());
        match kind {
            BodyKind::Empty => assert!(body.is_empty() && after == rest),
            BodyKind::Length(n) => assert_eq!(body.len() as u64, n),
            BodyKind::UntilClose => assert!(body == rest && after.is_empty()),
            BodyKind::Chunked => {}
        }
    }
});

/// Two cut points taken from the first bytes of `data`.
fn cuts(data: &[u8]) -> (usize, usize) {
    let n = data.len() + 1;
    let (a, b) = match data {
        [x, y, ..] => (usize::from(*x) % n, usize::from(*y) % n),
        _ => (0, 0),
    };
    (a.min(b), a.max(b))
}

/// A comparable form of a parse result (a head has no `PartialEq`).
fn summary(r: &Result<Option<(ResponseHead, usize)>, ResponseError>) -> String {
    format!("{r:?}")
}

/// The head as a server would send it.
fn render(head: &ResponseHead) -> Vec<u8> {
    let version = if head.version == Version::HTTP_10 {
        "1.0"
    } else {
        "1.1"
    };
    let mut out = format!("HTTP/{version} {} ", head.status.as_u16()).into_bytes();
    out.extend_from_slice(head.reason.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in head.headers.iter() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Decodes a body of `kind` from reads ending at `cuts` and then the rest, then the close.
fn decode(kind: BodyKind, input: &[u8], cuts: &[usize]) -> Body {
    let mut decoder = Decoder::new(kind, u64::MAX);
    let mut buf = BytesMut::new();
    let mut body = Vec::new();
    let mut fed = 0;
    for &end in cuts.iter().chain(std::iter::once(&input.len())) {
        buf.extend_from_slice(&input[fed..end]);
        fed = end;
        loop {
            match decoder.decode(&mut buf)? {
                Decoded::Data(piece) => body.extend_from_slice(&piece),
                Decoded::NeedMore => break,
                Decoded::Done => {
                    let after = [&buf[..], &input[fed..]].concat();
                    return Ok(Some((body, decoder.trailers().clone(), after)));
                }
            }
        }
    }
    match decoder.eof() {
        Ok(()) if decoder.is_done() || kind == BodyKind::UntilClose => {
            Ok(Some((body, decoder.trailers().clone(), Vec::new())))
        }
        Ok(()) => Ok(None),
        Err(_) => Ok(None),
    }
}

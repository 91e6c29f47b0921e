//! The state machines behind [`crate::Decoder`]: one variant per framing.

use bytes::BytesMut;

use crate::chunked::Chunked;
use crate::{BodyKind, Decoded, Headers, ParseError};

#[derive(Debug, Clone)]
pub(crate) enum State {
    /// A `Content-Length` body with this many bytes still to come.
    Length(u64),
    /// A chunked body.
    Chunked(Chunked),
    /// Everything until the peer closes.
    UntilClose,
    /// The body is complete.
    Done,
    /// The body was found malformed (or too large): every later call fails the same way, so
    /// nothing after the error is ever read as body or as the next request.
    Failed(ParseError),
}

impl State {
    pub(crate) fn new(kind: BodyKind) -> State {
        match kind {
            BodyKind::Empty | BodyKind::Length(0) => State::Done,
            BodyKind::Length(n) => State::Length(n),
            BodyKind::Chunked => State::Chunked(Chunked::new()),
            BodyKind::UntilClose => State::UntilClose,
        }
    }

    pub(crate) fn is_done(&self) -> bool {
        match self {
            State::Done => true,
            State::Chunked(chunked) => chunked.is_done(),
            State::Length(_) | State::UntilClose | State::Failed(_) => false,
        }
    }

    pub(crate) fn remaining(&self) -> Option<u64> {
        match self {
            State::Length(n) => Some(*n),
            State::Chunked(chunked) if chunked.is_done() => Some(0),
            State::Done => Some(0),
            State::Chunked(_) | State::UntilClose | State::Failed(_) => None,
        }
    }
}

pub(crate) fn decode(
    state: &mut State,
    buf: &mut BytesMut,
    seen: &mut u64,
    max: u64,
    trailers: &mut Headers,
) -> Result<Decoded, ParseError> {
    let result = decode_step(state, buf, seen, max, trailers);
    if let Err(e) = &result {
        *state = State::Failed(e.clone());
    }
    result
}

fn decode_step(
    state: &mut State,
    buf: &mut BytesMut,
    seen: &mut u64,
    max: u64,
    trailers: &mut Headers,
) -> Result<Decoded, ParseError> {
    match state {
        State::Failed(e) => Err(e.clone()),
        State::Done => Ok(Decoded::Done),
        State::Length(remaining) => {
            let (decoded, left) = length(*remaining, buf, seen, max)?;
            *state = if left == 0 {
                State::Done
            } else {
                State::Length(left)
            };
            Ok(decoded)
        }
        State::Chunked(chunked) => chunked.decode(buf, seen, max, trailers),
        State::UntilClose => until_close(buf, seen, max),
    }
}

/// Hands out what is buffered of the `remaining` bytes (zero-copy: the front of `buf` is split
/// off). Returns the piece and how many bytes are still to come.
fn length(
    remaining: u64,
    buf: &mut BytesMut,
    seen: &mut u64,
    max: u64,
) -> Result<(Decoded, u64), ParseError> {
    if buf.is_empty() {
        return Ok((Decoded::NeedMore, remaining));
    }
    let take = usize::try_from(remaining)
        .unwrap_or(usize::MAX)
        .min(buf.len());
    let data = take_counted(buf, take, seen, max)?;
    Ok((data, remaining - take as u64))
}

/// Hands out everything buffered.
fn until_close(buf: &mut BytesMut, seen: &mut u64, max: u64) -> Result<Decoded, ParseError> {
    if buf.is_empty() {
        return Ok(Decoded::NeedMore);
    }
    take_counted(buf, buf.len(), seen, max)
}

/// Splits `n` bytes off `buf` as body data, unless they would take the body past `max`.
fn take_counted(
    buf: &mut BytesMut,
    n: usize,
    seen: &mut u64,
    max: u64,
) -> Result<Decoded, ParseError> {
    let total = seen.saturating_add(n as u64);
    if total > max {
        return Err(ParseError::BodyTooLarge);
    }
    *seen = total;
    Ok(Decoded::Data(buf.split_to(n).freeze()))
}

/// The peer closed the connection: the end of a close-delimited body, an error for any other
/// body not yet complete (RFC 9112 8: an incomplete message).
pub(crate) fn eof(state: &mut State) -> Result<(), ParseError> {
    match state {
        State::Failed(e) => Err(e.clone()),
        State::UntilClose => {
            *state = State::Done;
            Ok(())
        }
        _ if state.is_done() => Ok(()),
        _ => Err(ParseError::BadBody(
            "connection closed before the end of the body",
        )),
    }
}

#[cfg(test)]
mod tests {
    use bytes::{Bytes, BytesMut};

    use crate::{BodyKind, Decoded, Decoder, ParseError};

    /// Decodes everything in `buf`, returning the data pieces and the final non-data result.
    fn drain(
        decoder: &mut Decoder,
        buf: &mut BytesMut,
    ) -> (Vec<Bytes>, Result<Decoded, ParseError>) {
        let mut pieces = Vec::new();
        loop {
            match decoder.decode(buf) {
                Ok(Decoded::Data(b)) => pieces.push(b),
                other => return (pieces, other),
            }
        }
    }

    #[test]
    fn malformed_trailer_line_error_is_sticky() {
        for input in [
            &b"0\r\nno colon\r\n\r\n"[..],
            b"0\r\nA: b\r\n folded\r\n\r\n",
        ] {
            let mut d = Decoder::new(BodyKind::Chunked, 1000);
            let mut buf = BytesMut::from(input);
            let first = loop {
                match d.decode(&mut buf) {
                    Ok(Decoded::Data(_)) => {}
                    other => break other,
                }
            };
            assert!(matches!(first, Err(ParseError::BadBody(_))), "{first:?}");
            assert_eq!(d.decode(&mut buf), first, "the error stays");
            assert!(d.eof().is_err());
            assert!(!d.is_done());
        }
    }

    #[test]
    fn empty_and_zero_length_are_done_at_once() {
        for kind in [BodyKind::Empty, BodyKind::Length(0)] {
            let mut d = Decoder::new(kind, 10);
            let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\n"[..]);
            assert!(d.is_done());
            assert_eq!(d.decode(&mut buf), Ok(Decoded::Done));
            assert_eq!(buf.len(), 16, "the next request stays in the buffer");
            assert_eq!(d.eof(), Ok(()));
        }
    }

    #[test]
    fn length_hands_out_what_is_buffered_and_no_more() {
        let mut d = Decoder::new(BodyKind::Length(5), 100);
        let mut buf = BytesMut::from(&b"he"[..]);
        assert_eq!(
            d.decode(&mut buf),
            Ok(Decoded::Data(Bytes::from_static(b"he")))
        );
        assert_eq!(d.decode(&mut buf), Ok(Decoded::NeedMore));
        assert!(d.eof().is_err());
        buf.extend_from_slice(b"lloGET");
        assert_eq!(
            d.decode(&mut buf),
            Ok(Decoded::Data(Bytes::from_static(b"llo")))
        );
        assert!(d.is_done());
        assert_eq!(d.decode(&mut buf), Ok(Decoded::Done));
        assert_eq!(&buf[..], b"GET");
        assert_eq!(d.bytes_seen(), 5);
        assert_eq!(d.eof(), Ok(()));
    }

    #[test]
    fn length_past_the_limit_is_too_large() {
        let mut d = Decoder::new(BodyKind::Length(10), 4);
        let mut buf = BytesMut::from(&b"0123"[..]);
        assert!(matches!(d.decode(&mut buf), Ok(Decoded::Data(_))));
        buf.extend_from_slice(b"4");
        assert_eq!(d.decode(&mut buf), Err(ParseError::BodyTooLarge));
    }

    #[test]
    fn until_close_ends_at_eof() {
        let mut d = Decoder::new(BodyKind::UntilClose, 100);
        let mut buf = BytesMut::from(&b"abc"[..]);
        let (pieces, end) = drain(&mut d, &mut buf);
        assert_eq!(pieces, [Bytes::from_static(b"abc")]);
        assert_eq!(end, Ok(Decoded::NeedMore));
        assert_eq!(d.eof(), Ok(()));
        assert!(d.is_done());
        assert_eq!(d.decode(&mut buf), Ok(Decoded::Done));
        let mut d = Decoder::new(BodyKind::UntilClose, 2);
        assert_eq!(
            d.decode(&mut BytesMut::from(&b"abc"[..])),
            Err(ParseError::BodyTooLarge)
        );
    }

    #[test]
    fn chunked_eof_before_the_end_is_an_error() {
        let mut d = Decoder::new(BodyKind::Chunked, 100);
        let mut buf = BytesMut::from(&b"3\r\nab"[..]);
        let (_, end) = drain(&mut d, &mut buf);
        assert_eq!(end, Ok(Decoded::NeedMore));
        let err = d.eof().expect_err("incomplete body");
        assert_eq!(
            err,
            ParseError::BadBody("connection closed before the end of the body")
        );
    }
}

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
            State::Length(_) | State::UntilClose => false,
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
    match state {
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

//! Streaming body decoders for `Content-Length` and `chunked` bodies.
//!
//! A decoder never holds the body: each call hands back the bytes available now and leaves the
//! rest of the buffer for the next request, so a large upload streams through in pieces.

use bytes::{Bytes, BytesMut};

use crate::{BodyKind, Headers, ParseError};

/// What one call to [`Decoder::decode`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A piece of the body, split off the front of the buffer.
    Data(Bytes),
    /// The buffer holds no complete piece; read more and call again.
    NeedMore,
    /// The body is complete; the buffer now starts at whatever follows it.
    Done,
}

/// Decodes one body out of a connection's read buffer.
#[derive(Debug, Clone)]
pub struct Decoder {
    state: crate::decode_impl::State,
    max_size: u64,
    seen: u64,
    trailers: Headers,
}

impl Decoder {
    /// A decoder for a body of `kind` that may hold at most `max_size` bytes
    /// (more is [`ParseError::BodyTooLarge`]).
    pub fn new(kind: BodyKind, max_size: u64) -> Decoder {
        Decoder {
            state: crate::decode_impl::State::new(kind),
            max_size,
            seen: 0,
            trailers: Headers::new(),
        }
    }

    /// Takes the next piece of body from the front of `buf`.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Decoded, ParseError> {
        crate::decode_impl::decode(
            &mut self.state,
            buf,
            &mut self.seen,
            self.max_size,
            &mut self.trailers,
        )
    }

    /// Tells the decoder the peer closed the connection: fine for a close-delimited body or one
    /// already complete, an error anywhere else.
    pub fn eof(&mut self) -> Result<(), ParseError> {
        crate::decode_impl::eof(&mut self.state)
    }

    /// Whether the whole body has been decoded.
    pub fn is_done(&self) -> bool {
        self.state.is_done()
    }

    /// Body bytes still to come when the framing says (`Content-Length`); `None` for a chunked
    /// or close-delimited body, whose end is known only when it arrives.
    pub fn remaining(&self) -> Option<u64> {
        self.state.remaining()
    }

    /// Body bytes decoded so far.
    pub fn bytes_seen(&self) -> u64 {
        self.seen
    }

    /// Trailer fields received after the last chunk (empty until [`Decoded::Done`]).
    pub fn trailers(&self) -> &Headers {
        &self.trailers
    }
}

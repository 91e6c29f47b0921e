//! The state machines behind [`crate::Decoder`].

use bytes::BytesMut;

use crate::{BodyKind, Decoded, Headers, ParseError};

#[derive(Debug, Clone)]
pub(crate) enum State {
    Done,
}

impl State {
    pub(crate) fn new(_kind: BodyKind) -> State {
        State::Done
    }

    pub(crate) fn is_done(&self) -> bool {
        matches!(self, State::Done)
    }
}

pub(crate) fn decode(
    _state: &mut State,
    _buf: &mut BytesMut,
    _seen: &mut u64,
    _max: u64,
    _trailers: &mut Headers,
) -> Result<Decoded, ParseError> {
    todo!("body decoder")
}

pub(crate) fn eof(_state: &mut State) -> Result<(), ParseError> {
    todo!("body decoder eof")
}

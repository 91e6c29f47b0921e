//! From the client's frames to messages: reassembly of fragments, permessage-deflate, UTF-8
//! checks and close frames, as a pure machine over a buffer (the socket only reads into it).

use bytes::{Bytes, BytesMut};

use super::deflate::{InflateError, Inflater};
use super::frame::{self, Frame, FrameError, OpCode};
use super::{CloseCode, CloseFrame, Message};

/// A message being reassembled from its frames.
struct Partial {
    text: bool,
    compressed: bool,
    data: BytesMut,
    /// How much of `data` is known to be valid UTF-8 (uncompressed text only): each fragment
    /// is checked as it arrives, so a message goes wrong at its first bad fragment.
    checked: usize,
}

impl Partial {
    /// Checks the text received since the last check: `Err` once a byte can begin no valid
    /// UTF-8 whatever follows; a sequence cut by the end of the fragment waits for the next.
    fn check_utf8(&mut self) -> Result<(), FrameError> {
        if !self.text || self.compressed {
            return Ok(());
        }
        match std::str::from_utf8(&self.data[self.checked..]) {
            Ok(_) => self.checked = self.data.len(),
            Err(e) if e.error_len().is_some() => return Err(invalid_utf8()),
            Err(e) => self.checked += e.valid_up_to(),
        }
        Ok(())
    }
}

/// What the client's frames amount to, once there is something to act on.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// A whole data message, or a pong.
    Message(Message),
    /// A ping, to be answered with a pong carrying the same payload.
    Ping(Bytes),
    /// A close, to be answered and followed by the end of the connection.
    Close(Option<CloseFrame>),
}

/// Turns the bytes a client sends into [`Event`]s, enforcing RFC 6455's rules and the limits.
pub struct Assembler {
    partial: Option<Partial>,
    inflater: Option<Inflater>,
    max_message: usize,
    max_frame: usize,
}

impl std::fmt::Debug for Assembler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assembler")
            .field("deflate", &self.inflater.is_some())
            .field("max_message", &self.max_message)
            .field("max_frame", &self.max_frame)
            .finish()
    }
}

impl Assembler {
    /// An assembler for a connection that agreed permessage-deflate (`inflater`) or not.
    pub(crate) fn new(inflater: Option<Inflater>, max_message: usize, max_frame: usize) -> Self {
        Assembler {
            partial: None,
            inflater,
            max_message,
            max_frame,
        }
    }

    /// Takes frames off the front of `buf` until one amounts to an [`Event`]; `Ok(None)` when
    /// `buf` holds no whole frame more (read more into it and call again). An error is a
    /// violation that closes the connection with its code.
    pub fn next(&mut self, buf: &mut BytesMut) -> Result<Option<Event>, FrameError> {
        let max = self.max_frame.min(self.max_message);
        while let Some(frame) = frame::parse(buf, self.inflater.is_some(), max)? {
            if let Some(event) = self.on_frame(frame)? {
                return Ok(Some(event));
            }
        }
        Ok(None)
    }

    fn on_frame(&mut self, f: Frame) -> Result<Option<Event>, FrameError> {
        match f.opcode {
            OpCode::Ping => Ok(Some(Event::Ping(f.payload.freeze()))),
            OpCode::Pong => Ok(Some(Event::Message(Message::Pong(f.payload.freeze())))),
            OpCode::Close => parse_close(&f.payload).map(|c| Some(Event::Close(c))),
            OpCode::Text | OpCode::Binary => {
                if self.partial.is_some() {
                    return Err(protocol("a new message before the last one ended"));
                }
                let mut partial = Partial {
                    text: f.opcode == OpCode::Text,
                    compressed: f.rsv1,
                    data: f.payload,
                    checked: 0,
                };
                if f.fin {
                    return self.finish(partial).map(Some);
                }
                partial.check_utf8()?;
                self.partial = Some(partial);
                Ok(None)
            }
            OpCode::Continuation => {
                let Some(mut partial) = self.partial.take() else {
                    return Err(protocol("a continuation with no message to continue"));
                };
                if f.rsv1 {
                    return Err(protocol("RSV1 on a continuation frame"));
                }
                if partial.data.len() + f.payload.len() > self.max_message {
                    return Err(too_big());
                }
                partial.data.extend_from_slice(&f.payload);
                if f.fin {
                    return self.finish(partial).map(Some);
                }
                partial.check_utf8()?;
                self.partial = Some(partial);
                Ok(None)
            }
        }
    }

    /// A whole message: inflated if compressed, checked as UTF-8 if text.
    fn finish(&mut self, partial: Partial) -> Result<Event, FrameError> {
        let data = match (&mut self.inflater, partial.compressed) {
            (Some(inflater), true) => {
                Bytes::from(inflater.inflate(&partial.data, self.max_message).map_err(
                    |e| match e {
                        InflateError::TooBig => too_big(),
                        InflateError::Corrupt => FrameError {
                            code: CloseCode::INVALID_DATA,
                            reason: "compressed data that does not inflate",
                        },
                    },
                )?)
            }
            _ => partial.data.freeze(),
        };
        if !partial.text {
            return Ok(Event::Message(Message::Binary(data)));
        }
        match String::from_utf8(data.into()) {
            Ok(text) => Ok(Event::Message(Message::Text(text))),
            Err(_) => Err(invalid_utf8()),
        }
    }
}

fn protocol(reason: &'static str) -> FrameError {
    FrameError {
        code: CloseCode::PROTOCOL,
        reason,
    }
}

fn too_big() -> FrameError {
    FrameError {
        code: CloseCode::TOO_BIG,
        reason: "message too large",
    }
}

fn invalid_utf8() -> FrameError {
    FrameError {
        code: CloseCode::INVALID_DATA,
        reason: "text that is not UTF-8",
    }
}

/// A close frame's body (RFC 6455 5.5.1): nothing, or a code and a UTF-8 reason.
fn parse_close(payload: &[u8]) -> Result<Option<CloseFrame>, FrameError> {
    match payload {
        [] => Ok(None),
        [_] => Err(protocol("a close frame with a one-byte body")),
        [hi, lo, reason @ ..] => {
            let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
            if !code.is_sendable() {
                return Err(protocol("a close code that may not be sent"));
            }
            let reason = std::str::from_utf8(reason).map_err(|_| invalid_utf8())?;
            Ok(Some(CloseFrame {
                code,
                reason: reason.to_owned(),
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame (the mask is all zeroes, so the payload goes as it is).
    fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let len = u8::try_from(payload.len()).expect("short payload");
        assert!(len < 126);
        let mut f = vec![u8::from(fin) << 7 | opcode, 0x80 | len, 0, 0, 0, 0];
        f.extend_from_slice(payload);
        f
    }

    fn feed(frames: &[Vec<u8>]) -> Vec<Result<Option<Event>, FrameError>> {
        let mut a = Assembler::new(None, 1 << 20, 1 << 20);
        frames
            .iter()
            .map(|f| a.next(&mut BytesMut::from(&f[..])))
            .collect()
    }

    #[test]
    fn a_text_fragment_that_cannot_be_utf8_fails_before_the_message_ends() {
        // U+D800 encoded: a surrogate, never valid, in the first of two fragments.
        let out = feed(&[frame(false, 1, b"ok \xed\xa0\x80"), frame(true, 0, b"!")]);
        assert_eq!(out[0], Err(invalid_utf8()));
    }

    #[test]
    fn a_code_point_split_between_fragments_is_valid() {
        let out = feed(&[
            frame(false, 1, b"\xce"),
            frame(false, 0, b"\xba\xe1"),
            frame(true, 0, b"\xbd\xb9"),
        ]);
        assert_eq!(out[0], Ok(None));
        assert_eq!(out[1], Ok(None));
        assert_eq!(
            out[2],
            Ok(Some(Event::Message(Message::Text(
                "\u{3ba}\u{1f79}".into()
            ))))
        );
    }

    #[test]
    fn a_message_ending_inside_a_code_point_is_invalid() {
        let out = feed(&[frame(false, 1, b"a"), frame(true, 0, b"\xce")]);
        assert_eq!(out[1], Err(invalid_utf8()));
    }

    #[test]
    fn binary_fragments_are_not_checked() {
        let out = feed(&[frame(false, 2, b"\xff"), frame(true, 0, b"\xfe")]);
        assert_eq!(
            out[1],
            Ok(Some(Event::Message(Message::Binary(Bytes::from_static(
                b"\xff\xfe"
            )))))
        );
    }
}

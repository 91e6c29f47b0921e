//! WebSocket frames (RFC 6455 section 5) as the server reads and writes them: a pure parser
//! over a buffer that asks for more bytes when a frame is incomplete, and an encoder that
//! appends to a `Vec`. No socket here.

use bytes::{Buf, BytesMut};

use super::CloseCode;

/// A frame's opcode (RFC 6455 5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpCode {
    /// The next fragment of a message (`0x0`).
    Continuation,
    /// The first frame of a text message (`0x1`).
    Text,
    /// The first frame of a binary message (`0x2`).
    Binary,
    /// Close (`0x8`).
    Close,
    /// Ping (`0x9`).
    Ping,
    /// Pong (`0xA`).
    Pong,
}

impl OpCode {
    fn from_bits(bits: u8) -> Option<OpCode> {
        Some(match bits {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            _ => return None,
        })
    }

    fn bits(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// Control frames (close, ping, pong) may come between a message's fragments.
    pub fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}

/// One frame read from a client, its payload unmasked.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame {
    /// Whether this is the message's last frame.
    pub fin: bool,
    /// RSV1: the message is compressed (permessage-deflate, RFC 7692 6), on its first frame.
    pub rsv1: bool,
    /// What the frame carries.
    pub opcode: OpCode,
    /// The payload, unmasked.
    pub payload: BytesMut,
}

/// Largest payload of a control frame (RFC 6455 5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A frame that breaks the protocol; the connection is closed with its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    /// The close code to send.
    pub code: CloseCode,
    /// What was wrong, for the log and the close reason.
    pub reason: &'static str,
}

fn protocol(reason: &'static str) -> FrameError {
    FrameError {
        code: CloseCode::PROTOCOL,
        reason,
    }
}

/// Takes one whole frame off the front of `buf`; `Ok(None)` when the frame is not all there
/// yet. `rsv1_allowed`: permessage-deflate was agreed, so RSV1 may be set. A payload longer
/// than `max_payload` is refused from its header, before it is buffered.
pub fn parse(
    buf: &mut BytesMut,
    rsv1_allowed: bool,
    max_payload: usize,
) -> Result<Option<Frame>, FrameError> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let (b0, b1) = (buf[0], buf[1]);
    let fin = b0 & 0x80 != 0;
    let rsv1 = b0 & 0x40 != 0;
    // RFC 6455 5.2: a nonzero reserved bit no extension defined fails the connection.
    if b0 & 0x30 != 0 || (rsv1 && !rsv1_allowed) {
        return Err(protocol("reserved bits set"));
    }
    let opcode = OpCode::from_bits(b0 & 0x0F).ok_or(protocol("unknown opcode"))?;
    // RFC 6455 5.1: "The server MUST close the connection upon receiving a frame that is not
    // masked", with 1002 (5.3 makes masking mandatory for clients).
    if b1 & 0x80 == 0 {
        return Err(protocol("client frame not masked"));
    }
    let (len, header) = match b1 & 0x7F {
        126 if buf.len() >= 4 => (u64::from(u16::from_be_bytes([buf[2], buf[3]])), 4),
        127 if buf.len() >= 10 => {
            let mut eight = [0u8; 8];
            eight.copy_from_slice(&buf[2..10]);
            let len = u64::from_be_bytes(eight);
            if len >> 63 != 0 {
                return Err(protocol("payload length with its top bit set"));
            }
            (len, 10)
        }
        126 | 127 => return Ok(None),
        n => (u64::from(n), 2),
    };
    if opcode.is_control() {
        if len > MAX_CONTROL_PAYLOAD as u64 {
            return Err(protocol("control frame longer than 125 bytes"));
        }
        if !fin {
            return Err(protocol("fragmented control frame"));
        }
        if rsv1 {
            return Err(protocol("compressed control frame"));
        }
    }
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    if len > max_payload {
        return Err(FrameError {
            code: CloseCode::TOO_BIG,
            reason: "frame too large",
        });
    }
    let total = header + 4 + len;
    if buf.len() < total {
        buf.reserve(total - buf.len());
        return Ok(None);
    }
    let mut mask = [0u8; 4];
    mask.copy_from_slice(&buf[header..header + 4]);
    buf.advance(header + 4);
    let mut payload = buf.split_to(len);
    unmask(&mut payload, mask);
    Ok(Some(Frame {
        fin,
        rsv1,
        opcode,
        payload,
    }))
}

/// XORs `data` with the masking key (RFC 6455 5.3), eight bytes at a time.
fn unmask(data: &mut [u8], mask: [u8; 4]) {
    let wide = u64::from_ne_bytes([
        mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
    ]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(chunk);
        let x = u64::from_ne_bytes(eight) ^ wide;
        chunk.copy_from_slice(&x.to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= mask[i % 4];
    }
}

/// Appends a server frame (unmasked, RFC 6455 5.1) carrying `payload` to `out`.
pub fn encode(out: &mut Vec<u8>, fin: bool, rsv1: bool, opcode: OpCode, payload: &[u8]) {
    let mut b0 = opcode.bits();
    if fin {
        b0 |= 0x80;
    }
    if rsv1 {
        b0 |= 0x40;
    }
    out.push(b0);
    let len = payload.len();
    if len < 126 {
        out.push(len as u8);
    } else if let Ok(short) = u16::try_from(len) {
        out.push(126);
        out.extend_from_slice(&short.to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(payload);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client frame: masked with `key`.
    fn client(b0: u8, payload: &[u8], key: [u8; 4]) -> Vec<u8> {
        let mut out = vec![b0];
        let len = payload.len();
        if len < 126 {
            out.push(0x80 | len as u8);
        } else if len < 65536 {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            out.push(0x80 | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
        out.extend_from_slice(&key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        out
    }

    #[test]
    fn a_masked_frame_parses_whole_and_split_at_every_byte() {
        for len in [0usize, 5, 125, 126, 300, 70_000] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let wire = client(0x82, &payload, [1, 2, 3, 250]);
            let step = (wire.len() / 40).max(1);
            let mut buf = BytesMut::new();
            let mut got = None;
            for piece in wire.chunks(step) {
                assert!(got.is_none());
                buf.extend_from_slice(piece);
                got = parse(&mut buf, false, 1 << 20).expect("valid");
            }
            let frame = got.expect("a frame");
            assert!(frame.fin && !frame.rsv1);
            assert_eq!(frame.opcode, OpCode::Binary);
            assert_eq!(&frame.payload[..], &payload[..]);
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn protocol_violations_get_1002_and_oversized_frames_1009() {
        let cases: [(Vec<u8>, u16); 8] = [
            (vec![0x81, 0x00], 1002),                 // not masked
            (client(0xC1, b"x", [0; 4]), 1002),       // RSV1 without deflate
            (client(0xA1, b"x", [0; 4]), 1002),       // RSV2
            (client(0x83, b"x", [0; 4]), 1002),       // reserved opcode
            (client(0x09, b"x", [0; 4]), 1002),       // fragmented ping
            (client(0x89, &[0; 126], [0; 4]), 1002),  // long ping
            (client(0x82, &[0; 2000], [0; 4]), 1009), // past the limit
            (client(0xC9, b"x", [0; 4]), 1002),       // compressed ping
        ];
        for (wire, code) in cases {
            let mut buf = BytesMut::from(&wire[..]);
            let e = parse(&mut buf, wire[0] == 0xC9, 1000).expect_err("refused");
            assert_eq!(e.code.0, code, "{wire:02x?}");
        }
    }

    #[test]
    fn a_too_large_frame_is_refused_from_its_header() {
        let mut buf = BytesMut::from(&[0x82, 0xFF, 0, 0, 0, 1, 0, 0, 0, 0][..]);
        assert_eq!(
            parse(&mut buf, false, 1 << 20).expect_err("big").code.0,
            1009
        );
        let mut buf = BytesMut::from(&[0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0][..]);
        assert_eq!(
            parse(&mut buf, false, 1 << 20).expect_err("bad").code.0,
            1002
        );
    }

    #[test]
    fn server_frames_use_the_shortest_length() {
        for (len, header) in [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)] {
            let mut out = Vec::new();
            encode(&mut out, true, false, OpCode::Text, &vec![b'a'; len]);
            assert_eq!(out.len(), header + len);
            assert_eq!(out[0], 0x81);
        }
    }
}

//! Feeds arbitrary client bytes to the WebSocket reader: the frame parser and the assembler
//! that turns frames into messages (fragments, permessage-deflate, UTF-8, close frames).
//!
//! Beyond "never panics": the events and the error that closes the connection do not depend on
//! how the bytes arrive (whole, or in three reads); no message is longer than the message limit
//! and no ping longer than 125 bytes; a close carries only a code that may be sent; and every
//! frame the parser takes, masked again and re-encoded, parses back the same.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use web::ws::fuzzing::{Agreed, Event, Frame, FrameError, assembler, parse};
use web::ws::Message;

/// Small limits, so that short inputs reach the `1009` paths.
const MAX_MESSAGE: usize = 4096;
const MAX_FRAME: usize = 1024;

/// The events read, then the error that ended the connection, if any.
type Read = (Vec<Event>, Option<FrameError>);

fuzz_target!(|data: &[u8]| {
    let Some((&[mode, a, b], input)) = data.split_first_chunk::<3>() else {
        return;
    };
    let deflate = (mode & 1 != 0).then_some(Agreed {
        server_no_context_takeover: mode & 2 != 0,
        client_no_context_takeover: mode & 4 != 0,
    });
    let whole = read(deflate.as_ref(), &[input]);
    let (mut x, mut y) = (usize::from(a) * input.len() / 256, usize::from(b) * input.len() / 256);
    if x > y {
        std::mem::swap(&mut x, &mut y);
    }
    let split = read(deflate.as_ref(), &[&input[..x], &input[x..y], &input[y..]]);
    assert_eq!(whole, split, "the events depend on how the bytes arrive");
    for event in &whole.0 {
        match event {
            Event::Message(Message::Text(t)) => assert!(t.len() <= MAX_MESSAGE),
            Event::Message(Message::Binary(b)) => assert!(b.len() <= MAX_MESSAGE),
            Event::Message(Message::Pong(p)) | Event::Ping(p) => assert!(p.len() <= 125),
            Event::Close(Some(c)) => assert!(c.code.is_sendable(), "{c:?}"),
            Event::Close(None) => {}
            Event::Message(m) => panic!("the assembler does not make {m:?}"),
        }
    }
    round_trip(input, deflate.is_some());
});

/// What a connection reads from `pieces`, arriving one after the other.
fn read(deflate: Option<&Agreed>, pieces: &[&[u8]]) -> Read {
    let mut assembler = assembler(deflate, MAX_MESSAGE, MAX_FRAME);
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        loop {
            match assembler.next(&mut buf) {
                Ok(Some(event)) => {
                    let last = matches!(event, Event::Close(_));
                    events.push(event);
                    if last {
                        return (events, None);
                    }
                }
                Ok(None) => break,
                Err(e) => return (events, Some(e)),
            }
        }
    }
    (events, None)
}

/// Every frame parsed from `input`, masked and encoded again, parses back the same.
fn round_trip(input: &[u8], rsv1_allowed: bool) {
    let mut buf = BytesMut::from(input);
    while let Ok(Some(frame)) = parse(&mut buf, rsv1_allowed, MAX_FRAME) {
        let mut again = BytesMut::from(&encode_masked(&frame)[..]);
        let back = parse(&mut again, rsv1_allowed, MAX_FRAME);
        assert_eq!(back, Ok(Some(frame)), "a frame does not parse back the same");
        assert!(again.is_empty());
    }
}

/// A client's frame: the server's encoding with the mask bit and a masking key.
fn encode_masked(frame: &Frame) -> Vec<u8> {
    let mut plain = Vec::new();
    web::ws::fuzzing::encode(&mut plain, frame.fin, frame.rsv1, frame.opcode, &frame.payload);
    let header = plain.len() - frame.payload.len();
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut out = plain[..header].to_vec();
    out[1] |= 0x80;
    out.extend_from_slice(&mask);
    out.extend(frame.payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

//! Feeds arbitrary client bytes (after a valid preface and SETTINGS) to the server side of an
//! HTTP/2 connection: frames, HPACK blocks, flow control, stream states.
//!
//! Beyond "never panics": the events, the output and the outcome do not depend on how the
//! bytes arrive (whole or in three reads); every frame the server writes is well formed (a
//! 9-byte head, a payload within the client's SETTINGS_MAX_FRAME_SIZE, 16 KiB unless it said
//! more, odd stream ids but for resets); a response sent on every request
//! stays within the windows; and the HPACK decoder, fed the same bytes as one header block,
//! never panics either.

#![no_main]

use http2::frame::{HEAD_LEN, Head};
use http2::{Config, Connection, Event, PREFACE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let whole = run(data, &[]);
    let (a, b) = cuts(data);
    assert_eq!(run(data, &[a, b]), whole);
    let mut d = http2::hpack::Decoder::new(4096);
    let _ = d.decode(data, |_, _| {});
});

/// Two cut points taken from the first bytes of the input.
fn cuts(data: &[u8]) -> (usize, usize) {
    let n = data.len() + 1;
    let (a, b) = match data {
        [x, y, ..] => (usize::from(*x) % n, usize::from(*y) % n),
        _ => (0, 0),
    };
    (a.min(b), a.max(b))
}

/// Everything observable: the events (as text), the output, whether it failed. Requests are
/// answered once all the input is in, so that the answers' place in the output does not
/// depend on the split.
fn run(data: &[u8], cuts: &[usize]) -> (Vec<String>, Vec<u8>, bool) {
    let mut c = Connection::new(Config::default());
    let mut wire = PREFACE.to_vec();
    wire.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    c.recv(&wire).expect("preface");
    let mut events = Vec::new();
    let mut failed = false;
    let mut from = 0;
    for &to in cuts.iter().chain(std::iter::once(&data.len())) {
        if failed {
            break;
        }
        failed = c.recv(&data[from..to]).is_err();
        from = to;
        events.extend(std::iter::from_fn(|| c.poll_event()));
    }
    for event in &events {
        if let Event::Request { stream, .. } = *event {
            // Answered as far as the window goes.
            c.send_headers(stream, 200, [(&b"content-type"[..], &b"text/plain"[..])], false);
            let n = c.send_data(stream, &vec![b'x'; 70_000], true);
            assert!(n <= 65_535);
        }
    }
    let out = c.take_output();
    // The responses are all sent after the last SETTINGS the client sent: its last word on
    // the frame size holds for every DATA frame, and nothing else comes near 16 KiB.
    check_frames(&out, c.peer_max_frame_size());
    let events = events.iter().map(|e| format!("{e:?}")).collect();
    (events, out, failed)
}

/// Every frame written is whole, well formed, and within `max_frame` bytes of payload.
fn check_frames(out: &[u8], max_frame: u32) {
    let mut at = 0;
    while at < out.len() {
        let head: &[u8; HEAD_LEN] = out[at..at + HEAD_LEN].try_into().expect("a whole head");
        let head = Head::parse(head);
        assert!(head.len <= max_frame);
        // Responses go on client streams only (a reset may name any stream the client did).
        assert!(head.kind == 0x3 || head.stream == 0 || head.stream % 2 == 1);
        at += HEAD_LEN + head.len as usize;
        assert!(at <= out.len());
    }
}

//! Flood detection over the frames a client sends, as nginx does it: frames that carry no
//! request (empty DATA or HEADERS, SETTINGS, PING, PRIORITY, WINDOW_UPDATE, RST_STREAM...) are
//! cheap to send and each costs the server some work, so a connection may send only so much of
//! them beside what it sends of requests.
//!
//! What such frames make the server hold is bounded elsewhere (the replies wait in the
//! connection's output, which the driver stops reading behind; CONTINUATION frames by the
//! header list size); how many it has to process is bounded here (CVE-2019-9512 PING, 9515
//! SETTINGS, 9518 empty frames). This counts the bytes of every frame against the bytes of
//! request payload (DATA payload and header blocks): past [`FLOOD_ALLOWANCE`] of overhead, more
//! than [`FLOOD_RATIO`] times the payload is a flood, and the connection ends with GOAWAY
//! (`ENHANCE_YOUR_CALM`). [`crate::Connection`] feeds it every frame head it reads.

/// Bytes of frames a connection may send beyond [`FLOOD_RATIO`] times its request payload
/// before that is a flood: nginx's value (1 MiB), about 116 000 empty frames, far more than
/// any browser or proxy sends of control frames.
pub const FLOOD_ALLOWANCE: u64 = 1024 * 1024;

/// How many bytes of frames a connection may send per byte of request payload (past
/// [`FLOOD_ALLOWANCE`]): nginx's 8, generous for HEADERS-only GETs (a compressed request head
/// of 20 bytes rides in a 29-byte frame).
pub const FLOOD_RATIO: u64 = 8;

const HEAD_LEN: u64 = 9;
const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const CONTINUATION: u8 = 0x9;

/// The connection sent too many frames without request payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flood;

/// The two counts, of every frame's bytes and of request payload, fed with each frame head
/// the connection parses. Sixteen bytes, in every connection's state.
#[derive(Debug, Default)]
pub struct FloodMeter {
    total: u64,
    payload: u64,
}

impl FloodMeter {
    pub fn new() -> FloodMeter {
        FloodMeter::default()
    }

    /// Counts one frame of `kind` with a payload of `len` bytes; an error once the frames
    /// make a flood.
    pub fn frame(&mut self, kind: u8, len: u64) -> Result<(), Flood> {
        self.total += HEAD_LEN + len;
        if matches!(kind, DATA | HEADERS | CONTINUATION) {
            self.payload += len;
        }
        if self.total / FLOOD_RATIO > self.payload + FLOOD_ALLOWANCE {
            return Err(Flood);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_frames_past_the_allowance_are_a_flood() {
        let mut m = FloodMeter::new();
        let allowed = FLOOD_ALLOWANCE * FLOOD_RATIO / HEAD_LEN;
        for _ in 0..allowed {
            assert!(m.frame(DATA, 0).is_ok());
        }
        assert!((0..FLOOD_RATIO).any(|_| m.frame(DATA, 0).is_err()));
    }

    #[test]
    fn request_payload_buys_room_for_control_frames() {
        let mut m = FloodMeter::new();
        for _ in 0..200_000 {
            assert!(m.frame(DATA, 16 * 1024).is_ok());
            assert!(m.frame(0x6, 8).is_ok());
        }
    }

    #[test]
    fn header_blocks_count_as_payload_and_control_frames_do_not() {
        let mut m = FloodMeter::new();
        m.frame(HEADERS, 30).ok();
        m.frame(CONTINUATION, 12).ok();
        m.frame(0x4, 6).ok();
        assert_eq!(m.payload, 42);
        assert_eq!(m.total, 3 * HEAD_LEN + 48);
    }
}

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

/// The client connection preface (RFC 9113 3.4), before the first frame.
const PREFACE_LEN: usize = 24;

const HEAD_LEN: usize = 9;
const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const CONTINUATION: u8 = 0x9;

/// The connection sent too many frames without request payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flood;

impl Default for FloodMeter {
    fn default() -> FloodMeter {
        FloodMeter::new()
    }
}

/// Reads frame boundaries off the client's bytes and keeps the two counts.
#[derive(Debug)]
pub struct FloodMeter {
    /// Bytes still to skip: the preface, or the rest of a payload.
    skip: usize,
    head: [u8; HEAD_LEN],
    have: usize,
    total: u64,
    payload: u64,
}

impl FloodMeter {
    pub fn new() -> FloodMeter {
        FloodMeter {
            skip: PREFACE_LEN,
            head: [0; HEAD_LEN],
            have: 0,
            total: 0,
            payload: 0,
        }
    }

    /// Takes the next bytes the client sent, preface included; an error once they make a
    /// flood. For tests and callers that see only bytes; [`crate::Connection`] calls
    /// [`FloodMeter::frame`] with each head it parses.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), Flood> {
        while !data.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(data.len());
                self.skip -= n;
                data = &data[n..];
                continue;
            }
            let n = (HEAD_LEN - self.have).min(data.len());
            self.head[self.have..self.have + n].copy_from_slice(&data[..n]);
            self.have += n;
            data = &data[n..];
            if self.have == HEAD_LEN {
                self.have = 0;
                let len = u32::from_be_bytes([0, self.head[0], self.head[1], self.head[2]]);
                self.frame(self.head[3], u64::from(len))?;
                self.skip = len as usize;
            }
        }
        Ok(())
    }

    /// Counts one frame of `kind` with a payload of `len` bytes.
    pub fn frame(&mut self, kind: u8, len: u64) -> Result<(), Flood> {
        self.total += HEAD_LEN as u64 + len;
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

    fn frame(kind: u8, len: usize) -> Vec<u8> {
        let l = (len as u32).to_be_bytes();
        let mut f = vec![l[1], l[2], l[3], kind, 0, 0, 0, 0, 1];
        f.resize(HEAD_LEN + len, 0);
        f
    }

    #[test]
    fn empty_frames_past_the_allowance_are_a_flood() {
        let mut m = FloodMeter::new();
        assert!(m.feed(&[b'P'; PREFACE_LEN]).is_ok());
        let empty = frame(DATA, 0);
        let allowed = (FLOOD_ALLOWANCE * FLOOD_RATIO) as usize / HEAD_LEN;
        for _ in 0..allowed {
            assert!(m.feed(&empty).is_ok());
        }
        assert!((0..FLOOD_RATIO).any(|_| m.feed(&empty).is_err()));
    }

    #[test]
    fn request_payload_buys_room_for_control_frames() {
        let mut m = FloodMeter::new();
        let ping = frame(0x6, 8);
        let data = frame(DATA, 16 * 1024);
        for _ in 0..200_000 {
            assert!(m.feed(&data).is_ok());
            assert!(m.feed(&ping).is_ok());
        }
    }

    #[test]
    fn heads_split_across_reads_are_counted_alike() {
        let mut whole = FloodMeter::new();
        let mut split = FloodMeter::new();
        let mut wire = vec![b'P'; PREFACE_LEN];
        wire.extend(frame(HEADERS, 30));
        wire.extend(frame(0x4, 6));
        whole.feed(&wire).ok();
        for b in &wire {
            split.feed(std::slice::from_ref(b)).ok();
        }
        assert_eq!((whole.total, whole.payload), (split.total, split.payload));
        assert_eq!(whole.payload, 30);
    }
}

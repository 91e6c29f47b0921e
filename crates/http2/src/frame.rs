//! Frames (RFC 9113 4 and 6): the 9-byte head, and encoding every frame the server sends.
//! Parsing a payload is done where its meaning is, in `conn`; this file knows the layout.

/// Bytes in a frame head (RFC 9113 4.1).
pub const HEAD_LEN: usize = 9;

/// The frame types of RFC 9113 6. Others are ignored (RFC 9113 5.5).
pub mod kind {
    /// A stream's body bytes.
    pub const DATA: u8 = 0x0;
    /// Opens a stream: a header block (fragment).
    pub const HEADERS: u8 = 0x1;
    /// Deprecated priority signal; parsed for its length and stream only.
    pub const PRIORITY: u8 = 0x2;
    /// Ends a stream abruptly.
    pub const RST_STREAM: u8 = 0x3;
    /// Connection parameters.
    pub const SETTINGS: u8 = 0x4;
    /// Server push; a client must never send it.
    pub const PUSH_PROMISE: u8 = 0x5;
    /// A round trip measure / liveness check.
    pub const PING: u8 = 0x6;
    /// The connection is ending.
    pub const GOAWAY: u8 = 0x7;
    /// Flow-control credit.
    pub const WINDOW_UPDATE: u8 = 0x8;
    /// The rest of a header block.
    pub const CONTINUATION: u8 = 0x9;
}

/// Frame flags (RFC 9113 6).
pub mod flag {
    /// DATA/HEADERS: the last frame of the stream from its sender.
    pub const END_STREAM: u8 = 0x1;
    /// SETTINGS/PING: an acknowledgement.
    pub const ACK: u8 = 0x1;
    /// HEADERS/CONTINUATION: the header block ends here.
    pub const END_HEADERS: u8 = 0x4;
    /// DATA/HEADERS: a pad length byte and padding.
    pub const PADDED: u8 = 0x8;
    /// HEADERS: the priority fields (5 bytes) come first.
    pub const PRIORITY: u8 = 0x20;
}

/// The SETTINGS identifiers (RFC 9113 6.5.2, RFC 8441 3).
pub mod setting {
    /// The peer's HPACK decoder table size.
    pub const HEADER_TABLE_SIZE: u16 = 0x1;
    /// Server push allowed (0 or 1).
    pub const ENABLE_PUSH: u16 = 0x2;
    /// Streams the sender allows the other side to open.
    pub const MAX_CONCURRENT_STREAMS: u16 = 0x3;
    /// The sender's initial stream receive window.
    pub const INITIAL_WINDOW_SIZE: u16 = 0x4;
    /// The largest frame payload the sender accepts.
    pub const MAX_FRAME_SIZE: u16 = 0x5;
    /// The largest header list the sender accepts (advisory).
    pub const MAX_HEADER_LIST_SIZE: u16 = 0x6;
    /// RFC 8441: extended CONNECT (`:protocol`) accepted.
    pub const ENABLE_CONNECT_PROTOCOL: u16 = 0x8;
}

/// Largest flow-control window (RFC 9113 6.9.1): 2^31 - 1.
pub const MAX_WINDOW: u32 = (1 << 31) - 1;

/// The initial window of every stream and of the connection until SETTINGS change it.
pub const DEFAULT_WINDOW: u32 = 65_535;

/// Smallest (and the initial) SETTINGS_MAX_FRAME_SIZE.
pub const DEFAULT_MAX_FRAME_SIZE: u32 = 16_384;

/// Largest SETTINGS_MAX_FRAME_SIZE: 2^24 - 1.
pub const MAX_MAX_FRAME_SIZE: u32 = (1 << 24) - 1;

/// A frame head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Payload length.
    pub len: u32,
    /// Type.
    pub kind: u8,
    /// Flags.
    pub flags: u8,
    /// Stream identifier, the reserved bit cleared (RFC 9113 4.1: ignored on receipt).
    pub stream: u32,
}

impl Head {
    /// The head in the first [`HEAD_LEN`] bytes of `b`.
    pub fn parse(b: &[u8; HEAD_LEN]) -> Head {
        Head {
            len: u32::from_be_bytes([0, b[0], b[1], b[2]]),
            kind: b[3],
            flags: b[4],
            stream: u32::from_be_bytes([b[5], b[6], b[7], b[8]]) & MAX_WINDOW,
        }
    }

    /// Whether `flag` is set.
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// Appends the head to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let len = self.len.to_be_bytes();
        out.extend_from_slice(&[len[1], len[2], len[3], self.kind, self.flags]);
        out.extend_from_slice(&self.stream.to_be_bytes());
    }
}

/// Appends a frame head for a payload of `len` bytes.
pub fn head(out: &mut Vec<u8>, kind: u8, flags: u8, stream: u32, len: usize) {
    Head {
        len: u32::try_from(len).unwrap_or(MAX_MAX_FRAME_SIZE),
        kind,
        flags,
        stream,
    }
    .encode(out);
}

/// A SETTINGS frame with `settings`.
pub fn settings(out: &mut Vec<u8>, settings: &[(u16, u32)]) {
    head(out, kind::SETTINGS, 0, 0, settings.len() * 6);
    for (id, value) in settings {
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&value.to_be_bytes());
    }
}

/// A SETTINGS acknowledgement.
pub fn settings_ack(out: &mut Vec<u8>) {
    head(out, kind::SETTINGS, flag::ACK, 0, 0);
}

/// A PING acknowledgement carrying `data` back.
pub fn ping_ack(out: &mut Vec<u8>, data: &[u8; 8]) {
    head(out, kind::PING, flag::ACK, 0, 8);
    out.extend_from_slice(data);
}

/// A WINDOW_UPDATE of `increment` (1 ..= 2^31 - 1) for `stream` (0: the connection).
pub fn window_update(out: &mut Vec<u8>, stream: u32, increment: u32) {
    head(out, kind::WINDOW_UPDATE, 0, stream, 4);
    out.extend_from_slice(&increment.to_be_bytes());
}

/// RST_STREAM.
pub fn rst_stream(out: &mut Vec<u8>, stream: u32, reason: crate::Reason) {
    head(out, kind::RST_STREAM, 0, stream, 4);
    out.extend_from_slice(&reason.0.to_be_bytes());
}

/// GOAWAY with the last stream this side processes (or may process).
pub fn goaway(out: &mut Vec<u8>, last_stream: u32, reason: crate::Reason) {
    head(out, kind::GOAWAY, 0, 0, 8);
    out.extend_from_slice(&last_stream.to_be_bytes());
    out.extend_from_slice(&reason.0.to_be_bytes());
}

/// DATA frames for `data`, each at most `max_frame` bytes; the last carries END_STREAM when
/// `end`. An empty `data` with `end` is one empty DATA frame.
pub fn data(out: &mut Vec<u8>, stream: u32, data: &[u8], end: bool, max_frame: usize) {
    if data.is_empty() {
        if end {
            head(out, kind::DATA, flag::END_STREAM, stream, 0);
        }
        return;
    }
    let mut chunks = data.chunks(max_frame.max(1)).peekable();
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        let flags = if last && end { flag::END_STREAM } else { 0 };
        head(out, kind::DATA, flags, stream, chunk.len());
        out.extend_from_slice(chunk);
    }
}

/// A HEADERS frame for the header block `block`, with CONTINUATION frames after it when the
/// block is larger than `max_frame`.
pub fn headers(out: &mut Vec<u8>, stream: u32, block: &[u8], end_stream: bool, max_frame: usize) {
    let max_frame = max_frame.max(1);
    let first = &block[..block.len().min(max_frame)];
    let rest = &block[first.len()..];
    let mut flags = if end_stream { flag::END_STREAM } else { 0 };
    if rest.is_empty() {
        flags |= flag::END_HEADERS;
    }
    head(out, kind::HEADERS, flags, stream, first.len());
    out.extend_from_slice(first);
    let mut chunks = rest.chunks(max_frame).peekable();
    while let Some(chunk) = chunks.next() {
        let flags = if chunks.peek().is_none() {
            flag::END_HEADERS
        } else {
            0
        };
        head(out, kind::CONTINUATION, flags, stream, chunk.len());
        out.extend_from_slice(chunk);
    }
}

/// The payload of a padded frame without its padding (RFC 9113 6.1, 6.2): `None` when the
/// pad length is not smaller than the payload (a `PROTOCOL_ERROR`).
pub fn unpad(payload: &[u8]) -> Option<&[u8]> {
    let (&pad, rest) = payload.split_first()?;
    let pad = usize::from(pad);
    (pad <= rest.len()).then(|| &rest[..rest.len() - pad])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_round_trips_and_the_reserved_bit_is_ignored() {
        let mut out = Vec::new();
        head(&mut out, kind::HEADERS, flag::END_HEADERS, 5, 300);
        let mut b: [u8; HEAD_LEN] = out[..].try_into().unwrap_or([0; HEAD_LEN]);
        assert_eq!(
            Head::parse(&b),
            Head {
                len: 300,
                kind: kind::HEADERS,
                flags: flag::END_HEADERS,
                stream: 5
            }
        );
        b[5] |= 0x80;
        assert_eq!(Head::parse(&b).stream, 5);
    }

    #[test]
    fn large_blocks_go_out_as_headers_then_continuation() {
        let mut out = Vec::new();
        headers(&mut out, 1, &[7; 25], true, 10);
        let heads: Vec<Head> = [0, 19, 38]
            .iter()
            .map(|&at| Head::parse(out[at..at + HEAD_LEN].try_into().unwrap_or(&[0; 9])))
            .collect();
        assert_eq!(heads[0].kind, kind::HEADERS);
        assert_eq!(heads[0].flags, flag::END_STREAM);
        assert_eq!(heads[1].kind, kind::CONTINUATION);
        assert_eq!(heads[2].flags, flag::END_HEADERS);
        assert_eq!(heads[2].len, 5);
        assert_eq!(out.len(), 25 + 3 * HEAD_LEN);
    }

    #[test]
    fn data_is_split_at_the_frame_size_and_ends_on_the_last() {
        let mut out = Vec::new();
        data(&mut out, 3, &[1; 5], true, 2);
        assert_eq!(out.len(), 5 + 3 * HEAD_LEN);
        assert_eq!(out[4], 0);
        assert_eq!(out[HEAD_LEN + 2 + 4], 0);
        assert_eq!(out[2 * (HEAD_LEN + 2) + 4], flag::END_STREAM);
        let mut out = Vec::new();
        data(&mut out, 3, &[], false, 2);
        assert!(out.is_empty());
    }

    #[test]
    fn padding_is_stripped_and_too_much_of_it_refused() {
        assert_eq!(unpad(&[2, b'a', 0, 0]), Some(&b"a"[..]));
        assert_eq!(unpad(&[0]), Some(&b""[..]));
        assert_eq!(unpad(&[3, 0, 0]), None);
        assert_eq!(unpad(&[]), None);
    }
}

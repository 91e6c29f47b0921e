//! permessage-deflate (RFC 7692): agreeing on it in the handshake, and compressing and
//! inflating whole messages with raw DEFLATE (flate2).
//!
//! The server keeps a 32 KiB window (15 bits) both ways. It accepts the client's
//! `client_max_window_bits` (the client may compress with a smaller window; inflating with a
//! larger one reads it all the same) and both `*_no_context_takeover` parameters, and declines
//! an offer whose `server_max_window_bits` is below 15, as flate2's default backend always
//! uses a 32 KiB window (RFC 7692 7.1.2.1 lets a server decline such an offer).

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The tail every compressed message ends with after a sync flush, left off on the wire and
/// added back before inflating (RFC 7692 7.2.1, 7.2.2).
const TAIL: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];

/// Messages shorter than this are sent uncompressed: deflate would make them longer or save
/// a few bytes at the cost of a compressor call (RFC 7692 6.1 lets each message choose).
pub const COMPRESS_MIN: usize = 64;

/// What the handshake agreed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agreed {
    /// The server resets its compressor after each message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after each message, so the server may reset its
    /// inflater too.
    pub client_no_context_takeover: bool,
}

impl Agreed {
    /// The `Sec-WebSocket-Extensions` value of the response.
    pub fn response_header(&self) -> String {
        let mut v = String::from("permessage-deflate");
        if self.server_no_context_takeover {
            v.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            v.push_str("; client_no_context_takeover");
        }
        v
    }
}

/// Picks the first `permessage-deflate` offer in the request's `Sec-WebSocket-Extensions`
/// values that the server can honour (RFC 7692 5); `None` to go without compression.
pub fn negotiate<'a>(offers: impl IntoIterator<Item = &'a str>) -> Option<Agreed> {
    offers
        .into_iter()
        .flat_map(|value| value.split(','))
        .find_map(accept_offer)
}

/// One offer: `permessage-deflate; param[=value]; ...`. An unknown or repeated parameter, or
/// a bad value, makes the offer one the server declines (RFC 7692 7.1).
fn accept_offer(offer: &str) -> Option<Agreed> {
    let mut parts = offer.split(';').map(str::trim);
    if !parts.next()?.eq_ignore_ascii_case("permessage-deflate") {
        return None;
    }
    let mut agreed = Agreed {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
    };
    let (mut seen_server_bits, mut seen_client_bits) = (false, false);
    for param in parts {
        let (name, value) = match param.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
            None => (param, None),
        };
        match (name.to_ascii_lowercase().as_str(), value) {
            ("server_no_context_takeover", None) if !agreed.server_no_context_takeover => {
                agreed.server_no_context_takeover = true;
            }
            ("client_no_context_takeover", None) if !agreed.client_no_context_takeover => {
                agreed.client_no_context_takeover = true;
            }
            ("server_max_window_bits", Some(v)) if !seen_server_bits => {
                seen_server_bits = true;
                if window_bits(v)? != 15 {
                    return None;
                }
            }
            ("client_max_window_bits", v) if !seen_client_bits => {
                seen_client_bits = true;
                if let Some(v) = v {
                    window_bits(v)?;
                }
            }
            _ => return None,
        }
    }
    Some(agreed)
}

/// A window size parameter: a decimal 8 to 15 without leading zeros (RFC 7692 7.1.2).
fn window_bits(v: &str) -> Option<u8> {
    if v.len() > 2 || v.starts_with('0') {
        return None;
    }
    v.parse().ok().filter(|n| (8..=15).contains(n))
}

/// The sending side: compresses whole messages.
pub struct Deflater {
    compress: Compress,
    reset_each: bool,
}

impl std::fmt::Debug for Deflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Deflater")
    }
}

impl Deflater {
    /// A compressor for what `agreed` says.
    pub fn new(agreed: &Agreed) -> Deflater {
        Deflater {
            compress: Compress::new(Compression::fast(), false),
            reset_each: agreed.server_no_context_takeover,
        }
    }

    /// `data` compressed, without the sync flush's tail.
    pub fn compress(&mut self, data: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(data.len() / 2 + 64);
        let start = self.compress.total_in();
        loop {
            let done = (self.compress.total_in() - start) as usize;
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(1024));
            }
            self.compress
                .compress_vec(&data[done..], &mut out, FlushCompress::Sync)
                .map_err(std::io::Error::other)?;
            let consumed = (self.compress.total_in() - start) as usize == data.len();
            // A sync flush is complete when it had room to spare.
            if consumed && out.capacity() - out.len() >= 64 && out.ends_with(&TAIL) {
                break;
            }
        }
        out.truncate(out.len() - TAIL.len());
        if self.reset_each {
            self.compress.reset();
        }
        Ok(out)
    }
}

/// Why a compressed message could not be inflated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InflateError {
    /// The data is not valid DEFLATE: close with 1007 (the payload is not what it claims).
    Corrupt,
    /// It inflates past the message size limit: close with 1009.
    TooBig,
}

/// The receiving side: inflates whole messages.
pub struct Inflater {
    decompress: Decompress,
    reset_each: bool,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Inflater")
    }
}

impl Inflater {
    /// An inflater for what `agreed` says.
    pub fn new(agreed: &Agreed) -> Inflater {
        Inflater {
            decompress: Decompress::new(false),
            reset_each: agreed.client_no_context_takeover,
        }
    }

    /// The message whose compressed payload is `data`, at most `max` bytes long: a small
    /// compressed message cannot become a huge one in memory (a deflate bomb).
    pub fn inflate(&mut self, data: &[u8], max: usize) -> Result<Vec<u8>, InflateError> {
        let mut input = Vec::with_capacity(data.len() + TAIL.len());
        input.extend_from_slice(data);
        input.extend_from_slice(&TAIL);
        let mut out = Vec::with_capacity((data.len() * 3).min(max) + 16);
        let start = self.decompress.total_in();
        loop {
            if out.len() == out.capacity() {
                out.reserve(out.capacity().clamp(1024, max.saturating_add(1)));
            }
            let (done, made) = ((self.decompress.total_in() - start) as usize, out.len());
            let status = self
                .decompress
                .decompress_vec(&input[done..], &mut out, FlushDecompress::Sync)
                .map_err(|_| InflateError::Corrupt)?;
            if out.len() > max {
                return Err(InflateError::TooBig);
            }
            let consumed = (self.decompress.total_in() - start) as usize;
            // All input taken and room left over: the sync flush is out whole.
            if (consumed == input.len() && out.len() < out.capacity())
                || status == Status::StreamEnd
            {
                break;
            }
            if consumed == done && out.len() == made && out.len() < out.capacity() {
                return Err(InflateError::Corrupt);
            }
        }
        if self.reset_each {
            self.decompress.reset(false);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_are_taken_or_declined_as_rfc_7692_says() {
        let agreed = negotiate(["permessage-deflate; client_max_window_bits"]).expect("ok");
        assert_eq!(agreed.response_header(), "permessage-deflate");
        let agreed = negotiate([
            "permessage-deflate; server_max_window_bits=10, permessage-deflate; \
             server_no_context_takeover; client_max_window_bits=12",
        ])
        .expect("the second offer");
        assert!(agreed.server_no_context_takeover);
        for declined in [
            "x-webkit-deflate-frame",
            "permessage-deflate; server_max_window_bits=8",
            "permessage-deflate; server_max_window_bits=015",
            "permessage-deflate; mystery",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; client_max_window_bits=16",
        ] {
            assert_eq!(negotiate([declined]), None, "{declined}");
        }
    }

    #[test]
    fn messages_round_trip_with_and_without_context_takeover() {
        for reset in [false, true] {
            let agreed = Agreed {
                server_no_context_takeover: reset,
                client_no_context_takeover: reset,
            };
            let (mut d, mut i) = (Deflater::new(&agreed), Inflater::new(&agreed));
            for n in [0usize, 1, 100, 70_000, 300_000] {
                let msg: Vec<u8> = (0..n).map(|k| b"hello world "[k % 12]).collect();
                let wire = d.compress(&msg).expect("compress");
                assert!(!wire.ends_with(&TAIL) || msg.is_empty());
                assert_eq!(i.inflate(&wire, 1 << 20).expect("inflate"), msg);
            }
        }
    }

    #[test]
    fn a_deflate_bomb_stops_at_the_limit_and_garbage_is_corrupt() {
        let agreed = Agreed {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
        };
        let wire = Deflater::new(&agreed)
            .compress(&vec![0u8; 10 << 20])
            .expect("compress");
        assert!(wire.len() < 64 * 1024);
        let mut i = Inflater::new(&agreed);
        assert_eq!(i.inflate(&wire, 1 << 20), Err(InflateError::TooBig));
        let mut i = Inflater::new(&agreed);
        assert_eq!(
            i.inflate(&[0xFF, 0xFF, 0xFF, 0xFF], 1 << 20),
            Err(InflateError::Corrupt)
        );
    }
}

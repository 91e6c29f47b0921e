//! Content codings: which ones a client accepts, which files are worth compressing, and the
//! compressors themselves.
//!
//! Precompressed sidecars (`app.js.br` next to `app.js`) are preferred because they cost
//! nothing per request and may have been built at the highest level. Otherwise text-like files
//! between [`MIN_SIZE`] and [`MAX_SIZE`] are compressed on the fly at a level that keeps a
//! request fast, streamed through the encoder, once for all the requests that want it at the
//! same time ([`crate::flight`]), and the result is cached like a small file. A large file
//! that is still changing (see [`crate::meta::SETTLE_TIME`]) is sent as it is until it
//! settles, rather than compressed anew for every request.

use std::io::{self, Read, Write};

use http::HeaderValue;
use http1::Headers;
use semantics::negotiate;

/// Files smaller than this are sent as they are: the saving would not pay for the CPU and a
/// `Vary` cache entry.
pub const MIN_SIZE: u64 = 1024;

/// Files larger than this are never compressed on the fly (one request must not monopolise a
/// worker); precompressed sidecars of any size are still served.
pub const MAX_SIZE: u64 = 8 * 1024 * 1024;

/// A content coding this server can produce, in order of preference when the client's
/// q-values tie: brotli compresses text best, zstd is fastest, gzip is universal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Encoding {
    /// `br` (RFC 7932).
    Brotli,
    /// `zstd` (RFC 8878).
    Zstd,
    /// `gzip` (RFC 1952).
    Gzip,
}

impl Encoding {
    /// Every coding, most preferred first.
    pub const ALL: [Encoding; 3] = [Encoding::Brotli, Encoding::Zstd, Encoding::Gzip];

    /// The token in `Accept-Encoding` and `Content-Encoding`.
    pub fn token(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Zstd => "zstd",
            Encoding::Gzip => "gzip",
        }
    }

    /// The extension of a precompressed sidecar file, dot included.
    pub fn extension(self) -> &'static str {
        match self {
            Encoding::Brotli => ".br",
            Encoding::Zstd => ".zst",
            Encoding::Gzip => ".gz",
        }
    }

    /// The `Content-Encoding` value.
    pub fn header_value(self) -> HeaderValue {
        HeaderValue::from_static(self.token())
    }

    /// A small tag for cache keys and entity-tag suffixes.
    pub fn tag(self) -> u8 {
        match self {
            Encoding::Brotli => b'b',
            Encoding::Zstd => b'z',
            Encoding::Gzip => b'g',
        }
    }

    /// Compresses `data` in memory.
    pub fn compress(self, data: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(data.len() / 3 + 64);
        self.encode(&mut &data[..], &mut out)?;
        Ok(out)
    }

    /// Compresses everything `input` yields into `output` as it is read, a piece at a time:
    /// what it holds is the encoder's state, never the whole input or output. The output
    /// depends only on the input's bytes, so the strong entity tag of a compressed form holds.
    pub fn encode(self, input: &mut impl Read, output: &mut impl Write) -> io::Result<()> {
        match self {
            Encoding::Gzip => {
                let mut enc = flate2::write::GzEncoder::new(output, flate2::Compression::new(6));
                io::copy(input, &mut enc)?;
                enc.finish()?;
            }
            Encoding::Brotli => {
                // Quality 5 is the usual on-the-fly choice: most of the gain of 11 at a
                // fraction of the time.
                let params = brotli::enc::BrotliEncoderParams {
                    quality: 5,
                    lgwin: 22,
                    ..Default::default()
                };
                brotli::BrotliCompress(input, output, &params)?;
            }
            Encoding::Zstd => zstd::stream::copy_encode(input, output, 3)?,
        }
        Ok(())
    }
}

/// The codings a client's `Accept-Encoding` (every field line of it) accepts, best first: by
/// q-value, then by server preference (RFC 9110 12.5.3). `identity` is always acceptable to us
/// as a fallback: refusing it (`identity;q=0`) with nothing else acceptable would earn a `406`,
/// which helps nobody.
pub fn accepted(headers: &Headers) -> Vec<Encoding> {
    let weights = negotiate::coding_weights(
        headers.get_all("accept-encoding"),
        Encoding::ALL.map(Encoding::token),
    );
    let mut out: Vec<_> = Encoding::ALL
        .iter()
        .zip(weights)
        .filter_map(|(&e, w)| w.filter(|w| w.is_acceptable()).map(|w| (w, e)))
        .collect();
    out.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    out.into_iter().map(|(_, e)| e).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io::Read;

    fn accepted(lines: &[&'static str]) -> Vec<Encoding> {
        let mut h = Headers::new();
        for line in lines {
            h.append(
                http::header::ACCEPT_ENCODING,
                HeaderValue::from_static(line),
            );
        }
        super::accepted(&h)
    }

    #[test]
    fn negotiation_by_q_then_preference() {
        use Encoding::*;
        assert_eq!(accepted(&[]), vec![]);
        assert_eq!(
            accepted(&["gzip, deflate, br, zstd"]),
            vec![Brotli, Zstd, Gzip]
        );
        assert_eq!(accepted(&["gzip;q=1.0, br;q=0.5"]), vec![Gzip, Brotli]);
        assert_eq!(accepted(&["br;q=0, gzip"]), vec![Gzip]);
        assert_eq!(accepted(&["*"]), vec![Brotli, Zstd, Gzip]);
        assert_eq!(accepted(&["*;q=0.1, gzip;q=0"]), vec![Brotli, Zstd]);
        assert_eq!(accepted(&["identity"]), vec![]);
        assert_eq!(accepted(&["x-gzip"]), vec![Gzip]);
        assert_eq!(accepted(&["gzip;q=2, br;q=abc"]), vec![]);
    }

    #[test]
    fn every_accept_encoding_line_counts() {
        use Encoding::*;
        assert_eq!(accepted(&["identity", "gzip"]), vec![Gzip]);
        assert_eq!(accepted(&["gzip;q=0.5", "br"]), vec![Brotli, Gzip]);
    }

    #[test]
    fn every_coding_round_trips() {
        let data = "hello compressible world ".repeat(200);
        let gz = Encoding::Gzip.compress(data.as_bytes()).unwrap();
        let mut back = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, data);
        let zs = Encoding::Zstd.compress(data.as_bytes()).unwrap();
        assert_eq!(zstd::decode_all(&zs[..]).unwrap(), data.as_bytes());
        let br = Encoding::Brotli.compress(data.as_bytes()).unwrap();
        let mut back = Vec::new();
        brotli::BrotliDecompress(&mut &br[..], &mut back).unwrap();
        assert_eq!(back, data.as_bytes());
        assert!(br.len() < data.len() / 10);
    }
}

//! HPACK (RFC 7541): the header compression of HTTP/2.
//!
//! # Layout
//! - `huffman`: the Huffman code of Appendix B.
//! - `table`: the static table (Appendix A) and the dynamic table, kept in one byte vector.
//! - `decoder`: header blocks in, fields out, with integer, string and list bounds.
//! - `encoder`: response fields out, indexed in a dynamic table that exists only while the
//!   connection is busy.

mod decoder;
mod encoder;
pub mod huffman;
mod table;

pub use decoder::{DecodeError, Decoder};
pub use encoder::Encoder;
pub use table::STATIC;

/// Per-entry overhead of the dynamic table and of header list sizes (RFC 7541 4.1,
/// RFC 9113 6.5.2): 32 bytes beside the name and value.
pub const ENTRY_OVERHEAD: usize = 32;

/// Reads an integer with an `n`-bit prefix (RFC 7541 5.1) from `src` at `*pos`. Values past
/// `2^28` are refused: nothing in a header block is that large, and it keeps the arithmetic
/// far from overflow. So is a fifth continuation byte past the prefix: its bits would start
/// at 2^28, and zero-valued ones (which add nothing) would otherwise go on until the shift
/// itself overflowed.
pub(crate) fn read_int(src: &[u8], pos: &mut usize, n: u32) -> Result<usize, DecodeError> {
    let max_prefix = (1usize << n) - 1;
    let first = *src.get(*pos).ok_or(DecodeError::Truncated)?;
    *pos += 1;
    let mut value = usize::from(first) & max_prefix;
    if value < max_prefix {
        return Ok(value);
    }
    let mut shift = 0;
    loop {
        if shift > 28 {
            return Err(DecodeError::IntegerTooLarge);
        }
        let b = *src.get(*pos).ok_or(DecodeError::Truncated)?;
        *pos += 1;
        value += usize::from(b & 0x7f) << shift;
        if value > 1 << 28 {
            return Err(DecodeError::IntegerTooLarge);
        }
        if b & 0x80 == 0 {
            return Ok(value);
        }
        shift += 7;
    }
}

/// Appends `value` with an `n`-bit prefix whose high bits are `flags`.
pub(crate) fn write_int(out: &mut Vec<u8>, flags: u8, n: u32, value: usize) {
    let max_prefix = (1usize << n) - 1;
    if value < max_prefix {
        out.push(flags | value as u8);
        return;
    }
    out.push(flags | max_prefix as u8);
    let mut rest = value - max_prefix;
    while rest >= 128 {
        out.push((rest % 128) as u8 | 0x80);
        rest /= 128;
    }
    out.push(rest as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_round_trip_at_every_prefix() {
        for n in 1..=8 {
            for value in [0, 1, 30, 31, 127, 128, 255, 1337, 65_535, 1 << 20] {
                let mut out = Vec::new();
                write_int(&mut out, 0, n, value);
                let mut pos = 0;
                assert_eq!(read_int(&out, &mut pos, n), Ok(value), "{n} {value}");
                assert_eq!(pos, out.len());
                for cut in 0..out.len() {
                    let mut pos = 0;
                    assert_eq!(
                        read_int(&out[..cut], &mut pos, n),
                        Err(DecodeError::Truncated)
                    );
                }
            }
        }
    }

    #[test]
    fn the_rfc_integer_examples() {
        // RFC 7541 C.1.2: 1337 with a 5-bit prefix.
        let mut out = Vec::new();
        write_int(&mut out, 0, 5, 1337);
        assert_eq!(out, [31, 154, 10]);
    }

    #[test]
    fn integers_padded_with_zero_continuation_bytes_are_refused_not_overflowed() {
        // Found by the h2_conn fuzz target: a prefix full of ones, then 35 continuation bytes
        // that add nothing, shifted the next one past 64 bits (a panic with overflow checks).
        let mut src = vec![0x1f];
        src.extend([0x80; 35]);
        src.push(0x01);
        let mut pos = 0;
        assert_eq!(
            read_int(&src, &mut pos, 5),
            Err(DecodeError::IntegerTooLarge)
        );
        // Four continuation bytes are still read when the value stays in bounds.
        let mut pos = 0;
        assert_eq!(
            read_int(&[0x1f, 0xff, 0xff, 0xff, 0x3f], &mut pos, 5),
            Ok(31 + (1 << 27) - 1)
        );
        assert_eq!(pos, 5);
    }

    #[test]
    fn huge_integers_are_refused() {
        let src = [0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        let mut pos = 0;
        assert_eq!(
            read_int(&src, &mut pos, 7),
            Err(DecodeError::IntegerTooLarge)
        );
    }
}

//! Header blocks in, fields out (RFC 7541 3, 6).

use std::borrow::Cow;

use super::table::{STATIC, Table};
use super::{huffman, read_int};

/// Why a header block does not decode: each is a `COMPRESSION_ERROR` for the connection
/// (RFC 9113 4.3), since the dynamic table can no longer be kept in step with the peer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The block ends inside a representation.
    Truncated,
    /// An integer past 2^28.
    IntegerTooLarge,
    /// An index of no entry (0, or past the dynamic table).
    BadIndex,
    /// A Huffman string with EOS or bad padding.
    Huffman,
    /// A dynamic table size update above the size this side advertised.
    SizeUpdateTooLarge,
    /// A dynamic table size update after a field (RFC 7541 4.2: only at the block's start).
    SizeUpdateLate,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DecodeError::Truncated => "header block truncated",
            DecodeError::IntegerTooLarge => "HPACK integer too large",
            DecodeError::BadIndex => "HPACK index out of range",
            DecodeError::Huffman => "invalid Huffman string",
            DecodeError::SizeUpdateTooLarge => "dynamic table size update too large",
            DecodeError::SizeUpdateLate => "dynamic table size update after a field",
        })
    }
}

impl std::error::Error for DecodeError {}

/// The receiving side of HPACK: the dynamic table, bounded by the size this side advertised
/// (SETTINGS_HEADER_TABLE_SIZE).
#[derive(Debug)]
pub struct Decoder {
    table: Table,
    /// The largest size a size update may ask for: what this side advertised.
    limit: usize,
}

impl Decoder {
    /// A decoder whose table may hold `limit` bytes (RFC 7541 4.1 sizes), the value this side
    /// advertises as SETTINGS_HEADER_TABLE_SIZE (4096, the initial value, when it sends none).
    pub fn new(limit: usize) -> Decoder {
        Decoder {
            table: Table::new(limit),
            limit,
        }
    }

    /// Heap bytes the dynamic table holds.
    pub fn table_capacity(&self) -> usize {
        self.table.capacity()
    }

    /// Decodes one complete header block, handing each field to `field` in order. The fields
    /// are not bounded here (the caller counts them and stops keeping them at its limit); the
    /// decoding itself is bounded by the block's length, and by the table's size for what
    /// each index can expand to.
    pub fn decode(
        &mut self,
        block: &[u8],
        mut field: impl FnMut(&[u8], &[u8]),
    ) -> Result<(), DecodeError> {
        let mut pos = 0;
        let mut fields_seen = false;
        while pos < block.len() {
            let b = block[pos];
            if b & 0x80 != 0 {
                // 6.1: indexed field.
                let index = read_int(block, &mut pos, 7)?;
                let (name, value) = self.entry(index)?;
                field(name, value);
                fields_seen = true;
            } else if b & 0xc0 == 0x40 {
                // 6.2.1: literal with incremental indexing.
                let (name, value) = self.literal(block, &mut pos, 6)?;
                field(&name, &value);
                self.table.insert(&name, &value);
                fields_seen = true;
            } else if b & 0xe0 == 0x20 {
                // 6.3: dynamic table size update.
                if fields_seen {
                    return Err(DecodeError::SizeUpdateLate);
                }
                let max = read_int(block, &mut pos, 5)?;
                if max > self.limit {
                    return Err(DecodeError::SizeUpdateTooLarge);
                }
                self.table.set_max(max);
            } else {
                // 6.2.2 and 6.2.3: literal without indexing / never indexed.
                let (name, value) = self.literal(block, &mut pos, 4)?;
                field(&name, &value);
                fields_seen = true;
            }
        }
        Ok(())
    }

    /// The entry at `index` (1-based, static then dynamic).
    fn entry(&self, index: usize) -> Result<(&[u8], &[u8]), DecodeError> {
        match index {
            0 => Err(DecodeError::BadIndex),
            1..=61 => {
                let (n, v) = STATIC[index - 1];
                Ok((n.as_bytes(), v.as_bytes()))
            }
            _ => self.table.get(index - 62).ok_or(DecodeError::BadIndex),
        }
    }

    /// A literal's name (indexed with an `n`-bit prefix, or a string) and value.
    fn literal<'b>(
        &self,
        block: &'b [u8],
        pos: &mut usize,
        n: u32,
    ) -> Result<Field<'b>, DecodeError> {
        let index = read_int(block, pos, n)?;
        let name = if index == 0 {
            string(block, pos)?
        } else {
            Cow::Owned(self.entry(index)?.0.to_vec())
        };
        let value = string(block, pos)?;
        Ok((name, value))
    }
}

/// A decoded name and value, borrowed from the block where no Huffman or table lookup made
/// them.
type Field<'b> = (Cow<'b, [u8]>, Cow<'b, [u8]>);

/// A string literal (RFC 7541 5.2).
fn string<'b>(block: &'b [u8], pos: &mut usize) -> Result<Cow<'b, [u8]>, DecodeError> {
    let huffman = block.get(*pos).ok_or(DecodeError::Truncated)? & 0x80 != 0;
    let len = read_int(block, pos, 7)?;
    let end = pos.checked_add(len).ok_or(DecodeError::Truncated)?;
    let raw = block.get(*pos..end).ok_or(DecodeError::Truncated)?;
    *pos = end;
    if !huffman {
        return Ok(Cow::Borrowed(raw));
    }
    let mut out = Vec::with_capacity(len + len / 2);
    huffman::decode(raw, &mut out).map_err(|_| DecodeError::Huffman)?;
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(d: &mut Decoder, block: &[u8]) -> Result<Vec<(String, String)>, DecodeError> {
        let mut out = Vec::new();
        d.decode(block, |n, v| {
            out.push((
                String::from_utf8_lossy(n).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            ))
        })?;
        Ok(out)
    }

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or(0))
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_rfc_request_examples_with_huffman_decode_in_sequence() {
        // RFC 7541 C.4: three requests on one connection, sharing the dynamic table.
        let mut d = Decoder::new(4096);
        let first = hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff");
        assert_eq!(
            fields(&mut d, &first),
            Ok(pairs(&[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                (":authority", "www.example.com"),
            ]))
        );
        let second = hex("8286 84be 5886 a8eb 1064 9cbf");
        assert_eq!(
            fields(&mut d, &second),
            Ok(pairs(&[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                (":authority", "www.example.com"),
                ("cache-control", "no-cache"),
            ]))
        );
        let third = hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf");
        assert_eq!(
            fields(&mut d, &third),
            Ok(pairs(&[
                (":method", "GET"),
                (":scheme", "https"),
                (":path", "/index.html"),
                (":authority", "www.example.com"),
                ("custom-key", "custom-value"),
            ]))
        );
        assert_eq!(d.table.len(), 3);
        assert_eq!(d.table.size(), 164);
    }

    #[test]
    fn a_block_cut_anywhere_is_truncated_never_a_panic() {
        let block = hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf");
        for cut in 1..block.len() {
            let mut d = Decoder::new(4096);
            let got = fields(&mut d, &block[..cut]);
            assert!(got.is_err() || cut <= 3, "{cut}: {got:?}");
        }
    }

    #[test]
    fn size_updates_only_at_the_start_and_within_the_advertised_size() {
        let mut d = Decoder::new(4096);
        // 0x3f e1 1f = 4096; then an indexed field.
        assert!(fields(&mut d, &[0x3f, 0xe1, 0x1f, 0x82]).is_ok());
        // 4097.
        assert_eq!(
            fields(&mut d, &[0x3f, 0xe2, 0x1f]),
            Err(DecodeError::SizeUpdateTooLarge)
        );
        assert_eq!(
            fields(&mut d, &[0x82, 0x20]),
            Err(DecodeError::SizeUpdateLate)
        );
    }

    #[test]
    fn bad_indices_are_errors() {
        let mut d = Decoder::new(4096);
        assert_eq!(fields(&mut d, &[0x80]), Err(DecodeError::BadIndex));
        assert_eq!(fields(&mut d, &[0xbe]), Err(DecodeError::BadIndex));
        // A literal whose name index is past the table.
        assert_eq!(fields(&mut d, &[0x7e, 0x00]), Err(DecodeError::BadIndex));
    }

    #[test]
    fn a_table_of_size_zero_keeps_nothing() {
        let mut d = Decoder::new(4096);
        assert!(fields(&mut d, &[0x20, 0x40, 0x01, b'a', 0x01, b'b']).is_ok());
        assert_eq!(d.table.len(), 0);
        assert_eq!(fields(&mut d, &[0xbe]), Err(DecodeError::BadIndex));
    }
}

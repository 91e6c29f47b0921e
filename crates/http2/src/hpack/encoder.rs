//! Response fields out (RFC 7541 6): indexed in the dynamic table once sent, so that the
//! fields every response repeats (`server`, `content-type`, `cache-control`...) cost a byte
//! each after the first, as with nginx and the h2 crate; a client decodes a few bytes per
//! response instead of a few hundred.
//!
//! The table exists only while the connection is busy: [`Encoder::clear`] drops it when the
//! connection goes idle, and the next header block starts with two size updates (0, then the
//! size again, RFC 7541 4.2), which empties the client's copy too. An idle connection holds no
//! encoder table.

use super::table::Table;
use super::{ENTRY_OVERHEAD, huffman, write_int};

/// The encoder's table size, at most: the initial SETTINGS_HEADER_TABLE_SIZE (4 KiB), which
/// holds a response's fields many times over.
pub const ENCODER_TABLE_SIZE: usize = 4096;

/// Bytes the table starts with: a typical response's fields (about 300 bytes) and room.
const TABLE_START: usize = 512;

/// The sending side of HPACK.
#[derive(Debug)]
pub struct Encoder {
    table: Table,
    /// The size the table may have: the peer's SETTINGS_HEADER_TABLE_SIZE, at most
    /// [`ENCODER_TABLE_SIZE`].
    max: usize,
    /// The next block starts with size updates to 0 and back to `max`.
    resync: bool,
    /// Header blocks begun since the table was last dropped: the first of a burst is sent
    /// without indexing, so that a connection that makes one request never has a table.
    blocks: u32,
}

impl Default for Encoder {
    fn default() -> Encoder {
        Encoder {
            table: Table::new(ENCODER_TABLE_SIZE),
            max: ENCODER_TABLE_SIZE,
            resync: false,
            blocks: 0,
        }
    }
}

impl Encoder {
    /// The peer's SETTINGS_HEADER_TABLE_SIZE: the table is started afresh within it.
    pub fn set_peer_max(&mut self, max: usize) {
        let max = max.min(ENCODER_TABLE_SIZE);
        if max == self.max {
            return;
        }
        self.max = max;
        self.table = Table::new(self.max);
        self.resync = true;
    }

    /// Drops the table (an idle connection's); the client's copy is emptied by the next block.
    pub fn clear(&mut self) {
        if self.table.capacity() > 0 {
            self.table = Table::new(self.max);
            self.resync = true;
        }
        self.blocks = 0;
    }

    /// Heap bytes the table holds.
    pub fn table_capacity(&self) -> usize {
        self.table.capacity()
    }

    /// Starts a header block: the size updates a cleared table owes the peer.
    pub fn begin(&mut self, out: &mut Vec<u8>) {
        self.blocks = self.blocks.saturating_add(1);
        if self.resync {
            write_int(out, 0x20, 5, 0);
            write_int(out, 0x20, 5, self.max);
            self.resync = false;
        }
    }

    /// Appends `:status`: indexed when the static table has it.
    pub fn status(&self, status: u16, out: &mut Vec<u8>) {
        let index = match status {
            200 => 8,
            204 => 9,
            206 => 10,
            304 => 11,
            400 => 12,
            404 => 13,
            500 => 14,
            _ => 0,
        };
        if index > 0 {
            out.push(0x80 | index);
            return;
        }
        let mut digits = [0u8; 3];
        let s = status.min(999);
        digits[0] = b'0' + (s / 100) as u8;
        digits[1] = b'0' + (s / 10 % 10) as u8;
        digits[2] = b'0' + (s % 10) as u8;
        // Literal without indexing, name `:status` (static index 8).
        write_int(out, 0x00, 4, 8);
        string(&digits, out);
    }

    /// Appends one field, `name` in lower case: indexed when the table has it, else a literal
    /// the table then keeps (never indexed for `set-cookie`, RFC 7541 7.1.3; not kept when it
    /// would take more than a quarter of the table). Strings are Huffman-coded when shorter.
    pub fn field(&mut self, name: &[u8], value: &[u8], out: &mut Vec<u8>) {
        let (both, named) = self.table.find(name, value);
        if let Some(k) = both {
            write_int(out, 0x80, 7, 62 + k);
            return;
        }
        let size = name.len() + value.len() + ENTRY_OVERHEAD;
        let keep = name != b"set-cookie" && size <= self.max / 4 && self.blocks > 1;
        let name_index = static_name(name).or(named.map(|k| 62 + k));
        let (flags, prefix) = match (keep, name == b"set-cookie") {
            (true, _) => (0x40, 6),
            (false, true) => (0x10, 4),
            (false, false) => (0x00, 4),
        };
        match name_index {
            Some(index) => write_int(out, flags, prefix, index),
            None => {
                out.push(flags);
                string(name, out);
            }
        }
        string(value, out);
        if keep {
            if self.table.capacity() == 0 {
                // One allocation for a response's worth of fields, not a chain of doublings
                // whose freed steps would stay between other connections' memory.
                self.table.reserve(TABLE_START);
            }
            self.table.insert(name, value);
        }
    }
}

/// A string literal, Huffman-coded when shorter.
fn string(s: &[u8], out: &mut Vec<u8>) {
    let coded = huffman::encoded_len(s);
    if coded < s.len() {
        write_int(out, 0x80, 7, coded);
        huffman::encode(s, out);
    } else {
        write_int(out, 0x00, 7, s.len());
        out.extend_from_slice(s);
    }
}

/// The static table index of a response field's name.
fn static_name(name: &[u8]) -> Option<usize> {
    Some(match name {
        b"accept-ranges" => 18,
        b"access-control-allow-origin" => 20,
        b"age" => 21,
        b"allow" => 22,
        b"cache-control" => 24,
        b"content-disposition" => 25,
        b"content-encoding" => 26,
        b"content-language" => 27,
        b"content-length" => 28,
        b"content-location" => 29,
        b"content-range" => 30,
        b"content-type" => 31,
        b"date" => 33,
        b"etag" => 34,
        b"expires" => 36,
        b"last-modified" => 44,
        b"link" => 45,
        b"location" => 46,
        b"proxy-authenticate" => 48,
        b"refresh" => 52,
        b"retry-after" => 53,
        b"server" => 54,
        b"set-cookie" => 55,
        b"strict-transport-security" => 56,
        b"vary" => 59,
        b"via" => 60,
        b"www-authenticate" => 61,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::Decoder;
    use super::*;

    #[test]
    fn what_is_encoded_decodes_to_the_same_fields() {
        let mut out = Vec::new();
        let mut e = Encoder::default();
        e.status(200, &mut out);
        e.status(418, &mut out);
        e.field(b"content-type", b"text/html; charset=utf-8", &mut out);
        e.field(b"x-custom", b"\x01\xff", &mut out);
        e.field(b"server", b"", &mut out);
        let mut got = Vec::new();
        let mut d = Decoder::new(4096);
        d.decode(&out, |n, v| got.push((n.to_vec(), v.to_vec())))
            .expect("decodes");
        let want: Vec<(Vec<u8>, Vec<u8>)> = [
            (":status", &b"200"[..]),
            (":status", b"418"),
            ("content-type", b"text/html; charset=utf-8"),
            ("x-custom", b"\x01\xff"),
            ("server", b""),
        ]
        .iter()
        .map(|(n, v)| (n.as_bytes().to_vec(), v.to_vec()))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn repeated_fields_are_indexed_and_a_cleared_table_is_resynchronised() {
        let mut e = Encoder::default();
        let mut d = Decoder::new(4096);
        let fields: [(&[u8], &[u8]); 3] = [
            (b"content-type", b"text/html"),
            (b"x-frame", b"deny"),
            (b"set-cookie", b"a=1"),
        ];
        let mut sizes = Vec::new();
        for round in 0..6 {
            if round == 3 {
                e.clear();
                assert_eq!(e.table_capacity(), 0);
            }
            let mut out = Vec::new();
            e.begin(&mut out);
            e.status(200, &mut out);
            for (n, v) in fields {
                e.field(n, v, &mut out);
            }
            let mut got = Vec::new();
            d.decode(&out, |n, v| got.push((n.to_vec(), v.to_vec())))
                .expect("decodes");
            assert_eq!(got.len(), 4);
            assert_eq!(got[1], (b"content-type".to_vec(), b"text/html".to_vec()));
            assert_eq!(got[3], (b"set-cookie".to_vec(), b"a=1".to_vec()));
            sizes.push(out.len());
        }
        // The first response of a burst keeps nothing (no table for a lone request), the
        // second fills the table, the third is indexed; the same after the table was dropped.
        assert!(e.table_capacity() > 0);
        assert!(sizes[2] < sizes[1] / 2, "{sizes:?}");
        assert!(sizes[5] < sizes[4] / 2, "{sizes:?}");
    }

    #[test]
    fn static_names_match_the_table() {
        for (i, (name, _)) in super::super::STATIC.iter().enumerate() {
            if let Some(index) = static_name(name.as_bytes()) {
                assert_eq!(index, i + 1, "{name}");
            }
        }
    }
}

//! Response fields out (RFC 7541 6.2.2): literals without indexing, their names indexed in the
//! static table where it has them. No dynamic table: it would cost every connection up to
//! 4 KiB for its life to save a few bytes per response, and idle memory matters more here.

use super::{huffman, write_int};

/// The sending side of HPACK. Stateless: a unit struct, so it costs a connection nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Encoder;

impl Encoder {
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

    /// Appends one field, `name` in lower case. Values are Huffman-coded when that is shorter.
    pub fn field(&self, name: &[u8], value: &[u8], out: &mut Vec<u8>) {
        match static_name(name) {
            Some(index) => write_int(out, 0x00, 4, index),
            None => {
                out.push(0x00);
                string(name, out);
            }
        }
        string(value, out);
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
        let e = Encoder;
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
        assert_eq!(d.table_capacity(), 0);
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

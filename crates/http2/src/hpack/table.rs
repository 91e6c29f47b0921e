//! The static table (RFC 7541 Appendix A) and the dynamic table (RFC 7541 2.3.2, 4).

/// The static table, index 1 first.
pub static STATIC: [(&str, &str); 61] = [
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
];

/// The dynamic table, in one byte vector so that it costs one allocation however many entries
/// it holds: entries oldest first, each a 2-byte name length, a 2-byte value length, the name
/// and the value. Lookups walk the entries (at most 4096 / 32 = 128 of them).
#[derive(Debug, Default)]
pub(crate) struct Table {
    bytes: Vec<u8>,
    count: usize,
    /// The size by RFC 7541 4.1 (name + value + 32 per entry).
    size: usize,
    max: usize,
}

impl Table {
    pub(crate) fn new(max: usize) -> Table {
        Table {
            max,
            ..Table::default()
        }
    }

    /// Entries held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// The RFC 7541 size of what is held.
    #[cfg(test)]
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// The bytes the table holds on the heap.
    pub(crate) fn capacity(&self) -> usize {
        self.bytes.capacity()
    }

    /// Room for `n` more bytes of entries at once, rather than by doubling.
    pub(crate) fn reserve(&mut self, n: usize) {
        self.bytes.reserve(n);
    }

    /// The entry `k` places from the newest (0: the newest).
    pub(crate) fn get(&self, k: usize) -> Option<(&[u8], &[u8])> {
        if k >= self.count {
            return None;
        }
        let mut skip = self.count - 1 - k;
        let mut at = 0;
        loop {
            let (nl, vl) = self.lens(at);
            if skip == 0 {
                let name = &self.bytes[at + 4..at + 4 + nl];
                let value = &self.bytes[at + 4 + nl..at + 4 + nl + vl];
                return Some((name, value));
            }
            at += 4 + nl + vl;
            skip -= 1;
        }
    }

    fn lens(&self, at: usize) -> (usize, usize) {
        let b = &self.bytes[at..at + 4];
        (
            usize::from(u16::from_be_bytes([b[0], b[1]])),
            usize::from(u16::from_be_bytes([b[2], b[3]])),
        )
    }

    /// Where `name` and `value` are, newest first (0: the newest): the entry with both, and
    /// the first entry with the name.
    pub(crate) fn find(&self, name: &[u8], value: &[u8]) -> (Option<usize>, Option<usize>) {
        let (mut both, mut named) = (None, None);
        let mut at = 0;
        for i in 0..self.count {
            let (nl, vl) = self.lens(at);
            let n = &self.bytes[at + 4..at + 4 + nl];
            if n == name {
                let k = self.count - 1 - i;
                // Later (newer) matches win: smaller indices.
                named = Some(k);
                if &self.bytes[at + 4 + nl..at + 4 + nl + vl] == value {
                    both = Some(k);
                }
            }
            at += 4 + nl + vl;
        }
        (both, named)
    }

    /// Adds an entry (RFC 7541 4.4): older ones are evicted to make room; one larger than the
    /// whole table empties it and is not added.
    pub(crate) fn insert(&mut self, name: &[u8], value: &[u8]) {
        let size = name.len() + value.len() + super::ENTRY_OVERHEAD;
        if size > self.max {
            self.clear();
            return;
        }
        self.evict_to(self.max - size);
        // Both fit in u16: size <= max <= the decoder's bound (far below 64 KiB).
        self.bytes
            .extend_from_slice(&(name.len() as u16).to_be_bytes());
        self.bytes
            .extend_from_slice(&(value.len() as u16).to_be_bytes());
        self.bytes.extend_from_slice(name);
        self.bytes.extend_from_slice(value);
        self.count += 1;
        self.size += size;
    }

    /// A new maximum size (RFC 7541 4.3): entries are evicted until it holds.
    pub(crate) fn set_max(&mut self, max: usize) {
        self.max = max;
        self.evict_to(max);
    }

    fn evict_to(&mut self, room: usize) {
        let mut cut = 0;
        while self.size > room && self.count > 0 {
            let (nl, vl) = self.lens(cut);
            cut += 4 + nl + vl;
            self.size -= nl + vl + super::ENTRY_OVERHEAD;
            self.count -= 1;
        }
        if cut > 0 {
            self.bytes.drain(..cut);
        }
        if self.count == 0 {
            self.clear();
        }
    }

    pub(crate) fn clear(&mut self) {
        self.bytes = Vec::new();
        self.count = 0;
        self.size = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_found_newest_first_and_evicted_oldest_first() {
        let mut t = Table::new(100);
        t.insert(b"a", b"1"); // 34
        t.insert(b"b", b"22"); // 35
        assert_eq!(t.get(0), Some((&b"b"[..], &b"22"[..])));
        assert_eq!(t.get(1), Some((&b"a"[..], &b"1"[..])));
        assert_eq!(t.get(2), None);
        t.insert(b"c", b"333"); // 36: 105 > 100, "a" goes
        assert_eq!(t.len(), 2);
        assert_eq!(t.size(), 71);
        assert_eq!(t.get(1), Some((&b"b"[..], &b"22"[..])));
        t.set_max(40);
        assert_eq!(t.len(), 1);
        assert_eq!(t.get(0), Some((&b"c"[..], &b"333"[..])));
        t.insert(&[b'x'; 50], b"");
        assert_eq!(t.len(), 0);
        assert_eq!(t.capacity(), 0);
    }
}

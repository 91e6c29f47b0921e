//! `Range: bytes=...` (RFC 9110 section 14).
//!
//! Ranges are coalesced: overlapping or adjacent ranges become one and the set is sent in file
//! order, which section 14.2 allows. After coalescing the ranges are disjoint, so a response can
//! never be larger than the file plus part headers, however the client repeats itself. A header
//! with too many specs, or one that still needs more than [`MAX_RANGES`] parts, is ignored and
//! the whole file is sent with `200`, which is always a correct answer to a range request.

/// Most range specs read from one header; a longer list is ignored (`200` with the whole file).
pub const MAX_SPECS: usize = 100;

/// Most parts in a `multipart/byteranges` response after coalescing; more are ignored (`200`).
pub const MAX_RANGES: usize = 16;

/// An inclusive byte range of a representation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte.
    pub start: u64,
    /// Last byte (inclusive, as in `Content-Range`).
    pub end: u64,
}

impl ByteRange {
    /// How many bytes it covers.
    pub fn len(&self) -> u64 {
        self.end - self.start + 1
    }

    /// Never true: a range covers at least one byte.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The `Content-Range` value: `bytes START-END/LEN`.
    pub fn content_range(&self, complete: u64) -> String {
        format!("bytes {}-{}/{}", self.start, self.end, complete)
    }
}

/// What to answer a `Range` header with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ranges {
    /// Ignore it and send everything with `200` (unknown unit, bad syntax, too many ranges).
    Full,
    /// `206` with these ranges: disjoint, in ascending order, at least one.
    Partial(Vec<ByteRange>),
    /// `416` with `Content-Range: bytes */LEN`: valid syntax but no range overlaps the content.
    Unsatisfiable,
}

/// Parses a `Range` header against a representation of `len` bytes.
pub fn parse(value: &str, len: u64) -> Ranges {
    let Some(set) = strip_unit(value.trim()) else {
        return Ranges::Full;
    };
    let mut ranges = Vec::new();
    let mut specs = 0;
    for spec in set.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        specs += 1;
        if specs > MAX_SPECS {
            return Ranges::Full;
        }
        match parse_spec(spec, len) {
            Spec::Invalid => return Ranges::Full,
            Spec::Unsatisfiable => {}
            Spec::Range(r) => ranges.push(r),
        }
    }
    if specs == 0 {
        return Ranges::Full;
    }
    if ranges.is_empty() {
        return Ranges::Unsatisfiable;
    }
    let ranges = coalesce(ranges);
    if ranges.len() > MAX_RANGES {
        return Ranges::Full;
    }
    Ranges::Partial(ranges)
}

/// `bytes=` is the only unit; its name is case-insensitive.
fn strip_unit(value: &str) -> Option<&str> {
    let (unit, set) = value.split_once('=')?;
    unit.trim().eq_ignore_ascii_case("bytes").then_some(set)
}

enum Spec {
    Invalid,
    Unsatisfiable,
    Range(ByteRange),
}

/// One of `FIRST-LAST`, `FIRST-` or `-SUFFIX`.
fn parse_spec(spec: &str, len: u64) -> Spec {
    let Some((first, last)) = spec.split_once('-') else {
        return Spec::Invalid;
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        // A suffix: the last N bytes (all of them if N >= len); N = 0 asks for nothing.
        return match digits(last) {
            None => Spec::Invalid,
            Some(0) => Spec::Unsatisfiable,
            Some(_) if len == 0 => Spec::Unsatisfiable,
            Some(n) => Spec::Range(ByteRange {
                start: len - n.min(len),
                end: len - 1,
            }),
        };
    }
    let Some(start) = digits(first) else {
        return Spec::Invalid;
    };
    let end = if last.is_empty() {
        u64::MAX
    } else {
        match digits(last) {
            Some(end) if end >= start => end,
            _ => return Spec::Invalid,
        }
    };
    if start >= len {
        return Spec::Unsatisfiable;
    }
    Spec::Range(ByteRange {
        start,
        end: end.min(len - 1),
    })
}

/// A range bound: a non-empty run of ASCII digits that fits in a `u64`.
fn digits(s: &str) -> Option<u64> {
    semantics::decimal::parse_u64(s.as_bytes())
}

/// Sorts and merges overlapping or adjacent ranges.
fn coalesce(mut ranges: Vec<ByteRange>) -> Vec<ByteRange> {
    ranges.sort_unstable_by_key(|r| r.start);
    let mut out: Vec<ByteRange> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(prev) if r.start <= prev.end.saturating_add(1) => prev.end = prev.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn r(start: u64, end: u64) -> ByteRange {
        ByteRange { start, end }
    }

    #[test]
    fn single_forms() {
        assert_eq!(parse("bytes=0-99", 1000), Ranges::Partial(vec![r(0, 99)]));
        assert_eq!(
            parse("bytes=900-", 1000),
            Ranges::Partial(vec![r(900, 999)])
        );
        assert_eq!(
            parse("bytes=-100", 1000),
            Ranges::Partial(vec![r(900, 999)])
        );
        assert_eq!(parse("bytes=-5000", 1000), Ranges::Partial(vec![r(0, 999)]));
        assert_eq!(
            parse("bytes=990-5000", 1000),
            Ranges::Partial(vec![r(990, 999)])
        );
        assert_eq!(parse("Bytes = 1-1", 10), Ranges::Partial(vec![r(1, 1)]));
    }

    #[test]
    fn unsatisfiable_and_ignored() {
        assert_eq!(parse("bytes=1000-", 1000), Ranges::Unsatisfiable);
        assert_eq!(parse("bytes=-0", 1000), Ranges::Unsatisfiable);
        assert_eq!(parse("bytes=0-", 0), Ranges::Unsatisfiable);
        assert_eq!(parse("bytes=-1", 0), Ranges::Unsatisfiable);
        assert_eq!(parse("items=0-1", 10), Ranges::Full);
        assert_eq!(parse("bytes=5-1", 10), Ranges::Full);
        assert_eq!(parse("bytes=a-b", 10), Ranges::Full);
        assert_eq!(parse("bytes=", 10), Ranges::Full);
        assert_eq!(parse("bytes=1", 10), Ranges::Full);
        assert_eq!(parse("bytes=99999999999999999999-", 10), Ranges::Full);
    }

    #[test]
    fn several_are_coalesced_and_bounded() {
        assert_eq!(
            parse("bytes=50-59, 0-9,5-14,15-20", 100),
            Ranges::Partial(vec![r(0, 20), r(50, 59)])
        );
        assert_eq!(
            parse("bytes=0-1,500-600", 100),
            Ranges::Partial(vec![r(0, 1)])
        );
        let overlap = vec!["0-"; 50].join(",");
        assert_eq!(
            parse(&format!("bytes={overlap}"), 100),
            Ranges::Partial(vec![r(0, 99)])
        );
        let many: Vec<String> = (0..20).map(|i| format!("{}-{}", i * 10, i * 10)).collect();
        assert_eq!(
            parse(&format!("bytes={}", many.join(",")), 1000),
            Ranges::Full
        );
        let too_many = vec!["0-0"; MAX_SPECS + 1].join(",");
        assert_eq!(parse(&format!("bytes={too_many}"), 100), Ranges::Full);
    }

    #[test]
    fn content_range_text() {
        assert_eq!(r(0, 9).content_range(100), "bytes 0-9/100");
        assert_eq!(r(0, 9).len(), 10);
    }
}

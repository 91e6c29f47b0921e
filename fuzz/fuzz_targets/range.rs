//! Feeds arbitrary `Range` values and representation lengths to the range parser.
//!
//! Beyond "never panics": every range it grants lies inside the representation, the ranges are
//! disjoint, ascending and not adjacent (so a response is never larger than the file), there are
//! at most `MAX_RANGES`, and writing the granted ranges back as a header parses to the same set.

#![no_main]

use files::range::{ByteRange, MAX_RANGES, Ranges, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((len, value)) = data.split_first_chunk::<8>() else {
        return;
    };
    let len = u64::from_le_bytes(*len);
    let value = String::from_utf8_lossy(value);
    // Mostly small lengths, where ranges overlap the end, and now and then any u64.
    for len in [len % 1024, len] {
        check(&value, len);
    }
});

fn check(value: &str, len: u64) {
    let ranges = match parse(value, len) {
        Ranges::Partial(ranges) => ranges,
        Ranges::Full | Ranges::Unsatisfiable => return,
    };
    assert!(
        !ranges.is_empty() && ranges.len() <= MAX_RANGES,
        "{ranges:?}"
    );
    let mut total = 0u64;
    for r in &ranges {
        assert!(r.start <= r.end && r.end < len, "{r:?} outside 0..{len}");
        total += r.len();
    }
    assert!(total <= len);
    for pair in ranges.windows(2) {
        assert!(pair[0].end + 1 < pair[1].start, "not coalesced: {pair:?}");
    }
    assert_eq!(parse(&render(&ranges), len), Ranges::Partial(ranges));
}

/// The ranges as a `Range` header value.
fn render(ranges: &[ByteRange]) -> String {
    let specs: Vec<String> = ranges
        .iter()
        .map(|r| format!("{}-{}", r.start, r.end))
        .collect();
    format!("bytes={}", specs.join(","))
}

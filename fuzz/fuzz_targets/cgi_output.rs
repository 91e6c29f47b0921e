//! Feeds arbitrary script output to the CGI header-block scanner and parser.
//!
//! Beyond "never panics": the scanner finds the same block whether the output arrives whole or
//! in three reads; a parsed head holds no field the server frames itself, a `Status` in
//! 200..=599 and values a response can carry; and writing the parsed head back out as a header
//! block parses to the same head.

#![no_main]

use cgi::output::{HeadScanner, OutputError, ScriptHead, parse_head};
use libfuzzer_sys::fuzz_target;

/// Fields the parser must never pass through (they frame the response or are read apart).
const NEVER_PASSED: [&str; 10] = [
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
    "status",
    "location",
    "content-length",
];

fuzz_target!(|data: &[u8]| {
    let whole = HeadScanner::default().scan(data);
    let (a, b) = cuts(data);
    assert_eq!(scan_in_reads(data, &[a, b]), whole);
    let Ok(Some((block, end))) = whole else {
        return;
    };
    assert!(block < end && end <= data.len());
    let Ok(head) = parse_head(&data[..block]) else {
        return;
    };
    check(&head);
    let again = parse_head(&render(&head));
    assert_eq!(again.as_ref(), Ok(&head));
});

/// Two cut points taken from the first bytes of the input.
fn cuts(data: &[u8]) -> (usize, usize) {
    let n = data.len() + 1;
    let (a, b) = match data {
        [x, y, ..] => (usize::from(*x) % n, usize::from(*y) % n),
        _ => (0, 0),
    };
    (a.min(b), a.max(b))
}

/// Scans the output as it would arrive in reads ending at `cuts`, then whole.
fn scan_in_reads(data: &[u8], cuts: &[usize]) -> Result<Option<(usize, usize)>, OutputError> {
    let mut scanner = HeadScanner::default();
    for &end in cuts {
        if let Some(found) = scanner.scan(&data[..end])? {
            return Ok(Some(found));
        }
    }
    scanner.scan(data)
}

fn check(head: &ScriptHead) {
    if let Some(status) = head.status {
        assert!((200..=599).contains(&status.as_u16()));
    }
    if let Some(reason) = &head.reason {
        let control = reason.bytes().any(|b| b.is_ascii_control() && b != b'\t');
        assert!(!reason.is_empty() && !control, "{reason:?}");
    }
    for (name, value) in head.headers.iter() {
        assert!(!NEVER_PASSED.contains(&name.as_str()), "{name} passed on");
        assert!(
            !value.as_bytes().iter().any(|&b| b == b'\r' || b == b'\n'),
            "{value:?}"
        );
    }
}

/// The head as a script would print it.
fn render(head: &ScriptHead) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(status) = head.status {
        out.extend_from_slice(format!("Status: {}", status.as_u16()).as_bytes());
        if let Some(reason) = &head.reason {
            out.extend_from_slice(format!(" {reason}").as_bytes());
        }
        out.push(b'\n');
    }
    if let Some(location) = &head.location {
        out.extend_from_slice(b"Location: ");
        out.extend_from_slice(location.as_bytes());
        out.push(b'\n');
    }
    if let Some(length) = head.content_length {
        out.extend_from_slice(format!("Content-Length: {length}\n").as_bytes());
    }
    for (name, value) in head.headers.iter() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.push(b'\n');
    }
    out
}

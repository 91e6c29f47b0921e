//! Feeds arbitrary strings to the client's URL parser, to `HOST:PORT` and to reference
//! resolution (`Location` against the URL it came from).
//!
//! Beyond "never panics": a parsed URL has a host, a non-zero port and a target that starts with
//! `/` and can go on a request line as is; printing it and parsing the text again gives the same
//! URL; a URL joined to its own text is itself; and a relative reference resolves to a path with
//! no dot-segments on the same host and port.

#![no_main]

use client::url::{Url, parse_host_port};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (first, second) = text.split_once('\n').unwrap_or((&text, ""));
    if let Ok(url) = Url::parse(first) {
        check(&url);
        assert_eq!(url.join(&url.to_string()).as_ref(), Ok(&url));
    }
    if let Ok((host, port)) = parse_host_port(first) {
        assert!(!host.is_empty() && port != 0);
        let again = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        assert_eq!(parse_host_port(&again), Ok((host, port)));
    }
    let base = Url::parse(second).unwrap_or_else(|_| Url::parse("http://a/b/c/d;p?q").unwrap());
    if let Ok(joined) = base.join(first) {
        check(&joined);
        if is_relative(first) {
            assert!(joined.same_endpoint(&base));
            if !reference_path(first).is_empty() {
                let dots = joined.path().split('/').any(|s| s == "." || s == "..");
                assert!(!dots, "{first:?} joined to {joined}");
            }
        }
    }
});

/// The invariants of any URL the parser hands out.
fn check(url: &Url) {
    assert!(!url.host().is_empty());
    assert_ne!(url.port(), 0);
    let target = url.target();
    assert!(target.starts_with('/'), "{target:?}");
    assert!(
        target
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'#' && !b"\"<>\\^`{|}".contains(&b)),
        "{target:?} cannot go on a request line"
    );
    let text = url.to_string();
    assert_eq!(Url::parse(&text).as_ref(), Ok(url), "{text}");
}

/// The path part of a reference: before any query or fragment.
fn reference_path(reference: &str) -> &str {
    let r = reference.trim();
    let r = r.split('#').next().unwrap_or(r);
    r.split('?').next().unwrap_or(r)
}

/// A reference with neither a scheme nor an authority (RFC 3986 4.2).
fn is_relative(reference: &str) -> bool {
    let r = reference.trim();
    let scheme = r.split_once(':').is_some_and(|(s, _)| {
        let mut b = s.bytes();
        b.next().is_some_and(|c| c.is_ascii_alphabetic())
            && b.all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(&c))
    });
    !scheme && !r.starts_with("//")
}

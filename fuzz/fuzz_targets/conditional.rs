//! Feeds arbitrary conditional headers (`If-Match`, `If-None-Match`, `If-Modified-Since`,
//! `If-Unmodified-Since`, `If-Range`) to the precondition evaluation of RFC 9110 13.2.2.
//!
//! Beyond "never panics": only GET and HEAD are ever answered `304`; `If-Modified-Since` does
//! not matter when `If-None-Match` is present; a list that matches strongly (`If-Match`) also
//! matches weakly (`If-None-Match`); `If-Modified-Since` agrees with the date parsed on its own;
//! and `If-Range` holds for the current tag and `Last-Modified` and never for a weak tag.

#![no_main]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use files::conditional::{Outcome, Validators, evaluate, if_range_holds};
use http::{HeaderName, HeaderValue, Method};
use http1::Headers;
use libfuzzer_sys::fuzz_target;

/// The header each input line fills, in order.
const NAMES: [&str; 5] = [
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "if-range",
];

const TAGS: [&str; 4] = ["\"abc-1\"", "\"\"", "\"W/x\"", "\"a,b\""];

fuzz_target!(|data: &[u8]| {
    let Some((&[pick, secs @ ..], text)) = data.split_first_chunk::<5>() else {
        return;
    };
    let secs = u32::from_le_bytes(secs);
    let v = Validators {
        etag: TAGS[usize::from(pick) % TAGS.len()],
        modified: UNIX_EPOCH + Duration::from_millis(u64::from(secs) * 1000 + u64::from(pick)),
    };
    let text = String::from_utf8_lossy(text);
    let lines: Vec<&str> = text.split('\n').collect();
    let present = |i: usize| lines.get(i).copied().filter(|l| !l.is_empty());
    let headers = |skip: &[&str]| {
        let mut h = Headers::new();
        for (i, name) in NAMES.iter().enumerate() {
            if let (Some(line), false) = (present(i), skip.contains(name)) {
                add(&mut h, name, line);
            }
        }
        h
    };
    let all = headers(&[]);
    for method in [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
    ] {
        let outcome = evaluate(&all, &method, v);
        if method != Method::GET && method != Method::HEAD {
            assert_ne!(outcome, Outcome::NotModified, "{method}");
        }
        if all.contains("if-none-match") {
            let without = headers(&["if-modified-since"]);
            assert_eq!(evaluate(&without, &method, v), outcome);
        }
    }
    if let Some(list) = present(0).filter(|_| all.contains("if-match")) {
        let mut strong = Headers::new();
        add(&mut strong, "if-match", list);
        let mut weak = Headers::new();
        add(&mut weak, "if-none-match", list);
        if evaluate(&strong, &Method::GET, v) == Outcome::Proceed {
            assert_eq!(evaluate(&weak, &Method::GET, v), Outcome::NotModified);
        }
    }
    if let Some(date) = present(2).filter(|_| all.contains("if-modified-since")) {
        let mut only = Headers::new();
        add(&mut only, "if-modified-since", date);
        let expected = match httpdate::parse_http_date(date.trim()) {
            Ok(since) if seconds(v.modified) <= seconds(since) => Outcome::NotModified,
            _ => Outcome::Proceed,
        };
        assert_eq!(evaluate(&only, &Method::GET, v), expected, "{date:?}");
    }
    let _ = if_range_holds(&all, v);
    let last_modified = httpdate::fmt_http_date(v.modified);
    for (value, holds) in [
        (v.etag.to_string(), true),
        (format!("W/{}", v.etag), false),
        (last_modified, true),
    ] {
        let mut h = Headers::new();
        add(&mut h, "if-range", &value);
        assert_eq!(if_range_holds(&h, v), holds, "{value:?}");
    }
});

/// Appends a field, skipping values no request could carry.
fn add(h: &mut Headers, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        h.append(HeaderName::from_static(name), value);
    }
}

fn seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

//! Conditional requests, evaluated in the order RFC 9110 section 13.2.2 prescribes.

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use http::Method;
use http1::Headers;
use semantics::etag::{self, Comparison};

/// What the preconditions of a request say about the selected representation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Serve the representation (perhaps a range of it).
    Proceed,
    /// `304 Not Modified`: the client's copy is current.
    NotModified,
    /// `412 Precondition Failed`: the client's assumption about the state is wrong.
    Failed,
}

/// The validators of the representation the request would get.
#[derive(Debug, Clone, Copy)]
pub struct Validators<'a> {
    /// The strong entity tag, quotes included.
    pub etag: &'a str,
    /// The modification time.
    pub modified: SystemTime,
}

/// Evaluates `If-Match`, `If-Unmodified-Since`, `If-None-Match` and `If-Modified-Since`.
pub fn evaluate(headers: &Headers, method: &Method, v: Validators<'_>) -> Outcome {
    // Step 1 and 2: the state-changing preconditions, strong comparison (13.1.1).
    if headers.contains("if-match") {
        if !list_matches(headers, "if-match", v.etag, Comparison::Strong) {
            return Outcome::Failed;
        }
    } else if header_date(headers, "if-unmodified-since")
        .is_some_and(|date| seconds(v.modified) > date)
    {
        return Outcome::Failed;
    }
    let safe = method == Method::GET || method == Method::HEAD;
    // Step 3: If-None-Match, weak comparison (13.1.2); it makes If-Modified-Since ignored.
    if headers.contains("if-none-match") {
        if list_matches(headers, "if-none-match", v.etag, Comparison::Weak) {
            return if safe {
                Outcome::NotModified
            } else {
                Outcome::Failed
            };
        }
        return Outcome::Proceed;
    }
    // Step 4: If-Modified-Since, for GET and HEAD only (13.1.3).
    let unmodified =
        header_date(headers, "if-modified-since").is_some_and(|date| seconds(v.modified) <= date);
    if safe && unmodified {
        return Outcome::NotModified;
    }
    Outcome::Proceed
}

/// Whether `If-Range` (if any) allows a range to be served (RFC 9110 13.1.5): an entity tag
/// must match strongly, a date must equal `Last-Modified` exactly.
pub fn if_range_holds(headers: &Headers, v: Validators<'_>) -> bool {
    let Some(value) = tag_field(headers, "if-range") else {
        return true;
    };
    let value = value.trim();
    if value.starts_with('"') {
        return value == v.etag;
    }
    if value.starts_with("W/") {
        return false;
    }
    httpdate::parse_http_date(value).is_ok_and(|d| seconds(d) == seconds(v.modified))
}

/// The first value of a field that may hold entity tags. A tag may contain obs-text
/// (RFC 9110 8.8.3), which `get_str` reads as no field at all; that would skip the condition
/// instead of failing it. Ours are ASCII, so a lossily read tag with such bytes just never matches.
fn tag_field<'a>(headers: &'a Headers, name: &str) -> Option<Cow<'a, str>> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()))
}

/// A header holding an HTTP-date, as whole seconds since the epoch; invalid dates are ignored
/// as the RFC requires.
fn header_date(headers: &Headers, name: &str) -> Option<u64> {
    let value = headers.get_str(name)?;
    httpdate::parse_http_date(value.trim()).ok().map(seconds)
}

/// Whole seconds since the epoch: HTTP dates carry no fractions, so a file modified at
/// 12:00:00.7 is "not modified since 12:00:00".
fn seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Whether the entity-tag list of header `name`, every field line of it, (or `*`) matches
/// `etag`; a malformed list matches nothing.
fn list_matches(headers: &Headers, name: &str, etag: &str, cmp: Comparison) -> bool {
    etag::list_matches(headers.get_all(name), etag, cmp)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use http::{HeaderName, HeaderValue};
    use std::time::Duration;

    const TAG: &str = "\"abc-1\"";

    fn headers(pairs: &[(&'static str, &'static str)]) -> Headers {
        let mut h = Headers::new();
        for (n, v) in pairs {
            h.append(HeaderName::from_static(n), HeaderValue::from_static(v));
        }
        h
    }

    fn v() -> Validators<'static> {
        // Sun, 06 Nov 1994 08:49:37 GMT
        Validators {
            etag: TAG,
            modified: UNIX_EPOCH + Duration::from_millis(784_111_777_500),
        }
    }

    fn eval(pairs: &[(&'static str, &'static str)]) -> Outcome {
        evaluate(&headers(pairs), &Method::GET, v())
    }

    #[test]
    fn if_none_match_wins_over_if_modified_since() {
        assert_eq!(
            eval(&[("if-none-match", "\"x\", W/\"abc-1\"")]),
            Outcome::NotModified
        );
        assert_eq!(eval(&[("if-none-match", "*")]), Outcome::NotModified);
        assert_eq!(
            eval(&[
                ("if-none-match", "\"other\""),
                ("if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT")
            ]),
            Outcome::Proceed
        );
        assert_eq!(
            eval(&[("if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT")]),
            Outcome::NotModified
        );
        assert_eq!(
            eval(&[("if-modified-since", "Sun, 06 Nov 1994 08:49:36 GMT")]),
            Outcome::Proceed
        );
        assert_eq!(eval(&[("if-modified-since", "garbage")]), Outcome::Proceed);
    }

    #[test]
    fn if_match_is_strong_and_checked_first() {
        assert_eq!(eval(&[("if-match", "\"abc-1\"")]), Outcome::Proceed);
        assert_eq!(eval(&[("if-match", "W/\"abc-1\"")]), Outcome::Failed);
        assert_eq!(eval(&[("if-match", "\"nope\"")]), Outcome::Failed);
        assert_eq!(eval(&[("if-match", "*")]), Outcome::Proceed);
        assert_eq!(
            eval(&[("if-unmodified-since", "Sun, 06 Nov 1994 08:49:36 GMT")]),
            Outcome::Failed
        );
        assert_eq!(
            eval(&[("if-unmodified-since", "Sun, 06 Nov 1994 08:49:37 GMT")]),
            Outcome::Proceed
        );
    }

    #[test]
    fn if_range_by_tag_or_exact_date() {
        assert!(if_range_holds(&headers(&[]), v()));
        assert!(if_range_holds(&headers(&[("if-range", "\"abc-1\"")]), v()));
        assert!(!if_range_holds(
            &headers(&[("if-range", "W/\"abc-1\"")]),
            v()
        ));
        assert!(if_range_holds(
            &headers(&[("if-range", "Sun, 06 Nov 1994 08:49:37 GMT")]),
            v()
        ));
        assert!(!if_range_holds(
            &headers(&[("if-range", "Sun, 06 Nov 1994 08:49:38 GMT")]),
            v()
        ));
    }

    /// A tag with a byte above 0x7f, valid obs-text in an entity tag.
    fn obs_text(name: &'static str, extra: &[(&'static str, &'static str)]) -> Headers {
        let mut h = headers(extra);
        let tag = HeaderValue::from_bytes(b"\"caf\xe9\"").unwrap();
        h.append(HeaderName::from_static(name), tag);
        h
    }

    #[test]
    fn if_match_with_an_obs_text_tag_fails() {
        let h = obs_text("if-match", &[]);
        assert_eq!(evaluate(&h, &Method::PUT, v()), Outcome::Failed);
    }

    #[test]
    fn if_none_match_with_an_obs_text_tag_still_overrides_if_modified_since() {
        let h = obs_text(
            "if-none-match",
            &[("if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT")],
        );
        assert_eq!(evaluate(&h, &Method::GET, v()), Outcome::Proceed);
    }

    #[test]
    fn if_range_with_an_obs_text_tag_does_not_hold() {
        assert!(!if_range_holds(&obs_text("if-range", &[]), v()));
    }

    #[test]
    fn malformed_tag_lists_match_nothing() {
        assert_eq!(eval(&[("if-none-match", "abc-1")]), Outcome::Proceed);
        assert_eq!(eval(&[("if-none-match", "\"abc-1")]), Outcome::Proceed);
        assert_eq!(
            eval(&[("if-match", " ,\"q\" ,\"abc-1\"")]),
            Outcome::Proceed
        );
        assert_eq!(eval(&[("if-match", "\"abc-1\", junk")]), Outcome::Failed);
    }

    #[test]
    fn every_if_none_match_line_counts() {
        assert_eq!(
            eval(&[("if-none-match", "\"x\""), ("if-none-match", "\"abc-1\"")]),
            Outcome::NotModified
        );
        assert_eq!(
            eval(&[("if-match", "\"x\""), ("if-match", "\"abc-1\"")]),
            Outcome::Proceed
        );
    }
}

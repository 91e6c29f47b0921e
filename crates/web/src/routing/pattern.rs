//! Route patterns: `/`, `/guestbook`, `/guestbook/{id}`, `/files/{*rest}`.
//!
//! A pattern is a list of segments, each static text, a `{name}` parameter matching one
//! segment, or (last only) a `{*name}` wildcard matching the rest of the path. Patterns are
//! checked when the route table is built, so mistakes surface at start-up, not on a request.

use std::borrow::Cow;
use std::fmt;

use percent_encoding::percent_decode_str;

/// One segment of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Static(String),
    Param(String),
    Wildcard(String),
}

/// A parsed, validated route pattern.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    raw: String,
    segments: Vec<Segment>,
    /// Every segment is static text.
    all_static: bool,
}

/// How specific a match is: two bits per segment, the first segment most significant (static 3,
/// parameter 2, wildcard 1, no segment 0), so comparing ranks compares patterns segment by
/// segment without allocating. Segments past the 32nd do not count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Rank(u64);

impl Rank {
    /// A static segment.
    pub(crate) const STATIC: u64 = 3;
    /// A `{param}` segment.
    pub(crate) const PARAM: u64 = 2;
    /// A `{*wildcard}` segment.
    pub(crate) const WILDCARD: u64 = 1;

    /// Records segment number `depth` (from 0) as `kind`.
    pub(crate) fn set(&mut self, depth: usize, kind: u64) {
        if depth < 32 {
            self.0 |= kind << (62 - 2 * depth);
        }
    }
}

/// A successful match: the parameters, decoded, and the rank to pick among several matches.
#[derive(Debug)]
pub(crate) struct Match {
    pub(crate) params: Vec<(String, Cow<'static, str>)>,
    pub(crate) invalid_utf8: Option<String>,
    pub(crate) rank: Rank,
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl Pattern {
    fn new(raw: String, segments: Vec<Segment>) -> Pattern {
        let all_static = segments.iter().all(|s| matches!(s, Segment::Static(_)));
        Pattern {
            raw,
            segments,
            all_static,
        }
    }

    /// Parses `raw`, or says what is wrong with it and how to write it instead.
    pub(crate) fn parse(raw: &str) -> Result<Pattern, String> {
        let Some(rest) = raw.strip_prefix('/') else {
            return Err(format!("route `{raw}` must start with `/`: write `/{raw}`"));
        };
        let mut segments = Vec::new();
        let pieces: Vec<&str> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('/').collect()
        };
        for (i, piece) in pieces.iter().enumerate() {
            let segment = parse_segment(raw, piece)?;
            if matches!(segment, Segment::Wildcard(_)) && i + 1 != pieces.len() {
                return Err(format!(
                    "route `{raw}`: a `{{*name}}` wildcard must be the last segment; move it to the end"
                ));
            }
            let repeated = match &segment {
                Segment::Param(name) | Segment::Wildcard(name) => segments
                    .iter()
                    .any(|s| matches!(s, Segment::Param(n) | Segment::Wildcard(n) if n == name))
                    .then_some(name),
                Segment::Static(_) => None,
            };
            if let Some(name) = repeated {
                return Err(format!(
                    "route `{raw}` uses the parameter name `{name}` twice; rename one"
                ));
            }
            segments.push(segment);
        }
        Ok(Pattern::new(raw.to_string(), segments))
    }

    /// The pattern as written.
    pub(crate) fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether both patterns match exactly the same paths (same statics, parameters at the
    /// same places, whatever their names), which makes the route table ambiguous.
    pub(crate) fn same_shape(&self, other: &Pattern) -> bool {
        self.segments.len() == other.segments.len()
            && self
                .segments
                .iter()
                .zip(&other.segments)
                .all(|(a, b)| match (a, b) {
                    (Segment::Static(x), Segment::Static(y)) => x == y,
                    (Segment::Param(_), Segment::Param(_))
                    | (Segment::Wildcard(_), Segment::Wildcard(_)) => true,
                    _ => false,
                })
    }

    /// `prefix` joined to this pattern, for nesting a router under a prefix.
    pub(crate) fn prefixed(&self, prefix: &Pattern) -> Pattern {
        let raw = if self.segments.is_empty() {
            prefix.raw.clone()
        } else if prefix.segments.is_empty() {
            self.raw.clone()
        } else {
            format!("{}{}", prefix.raw, self.raw)
        };
        let mut segments = prefix.segments.clone();
        segments.extend(self.segments.iter().cloned());
        Pattern::new(raw, segments)
    }

    /// Whether the pattern ends in a wildcard.
    pub(crate) fn has_wildcard(&self) -> bool {
        matches!(self.segments.last(), Some(Segment::Wildcard(_)))
    }

    /// Matches `path` (percent-encoded, starting with `/`).
    pub(crate) fn matches(&self, path: &str) -> Option<Match> {
        let rest = path.strip_prefix('/')?;
        let mut pieces = if rest.is_empty() {
            None
        } else {
            Some(rest.split('/'))
        };
        let mut params = Vec::new();
        let mut invalid_utf8 = None;
        let mut rank = Rank::default();
        let mut consumed = 1usize; // the leading '/'
        for (depth, segment) in self.segments.iter().enumerate() {
            if let Segment::Wildcard(name) = segment {
                // The wildcard takes everything after the previous segment's '/', which must exist.
                let tail = path.get(consumed..)?;
                push_param(&mut params, &mut invalid_utf8, name, tail);
                rank.set(depth, Rank::WILDCARD);
                return Some(Match {
                    params,
                    invalid_utf8,
                    rank,
                });
            }
            let piece = pieces.as_mut()?.next()?;
            consumed += piece.len() + 1;
            match segment {
                Segment::Static(text) => {
                    if piece != text && decode(piece).0 != *text {
                        return None;
                    }
                    rank.set(depth, Rank::STATIC);
                }
                Segment::Param(name) => {
                    push_param(&mut params, &mut invalid_utf8, name, piece);
                    rank.set(depth, Rank::PARAM);
                }
                Segment::Wildcard(_) => unreachable!("handled above"),
            }
        }
        if pieces.is_some_and(|mut p| p.next().is_some()) {
            return None;
        }
        Some(Match {
            params,
            invalid_utf8,
            rank,
        })
    }

    /// How many leading segments of a path a prefix of this pattern covers, as bytes of `path`:
    /// `Some(len)` when `path` is this pattern (static only) or continues it with `/`.
    pub(crate) fn prefix_len(&self, path: &str) -> Option<usize> {
        let mut at = 0usize;
        for segment in &self.segments {
            let Segment::Static(text) = segment else {
                return None;
            };
            let rest = path.get(at..)?.strip_prefix('/')?;
            let end = rest.find('/').unwrap_or(rest.len());
            let piece = &rest[..end];
            if piece != text && decode(piece).0 != *text {
                return None;
            }
            at += 1 + end;
        }
        match path.as_bytes().get(at) {
            None | Some(b'/') => Some(at),
            _ => None,
        }
    }

    /// The one path this pattern matches as written, when every segment is static text: a
    /// request for exactly that path needs no segment-by-segment match.
    pub(crate) fn exact_path(&self) -> Option<&str> {
        self.all_static.then_some(self.raw.as_str())
    }

    /// Whether every segment is static text (required of nesting prefixes).
    pub(crate) fn is_static(&self) -> bool {
        self.all_static
    }
}

fn push_param(
    params: &mut Vec<(String, Cow<'static, str>)>,
    invalid: &mut Option<String>,
    name: &str,
    raw: &str,
) {
    let (value, valid) = decode(raw);
    if !valid && invalid.is_none() {
        *invalid = Some(name.to_string());
    }
    params.push((name.to_string(), Cow::Owned(value.into_owned())));
}

/// Percent-decodes one segment; the flag is false when the bytes are not UTF-8.
fn decode(raw: &str) -> (Cow<'_, str>, bool) {
    if !raw.contains('%') {
        return (Cow::Borrowed(raw), true);
    }
    let bytes: Vec<u8> = percent_decode_str(raw).collect();
    match String::from_utf8(bytes) {
        Ok(s) => (Cow::Owned(s), true),
        Err(e) => (
            Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
            false,
        ),
    }
}

fn parse_segment(raw: &str, piece: &str) -> Result<Segment, String> {
    if let Some(inner) = piece.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
        let (wildcard, name) = match inner.strip_prefix('*') {
            Some(name) => (true, name),
            None => (false, inner),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "route `{raw}`: parameter `{piece}` needs a name of letters, digits and `_`, like `{{id}}` or `{{*rest}}`"
            ));
        }
        return Ok(if wildcard {
            Segment::Wildcard(name.to_string())
        } else {
            Segment::Param(name.to_string())
        });
    }
    // axum 0.7, actix and Express write `:id` and `*rest`; here they would match literally,
    // which is never what was meant.
    if let Some(name) = piece.strip_prefix(':').or_else(|| piece.strip_prefix('*')) {
        let wild = if piece.starts_with('*') { "*" } else { "" };
        return Err(format!(
            "route `{raw}`: `{piece}` is the old parameter syntax; write `{{{wild}{name}}}` instead"
        ));
    }
    if piece.contains(['{', '}']) {
        return Err(format!(
            "route `{raw}`: `{piece}` mixes text and a parameter; a parameter must be a whole segment, like `/{{id}}`"
        ));
    }
    Ok(Segment::Static(piece.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_syntax_gets_a_hint() {
        let e = Pattern::parse("/users/:id").expect_err("refused");
        assert!(e.contains("write `{id}`"), "{e}");
        let e = Pattern::parse("/files/*rest").expect_err("refused");
        assert!(e.contains("write `{*rest}`"), "{e}");
    }

    fn p(raw: &str) -> Pattern {
        Pattern::parse(raw).expect("valid pattern")
    }

    fn params(m: &Match) -> Vec<(&str, &str)> {
        m.params
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_ref()))
            .collect()
    }

    #[test]
    fn statics_params_wildcards() {
        assert!(p("/").matches("/").is_some());
        assert!(p("/").matches("/a").is_none());
        assert!(p("/a").matches("/a/").is_none());
        assert!(p("/a/").matches("/a/").is_some());
        let m = p("/guestbook/{id}")
            .matches("/guestbook/42")
            .expect("match");
        assert_eq!(params(&m), [("id", "42")]);
        assert!(p("/guestbook/{id}").matches("/guestbook/42/x").is_none());
        let m = p("/files/{*rest}")
            .matches("/files/a/b%20c")
            .expect("match");
        assert_eq!(params(&m), [("rest", "a/b c")]);
        let m = p("/files/{*rest}").matches("/files/").expect("match");
        assert_eq!(params(&m), [("rest", "")]);
        assert!(p("/files/{*rest}").matches("/files").is_none());
    }

    #[test]
    fn decoding_and_invalid_utf8() {
        let m = p("/u/{name}").matches("/u/caf%C3%A9").expect("match");
        assert_eq!(params(&m), [("name", "café")]);
        assert!(m.invalid_utf8.is_none());
        let m = p("/u/{name}").matches("/u/%FF").expect("match");
        assert_eq!(m.invalid_utf8.as_deref(), Some("name"));
        assert!(p("/a b").matches("/a%20b").is_some());
    }

    #[test]
    fn mistakes_are_explained() {
        assert!(
            Pattern::parse("users")
                .expect_err("no slash")
                .contains("`/users`")
        );
        assert!(
            Pattern::parse("/{*a}/b")
                .expect_err("wildcard")
                .contains("last")
        );
        assert!(
            Pattern::parse("/{a}/{a}")
                .expect_err("dup")
                .contains("twice")
        );
        assert!(
            Pattern::parse("/x{a}")
                .expect_err("mixed")
                .contains("whole segment")
        );
        assert!(Pattern::parse("/{}").expect_err("empty").contains("name"));
    }

    #[test]
    fn shapes_and_prefixes() {
        assert!(p("/a/{x}").same_shape(&p("/a/{y}")));
        assert!(!p("/a/{x}").same_shape(&p("/a/b")));
        assert_eq!(p("/cgi-bin").prefix_len("/cgi-bin/x.py"), Some(8));
        assert_eq!(p("/cgi-bin").prefix_len("/cgi-bin"), Some(8));
        assert_eq!(p("/cgi-bin").prefix_len("/cgi-binx"), None);
        assert_eq!(p("/").prefix_len("/anything"), Some(0));
        assert_eq!(p("/{x}").prefixed(&p("/api")).as_str(), "/api/{x}");
    }
}

//! Entity tags (RFC 9110 section 8.8.3) and the tag lists of `If-Match` and `If-None-Match`.
//!
//! ```text
//! entity-tag = [ weak ] opaque-tag
//! weak       = %s"W/"
//! opaque-tag = DQUOTE *etagc DQUOTE
//! etagc      = %x21 / %x23-7E / obs-text
//! If-None-Match = "*" / #entity-tag
//! ```
//!
//! A comma is an `etagc`, so `"a,b"` is one tag: a list is read tag by tag, never split on
//! commas first.

use crate::list::trim_ows;

/// One entity tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityTag<'a> {
    /// Whether it carries the (case-sensitive) `W/` prefix.
    pub weak: bool,
    /// The opaque tag, quotes included.
    pub opaque: &'a [u8],
}

impl<'a> EntityTag<'a> {
    /// Parses exactly one entity tag; `None` unless `s` is one.
    pub fn parse(s: &'a [u8]) -> Option<EntityTag<'a>> {
        match EntityTag::parse_prefix(s)? {
            (tag, []) => Some(tag),
            _ => None,
        }
    }

    /// Parses the entity tag at the start of `s`, and returns what follows it.
    fn parse_prefix(s: &'a [u8]) -> Option<(EntityTag<'a>, &'a [u8])> {
        let (weak, s) = match s.strip_prefix(b"W/") {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let body = s.strip_prefix(b"\"")?;
        let len = body.iter().position(|&b| !is_etagc(b))?;
        if body[len] != b'"' {
            return None;
        }
        Some((
            EntityTag {
                weak,
                opaque: &s[..len + 2],
            },
            &s[len + 2..],
        ))
    }

    /// Strong comparison (RFC 9110 8.8.3.2): both strong and the same opaque tag.
    pub fn strong_eq(self, other: EntityTag<'_>) -> bool {
        !self.weak && !other.weak && self.opaque == other.opaque
    }

    /// Weak comparison: the same opaque tag, either or both weak.
    pub fn weak_eq(self, other: EntityTag<'_>) -> bool {
        self.opaque == other.opaque
    }
}

/// `etagc`: any visible byte but `"`, or obs-text.
fn is_etagc(b: u8) -> bool {
    b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80
}

/// How two entity tags are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// For `If-Match` (RFC 9110 13.1.1).
    Strong,
    /// For `If-None-Match` (RFC 9110 13.1.2).
    Weak,
}

/// Whether an `If-Match` or `If-None-Match` field, given as all its field lines, matches the
/// representation whose `ETag` is `current`: `*` matches any, a list matches when one of its
/// tags compares equal by `comparison`.
///
/// A field that does not follow the grammar (an unquoted tag, a lowercase `w/`, `*` beside
/// tags) matches nothing, whatever it held before the error; so does a `current` that is not
/// an entity tag.
pub fn list_matches<I>(field_lines: I, current: &str, comparison: Comparison) -> bool
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    let Some(current) = EntityTag::parse(current.as_bytes()) else {
        return false;
    };
    let (mut star, mut tags, mut matched) = (false, false, false);
    for line in field_lines {
        let line = trim_ows(line.as_ref());
        if line == b"*" {
            star = true;
            continue;
        }
        let mut rest = line;
        loop {
            rest = skip_separators(rest);
            if rest.is_empty() {
                break;
            }
            let Some((tag, after)) = EntityTag::parse_prefix(rest) else {
                return false;
            };
            tags = true;
            matched |= match comparison {
                Comparison::Strong => tag.strong_eq(current),
                Comparison::Weak => tag.weak_eq(current),
            };
            rest = trim_ows(after);
            if !rest.is_empty() && rest[0] != b',' {
                return false;
            }
        }
    }
    if star { !tags } else { matched }
}

/// `s` without leading `OWS` and commas (empty list elements are ignored, RFC 9110 5.6.1.2).
fn skip_separators(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|&b| !matches!(b, b' ' | b'\t' | b','))
        .unwrap_or(s.len());
    &s[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAG: &str = "\"abc-1\"";

    fn weak(lines: &[&str]) -> bool {
        list_matches(lines, TAG, Comparison::Weak)
    }

    fn strong(lines: &[&str]) -> bool {
        list_matches(lines, TAG, Comparison::Strong)
    }

    #[test]
    fn entity_tag_grammar() {
        assert_eq!(
            EntityTag::parse(b"W/\"x\""),
            Some(EntityTag {
                weak: true,
                opaque: b"\"x\""
            })
        );
        assert!(EntityTag::parse(b"\"\"").is_some());
        assert!(EntityTag::parse(b"\"a,b\"").is_some());
        assert!(EntityTag::parse(b"\"caf\xc3\xa9\"").is_some());
        for bad in [
            &b"x"[..],
            b"\"x",
            b"w/\"x\"",
            b"W/x",
            b"\"a b\"",
            b"\"x\" ",
            b"\"x\"y",
            b"\"x\x7f\"",
        ] {
            assert_eq!(EntityTag::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn comparisons() {
        assert!(weak(&["\"x\", W/\"abc-1\""]));
        assert!(strong(&["\"abc-1\""]));
        assert!(!strong(&["W/\"abc-1\""]));
        assert!(!weak(&["\"abc-2\""]));
        assert!(list_matches(["\"v\""], "W/\"v\"", Comparison::Weak));
        assert!(!list_matches(["\"v\""], "W/\"v\"", Comparison::Strong));
    }

    #[test]
    fn star_matches_any_but_only_alone() {
        assert!(weak(&["*"]));
        assert!(strong(&[" * "]));
        assert!(!weak(&["*, \"abc-1\""]));
        assert!(!weak(&["*", "\"abc-1\""]));
    }

    #[test]
    fn commas_inside_quoted_tags() {
        let tag = "\"a,b\"";
        assert!(list_matches(["\"x\", \"a,b\""], tag, Comparison::Strong));
        assert!(!list_matches(["\"a\", \"b\""], tag, Comparison::Weak));
        // Split naively on commas, `"a,b"` would be read as `"a` and `b"`.
        assert!(!list_matches(["\"a,b\""], "\"a\"", Comparison::Weak));
    }

    #[test]
    fn every_field_line_counts() {
        assert!(weak(&["\"x\"", "\"y\", \"abc-1\""]));
        assert!(weak(&[" ,\"q\" ,,\"abc-1\","]));
    }

    #[test]
    fn malformed_lists_match_nothing() {
        assert!(!weak(&["abc-1"]));
        assert!(!weak(&["\"abc-1"]));
        assert!(!weak(&["\"abc-1\" \"x\""]));
        assert!(!weak(&["\"abc-1\", junk"]));
        assert!(!weak(&["\"abc-1\"", "junk"]));
        assert!(!weak(&["w/\"abc-1\""]));
        assert!(!weak(&[]));
        assert!(!list_matches(["*"], "not-a-tag", Comparison::Weak));
    }
}

//! Proactive negotiation (RFC 9110 section 12): which content codings and media types a
//! client accepts, read from every field line of `Accept-Encoding` or `Accept`.

use crate::list::{self, QValue, Weighted};

/// The weight a client's `Accept-Encoding` field lines give each of `codings`, in the same
/// order: that of the first element naming the coding, else that of `*`, else `None` (not
/// mentioned). Codings compare case-insensitively and `x-gzip` is `gzip` (RFC 9110 8.4.1.3).
/// `Some(QValue::ZERO)` means refused (RFC 9110 12.4.2); an element with a malformed weight
/// is ignored.
pub fn coding_weights<I, const N: usize>(field_lines: I, codings: [&str; N]) -> [Option<QValue>; N]
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    let mut weights = [None; N];
    let mut star = None;
    for line in field_lines {
        for Weighted { value, q } in list::elements(line.as_ref()).filter_map(list::weighted) {
            if value == b"*" {
                star.get_or_insert(q);
                continue;
            }
            let value = if value.eq_ignore_ascii_case(b"x-gzip") {
                &b"gzip"[..]
            } else {
                value
            };
            for (slot, coding) in weights.iter_mut().zip(codings) {
                if slot.is_none() && value.eq_ignore_ascii_case(coding.as_bytes()) {
                    *slot = Some(q);
                }
            }
        }
    }
    weights.map(|w| w.or(star))
}

/// Whether `Accept-Encoding` (all its field lines) allows `coding` with a weight above zero.
pub fn accepts_coding<I>(field_lines: I, coding: &str) -> bool
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    let [weight] = coding_weights(field_lines, [coding]);
    weight.is_some_and(QValue::is_acceptable)
}

/// How an `Accept` field ranks one media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preference {
    /// The weight of the most specific matching range.
    pub q: QValue,
    /// That range's position among the field's elements (0 is first).
    pub position: usize,
}

/// How `Accept` (all its field lines) ranks `media_type` (`type/subtype`, no parameters): the
/// weight of the most specific range that matches it, `type/subtype` over `type/*` over `*/*`
/// (RFC 9110 12.5.1), the first of equals winning; `None` when no range matches. Media-type
/// parameters in a range are not compared: the types asked about here carry none.
pub fn media_preference<I>(field_lines: I, media_type: &str) -> Option<Preference>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    let [preference] = media_preferences(field_lines, [media_type]);
    preference
}

/// [`media_preference`] for several types in one pass over the field.
pub fn media_preferences<I, const N: usize>(
    field_lines: I,
    media_types: [&str; N],
) -> [Option<Preference>; N]
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    let mut best: [Option<(u8, Preference)>; N] = [None; N];
    let mut position = 0;
    for line in field_lines {
        for element in list::elements(line.as_ref()) {
            let here = position;
            position += 1;
            let Some(Weighted { value, q }) = list::weighted(element) else {
                continue;
            };
            let Some(slash) = value.iter().position(|&b| b == b'/') else {
                continue;
            };
            let (ty, sub) = (&value[..slash], &value[slash + 1..]);
            if !list::is_token(ty) || !list::is_token(sub) {
                continue;
            }
            for (slot, media_type) in best.iter_mut().zip(media_types) {
                let Some(specificity) = specificity(ty, sub, media_type) else {
                    continue;
                };
                if slot.is_none_or(|(s, _)| specificity > s) {
                    *slot = Some((specificity, Preference { q, position: here }));
                }
            }
        }
    }
    best.map(|b| b.map(|(_, p)| p))
}

/// How specifically the range `ty/sub` names `media_type`: 2 exactly, 1 by `type/*`, 0 by
/// `*/*`; `None` when it does not match.
fn specificity(ty: &[u8], sub: &[u8], media_type: &str) -> Option<u8> {
    let (want_ty, want_sub) = media_type.split_once('/')?;
    let same_type = ty.eq_ignore_ascii_case(want_ty.as_bytes());
    match (ty, sub) {
        (b"*", b"*") => Some(0),
        (_, b"*") if same_type => Some(1),
        _ if same_type && sub.eq_ignore_ascii_case(want_sub.as_bytes()) => Some(2),
        _ => None,
    }
}

/// Whether a resource offered as HTML and as JSON should answer with JSON.
///
/// The query decides first: the first `format=` pair asks for JSON when its value is `json`
/// (any case) and for HTML otherwise. Then `Accept`: JSON when it ranks `application/json`
/// above zero and above `text/html`, or equal to it by a range listed earlier (so `*/*` alone,
/// as curl sends, and a browser's `text/html,...,*/*;q=0.8` get HTML).
pub fn wants_json<I>(query: Option<&str>, accept: I) -> bool
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    let format = query
        .unwrap_or("")
        .split('&')
        .find_map(|pair| pair.strip_prefix("format="));
    if let Some(format) = format {
        return format.eq_ignore_ascii_case("json");
    }
    let [json, html] = media_preferences(accept, ["application/json", "text/html"]);
    let Some(json) = json else {
        return false;
    };
    match html {
        _ if !json.q.is_acceptable() => false,
        None => true,
        Some(html) => json.q > html.q || (json.q == html.q && json.position < html.position),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weights(lines: &[&str]) -> [Option<u16>; 3] {
        coding_weights(lines, ["br", "zstd", "gzip"]).map(|w| w.map(QValue::thousandths))
    }

    #[test]
    fn coding_weights_follow_rfc_9110() {
        assert_eq!(weights(&[]), [None; 3]);
        assert_eq!(
            weights(&["gzip, deflate, br"]),
            [Some(1000), None, Some(1000)]
        );
        assert_eq!(weights(&["br;q=0.5, GZIP"]), [Some(500), None, Some(1000)]);
        assert_eq!(weights(&["*"]), [Some(1000); 3]);
        assert_eq!(
            weights(&["*;q=0.1, gzip;q=0"]),
            [Some(100), Some(100), Some(0)]
        );
        assert_eq!(weights(&["x-gzip"]), [None, None, Some(1000)]);
        assert_eq!(weights(&["identity"]), [None; 3]);
        // A malformed weight drops its element.
        assert_eq!(
            weights(&["gzip;q=2, br;q=abc, zstd;q=0.5"]),
            [None, Some(500), None]
        );
        // The first mention counts.
        assert_eq!(weights(&["gzip;q=0, gzip"]), [None, None, Some(0)]);
    }

    #[test]
    fn accept_encoding_field_lines_are_combined() {
        assert_eq!(
            weights(&["gzip", "br;q=0.3"]),
            [Some(300), None, Some(1000)]
        );
        assert!(accepts_coding(["deflate", "gzip"], "gzip"));
        assert!(!accepts_coding(["gzip;q=0", "*"], "gzip"));
        assert!(accepts_coding(["br;q=1, *;q=0.1"], "gzip"));
        assert!(!accepts_coding(["gzip;q=0"], "gzip"));
        assert!(!accepts_coding(["br"], "gzip"));
        assert!(!accepts_coding(Vec::<&str>::new(), "gzip"));
    }

    #[test]
    fn most_specific_range_wins() {
        let accept = ["text/*;q=0.3, text/html;q=0.7, text/html;level=1, */*;q=0.5"];
        let q = |t| media_preference(accept, t).map(|p| p.q.thousandths());
        assert_eq!(q("text/html"), Some(700));
        assert_eq!(q("text/plain"), Some(300));
        assert_eq!(q("image/jpeg"), Some(500));
        assert_eq!(media_preference(["text/html"], "image/png"), None);
        assert_eq!(
            media_preference(["image/png", "TEXT/HTML;q=0.2"], "text/html"),
            Some(Preference {
                q: QValue::parse(b"0.2").unwrap_or(QValue::ZERO),
                position: 1
            })
        );
    }

    #[test]
    fn json_when_asked_for() {
        let json = |q: Option<&str>, a: &[&str]| wants_json(q, a);
        assert!(json(None, &["application/json"]));
        assert!(json(None, &["application/json, text/html;q=0.5"]));
        assert!(json(None, &["application/json, */*"]));
        assert!(json(None, &["text/plain", "application/json"]));
        assert!(!json(None, &["text/html,application/xhtml+xml,*/*;q=0.8"]));
        assert!(!json(None, &["text/html,application/json;q=0.9"]));
        assert!(!json(None, &["text/html, application/json"]));
        assert!(!json(None, &["*/*"]));
        assert!(!json(None, &["application/json;q=0"]));
        assert!(!json(None, &["application/json;q=0, text/html;q=0"]));
        assert!(!json(None, &["application/json;q=x"]));
        assert!(!json(None, &[]));
        assert!(json(Some("format=json"), &[]));
        assert!(json(Some("page=2&format=JSON"), &["text/html"]));
        assert!(!json(Some("format=html"), &["application/json"]));
        assert!(!json(Some("format=xml"), &["application/json"]));
        assert!(!json(Some("sort=name"), &[]));
    }
}

//! The list grammar of RFC 9110 section 5.6: comma-separated elements, parameters, quoted
//! strings, and the q-values of section 12.4.2.
//!
//! ```text
//! #element    = [ element ] *( OWS "," OWS [ element ] )
//! parameters  = *( OWS ";" OWS [ parameter ] )
//! parameter   = parameter-name "=" parameter-value
//! weight      = OWS ";" OWS "q=" qvalue
//! qvalue      = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
//! ```

/// `s` without leading and trailing `OWS`.
#[inline]
pub fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// `tchar` of RFC 9110 5.6.2, as a lookup table: one load per byte on the head parser's hot
/// path.
///
/// ```text
/// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
///         "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
/// ```
static TCHAR: [bool; 256] = crate::byte_set!(
    b'0'..=b'9'
        | b'A'..=b'Z'
        | b'a'..=b'z'
        | b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.'
        | b'^' | b'_' | b'`' | b'|' | b'~'
);

/// Whether `b` may appear in a token (method, field name, coding, parameter name).
#[inline]
pub fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

/// Whether `s` is a non-empty token.
#[inline]
pub fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// Whether `s` is exactly one `quoted-string` (RFC 9110 5.6.4), quotes included.
pub fn is_quoted_string(s: &[u8]) -> bool {
    let [b'"', inner @ .., b'"'] = s else {
        return false;
    };
    let mut escaped = false;
    for &b in inner {
        let text = b == b'\t' || b == b' ' || (0x21..=0x7e).contains(&b) || b >= 0x80;
        if !text {
            return false;
        }
        if escaped {
            escaped = false;
        } else if b == b'\\' {
            escaped = true;
        } else if b == b'"' {
            return false;
        }
    }
    !escaped
}

/// The index of the first `delim` outside a quoted string in `s`, or `s.len()`.
fn find_unquoted(s: &[u8], delim: u8) -> usize {
    let (mut quoted, mut escaped) = (false, false);
    for (i, &b) in s.iter().enumerate() {
        if quoted {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                quoted = false;
            }
        } else if b == b'"' {
            quoted = true;
        } else if b == delim {
            return i;
        }
    }
    s.len()
}

/// The elements of one field line, `OWS` trimmed and empty elements skipped (RFC 9110
/// 5.6.1.2: a recipient ignores them). A comma inside a quoted string does not split.
pub fn elements(line: &[u8]) -> Elements<'_> {
    Elements { rest: line }
}

/// The iterator [`elements`] returns.
#[derive(Debug, Clone)]
pub struct Elements<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Elements<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        while !self.rest.is_empty() {
            let end = find_unquoted(self.rest, b',');
            let element = trim_ows(&self.rest[..end]);
            self.rest = self.rest.get(end + 1..).unwrap_or_default();
            if !element.is_empty() {
                return Some(element);
            }
        }
        None
    }
}

/// A weight (RFC 9110 12.4.2) in thousandths: `q=0.5` is 500. `0` means "not acceptable".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QValue(u16);

impl QValue {
    /// `q=0`: not acceptable.
    pub const ZERO: QValue = QValue(0);
    /// `q=1`, the weight of an element without one.
    pub const ONE: QValue = QValue(1000);

    /// Parses a `qvalue`: `0`, `0.` and up to three digits, or `1` and up to three zeros.
    /// No sign, no exponent, no surrounding whitespace; `None` for anything else.
    pub fn parse(s: &[u8]) -> Option<QValue> {
        let (int, frac) = match s {
            [int] => (*int, &b""[..]),
            [int, b'.', frac @ ..] if frac.len() <= 3 => (*int, frac),
            _ => return None,
        };
        if !frac.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let millis = frac
            .iter()
            .chain(std::iter::repeat(&b'0'))
            .take(3)
            .fold(0u16, |n, &d| n * 10 + u16::from(d - b'0'));
        match int {
            b'0' => Some(QValue(millis)),
            b'1' if millis == 0 => Some(QValue::ONE),
            _ => None,
        }
    }

    /// The weight in thousandths, 0 to 1000.
    pub fn thousandths(self) -> u16 {
        self.0
    }

    /// Whether the weight allows the element at all (`q` above zero).
    pub fn is_acceptable(self) -> bool {
        self.0 > 0
    }
}

/// One element of a weighted list (`Accept`, `Accept-Encoding`), parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weighted<'a> {
    /// What is weighted, parameters left out: a coding, a media range, `*`.
    pub value: &'a [u8],
    /// The first `q` parameter, or [`QValue::ONE`] without one.
    pub q: QValue,
}

/// Parses one element: `value *( OWS ";" OWS [ parameter ] )`. Parameters before the weight
/// need a value (media-type parameters), those after it may go without (`accept-ext`).
/// `None` when a parameter or the q-value is malformed: such an element is ignored, which
/// makes what it names not acceptable unless a wildcard says otherwise.
pub fn weighted(element: &[u8]) -> Option<Weighted<'_>> {
    let end = find_unquoted(element, b';');
    let value = trim_ows(&element[..end]);
    let mut rest = &element[end..];
    let mut q = None;
    while let Some(after) = rest.strip_prefix(b";") {
        let end = find_unquoted(after, b';');
        let param = trim_ows(&after[..end]);
        rest = &after[end..];
        if param.is_empty() {
            continue;
        }
        let (name, val) = match param.iter().position(|&b| b == b'=') {
            Some(i) => (&param[..i], Some(&param[i + 1..])),
            None => (param, None),
        };
        if !is_token(name) {
            return None;
        }
        match val {
            Some(v) if is_token(v) || is_quoted_string(v) => {}
            None if q.is_some() => {}
            _ => return None,
        }
        if q.is_none() && name.eq_ignore_ascii_case(b"q") {
            q = Some(QValue::parse(val.unwrap_or_default())?);
        }
    }
    Some(Weighted {
        value,
        q: q.unwrap_or(QValue::ONE),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Option<u16> {
        QValue::parse(s.as_bytes()).map(QValue::thousandths)
    }

    #[test]
    fn qvalue_grammar() {
        assert_eq!(q("1"), Some(1000));
        assert_eq!(q("1."), Some(1000));
        assert_eq!(q("1.000"), Some(1000));
        assert_eq!(q("0"), Some(0));
        assert_eq!(q("0.0"), Some(0));
        assert_eq!(q("0.25"), Some(250));
        assert_eq!(q("0.5"), Some(500));
        assert_eq!(q("0.001"), Some(1));
        for bad in [
            "", "1.001", "0.1234", "2", "-0", "+1", ".5", "0,5", " 0.5", "0.5 ", "1e0", "0x1",
            "abc", "0.a", "01",
        ] {
            assert_eq!(q(bad), None, "{bad:?}");
        }
    }

    fn all(line: &str) -> Vec<&str> {
        elements(line.as_bytes())
            .map(|e| std::str::from_utf8(e).unwrap_or("?"))
            .collect()
    }

    #[test]
    fn elements_skip_empties_and_keep_quoted_commas() {
        assert_eq!(all(" a , ,b,,\tc ,"), ["a", "b", "c"]);
        assert_eq!(all(""), Vec::<&str>::new());
        assert_eq!(all("text/x;p=\"a,b\", gzip"), ["text/x;p=\"a,b\"", "gzip"]);
        assert_eq!(all(r#"x;p="a\",b", y"#), [r#"x;p="a\",b""#, "y"]);
    }

    fn w(s: &str) -> Option<(&str, u16)> {
        weighted(s.as_bytes()).map(|w| {
            (
                std::str::from_utf8(w.value).unwrap_or("?"),
                w.q.thousandths(),
            )
        })
    }

    #[test]
    fn weights_and_parameters() {
        assert_eq!(w("gzip"), Some(("gzip", 1000)));
        assert_eq!(w("gzip;q=0.5"), Some(("gzip", 500)));
        assert_eq!(w("gzip ; Q=0"), Some(("gzip", 0)));
        assert_eq!(w("text/html;level=1;q=0.7"), Some(("text/html", 700)));
        assert_eq!(w("text/html;q=0.7;ext"), Some(("text/html", 700)));
        assert_eq!(w("text/html;p=\"a;b\";q=0.1"), Some(("text/html", 100)));
        assert_eq!(w("a;q=0.5;q=0.9"), Some(("a", 500)));
        assert_eq!(w("gzip;q=2"), None);
        assert_eq!(w("gzip;q=abc"), None);
        assert_eq!(w("gzip;q= 0.5"), None);
        assert_eq!(w("gzip;q"), None);
        assert_eq!(w("text/html;level"), None);
        assert_eq!(w("text/html;p=\"open"), None);
    }

    #[test]
    fn tchar_matches_the_rfc() {
        let expected: Vec<u8> = (0u8..=255)
            .filter(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b))
            .collect();
        let actual: Vec<u8> = (0u8..=255).filter(|&b| is_tchar(b)).collect();
        assert_eq!(actual, expected);
        assert!(is_token(b"gzip"));
        assert!(!is_token(b""));
        assert!(!is_token(b"a b"));
    }

    #[test]
    fn ows_is_space_and_tab() {
        assert_eq!(trim_ows(b" \t a b \t"), b"a b");
        assert_eq!(trim_ows(b"  "), b"");
        assert_eq!(trim_ows(b"\r\na\n"), b"\r\na\n");
    }

    #[test]
    fn quoted_strings() {
        assert!(is_quoted_string(b"\"\""));
        assert!(is_quoted_string(b"\"a \\\" b\""));
        assert!(!is_quoted_string(b"\""));
        assert!(!is_quoted_string(b"\"a\"b\""));
        assert!(!is_quoted_string(b"\"a\\\""));
        assert!(!is_quoted_string(b"\"a\x01\""));
    }
}

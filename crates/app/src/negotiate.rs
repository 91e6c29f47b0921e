//! Choosing between HTML and JSON for pages that offer both.

use web::Headers;

/// Whether the client asked for JSON: `?format=json`, or an `Accept` header that ranks
/// `application/json` above `text/html` (RFC 9110 12.5.1; equal quality goes to the type
/// listed first). `?format=html` forces HTML.
pub fn wants_json(headers: &Headers, query: Option<&str>) -> bool {
    if let Some(format) = query
        .unwrap_or("")
        .split('&')
        .find_map(|pair| pair.strip_prefix("format="))
    {
        return format.eq_ignore_ascii_case("json");
    }
    let mut json: Option<(f32, usize)> = None;
    let mut html: Option<(f32, usize)> = None;
    let items = headers
        .get_all("accept")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','));
    for (i, item) in items.enumerate() {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts.find_map(|p| {
            let p = p.trim();
            // The parameter name is case-insensitive (RFC 9110 12.4.2).
            let name = p.get(..2)?;
            name.eq_ignore_ascii_case("q=")
                .then(|| qvalue(p.get(2..).unwrap_or("")))
        });
        let q = match q {
            None => 1.0,
            Some(Some(q)) => q,
            // `q=2`, `q=nan`, `q=-1`: the element is malformed and means nothing.
            Some(None) => continue,
        };
        let slot = match media.as_str() {
            "application/json" => &mut json,
            "text/html" => &mut html,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some((q, i));
        }
    }
    match (json, html) {
        (Some((jq, _)), None) => jq > 0.0,
        (Some((jq, ji)), Some((hq, hi))) => jq > hq || (jq == hq && jq > 0.0 && ji < hi),
        _ => false,
    }
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )` (RFC 9110 12.4.2).
fn qvalue(s: &str) -> Option<f32> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = frac.len() <= 3 && frac.bytes().all(|b| b.is_ascii_digit());
    match int {
        "0" if digits => s.parse().ok(),
        "1" if digits && frac.bytes().all(|b| b == b'0') => Some(1.0),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use web::{HeaderValue, header};

    fn accept(v: &str) -> Headers {
        let mut h = Headers::new();
        h.append(header::ACCEPT, HeaderValue::from_str(v).expect("valid"));
        h
    }

    #[test]
    fn negotiation() {
        assert!(wants_json(&accept("application/json"), None));
        assert!(!wants_json(
            &accept("text/html,application/xhtml+xml,*/*;q=0.8"),
            None
        ));
        assert!(wants_json(
            &accept("application/json, text/html;q=0.5"),
            None
        ));
        assert!(!wants_json(&accept("application/json;q=0"), None));
        assert!(wants_json(&Headers::new(), Some("format=json")));
        assert!(!wants_json(
            &accept("application/json"),
            Some("format=html")
        ));
        assert!(!wants_json(&Headers::new(), None));
        assert!(!wants_json(&accept("application/json;Q=0"), None), "Q is q");
        assert!(wants_json(
            &accept("text/html;q=0.5, application/json;q=0.501"),
            None
        ));
        for bad in ["2", "nan", "-1", "0.1234", "1.5", "", "0.5€"] {
            assert!(
                !wants_json(&accept(&format!("application/json;q={bad}")), None),
                "q={bad} means nothing"
            );
        }
    }
}

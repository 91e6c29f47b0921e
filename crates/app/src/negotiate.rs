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
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
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
    }
}

//! Choosing between HTML and JSON for pages that offer both.

use web::Headers;

/// Whether the client asked for JSON: `?format=json`, or an `Accept` header that ranks
/// `application/json` above `text/html` (RFC 9110 12.5.1; equal quality goes to the range
/// listed first). `?format=html` forces HTML. The rule is the one the file server's listings
/// follow: [`web::semantics::negotiate::wants_json`].
pub fn wants_json(headers: &Headers, query: Option<&str>) -> bool {
    web::semantics::negotiate::wants_json(query, headers.get_all("accept"))
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

    #[test]
    fn malformed_or_wildcard_json_is_not_asked_for() {
        // `q=2` is not a qvalue: the element is ignored rather than ranked above HTML.
        assert!(!wants_json(
            &accept("text/html;q=0.9, application/json;q=2"),
            None
        ));
        assert!(!wants_json(&accept("*/*"), None));
        assert!(wants_json(&accept("application/*"), None));
    }
}

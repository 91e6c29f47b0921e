//! `Content-Type` from the file name's extension.

use std::path::Path;

use http::HeaderValue;

/// The type of bytes we cannot name: clients must not guess (and `nosniff` tells them so).
pub const UNKNOWN: &str = "application/octet-stream";

/// The `Content-Type` for `path`: the registered type of its extension, with `charset=utf-8`
/// for text (which is what a text file written today is), or [`UNKNOWN`].
pub fn content_type(path: &Path) -> HeaderValue {
    let Some(mime) = mime_guess::from_path(path).first() else {
        return HeaderValue::from_static(UNKNOWN);
    };
    let essence = mime.essence_str();
    let text = match essence {
        // RFC 9239: JavaScript is text/javascript; older tables still say application/.
        "application/javascript" | "application/x-javascript" => {
            "text/javascript; charset=utf-8".to_string()
        }
        _ if mime.type_() == mime_guess::mime::TEXT => format!("{essence}; charset=utf-8"),
        _ => essence.to_string(),
    };
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static(UNKNOWN))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ct(name: &str) -> String {
        content_type(Path::new(name)).to_str().unwrap().to_string()
    }

    #[test]
    fn types_by_extension() {
        assert_eq!(ct("a.html"), "text/html; charset=utf-8");
        assert_eq!(ct("a.TXT"), "text/plain; charset=utf-8");
        assert_eq!(ct("a.css"), "text/css; charset=utf-8");
        assert_eq!(ct("a.js"), "text/javascript; charset=utf-8");
        assert_eq!(ct("a.json"), "application/json");
        assert_eq!(ct("a.png"), "image/png");
        assert_eq!(ct("a.svg"), "image/svg+xml");
        assert_eq!(ct("a.wasm"), "application/wasm");
        assert_eq!(ct("Makefile"), UNKNOWN);
        assert_eq!(ct("a.nosuchext"), UNKNOWN);
    }
}

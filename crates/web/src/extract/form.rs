//! `application/x-www-form-urlencoded` forms.

use serde::de::DeserializeOwned;
use server::Request;

use super::{FromRequest, media_type};
use crate::rejection::Rejection;

/// Largest URL-encoded form body read (1 MiB); larger is `413`.
pub const MAX_FORM_BODY: usize = 1024 * 1024;

/// A URL-encoded form deserialized into `T`. For `GET` and `HEAD` the form is the query string;
/// otherwise the body, which must be `application/x-www-form-urlencoded` (`415` if not). A form
/// that does not fit `T` is `422`.
///
/// A name or value whose percent-escapes decode to invalid UTF-8 is a `400`, rather than being
/// silently replaced with U+FFFD.
#[derive(Debug, Clone, Default)]
pub struct Form<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = Rejection;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Rejection> {
        if req.method() == http1::Method::GET || req.method() == http1::Method::HEAD {
            return parse(req.query().unwrap_or("").as_bytes()).map(Form);
        }
        if media_type(req.headers()).as_deref() != Some("application/x-www-form-urlencoded") {
            return Err(Rejection::UnsupportedMediaType {
                expected: "application/x-www-form-urlencoded",
            });
        }
        let bytes = req
            .body
            .collect(crate::middleware::BodyLimit::of(
                &req.extensions,
                MAX_FORM_BODY,
            ))
            .await?;
        parse(&bytes).map(Form)
    }
}

/// Deserializes a URL-encoded form after checking every name and value decodes to UTF-8.
pub(crate) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Rejection> {
    if !decodes_to_utf8(bytes) {
        return Err(Rejection::InvalidUtf8);
    }
    serde_urlencoded::from_bytes(bytes).map_err(|e| Rejection::InvalidForm(e.to_string()))
}

/// Whether each `name=value` piece of `bytes` percent-decodes to valid UTF-8.
pub(crate) fn decodes_to_utf8(bytes: &[u8]) -> bool {
    bytes.split(|&b| b == b'&' || b == b'=').all(|piece| {
        std::str::from_utf8(&percent_encoding::percent_decode(piece).collect::<Vec<u8>>()).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Entry {
        name: String,
    }

    #[test]
    fn strict_utf8() {
        let e: Entry = parse(b"name=caf%C3%A9+au+lait").expect("valid");
        assert_eq!(e.name, "café au lait");
        assert!(matches!(
            parse::<Entry>(b"name=%FF"),
            Err(Rejection::InvalidUtf8)
        ));
        assert!(matches!(
            parse::<Entry>(b"nom=x"),
            Err(Rejection::InvalidForm(_))
        ));
    }
}

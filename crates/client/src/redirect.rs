//! Which responses send the client elsewhere, and how the next request differs from this one.

use bytes::Bytes;
use http::{Method, StatusCode};
use http1::client::ResponseHead;

use crate::{Error, Request};

/// Most redirects followed in a row before giving up (a loop, most likely).
pub const MAX_REDIRECTS: usize = 10;

/// Fields that carry credentials; they are not sent on to another host.
const CREDENTIALS: [&str; 3] = ["authorization", "cookie", "proxy-authorization"];

/// Whether `head` is a redirect this client follows: 301, 302, 303, 307 or 308 with a
/// `Location`. A 3xx without one is an ordinary final response.
pub fn is_redirect(head: &ResponseHead) -> bool {
    matches!(head.status.as_u16(), 301 | 302 | 303 | 307 | 308) && head.headers.contains("location")
}

/// The request that follows `head`, a redirect answering `req`.
///
/// RFC 9110 15.4: 303 turns anything but HEAD into a GET without a body; 301 and 302 do so for
/// POST, as every browser does; 307 and 308 repeat the method and the body unchanged.
pub fn next_request(req: &Request, head: &ResponseHead) -> Result<Request, Error> {
    let location = head
        .headers
        .get("location")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let url = req
        .url
        .join(&location)
        .map_err(|source| Error::BadRedirect { location, source })?;
    let mut next = Request { url, ..req.clone() };
    let to_get = match head.status {
        StatusCode::SEE_OTHER => req.method != Method::HEAD,
        StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND => req.method == Method::POST,
        _ => false,
    };
    if to_get {
        next.method = Method::GET;
        next.body = Bytes::new();
        next.headers.remove("content-type");
    }
    if !next.url.same_endpoint(&req.url) {
        for name in CREDENTIALS {
            next.headers.remove(name);
        }
    }
    Ok(next)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::Url;
    use http::{HeaderName, HeaderValue};
    use http1::client::parse_response_head;

    fn head(status: u16, location: &str) -> ResponseHead {
        let raw = format!("HTTP/1.1 {status} X\r\nLocation: {location}\r\n\r\n");
        parse_response_head(raw.as_bytes()).unwrap().unwrap().0
    }

    fn post() -> Request {
        let mut req = Request::new(Method::POST, Url::parse("http://a:1/form/send").unwrap());
        req.body = Bytes::from_static(b"x=1");
        req.headers.append(
            HeaderName::from_static("content-type"),
            HeaderValue::from_static("text/plain"),
        );
        req.headers.append(
            HeaderName::from_static("authorization"),
            HeaderValue::from_static("secret"),
        );
        req
    }

    #[test]
    fn methods_change_as_browsers_do() {
        for (status, method, body) in [
            (301, Method::GET, ""),
            (302, Method::GET, ""),
            (303, Method::GET, ""),
            (307, Method::POST, "x=1"),
            (308, Method::POST, "x=1"),
        ] {
            let next = next_request(&post(), &head(status, "done")).unwrap();
            assert_eq!(next.method, method, "{status}");
            assert_eq!(next.body, body.as_bytes(), "{status}");
            assert_eq!(next.url.to_string(), "http://a:1/form/done");
            assert_eq!(next.headers.contains("content-type"), !body.is_empty());
        }
        let mut head_req = post();
        head_req.method = Method::HEAD;
        assert_eq!(
            next_request(&head_req, &head(303, "/")).unwrap().method,
            Method::HEAD
        );
    }

    #[test]
    fn credentials_stay_with_their_host() {
        assert!(
            next_request(&post(), &head(307, "/x"))
                .unwrap()
                .headers
                .contains("authorization")
        );
        assert!(
            !next_request(&post(), &head(307, "http://b:1/"))
                .unwrap()
                .headers
                .contains("authorization")
        );
    }

    #[test]
    fn only_redirects_with_a_location_are_followed() {
        assert!(is_redirect(&head(302, "/")));
        assert!(!is_redirect(&head(300, "/")));
        let no_location = parse_response_head(b"HTTP/1.1 302 Found\r\n\r\n")
            .unwrap()
            .unwrap()
            .0;
        assert!(!is_redirect(&no_location));
    }

    #[test]
    fn unusable_locations_are_errors() {
        let err = next_request(&post(), &head(302, "ftp://a/")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot follow the redirect to \"ftp://a/\""
        );
    }
}

//! The default site of `sockserve`: the tutorial's "Wow" page and its picture, built into the
//! binary so the site works from any directory.
//!
//! # Layout
//! - [`assets`]: the embedded page and picture, each with its content type and ETag.
//! - [`methods`]: which methods the site knows, for `405` versus `501`.

pub mod assets;
pub mod methods;

use http1::{Method, StatusCode, header};
use server::{Request, Response, Service};

/// The site as a [`Service`].
pub fn service() -> impl Service {
    |req: Request| async move { respond(&req) }
}

fn respond(req: &Request) -> Response {
    let asset = match req.path() {
        "/" => &assets::INDEX,
        "/test.jpg" => &assets::TEST_JPG,
        _ => return not_found(req.method()),
    };
    if !methods::is_known(req.method()) {
        return Response::error(StatusCode::NOT_IMPLEMENTED);
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Response::error(StatusCode::METHOD_NOT_ALLOWED).header(header::ALLOW, "GET, HEAD");
    }
    asset.respond(req.headers())
}

fn not_found(method: &Method) -> Response {
    if !methods::is_known(method) {
        return Response::error(StatusCode::NOT_IMPLEMENTED);
    }
    Response::html(StatusCode::NOT_FOUND, assets::NOT_FOUND_PAGE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use server::Body;

    fn call(raw: &str) -> Response {
        let req = Request::from_raw_head(raw.as_bytes(), Body::empty()).expect("valid head");
        respond(&req)
    }

    #[test]
    fn serves_page_and_picture() {
        let r = call("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            r.headers.get_str("content-type"),
            Some("text/html; charset=utf-8")
        );
        let r = call("GET /test.jpg HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(r.headers.get_str("content-type"), Some("image/jpeg"));
    }

    #[test]
    fn wrong_and_unknown_methods() {
        let r = call("POST / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.headers.get_str("allow"), Some("GET, HEAD"));
        for m in ["PURGE", "MKCOLA", "LINK", "get"] {
            let r = call(&format!("{m} / HTTP/1.1\r\nHost: a\r\n\r\n"));
            assert_eq!(r.status, StatusCode::NOT_IMPLEMENTED, "{m}");
        }
        assert_eq!(
            call("GET /nope HTTP/1.1\r\nHost: a\r\n\r\n").status,
            StatusCode::NOT_FOUND
        );
    }
}

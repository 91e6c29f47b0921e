//! `304 Not Modified` for every page that carries a validator, decided on the response as it
//! leaves the site, after compression.
//!
//! RFC 9110 15.4.5: a `304` carries the `ETag`, `Vary`, `Cache-Control`, `Content-Location`,
//! `Date` and `Expires` that a `200` to the same request would have had. The compression layer
//! adds `Vary: Accept-Encoding` and weakens the `ETag` of a gzipped body, so a `304` built by a
//! handler, before compression, would miss both. Here the `200` is built in full and then
//! turned into the `304`, so the two can never disagree.

use futures_util::FutureExt as _;
use web::semantics::etag;
use web::{HeaderValue, Method, Request, Response, ResponseBody, Service, StatusCode, header};

/// Answers `304` in place of a `200` whose `ETag` the request's `If-None-Match` lists, for
/// `GET` and `HEAD` (RFC 9110 13.1.2; other methods are not given validators by this site).
#[derive(Debug, Clone)]
pub struct NotModified<S> {
    inner: S,
}

impl<S> NotModified<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        NotModified { inner }
    }
}

impl<S: Service> Service for NotModified<S> {
    fn call(&self, req: Request) -> impl Future<Output = Response> + Send {
        // Copied (a reference count each) only when present, so most requests allocate nothing.
        let if_none_match: Vec<HeaderValue> =
            if req.method() == Method::GET || req.method() == Method::HEAD {
                req.headers()
                    .get_all(&header::IF_NONE_MATCH)
                    .cloned()
                    .collect()
            } else {
                Vec::new()
            };
        // A `map`, not an `async` block: awaiting the captured future would keep it twice in
        // this layer's state, and the layers above copy that state as they wrap it.
        self.inner.call(req).map(move |response| {
            if if_none_match.is_empty() || response.status != StatusCode::OK {
                return response;
            }
            let fresh = response.headers.get_str(&header::ETAG).is_some_and(|etag| {
                etag::list_matches(&if_none_match, etag, etag::Comparison::Weak)
            });
            if fresh && response.rendered.is_none() {
                not_modified(response)
            } else {
                response
            }
        })
    }
}

/// The `304` for `ok`: its fields but those that describe the body it no longer has. As
/// nginx's not-modified filter does, `Content-Type`, `Content-Length`, `Content-Encoding` and
/// `Accept-Ranges` go and every other field stays.
fn not_modified(mut ok: Response) -> Response {
    ok.status = StatusCode::NOT_MODIFIED;
    ok.body = ResponseBody::Empty;
    for name in [
        header::CONTENT_TYPE,
        header::CONTENT_LENGTH,
        header::CONTENT_ENCODING,
        header::ACCEPT_RANGES,
    ] {
        ok.headers.remove(name.as_str());
    }
    ok
}

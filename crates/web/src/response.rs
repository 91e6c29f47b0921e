//! Turning handler return values into responses.
//!
//! A handler returns anything that implements [`IntoResponse`]: text, bytes, [`Html`],
//! [`Json`], a [`Redirect`], a status with a body, a streaming body, or a `Result` whose error
//! is itself a response (such as [`InternalError`], which hides its details from the client and
//! logs them).

use std::fmt;
use std::io;

use bytes::Bytes;
use futures_core::Stream;
use http1::{HeaderName, HeaderValue, StatusCode, header};
use server::{Response, ResponseBody};

/// Something a handler can return.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be turned into a response",
    label = "not a response",
    note = "a handler returns text, `Html`, `Json`, a `StatusCode`, a `Redirect`, a `Response`, a tuple `(StatusCode, body)` or `([(name, value)], body)`, or a `Result` of those"
)]
pub trait IntoResponse {
    /// Converts `self` into the response to send.
    fn into_response(self) -> Response;
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl IntoResponse for &'static str {
    fn into_response(self) -> Response {
        Response::text(StatusCode::OK, Bytes::from_static(self.as_bytes()))
    }
}

impl IntoResponse for String {
    fn into_response(self) -> Response {
        Response::text(StatusCode::OK, self)
    }
}

impl IntoResponse for Bytes {
    fn into_response(self) -> Response {
        Response::with_body(StatusCode::OK, "application/octet-stream", self)
    }
}

impl IntoResponse for Vec<u8> {
    fn into_response(self) -> Response {
        Bytes::from(self).into_response()
    }
}

impl IntoResponse for () {
    fn into_response(self) -> Response {
        Response::new(StatusCode::OK)
    }
}

/// A bare status: the plain error page for 4xx/5xx, an empty body otherwise.
impl IntoResponse for StatusCode {
    fn into_response(self) -> Response {
        if self.is_client_error() || self.is_server_error() {
            Response::error(self)
        } else {
            Response::new(self)
        }
    }
}

/// A body with another status: `(StatusCode::CREATED, "made")`.
impl<T: IntoResponse> IntoResponse for (StatusCode, T) {
    fn into_response(self) -> Response {
        let mut r = self.1.into_response();
        r.status = self.0;
        r
    }
}

/// Something that adds header fields (or cookies) to a response without being the body: the
/// leading elements of a tuple `(parts..., body)` or `(StatusCode, parts..., body)`.
///
/// ```
/// use web::{IntoResponse, StatusCode, header};
///
/// async fn download(name: String) -> impl IntoResponse {
///     let disposition = format!("attachment; filename=\"{name}\"");
///     (StatusCode::OK, [(header::CONTENT_DISPOSITION, disposition)], "contents")
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot add header fields to a response",
    label = "not response parts",
    note = "the elements before the body of a response tuple must be header arrays `[(name, value); N]`, cookie jars, or an `Extension`; a status goes first"
)]
pub trait IntoResponseParts {
    /// Adds `self` to `res`.
    fn into_response_parts(self, res: &mut Response);
}

/// Header fields `[(name, value); N]`; the names and values may be strings, owned or not, or
/// the typed names and values. A name or value that is not valid in a header field is a
/// programming error in the handler: the field is left out and the mistake logged, rather than
/// panicking on a request path.
impl<K, V, const N: usize> IntoResponseParts for [(K, V); N]
where
    K: TryInto<HeaderName>,
    V: TryInto<HeaderValue>,
{
    fn into_response_parts(self, res: &mut Response) {
        for (name, value) in self {
            append_header(res, name, value);
        }
    }
}

/// Header fields as a vector, for a number known only at run time.
impl<K, V> IntoResponseParts for Vec<(K, V)>
where
    K: TryInto<HeaderName>,
    V: TryInto<HeaderValue>,
{
    fn into_response_parts(self, res: &mut Response) {
        for (name, value) in self {
            append_header(res, name, value);
        }
    }
}

/// Header fields replace those of the body's response with the same name (a tuple's
/// `Content-Type` wins over the one `Html` set), as in axum.
fn append_header<K: TryInto<HeaderName>, V: TryInto<HeaderValue>>(
    res: &mut Response,
    name: K,
    value: V,
) {
    match (name.try_into(), value.try_into()) {
        (Ok(name), Ok(value)) => {
            res.headers.remove(name.as_str());
            res.headers.append(name, value);
        }
        _ => tracing::error!("a response header name or value is not valid; left out"),
    }
}

macro_rules! impl_parts_tuples {
    ($($p:ident),+) => {
        #[allow(non_snake_case)]
        impl<$($p: IntoResponseParts,)+ R: IntoResponse> IntoResponse for ($($p,)+ R) {
            fn into_response(self) -> Response {
                let ($($p,)+ body) = self;
                let mut res = body.into_response();
                $($p.into_response_parts(&mut res);)+
                res
            }
        }

        #[allow(non_snake_case)]
        impl<$($p: IntoResponseParts,)+ R: IntoResponse> IntoResponse for (StatusCode, $($p,)+ R) {
            fn into_response(self) -> Response {
                let (status, $($p,)+ body) = self;
                let mut res = body.into_response();
                res.status = status;
                $($p.into_response_parts(&mut res);)+
                res
            }
        }
    };
}

impl_parts_tuples!(P1);
impl_parts_tuples!(P1, P2);
impl_parts_tuples!(P1, P2, P3);
impl_parts_tuples!(P1, P2, P3, P4);

impl<T: IntoResponse, E: IntoResponse> IntoResponse for Result<T, E> {
    fn into_response(self) -> Response {
        match self {
            Ok(v) => v.into_response(),
            Err(e) => e.into_response(),
        }
    }
}

/// An HTML page (`text/html; charset=utf-8`). The caller escapes what it interpolates
/// ([`crate::html::escape`]).
#[derive(Debug, Clone)]
pub struct Html<T>(pub T);

impl<T: Into<Bytes>> IntoResponse for Html<T> {
    fn into_response(self) -> Response {
        Response::html(StatusCode::OK, self.0)
    }
}

/// A JSON body (`application/json`); also the JSON body extractor ([`crate::extract::Json`]).
#[derive(Debug, Clone, Default)]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match to_json(&self.0) {
            Ok(body) => {
                let mut response = Response::new(StatusCode::OK);
                response
                    .headers
                    .append(header::CONTENT_TYPE, APPLICATION_JSON);
                response.body = ResponseBody::Full(body);
                response
            }
            Err(e) => InternalError::new(e).into_response(),
        }
    }
}

thread_local! {
    /// Where this thread serializes JSON bodies, kept between responses.
    static JSON_SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The `Content-Type` of a [`Json`] response, checked at compile time.
const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

/// Most bytes the scratch buffer keeps between responses; a larger body's room is given back.
const JSON_SCRATCH_KEPT: usize = 64 * 1024;

/// `value` as JSON, in exactly as many bytes as it takes: serialized into a buffer kept by the
/// thread, then copied once, rather than grown in a fresh `Vec` and shrunk (two allocations
/// and a copy).
fn to_json<T: serde::Serialize>(value: &T) -> serde_json::Result<Bytes> {
    JSON_SCRATCH.with(|scratch| {
        let Ok(mut buf) = scratch.try_borrow_mut() else {
            // A `Serialize` impl that itself builds a `Json` response re-enters here: it gets
            // a buffer of its own.
            return serde_json::to_vec(value).map(Bytes::from);
        };
        buf.clear();
        let result = serde_json::to_writer(&mut *buf, value).map(|()| Bytes::copy_from_slice(&buf));
        if buf.capacity() > JSON_SCRATCH_KEPT {
            *buf = Vec::new();
        }
        result
    })
}

/// A redirect: `303 See Other` after a form post, `307`/`308` to keep the method.
#[derive(Debug, Clone)]
pub struct Redirect {
    status: StatusCode,
    location: HeaderValue,
}

impl Redirect {
    fn with(status: StatusCode, location: &str) -> Redirect {
        // A location with bytes a header cannot carry is a programming error in the handler;
        // fall back to the site root rather than panic on a request path.
        let location = HeaderValue::from_str(location).unwrap_or_else(|_| {
            tracing::error!(location, "redirect target is not a valid header value");
            HeaderValue::from_static("/")
        });
        Redirect { status, location }
    }

    /// `303 See Other`: "go GET this instead", the answer to a successful form post.
    pub fn to(location: &str) -> Redirect {
        Redirect::with(StatusCode::SEE_OTHER, location)
    }

    /// `307 Temporary Redirect`: same method and body, another URL, this time.
    pub fn temporary(location: &str) -> Redirect {
        Redirect::with(StatusCode::TEMPORARY_REDIRECT, location)
    }

    /// `308 Permanent Redirect`: same method and body, another URL, from now on.
    pub fn permanent(location: &str) -> Redirect {
        Redirect::with(StatusCode::PERMANENT_REDIRECT, location)
    }
}

impl IntoResponse for Redirect {
    fn into_response(self) -> Response {
        let mut r = Response::new(self.status);
        r.headers.append(header::LOCATION, self.location);
        r
    }
}

/// A body produced piece by piece (sent chunked unless the length is given).
pub struct StreamBody {
    content_type: &'static str,
    stream: server::BoxStream,
    len: Option<u64>,
}

impl fmt::Debug for StreamBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamBody")
            .field("content_type", &self.content_type)
            .field("len", &self.len)
            .finish()
    }
}

impl StreamBody {
    /// A streaming body of `content_type`, its length unknown.
    pub fn new(
        content_type: &'static str,
        stream: impl Stream<Item = io::Result<Bytes>> + Send + 'static,
    ) -> StreamBody {
        StreamBody {
            content_type,
            stream: Box::pin(stream),
            len: None,
        }
    }

    /// Declares the total length, so it is sent with `Content-Length` instead of chunked.
    pub fn with_len(mut self, len: u64) -> StreamBody {
        self.len = Some(len);
        self
    }
}

impl IntoResponse for StreamBody {
    fn into_response(self) -> Response {
        let mut r = Response::new(StatusCode::OK);
        r.headers.append(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        r.body = ResponseBody::Stream {
            stream: self.stream,
            len: self.len,
        };
        r
    }
}

/// A failure on the server's side: the client gets a plain `500`, the log gets the details.
///
/// Any error converts into it, so handlers can use `?`:
///
/// ```
/// use web::InternalError;
///
/// async fn read_config() -> Result<String, InternalError> {
///     let text = std::fs::read_to_string("/nonexistent/config")?;
///     Ok(text)
/// }
/// ```
#[derive(Debug)]
pub struct InternalError(Box<dyn std::error::Error + Send + Sync>);

impl InternalError {
    /// Wraps any error.
    pub fn new(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> InternalError {
        InternalError(e.into())
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for InternalError {
    fn from(e: E) -> Self {
        InternalError(Box::new(e))
    }
}

impl IntoResponse for InternalError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self.0, "request failed");
        Response::error(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(r: &Response) -> &[u8] {
        match &r.body {
            ResponseBody::Full(b) => b,
            _ => &[],
        }
    }

    #[test]
    fn plain_values() {
        let r = "hi".into_response();
        assert_eq!(
            r.headers.get_str("content-type"),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(body(&r), b"hi");
        let r = (StatusCode::CREATED, Html("<p>x</p>")).into_response();
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(
            r.headers.get_str("content-type"),
            Some("text/html; charset=utf-8")
        );
    }

    #[test]
    fn json_and_redirects() {
        let r = Json(serde_json::json!({"a": 1})).into_response();
        assert_eq!(body(&r), br#"{"a":1}"#);
        let r = Redirect::to("/guestbook").into_response();
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(r.headers.get_str("location"), Some("/guestbook"));
        assert_eq!(
            Redirect::permanent("/x").into_response().status.as_u16(),
            308
        );
        assert_eq!(
            Redirect::temporary("/x\n")
                .into_response()
                .headers
                .get_str("location"),
            Some("/")
        );
    }

    #[test]
    fn header_tuples_take_owned_values() {
        let name = String::from("x-request-id");
        let r = (
            StatusCode::ACCEPTED,
            [(name, format!("id-{}", 7))],
            [("content-type", "text/csv")],
            "a,b",
        )
            .into_response();
        assert_eq!(r.status, StatusCode::ACCEPTED);
        assert_eq!(r.headers.get_str("x-request-id"), Some("id-7"));
        assert_eq!(r.headers.get_str("content-type"), Some("text/csv"));
        assert_eq!(r.headers.count("content-type"), 1);
        let r = ([("bad name", "x")], "body").into_response();
        assert!(!r.headers.contains("bad name"));
    }

    #[test]
    fn internal_error_hides_details() {
        let r = InternalError::from(io::Error::other("secret path /etc")).into_response();
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!String::from_utf8_lossy(body(&r)).contains("secret"));
    }
}

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
use http1::{HeaderValue, StatusCode, header};
use server::{Response, ResponseBody};

/// Something a handler can return.
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
        match serde_json::to_vec(&self.0) {
            Ok(body) => Response::with_body(StatusCode::OK, "application/json", body),
            Err(e) => InternalError::new(e).into_response(),
        }
    }
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
    fn internal_error_hides_details() {
        let r = InternalError::from(io::Error::other("secret path /etc")).into_response();
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!String::from_utf8_lossy(body(&r)).contains("secret"));
    }
}

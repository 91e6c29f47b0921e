//! Extractors: the typed arguments of a handler, taken from the request.
//!
//! They come in two kinds (as in axum): those that only read the request head implement
//! [`FromRequestParts`] and may appear anywhere in a handler's arguments; those that consume the
//! body implement [`FromRequest`] and may only be the last argument, because there is one body.
//! The compiler enforces that through the [`crate::Handler`] implementations.
//!
//! An extractor that fails returns its rejection as the response, and the handler never runs.
//! To answer a failure yourself (show a form again with a message), take `Result<T, Rejection>`:
//!
//! ```
//! use web::{Form, Html, IntoResponse, Rejection, Response, Router, routing::post};
//!
//! #[derive(serde::Deserialize)]
//! struct Signup { email: String }
//!
//! async fn signup(form: Result<Form<Signup>, Rejection>) -> Response {
//!     match form {
//!         Ok(Form(s)) => Html(format!("<p>Welcome, {}</p>", web::html::escape(&s.email))).into_response(),
//!         Err(r) => (r.status(), Html(format!("<p>Please try again: {}</p>", web::html::escape(&r.to_string()))))
//!             .into_response(),
//!     }
//! }
//!
//! let app: Router = Router::new().route("/signup", post(signup));
//! # let _ = app;
//! ```

mod body;
mod form;
mod json;
pub mod multipart;
mod path;
mod query;
mod state;

use std::future::Future;

use http1::{Headers, Method, RequestHead};
use server::{Body, ConnInfo, Request};

use crate::response::IntoResponse;

pub use body::{MAX_TEXT_BODY, Text};
pub use form::{Form, MAX_FORM_BODY};
pub use json::{Json, MAX_JSON_BODY};
pub use multipart::Multipart;
pub use path::{Path, PathParams};
pub use query::Query;
pub use state::{FromRef, State};

/// A request without its body: what [`FromRequestParts`] extractors read.
#[derive(Debug)]
pub struct Parts {
    /// Request line and header fields.
    pub head: Box<RequestHead>,
    /// Peer and local address.
    pub conn: ConnInfo,
    /// Values attached by the router and middleware (path parameters, ...).
    pub extensions: http::Extensions,
}

impl Parts {
    /// Splits a request into its parts and its body.
    pub fn split(req: Request) -> (Parts, Body) {
        let Request {
            head,
            body,
            conn,
            extensions,
        } = req;
        (
            Parts {
                head,
                conn,
                extensions,
            },
            body,
        )
    }

    /// Puts a request back together.
    pub fn join(self, body: Body) -> Request {
        Request {
            head: self.head,
            body,
            conn: self.conn.clone(),
            extensions: self.extensions,
        }
    }
}

/// An extractor that reads only the request head. `S` is the router's state.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an extractor that reads only the request head",
    label = "cannot be taken from the request head",
    note = "handler arguments before the last must read the head only (Path, Query, State, Headers, CookieJar, Session, ...); a body extractor (Json, Form, String, Multipart) must be the last argument"
)]
pub trait FromRequestParts<S>: Sized {
    /// The response when extraction fails.
    type Rejection: IntoResponse;

    /// Extracts `Self` from the head.
    fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send;
}

/// Marks the [`FromRequest`] implementation that every [`FromRequestParts`] type gets.
#[derive(Debug)]
pub enum ViaParts {}

/// Marks [`FromRequest`] implementations that consume the body.
#[derive(Debug)]
pub enum ViaRequest {}

/// An extractor that may consume the body; only the last handler argument can be one.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be extracted from a request",
    label = "not an extractor",
    note = "handler arguments must be extractors: Path, Query, State, Json, Form, Multipart, String, CookieJar, Session, ... (see the `extract` module); a `State<T>` needs `T: FromRef` of the router's state"
)]
pub trait FromRequest<S, M = ViaRequest>: Sized {
    /// The response when extraction fails.
    type Rejection: IntoResponse;

    /// Extracts `Self` from the whole request.
    fn from_request(
        req: Request,
        state: &S,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send;
}

impl<S, T> FromRequest<S, ViaParts> for T
where
    S: Send + Sync,
    T: FromRequestParts<S>,
{
    type Rejection = T::Rejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, _body) = Parts::split(req);
        T::from_request_parts(&mut parts, state).await
    }
}

/// Marks the [`FromRequest`] implementation for `Result<T, T::Rejection>`.
#[derive(Debug)]
pub enum ViaResult {}

/// Any extractor, with its rejection handed to the handler instead of answered: for handlers
/// that present their own error page (a form shown again with a message, say).
impl<S, M, T> FromRequest<S, (ViaResult, M)> for Result<T, T::Rejection>
where
    S: Send + Sync,
    T: FromRequest<S, M>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(T::from_request(req, state).await)
    }
}

/// The whole request, for handlers that want everything (it must be the last argument).
impl<S: Send + Sync> FromRequest<S> for Request {
    type Rejection = std::convert::Infallible;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(req)
    }
}

impl IntoResponse for std::convert::Infallible {
    fn into_response(self) -> server::Response {
        match self {}
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Method {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.head.method.clone())
    }
}

/// All header fields, in the order received.
impl<S: Send + Sync> FromRequestParts<S> for Headers {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.head.headers.clone())
    }
}

/// The client's and the server's addresses.
impl<S: Send + Sync> FromRequestParts<S> for ConnInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.conn.clone())
    }
}

/// The request head (request line, headers, framing).
impl<S: Send + Sync> FromRequestParts<S> for RequestHead {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestHead::clone(&parts.head))
    }
}

/// An optional extractor: `None` instead of a rejection.
impl<S: Send + Sync, T: FromRequestParts<S> + Send> FromRequestParts<S> for Option<T> {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(T::from_request_parts(parts, state).await.ok())
    }
}

/// The media type of a request, lower-cased, without parameters (`application/json`).
pub(crate) fn media_type(headers: &Headers) -> Option<String> {
    let value = headers.get_str("content-type")?;
    let essence = value.split(';').next().unwrap_or("").trim();
    Some(essence.to_ascii_lowercase())
}

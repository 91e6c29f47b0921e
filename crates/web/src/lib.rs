//! A small web framework on the sockserve server, in the manner of axum: a [`Router`] that
//! maps method and path to async handler functions, extractors that turn a request into typed
//! arguments, and responses built from ordinary values.
//!
//! ```
//! use web::{Router, routing::get, extract::Path, response::Html};
//!
//! async fn hello(Path(name): Path<String>) -> Html<String> {
//!     Html(format!("<p>Hello, {}!</p>", web::html::escape(&name)))
//! }
//!
//! let app: Router = Router::new()
//!     .route("/", get(|| async { "Hello, world!" }))
//!     .route("/hello/{name}", get(hello));
//! // `app` is a `server::Service`: give it to `server::Server::http`.
//! # let _ = app;
//! ```
//!
//! A router can be called without a socket, which is how its tests work: the [`TestClient`]
//! sends requests in the same process and keeps the cookies, as a browser would. Middleware
//! such as `timeout` works there too, on any runtime (its deadline is the framework's own
//! timer, not tokio's):
//!
//! ```
//! use std::time::Duration;
//! use web::{Router, StatusCode, TestClient, middleware::ServiceExt, routing::get};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let app = Router::new()
//!     .route("/", get(|| async {
//!         tokio::time::sleep(Duration::from_millis(1)).await;
//!         "hi"
//!     }))
//!     .timeout(Duration::from_secs(5));
//! let client = TestClient::new(app);
//! assert_eq!(client.get("/").await.text(), "hi");
//! assert_eq!(client.delete("/").await.status(), StatusCode::METHOD_NOT_ALLOWED);
//! # }
//! ```
//!
//! A [`Router`] is a [`server::Service`], so anything the server can run, it can run; and any
//! `Service` (the static file server, the CGI runner) can be mounted inside a router with
//! [`Router::nest_service`].
//!
//! # Layout
//! - [`routing`]: [`Router`], per-method routing ([`routing::get`], [`routing::post`], ...) and
//!   the path patterns (`/guestbook/{id}`, `/files/{*rest}`).
//! - [`handler`]: the [`Handler`] trait, implemented for async functions of up to sixteen extractors.
//! - [`extract`]: the extractors: path parameters, query, headers, state, JSON, forms, multipart.
//! - [`rejection`]: why an extractor refused a request, mapped to a status in one place.
//! - [`response`]: [`IntoResponse`] and the response types ([`Html`], [`Json`], [`Redirect`], ...).
//! - [`middleware`]: [`from_fn`], [`Extension`], compression, timeouts, request tracing, CORS,
//!   request ids, body limits, and turning panics into a plain `500`.
//! - [`cookies`]: cookie jars, plain, signed and private.
//! - [`session`]: [`Session`], the [`SessionLayer`] and its stores (memory, SQLite).
//! - [`csrf`]: the [`CsrfLayer`] and the [`CsrfToken`] forms carry.
//! - [`html`]: escaping text for HTML.
//! - [`ws`]: WebSocket (RFC 6455, with permessage-deflate): [`ws::WebSocketUpgrade`].
//! - [`sse`]: server-sent events: [`sse::Sse`], a streamed `text/event-stream` response.
//! - [`template`]: askama templates and the [`Page`] response.
//! - [`testing`]: the [`TestClient`].
//! - `timer`: the deadlines of the timeout, WebSocket pings and SSE keep-alives, on any executor.

pub mod cookies;
pub mod csrf;
pub mod extract;
pub mod handler;
pub mod html;
pub mod middleware;
pub mod rejection;
pub mod response;
pub mod routing;
pub mod session;
pub mod sse;
pub mod template;
pub mod testing;
mod timer;
pub mod ws;

/// The template engine (see [`template`]).
pub use askama;
pub use cookies::{CookieJar, PrivateCookieJar, SignedCookieJar};
pub use csrf::{CsrfLayer, CsrfToken};
pub use extract::{Form, FromRef, Json, Path, Query, State};
pub use handler::Handler;
pub use middleware::{Extension, Next, from_fn};
pub use rejection::Rejection;
pub use response::{Html, InternalError, IntoResponse, IntoResponseParts, Redirect};
pub use routing::Router;
pub use session::{Session, SessionLayer, SessionStore};
pub use template::Page;
pub use testing::TestClient;

// What an application needs from the layers below, so that it depends on this crate alone.
pub use http1::{FieldName, HeaderName, HeaderValue, Headers, Method, StatusCode, Version, header};
/// The HTTP rules (negotiation, entity tags, escaping, ...) a handler may need.
pub use semantics;
pub use server::{
    Body, BodyError, ConnInfo, PseudoHeaders, Request, Response, ResponseBody, Service,
};

/// A boxed, sendable future, the type every erased handler returns.
pub type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;

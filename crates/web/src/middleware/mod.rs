//! Middleware: services that wrap a service.
//!
//! Each middleware is a type wrapping an inner [`Service`] and is itself a `Service`, so they
//! stack in the order written, outermost last:
//!
//! ```
//! use std::time::Duration;
//! use web::{Router, routing::get, middleware::ServiceExt};
//!
//! let app = Router::new()
//!     .route("/", get(|| async { "hello" }))
//!     .timeout(Duration::from_secs(10))
//!     .compressed()
//!     .catch_panics();
//! # fn is_service<S: web::Service>(_: &S) {}
//! # is_service(&app);
//! ```
//!
//! The server writes its own access log (Common Log Format, one line per request); [`Trace`]
//! is for an application that wants request events in its own `tracing` output instead.

mod body_limit;
mod catch_panic;
mod compression;
mod cors;
mod from_fn;
mod request_id;
mod timeout;
mod trace;

use std::time::Duration;

use server::Service;

pub use body_limit::{BodyLimit, BodyLimitService};
pub use catch_panic::CatchPanic;
pub use compression::Compression;
pub use cors::{Cors, CorsService, DEFAULT_MAX_AGE};
pub use from_fn::{AddExtension, Extension, FromFn, FromFnLayer, Layer, Next, from_fn};
pub use request_id::{
    MAX_REQUEST_ID_LEN, REQUEST_ID_HEADER, RequestId, RequestIdService, SetRequestId,
};
pub use timeout::Timeout;
pub use trace::Trace;

/// Adds the middleware constructors to every [`Service`].
pub trait ServiceExt: Service + Sized {
    /// Answers `503 Service Unavailable` when the inner service takes longer than `limit`.
    fn timeout(self, limit: Duration) -> Timeout<Self> {
        Timeout::new(self, limit)
    }

    /// Gzips compressible responses for clients that accept it.
    fn compressed(self) -> Compression<Self> {
        Compression::new(self)
    }

    /// Logs each request as a `tracing` event.
    fn traced(self) -> Trace<Self> {
        Trace::new(self)
    }

    /// Turns a panic in the inner service into a plain `500`, with the panic in the log.
    fn catch_panics(self) -> CatchPanic<Self> {
        CatchPanic::new(self)
    }

    /// Wraps the service in `layer` (a [`from_fn`] function, a session layer, ...).
    fn layer<L: Layer<Self>>(self, layer: L) -> L::Service {
        layer.layer(self)
    }
}

impl<S: Service> ServiceExt for S {}

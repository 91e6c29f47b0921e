//! Panics in handlers become a plain `500`.

use std::any::Any;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use http1::StatusCode;
use server::{Request, Response, Service};

/// Catches a panic in the inner service: the client gets `500 Internal Server Error` with no
/// details, the log gets the panic message and the path.
#[derive(Debug, Clone)]
pub struct CatchPanic<S> {
    inner: S,
}

impl<S> CatchPanic<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        CatchPanic { inner }
    }
}

impl<S: Service> Service for CatchPanic<S> {
    async fn call(&self, req: Request) -> Response {
        let path = req.path().to_string();
        // The request is moved into the inner future and nothing it touched is observed after a
        // panic, so asserting unwind safety cannot expose a broken invariant here.
        match AssertUnwindSafe(self.inner.call(req)).catch_unwind().await {
            Ok(response) => response,
            Err(panic) => {
                tracing::error!(path, panic = panic_message(&*panic), "handler panicked");
                Response::error(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not a string)")
}

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

/// The request is handed to the inner service before the returned future exists, so no layer
/// keeps a copy of it in its state. (The server's access log names the request that got the
/// `500`; this line gives the panic's message.)
impl<S: Service> Service for CatchPanic<S> {
    fn call(&self, req: Request) -> impl Future<Output = Response> + Send {
        // The request is moved into the inner future and nothing it touched is observed after a
        // panic, so asserting unwind safety cannot expose a broken invariant here.
        AssertUnwindSafe(self.inner.call(req))
            .catch_unwind()
            .map(|result| match result {
                Ok(response) => response,
                Err(panic) => {
                    tracing::error!(panic = panic_message(&*panic), "handler panicked");
                    Response::error(StatusCode::INTERNAL_SERVER_ERROR)
                }
            })
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not a string)")
}

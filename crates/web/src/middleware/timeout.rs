//! A deadline for the whole handler.

use std::time::Duration;

use futures_util::FutureExt;

use http1::{HeaderValue, StatusCode, header};
use server::{Request, Response, Service};

/// Answers `503 Service Unavailable` (with `Retry-After`) when the inner service has not
/// produced a response head within the limit; the handler's future is dropped, cancelling it.
/// A streaming body already started is not cut off: that is the server's write timeout's job.
#[derive(Debug, Clone)]
pub struct Timeout<S> {
    inner: S,
    limit: Duration,
}

impl<S> Timeout<S> {
    /// Wraps `inner` with `limit`.
    pub fn new(inner: S, limit: Duration) -> Self {
        Timeout { inner, limit }
    }
}

/// The request is handed to the inner service before the returned future exists, so no layer
/// keeps a copy of it in its state.
impl<S: Service> Service for Timeout<S> {
    fn call(&self, req: Request) -> impl Future<Output = Response> + Send {
        let limit = self.limit;
        let inner = self.inner.call(req);
        // The timer is made at the first poll, inside the runtime, wherever `call` ran.
        futures_util::future::lazy(move |_| tokio::time::timeout(limit, inner))
            .flatten()
            .map(move |result| result.unwrap_or_else(|_| timed_out(limit)))
    }
}

/// The answer of a handler that ran out of time.
fn timed_out(limit: Duration) -> Response {
    tracing::warn!(limit = ?limit, "handler timed out");
    let mut r = Response::error(StatusCode::SERVICE_UNAVAILABLE);
    r.headers
        .append(header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

//! A deadline for the whole handler.

use std::time::Duration;

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

impl<S: Service> Service for Timeout<S> {
    async fn call(&self, req: Request) -> Response {
        let path = req.path().to_string();
        match tokio::time::timeout(self.limit, self.inner.call(req)).await {
            Ok(response) => response,
            Err(_) => {
                tracing::warn!(path, limit = ?self.limit, "handler timed out");
                let mut r = Response::error(StatusCode::SERVICE_UNAVAILABLE);
                r.headers
                    .append(header::RETRY_AFTER, HeaderValue::from_static("1"));
                r
            }
        }
    }
}

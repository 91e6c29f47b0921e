//! One `tracing` event per request, for applications that want their own request log (the
//! server's access log is a file or stderr in Common Log Format; this one goes wherever the
//! application's `tracing` subscriber sends it, with structured fields).

use std::time::Instant;

use futures_util::FutureExt;

use server::{Request, Response, Service};

/// Logs method, path, status and duration of each request at `info` level (target
/// `web::access`); `5xx` answers at `warn`.
#[derive(Debug, Clone)]
pub struct Trace<S> {
    inner: S,
}

impl<S> Trace<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Trace { inner }
    }
}

impl<S: Service> Service for Trace<S> {
    fn call(&self, req: Request) -> impl Future<Output = Response> + Send {
        let start = Instant::now();
        let method = req.method().clone();
        let path = req.path().to_string();
        let peer = req.conn.peer;
        self.inner.call(req).map(move |response| {
            let status = response.status.as_u16();
            let micros = start.elapsed().as_micros() as u64;
            if response.status.is_server_error() {
                tracing::warn!(target: "web::access", %method, path, %peer, status, micros, "request");
            } else {
                tracing::info!(target: "web::access", %method, path, %peer, status, micros, "request");
            }
            response
        })
    }
}

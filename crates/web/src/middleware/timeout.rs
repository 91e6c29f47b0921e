//! A deadline for the whole handler.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http1::{HeaderValue, StatusCode, header};
use server::{Request, Response, Service};

use crate::timer::Sleep;

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
///
/// The limit counts from the moment the handler first waits: a handler that answers at its
/// first poll (most do) never needs a timer, so it costs neither a clock read nor a timer
/// registration.
///
/// The deadline is the framework's own ([`crate::timer`]), not tokio's, which panics where no
/// tokio timer runs (outside a runtime, on one built without `enable_time`): the same layer
/// works on the server's runtime, under `#[tokio::test]`, and under any other executor.
impl<S: Service> Service for Timeout<S> {
    fn call(&self, req: Request) -> impl Future<Output = Response> + Send {
        Deadline {
            inner: self.inner.call(req),
            limit: self.limit,
            deadline: None,
        }
    }
}

pin_project_lite::pin_project! {
    /// The inner service's future and its deadline, made when the handler first waits.
    ///
    /// Written by hand rather than as an `async` block: a block that pins the future it
    /// captured keeps it twice in its state (the capture and the pinned local), and every
    /// layer above copies that state when it wraps it.
    struct Deadline<F> {
        #[pin]
        inner: F,
        limit: Duration,
        deadline: Option<Sleep>,
    }
}

impl<F: Future<Output = Response>> Future for Deadline<F> {
    type Output = Response;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response> {
        let this = self.project();
        if let Poll::Ready(response) = this.inner.poll(cx) {
            return Poll::Ready(response);
        }
        let limit = *this.limit;
        let deadline = this.deadline.get_or_insert_with(|| Sleep::after(limit));
        Pin::new(deadline).poll(cx).map(|()| timed_out(limit))
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

#[cfg(test)]
mod tests {
    use super::*;
    use server::Body;

    fn request() -> Request {
        Request::from_raw_head(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", Body::empty())
            .expect("a valid head")
    }

    async fn after(wait: Duration) -> Response {
        tokio::time::sleep(wait).await;
        Response::new(StatusCode::OK)
    }

    #[tokio::test]
    async fn an_immediate_answer_passes_through() {
        let t = Timeout::new(
            |_req| async { Response::new(StatusCode::OK) },
            Duration::ZERO,
        );
        assert_eq!(t.call(request()).await.status, StatusCode::OK);
    }

    #[tokio::test]
    async fn a_handler_that_waits_gets_its_limit() {
        let quick = Timeout::new(
            |_req| after(Duration::from_millis(10)),
            Duration::from_secs(5),
        );
        assert_eq!(quick.call(request()).await.status, StatusCode::OK);

        let slow = Timeout::new(
            |_req| after(Duration::from_secs(30)),
            Duration::from_millis(20),
        );
        let r = slow.call(request()).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers.get_str("retry-after"), Some("1"));
    }

    /// A handler that waits on something other than a tokio timer (a channel), where tokio's
    /// timer would panic: on a runtime built without `enable_time`, and under an executor that
    /// is not tokio's.
    #[test]
    fn no_tokio_timer_is_needed() {
        let never = |_req| async {
            let (_tx, rx) = tokio::sync::oneshot::channel::<()>();
            let _ = rx.await;
            Response::new(StatusCode::OK)
        };
        let slow = Timeout::new(never, Duration::from_millis(20));
        let without_time = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let r = without_time.block_on(slow.call(request()));
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
        let r = crate::timer::tests::block_on(slow.call(request()));
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    }
}

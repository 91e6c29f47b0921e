//! A request id: one string that ties a client's report, the access log and the application's
//! log lines to one request.

use server::{Request, Response, Service};

use super::Layer;
use crate::extract::{FromRequestParts, Parts};
use crate::rejection::Rejection;

/// The header carrying the id, both ways (the name nginx's `$request_id` setups and most
/// proxies use).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Longest id taken from a client or proxy; a longer or non-printable one is replaced.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// The request's id, as an extractor (and in the request's extensions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Rejection> {
        parts
            .extensions
            .get::<RequestId>()
            .cloned()
            .ok_or(Rejection::MissingExtension(
                "RequestId (is the SetRequestId layer on?)",
            ))
    }
}

/// Gives each request an id: the one in `X-Request-Id` if a proxy in front set a sane one,
/// otherwise 128 random bits; the response carries it back in the same header.
#[derive(Debug, Clone, Copy, Default)]
pub struct SetRequestId;

impl<S: Service> Layer<S> for SetRequestId {
    type Service = RequestIdService<S>;

    fn layer(&self, inner: S) -> RequestIdService<S> {
        RequestIdService { inner }
    }
}

/// A service behind [`SetRequestId`].
#[derive(Debug, Clone)]
pub struct RequestIdService<S> {
    inner: S,
}

fn acceptable(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_REQUEST_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic())
}

impl<S: Service> Service for RequestIdService<S> {
    async fn call(&self, mut req: Request) -> Response {
        let id = match req.headers().get_str(REQUEST_ID_HEADER) {
            Some(id) if acceptable(id) => id.to_string(),
            _ => crate::session::random_token(16).unwrap_or_else(|_| "-".to_string()),
        };
        req.extensions.insert(RequestId(id.clone()));
        let mut res = self.inner.call(req).await;
        if let (Ok(name), Ok(value)) = (
            http1::HeaderName::from_bytes(REQUEST_ID_HEADER.as_bytes()),
            http1::HeaderValue::from_str(&id),
        ) {
            res.headers.insert(name, value);
        }
        res
    }
}

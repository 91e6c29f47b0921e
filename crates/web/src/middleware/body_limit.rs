//! The largest body the body extractors read, per router or per route.

use server::{Request, Response, Service};

use super::Layer;

/// Sets the largest body that [`crate::Json`], [`crate::Form`], `String`/`Text`, `Bytes` and
/// the CSRF check read for the routes it wraps (a larger body is `413 Content Too Large`);
/// without it each extractor has its own 1 MiB default. A layer, and the value extractors find
/// in the request's extensions:
///
/// ```
/// use web::middleware::BodyLimit;
/// use web::{Json, Router, routing::post};
///
/// let uploads: Router = Router::new()
///     .route("/import", post(|Json(v): Json<serde_json::Value>| async move { Json(v) }))
///     .layer(BodyLimit(16 * 1024 * 1024));
/// # let _ = uploads;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit(pub usize);

impl BodyLimit {
    /// The limit for `req`: the layer's, or `default`.
    pub(crate) fn of(extensions: &http::Extensions, default: usize) -> usize {
        extensions.get::<BodyLimit>().map_or(default, |l| l.0)
    }
}

impl<S: Service> Layer<S> for BodyLimit {
    type Service = BodyLimitService<S>;

    fn layer(&self, inner: S) -> BodyLimitService<S> {
        BodyLimitService {
            inner,
            limit: *self,
        }
    }
}

/// A service behind a [`BodyLimit`].
#[derive(Debug, Clone)]
pub struct BodyLimitService<S> {
    inner: S,
    limit: BodyLimit,
}

impl<S: Service> Service for BodyLimitService<S> {
    fn call(&self, mut req: Request) -> impl Future<Output = Response> + Send {
        req.extensions.insert(self.limit);
        self.inner.call(req)
    }
}

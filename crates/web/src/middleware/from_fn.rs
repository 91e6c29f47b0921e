//! Middleware written as an async function, and the [`Layer`] trait that applies middleware.

use std::future::Future;
use std::sync::Arc;

use futures_util::FutureExt as _;
use server::{Request, Response, Service};

use crate::BoxFuture;
use crate::extract::{FromRequestParts, Parts};
use crate::rejection::Rejection;

/// Something that wraps a service in middleware, so a router can apply it to each of its
/// routes ([`crate::Router::layer`], [`crate::Router::route_layer`]) or a service to itself
/// ([`super::ServiceExt::layer`]). As tower's `Layer`.
pub trait Layer<S> {
    /// The wrapped service.
    type Service;

    /// Wraps `inner`.
    fn layer(&self, inner: S) -> Self::Service;
}

/// The rest of the chain, handed to a [`from_fn`] middleware: call [`Next::run`] to get the
/// response of the layers below and the handler.
pub struct Next {
    inner: Arc<dyn Fn(Request) -> BoxFuture<Response> + Send + Sync>,
}

impl std::fmt::Debug for Next {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Next")
    }
}

impl Next {
    /// Passes the request on and returns the response.
    pub async fn run(self, req: Request) -> Response {
        (self.inner)(req).await
    }
}

/// Middleware from an async function `fn(Request, Next) -> impl IntoResponse`; it can look at
/// or change the request, answer it itself, or change the response.
///
/// ```
/// use web::middleware::{Next, from_fn};
/// use web::{IntoResponse, Request, Response, Router, StatusCode, routing::get};
///
/// async fn require_key(req: Request, next: Next) -> Response {
///     if req.headers().get_str("x-api-key") != Some("secret") {
///         return StatusCode::UNAUTHORIZED.into_response();
///     }
///     next.run(req).await
/// }
///
/// let app: Router = Router::new()
///     .route("/admin", get(|| async { "hello, admin" }))
///     .route_layer(from_fn(require_key));
/// # let _ = app;
/// ```
pub fn from_fn<F, Fut, R>(f: F) -> FromFnLayer<F>
where
    F: Fn(Request, Next) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: crate::IntoResponse,
{
    FromFnLayer { f }
}

/// The [`Layer`] made by [`from_fn`].
#[derive(Clone)]
pub struct FromFnLayer<F> {
    f: F,
}

impl<F> std::fmt::Debug for FromFnLayer<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FromFnLayer")
    }
}

impl<S, F, Fut, R> Layer<S> for FromFnLayer<F>
where
    S: Service,
    F: Fn(Request, Next) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: crate::IntoResponse,
{
    type Service = FromFn<F>;

    fn layer(&self, inner: S) -> FromFn<F> {
        let inner = Arc::new(inner);
        FromFn {
            f: self.f.clone(),
            next: Arc::new(move |req| {
                let inner = inner.clone();
                Box::pin(async move { inner.call(req).await })
            }),
        }
    }
}

/// A service wrapped by a [`from_fn`] middleware.
pub struct FromFn<F> {
    f: F,
    next: Arc<dyn Fn(Request) -> BoxFuture<Response> + Send + Sync>,
}

impl<F> std::fmt::Debug for FromFn<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FromFn")
    }
}

impl<F, Fut, R> Service for FromFn<F>
where
    F: Fn(Request, Next) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: crate::IntoResponse,
{
    fn call(&self, req: Request) -> impl Future<Output = Response> + Send {
        let next = Next {
            inner: self.next.clone(),
        };
        // A `map`: an `async` block awaiting `fut` would hold it twice.
        (self.f)(req, next).map(crate::IntoResponse::into_response)
    }
}

/// A value a middleware (or [`AddExtension`]) attached to the request, for handlers:
/// the signed-in user, a database handle. A `500` (logged) if nothing attached one, since
/// that is a mistake in the route table, not the client's.
///
/// ```
/// use web::middleware::{Next, from_fn};
/// use web::{Extension, Request, Router, routing::get};
///
/// #[derive(Clone)]
/// struct User(String);
///
/// async fn authenticate(mut req: Request, next: Next) -> web::Response {
///     req.extensions.insert(User("alice".into()));
///     next.run(req).await
/// }
///
/// let app: Router = Router::new()
///     .route("/me", get(|Extension(User(name)): Extension<User>| async move { name }))
///     .layer(from_fn(authenticate));
/// # let _ = app;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Extension<T>(pub T);

impl<S: Send + Sync, T: Clone + Send + Sync + 'static> FromRequestParts<S> for Extension<T> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Rejection> {
        parts
            .extensions
            .get::<T>()
            .cloned()
            .map(Extension)
            .ok_or(Rejection::MissingExtension(std::any::type_name::<T>()))
    }
}

/// `Extension(value)` is also a layer that attaches a clone of `value` to every request.
impl<S: Service, T: Clone + Send + Sync + 'static> Layer<S> for Extension<T> {
    type Service = AddExtension<S, T>;

    fn layer(&self, inner: S) -> AddExtension<S, T> {
        AddExtension {
            inner,
            value: self.0.clone(),
        }
    }
}

/// A service behind an [`Extension`] layer.
#[derive(Debug, Clone)]
pub struct AddExtension<S, T> {
    inner: S,
    value: T,
}

impl<S: Service, T: Clone + Send + Sync + 'static> Service for AddExtension<S, T> {
    fn call(&self, mut req: Request) -> impl Future<Output = Response> + Send {
        req.extensions.insert(self.value.clone());
        self.inner.call(req)
    }
}

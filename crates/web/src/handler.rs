//! Handlers: async functions whose arguments are extractors and whose result is a response.
//!
//! [`Handler`] is implemented for every `async fn` (or closure returning a future) of zero to
//! sixteen arguments where all arguments but the last implement
//! [`FromRequestParts`] and the last implements
//! [`FromRequest`], and the output implements [`IntoResponse`].
//! The `T` parameter only tells those implementations apart; callers never name it.

use std::future::Future;
use std::sync::Arc;

use server::{Request, Response};

use crate::BoxFuture;
use crate::extract::{FromRequest, FromRequestParts, Parts};
use crate::rejection::{RejectionHandler, respond};
use crate::response::IntoResponse;

/// An async function the router can call with a request and the router's state `S`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a handler",
    label = "not a handler for a router with state `{S}`",
    note = "a handler is an `async fn` of up to 16 extractor arguments (only the last may read the body) whose output implements `IntoResponse`",
    note = "check each argument is an extractor, the function is `async`, and its output is a response; a `State<T>` must match the router's state"
)]
pub trait Handler<T, S>: Clone + Send + Sync + Sized + 'static {
    /// Runs the extractors, then the function, and converts its output into a response.
    fn call(self, req: Request, state: S) -> BoxFuture<Response>;
}

impl<F, Fut, R, S> Handler<((),), S> for F
where
    F: FnOnce() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = R> + Send,
    R: IntoResponse,
    S: Send + Sync + 'static,
{
    fn call(self, _req: Request, _state: S) -> BoxFuture<Response> {
        Box::pin(async move { self().await.into_response() })
    }
}

macro_rules! impl_handler {
    ([$($part:ident),*], $last:ident) => {
        #[allow(non_snake_case, unused_mut)]
        impl<F, Fut, R, S, M, $($part,)* $last> Handler<(M, $($part,)* $last,), S> for F
        where
            F: FnOnce($($part,)* $last) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = R> + Send,
            R: IntoResponse,
            S: Send + Sync + 'static,
            $($part: FromRequestParts<S> + Send,)*
            $($part::Rejection: 'static,)*
            $last: FromRequest<S, M> + Send,
            $last::Rejection: 'static,
        {
            fn call(self, req: Request, state: S) -> BoxFuture<Response> {
                Box::pin(async move {
                    let (mut parts, body) = Parts::split(req);
                    let handler = parts.extensions.get::<RejectionHandler>().cloned();
                    $(
                        let $part = match $part::from_request_parts(&mut parts, &state).await {
                            Ok(value) => value,
                            Err(rejection) => return respond(rejection, handler.as_ref()),
                        };
                    )*
                    let req = parts.join(body);
                    let $last = match $last::from_request(req, &state).await {
                        Ok(value) => value,
                        Err(rejection) => return respond(rejection, handler.as_ref()),
                    };
                    self($($part,)* $last).await.into_response()
                })
            }
        }
    };
}

impl_handler!([], T1);
impl_handler!([T1], T2);
impl_handler!([T1, T2], T3);
impl_handler!([T1, T2, T3], T4);
impl_handler!([T1, T2, T3, T4], T5);
impl_handler!([T1, T2, T3, T4, T5], T6);
impl_handler!([T1, T2, T3, T4, T5, T6], T7);
impl_handler!([T1, T2, T3, T4, T5, T6, T7], T8);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8], T9);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9], T10);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9, T10], T11);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11], T12);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12], T13);
impl_handler!(
    [T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13],
    T14
);
impl_handler!(
    [T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14],
    T15
);
impl_handler!(
    [
        T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15
    ],
    T16
);

/// A handler or service with its types erased, as the router stores it.
pub(crate) type Endpoint<S> = Arc<dyn Fn(Request, S) -> BoxFuture<Response> + Send + Sync>;

/// Erases a handler's types.
pub(crate) fn endpoint<H, T, S>(handler: H) -> Endpoint<S>
where
    H: Handler<T, S>,
    T: 'static,
{
    Arc::new(move |req, state| handler.clone().call(req, state))
}

/// Erases a [`server::Service`]'s type; the router's state is not passed to it.
pub(crate) fn service_endpoint<V: server::Service, S>(service: V) -> Endpoint<S> {
    let service = Arc::new(service);
    Arc::new(move |req, _state| {
        let service = service.clone();
        Box::pin(async move { service.call(req).await })
    })
}

/// Gives an endpoint its state once and for all, for [`crate::Router::with_state`].
pub(crate) fn bind_state<S: Clone + Send + Sync + 'static>(
    e: Endpoint<S>,
    state: S,
) -> Endpoint<()> {
    Arc::new(move |req, ()| e(req, state.clone()))
}

/// An endpoint with its state, as the [`server::Service`] a [`crate::middleware::Layer`] wraps.
pub struct BoundEndpoint<S> {
    endpoint: Endpoint<S>,
    state: S,
}

impl<S> std::fmt::Debug for BoundEndpoint<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BoundEndpoint")
    }
}

impl<S: Clone + Send + Sync + 'static> server::Service for BoundEndpoint<S> {
    fn call(&self, req: Request) -> impl Future<Output = Response> + Send {
        (self.endpoint)(req, self.state.clone())
    }
}

/// Wraps an endpoint in a layer. The layer is applied per request, around the endpoint and
/// the state of that request: layers are meant to be cheap to apply (an `Arc` clone).
pub(crate) fn layered<S, L>(e: Endpoint<S>, layer: L) -> Endpoint<S>
where
    S: Clone + Send + Sync + 'static,
    L: crate::middleware::Layer<BoundEndpoint<S>> + Clone + Send + Sync + 'static,
    L::Service: server::Service,
{
    Arc::new(move |req, state| {
        let service = layer.layer(BoundEndpoint {
            endpoint: e.clone(),
            state,
        });
        Box::pin(async move { server::Service::call(&service, req).await })
    })
}

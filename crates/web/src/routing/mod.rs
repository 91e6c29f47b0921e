//! The [`Router`]: method and path to handler.
//!
//! Routes are checked as they are added; an invalid pattern, two routes that match the same
//! paths, or a method routed twice panics right away with a message saying how to fix it, so
//! a broken route table never gets as far as serving.
//!
//! When several patterns match a path the most specific wins, compared segment by segment:
//! static text beats a `{param}`, which beats a `{*wildcard}`.

mod method;
mod pattern;

use std::future::Ready;

use futures_util::future::Either;
use http1::{StatusCode, Target};
use server::{Request, Response, Service};

use crate::BoxFuture;
use crate::extract::PathParams;
use crate::handler::{
    BoundEndpoint, Endpoint, Handler, bind_state, endpoint, layered, service_endpoint,
};
use crate::middleware::Layer;
use crate::response::IntoResponse;

use method::Dispatch;
pub use method::{MethodRouter, any, delete, get, is_standard, patch, post, put};
use pattern::{Pattern, Rank};

/// The original path and query of a request handed to a nested service, whose own target has
/// the prefix stripped. Found in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalTarget {
    /// The target as the client sent it.
    pub target: String,
    /// The prefix that was stripped (`/cgi-bin`).
    pub prefix: String,
}

/// What a route leads to.
enum Route<S> {
    /// Handlers by method.
    Methods(MethodRouter<S>),
    /// A whole service, under a static prefix that is stripped before calling it.
    Nested(Endpoint<S>),
}

impl<S> Clone for Route<S> {
    fn clone(&self) -> Self {
        match self {
            Route::Methods(m) => Route::Methods(m.clone()),
            Route::Nested(e) => Route::Nested(e.clone()),
        }
    }
}

struct Entry<S> {
    pattern: Pattern,
    route: Route<S>,
}

/// Routes requests to handlers by path and method. `S` is the state handlers can extract with
/// [`State`](crate::extract::State); a router is a [`server::Service`] once it has its state
/// (`Router<()>`, after [`Router::with_state`] when `S` is not `()`).
///
/// ```
/// use web::{Router, routing::{get, post}, StatusCode};
///
/// let app: Router = Router::new()
///     .route("/", get(|| async { "home" }))
///     .route("/items", get(|| async { "list" }).post(|| async { (StatusCode::CREATED, "made") }))
///     .route("/items/{id}", get(|web::Path(id): web::Path<u32>| async move { format!("item {id}") }));
/// # let _ = app;
/// ```
pub struct Router<S = ()> {
    entries: Vec<Entry<S>>,
    fallback: Option<Endpoint<S>>,
    /// The fallbacks of nested routers, each under its (static) prefix: a path under the
    /// prefix that no route matches goes to the longest prefix's, as in axum 0.8.
    nested_fallbacks: Vec<(Pattern, Endpoint<S>)>,
}

impl<S> std::fmt::Debug for Router<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let routes: Vec<&str> = self.entries.iter().map(|e| e.pattern.as_str()).collect();
        f.debug_struct("Router").field("routes", &routes).finish()
    }
}

impl<S: Clone + Send + Sync + 'static> Default for Router<S> {
    fn default() -> Self {
        Router::new()
    }
}

impl<S: Clone + Send + Sync + 'static> Router<S> {
    /// An empty router: every path is `404`.
    pub fn new() -> Self {
        Router {
            entries: Vec::new(),
            fallback: None,
            nested_fallbacks: Vec::new(),
        }
    }

    /// Routes `path` (a pattern such as `/guestbook/{id}` or `/files/{*rest}`) by method.
    ///
    /// # Panics
    /// On an invalid pattern, a pattern matching the same paths as another with different
    /// names, or a method already routed on `path`; the message says how to fix it.
    pub fn route(mut self, path: &str, methods: MethodRouter<S>) -> Self {
        let pattern = parse_or_panic(path);
        self.add(pattern, Route::Methods(methods));
        self
    }

    /// Sends every request under `prefix` (a static path such as `/cgi-bin`) to `service`, with
    /// the prefix removed from the target (`/cgi-bin/x.py?a` arrives as `/x.py?a`, and
    /// `/cgi-bin` itself as `/`). The original target is in the [`OriginalTarget`] extension.
    ///
    /// # Panics
    /// If `prefix` is not a valid static path or is already taken.
    pub fn nest_service<V: Service>(mut self, prefix: &str, service: V) -> Self {
        let pattern = parse_or_panic(normalize_prefix(prefix));
        if !pattern.is_static() || pattern.has_wildcard() {
            panic!(
                "nest_service(\"{prefix}\"): the prefix must be a static path like `/static`, without parameters"
            );
        }
        self.add(pattern, Route::Nested(service_endpoint(service)));
        self
    }

    /// Mounts every route of `router` under `prefix` (a static path): `/api` + `/messages`
    /// is `/api/messages`. Handlers see the whole path, prefix included.
    ///
    /// If `router` has a [`fallback`](Router::fallback), it answers every path under `prefix`
    /// (`/api`, `/api/...`) that none of its routes matches, as in axum 0.8; this router's own
    /// fallback answers the rest. A path a route matches with another method is still `405`.
    ///
    /// # Panics
    /// If `prefix` is not a static path, on a route conflicting with one already here, or if
    /// a router nested at the same prefix already brought a fallback.
    pub fn nest(mut self, prefix: &str, router: Router<S>) -> Self {
        let prefix_pattern = parse_or_panic(normalize_prefix(prefix));
        if !prefix_pattern.is_static() {
            panic!(
                "nest(\"{prefix}\"): the prefix must be a static path like `/api`, without parameters"
            );
        }
        for entry in router.entries {
            self.add(entry.pattern.prefixed(&prefix_pattern), entry.route);
        }
        let inner = router.nested_fallbacks.into_iter();
        for (pattern, fallback) in inner.map(|(p, f)| (p.prefixed(&prefix_pattern), f)) {
            self.add_nested_fallback(pattern, fallback);
        }
        if let Some(fallback) = router.fallback {
            self.add_nested_fallback(prefix_pattern, fallback);
        }
        self
    }

    fn add_nested_fallback(&mut self, prefix: Pattern, fallback: Endpoint<S>) {
        if let Some((have, _)) = self
            .nested_fallbacks
            .iter()
            .find(|(p, _)| p.as_str() == prefix.as_str())
        {
            panic!(
                "nest(\"{have}\"): two routers nested at `{have}` both have a fallback; \
                 keep only one `.fallback(...)`"
            );
        }
        self.nested_fallbacks.push((prefix, fallback));
    }

    /// Mounts a router whose state is a part of this one's (`T: FromRef<S>`, as in axum), so
    /// that a module can keep its own state type: `/admin` + `/users` is `/admin/users`.
    pub fn nest_substate<T>(self, prefix: &str, router: Router<T>) -> Self
    where
        T: crate::extract::FromRef<S> + Clone + Send + Sync + 'static,
    {
        let map = |e: Endpoint<T>| -> Endpoint<S> {
            std::sync::Arc::new(move |req, state: S| e(req, T::from_ref(&state)))
        };
        let router = Router {
            entries: router
                .entries
                .into_iter()
                .map(|e| Entry {
                    pattern: e.pattern,
                    route: match e.route {
                        Route::Methods(m) => Route::Methods(m.map_state(&map)),
                        Route::Nested(n) => Route::Nested(map(n)),
                    },
                })
                .collect(),
            fallback: router.fallback.map(map),
            nested_fallbacks: router
                .nested_fallbacks
                .into_iter()
                .map(|(p, f)| (p, map(f)))
                .collect(),
        };
        self.nest(prefix, router)
    }

    /// Adds every route of `other` to this router, as if they had been written here (panics
    /// on a route both have). `other`'s fallback is kept if this router has none.
    ///
    /// # Panics
    /// On a conflicting route, or if both routers have a fallback.
    pub fn merge(mut self, other: Router<S>) -> Self {
        for entry in other.entries {
            self.add(entry.pattern, entry.route);
        }
        for (pattern, fallback) in other.nested_fallbacks {
            self.add_nested_fallback(pattern, fallback);
        }
        match (&self.fallback, other.fallback) {
            (Some(_), Some(_)) => {
                panic!("merge: both routers have a fallback; keep only one `.fallback(...)`")
            }
            (None, Some(f)) => self.fallback = Some(f),
            _ => {}
        }
        self
    }

    /// Wraps every route and the fallbacks (this router's, and those of the routers nested so
    /// far) in `layer` (a [`crate::middleware::from_fn`] function, a session or CSRF layer,
    /// ...). Only the routes added before the call are wrapped, so a group of routes gets its
    /// own layers: `Router::new().route(..).layer(a).route(..)` puts `a` on the first route only.
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<BoundEndpoint<S>> + Clone + Send + Sync + 'static,
        L::Service: Service,
    {
        self = self.route_layer(layer.clone());
        for (_, fallback) in &mut self.nested_fallbacks {
            *fallback = layered(fallback.clone(), layer.clone());
        }
        self.fallback = self.fallback.map(|f| layered(f, layer));
        self
    }

    /// Wraps every route added so far in `layer`, but not the fallback nor the `404`/`405`
    /// answers: for checks (authentication) that should run only where a route matched.
    pub fn route_layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<BoundEndpoint<S>> + Clone + Send + Sync + 'static,
        L::Service: Service,
    {
        let wrap = |e: Endpoint<S>| layered(e, layer.clone());
        for entry in &mut self.entries {
            entry.route = match std::mem::replace(
                &mut entry.route,
                Route::Methods(MethodRouter::default()),
            ) {
                Route::Methods(m) => Route::Methods(m.map(&wrap)),
                Route::Nested(n) => Route::Nested(wrap(n)),
            };
        }
        self
    }

    /// Answers requests no route matches with `handler` instead of a plain `404`.
    pub fn fallback<H, T>(mut self, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.fallback = Some(endpoint(handler));
        self
    }

    /// Gives the router its state, making it a [`server::Service`].
    pub fn with_state(self, state: S) -> Router<()> {
        let entries = self
            .entries
            .into_iter()
            .map(|e| Entry {
                pattern: e.pattern,
                route: match e.route {
                    Route::Methods(m) => Route::Methods(m.with_state(state.clone())),
                    Route::Nested(n) => Route::Nested(bind_state(n, state.clone())),
                },
            })
            .collect();
        let nested_fallbacks = self
            .nested_fallbacks
            .into_iter()
            .map(|(p, f)| (p, bind_state(f, state.clone())))
            .collect();
        Router {
            entries,
            fallback: self.fallback.map(|f| bind_state(f, state)),
            nested_fallbacks,
        }
    }

    fn add(&mut self, pattern: Pattern, route: Route<S>) {
        if let Some(existing) = self
            .entries
            .iter_mut()
            .find(|e| e.pattern.same_shape(&pattern))
        {
            match (&mut existing.route, route) {
                (Route::Methods(have), Route::Methods(more))
                    if existing.pattern.as_str() == pattern.as_str() =>
                {
                    *have = std::mem::take(have).merge(more, pattern.as_str());
                    return;
                }
                _ => panic!(
                    "route `{pattern}` conflicts with `{}`: both match the same paths; \
                     merge them into one route or make their static segments differ",
                    existing.pattern
                ),
            }
        }
        self.entries.push(Entry { pattern, route });
    }
}

/// `/static/` and `/static` name the same prefix.
fn normalize_prefix(prefix: &str) -> &str {
    match prefix.trim_end_matches('/') {
        "" if prefix.starts_with('/') => "/",
        trimmed => trimmed,
    }
}

fn parse_or_panic(path: &str) -> Pattern {
    Pattern::parse(path).unwrap_or_else(|message| panic!("{message}"))
}

/// What the router found for a request.
enum Found<'a> {
    Methods(&'a MethodRouter<()>, PathParams),
    Nested(&'a Endpoint<()>, usize),
    None,
}

impl Router<()> {
    /// Finds the most specific route matching `path`.
    fn find(&self, path: &str) -> Found<'_> {
        // A route written as exactly this path is the most specific there can be.
        for entry in &self.entries {
            if let Route::Methods(m) = &entry.route
                && entry.pattern.exact_path() == Some(path)
            {
                return Found::Methods(m, PathParams::default());
            }
        }
        let mut best: Option<(Rank, Found<'_>)> = None;
        for entry in &self.entries {
            let (rank, found) = match &entry.route {
                Route::Methods(m) => match entry.pattern.matches(path) {
                    Some(hit) => {
                        let params = PathParams {
                            pairs: hit
                                .params
                                .into_iter()
                                .map(|(n, v)| (n, v.into_owned()))
                                .collect(),
                            invalid_utf8: hit.invalid_utf8,
                        };
                        (hit.rank, Found::Methods(m, params))
                    }
                    None => continue,
                },
                Route::Nested(e) => match entry.pattern.prefix_len(path) {
                    Some(len) => {
                        let depth = path[..len].matches('/').count();
                        let mut rank = Rank::default();
                        (0..depth).for_each(|d| rank.set(d, Rank::STATIC));
                        rank.set(depth, Rank::WILDCARD);
                        (rank, Found::Nested(e, len))
                    }
                    None => continue,
                },
            };
            if best.as_ref().is_none_or(|(r, _)| rank > *r) {
                best = Some((rank, found));
            }
        }
        best.map_or(Found::None, |(_, f)| f)
    }

    /// The fallback for a path no route matches: the one of the router nested at the longest
    /// prefix of `path`, else this router's.
    fn fallback_for(&self, path: &str) -> Option<&Endpoint<()>> {
        self.nested_fallbacks
            .iter()
            .filter_map(|(p, f)| p.prefix_len(path).map(|len| (len, f)))
            .max_by_key(|(len, _)| *len)
            .map(|(_, f)| f)
            .or(self.fallback.as_ref())
    }

    /// The endpoint's (boxed) future for `req`, or the answer when no endpoint takes it.
    /// Nothing here waits, so the router adds no state of its own to a request's future.
    fn dispatch(&self, mut req: Request) -> Either<Ready<Response>, BoxFuture<Response>> {
        let answer = match self.find(req.path()) {
            Found::Methods(methods, params) => match methods.dispatch(req.method()) {
                Dispatch::Call(e) => {
                    if !params.pairs.is_empty() {
                        req.extensions.insert(params);
                    }
                    return Either::Right(e(req, ()));
                }
                Dispatch::Answer(response) => response,
            },
            Found::Nested(e, len) => match strip_prefix(req, len) {
                Ok(req) => return Either::Right(e(req, ())),
                Err(status) => Response::error(status),
            },
            Found::None if !is_standard(req.method()) => {
                Response::error(StatusCode::NOT_IMPLEMENTED)
            }
            Found::None => match self.fallback_for(req.path()) {
                Some(f) => return Either::Right(f(req, ())),
                None => StatusCode::NOT_FOUND.into_response(),
            },
        };
        Either::Left(std::future::ready(answer))
    }
}

/// Rewrites the target of `req` without its first `len` path bytes (the nesting prefix).
fn strip_prefix(mut req: Request, len: usize) -> Result<Request, StatusCode> {
    let original = req.head.target.as_str().to_string();
    let path = req.path();
    let prefix = path[..len].to_string();
    let mut rest = path[len..].to_string();
    if rest.is_empty() {
        rest.push('/');
    }
    if let Some(q) = req.query() {
        rest.push('?');
        rest.push_str(q);
    }
    // The new target is a suffix of one the parser already accepted, so this fails only on an
    // internal mistake; answer 500 rather than panic.
    let target = Target::parse(rest.as_bytes(), req.method()).map_err(|e| {
        tracing::error!(error = %e, "cannot rebuild a nested request target");
        StatusCode::INTERNAL_SERVER_ERROR
    })?;
    req.head.target = target;
    req.extensions.insert(OriginalTarget {
        target: original,
        prefix,
    });
    Ok(req)
}

impl Service for Router<()> {
    fn call(&self, req: Request) -> impl Future<Output = Response> + Send {
        self.dispatch(req)
    }
}

#[cfg(test)]
mod tests;

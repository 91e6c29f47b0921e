//! Routing by method within one path: `get(list).post(create)`.

use http1::{HeaderValue, Method, StatusCode, header};
use server::Response;

use crate::handler::{Endpoint, Handler, endpoint};

pub use semantics::method::is_standard;

/// The handlers of one path, by method.
pub struct MethodRouter<S = ()> {
    methods: Vec<(Method, Endpoint<S>)>,
    any: Option<Endpoint<S>>,
}

impl<S> std::fmt::Debug for MethodRouter<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let methods: Vec<&str> = self.methods.iter().map(|(m, _)| m.as_str()).collect();
        f.debug_struct("MethodRouter")
            .field("methods", &methods)
            .field("any", &self.any.is_some())
            .finish()
    }
}

impl<S> Clone for MethodRouter<S> {
    fn clone(&self) -> Self {
        MethodRouter {
            methods: self.methods.clone(),
            any: self.any.clone(),
        }
    }
}

impl<S> Default for MethodRouter<S> {
    fn default() -> Self {
        MethodRouter {
            methods: Vec::new(),
            any: None,
        }
    }
}

/// What the router does with a request's method on a matched path.
pub(crate) enum Dispatch<'a, S> {
    /// Call this endpoint.
    Call(&'a Endpoint<S>),
    /// Answer this (`405`, `501`, or `204` to `OPTIONS`).
    Answer(Response),
}

macro_rules! method_fns {
    ($($fn_name:ident => $method:ident),* $(,)?) => {
        $(
            #[doc = concat!("Routes `", stringify!($method), "` to `handler`.")]
            pub fn $fn_name<H, T>(self, handler: H) -> Self
            where
                H: Handler<T, S>,
                T: 'static,
            {
                self.on(Method::$method, handler)
            }
        )*
    };
}

macro_rules! top_level_fns {
    ($($fn_name:ident => $method:ident),* $(,)?) => {
        $(
            #[doc = concat!("A [`MethodRouter`] routing `", stringify!($method), "` to `handler`",
                " (chain more methods onto it).")]
            pub fn $fn_name<H, T, S>(handler: H) -> MethodRouter<S>
            where
                H: Handler<T, S>,
                T: 'static,
                S: Send + Sync + 'static,
            {
                MethodRouter::new().on(Method::$method, handler)
            }
        )*
    };
}

top_level_fns!(get => GET, post => POST, put => PUT, delete => DELETE, patch => PATCH);

/// A [`MethodRouter`] sending every method, even unregistered ones, to `handler`.
pub fn any<H, T, S>(handler: H) -> MethodRouter<S>
where
    H: Handler<T, S>,
    T: 'static,
    S: Send + Sync + 'static,
{
    MethodRouter {
        methods: Vec::new(),
        any: Some(endpoint(handler)),
    }
}

impl<S: Send + Sync + 'static> MethodRouter<S> {
    /// No methods yet.
    pub fn new() -> Self {
        MethodRouter::default()
    }

    /// Routes `method` to `handler`. Panics if `method` already has a handler here.
    pub fn on<H, T>(mut self, method: Method, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        if self.methods.iter().any(|(m, _)| *m == method) {
            panic!(
                "`{method}` is routed twice on the same path; keep only one `.{}(...)`",
                method.as_str().to_ascii_lowercase()
            );
        }
        self.methods.push((method, endpoint(handler)));
        self
    }

    method_fns!(get => GET, post => POST, put => PUT, delete => DELETE, patch => PATCH);

    /// Merges `other` into `self` (two `.route()` calls for the same path). Panics on a method
    /// both route.
    pub(crate) fn merge(mut self, other: MethodRouter<S>, path: &str) -> Self {
        for (method, e) in other.methods {
            if self.methods.iter().any(|(m, _)| *m == method) {
                panic!(
                    "`{method} {path}` is routed twice; remove one of the `.route(\"{path}\", ...)` calls"
                );
            }
            self.methods.push((method, e));
        }
        if other.any.is_some() {
            if self.any.is_some() {
                panic!("`{path}` has two `any(...)` handlers; keep only one");
            }
            self.any = other.any;
        }
        self
    }

    /// Applies `f` to every handler (to wrap them in a layer). The `204` answer to `OPTIONS`
    /// becomes a handler first, so that the layer sees it too (a CORS preflight is one).
    pub(crate) fn map(mut self, f: &impl Fn(Endpoint<S>) -> Endpoint<S>) -> Self {
        let has_options = self.methods.iter().any(|(m, _)| *m == Method::OPTIONS);
        if !has_options && self.any.is_none() {
            let allow = self.allow();
            let options: Endpoint<S> = std::sync::Arc::new(move |_req, _state| {
                let mut response = Response::new(StatusCode::NO_CONTENT);
                if let Ok(allow) = HeaderValue::from_str(&allow) {
                    response.headers.append(header::ALLOW, allow);
                }
                Box::pin(std::future::ready(response))
            });
            self.methods.push((Method::OPTIONS, options));
        }
        MethodRouter {
            methods: self.methods.into_iter().map(|(m, e)| (m, f(e))).collect(),
            any: self.any.map(f),
        }
    }

    /// Changes the state every handler takes (for nesting a router with a substate).
    pub(crate) fn map_state<T>(self, f: &impl Fn(Endpoint<S>) -> Endpoint<T>) -> MethodRouter<T> {
        MethodRouter {
            methods: self.methods.into_iter().map(|(m, e)| (m, f(e))).collect(),
            any: self.any.map(f),
        }
    }

    /// Wraps every handler of this path in `layer`.
    pub fn layer<L>(self, layer: L) -> Self
    where
        S: Clone,
        L: crate::middleware::Layer<crate::handler::BoundEndpoint<S>>
            + Clone
            + Send
            + Sync
            + 'static,
        L::Service: server::Service,
    {
        self.map(&|e| crate::handler::layered(e, layer.clone()))
    }

    /// Gives every handler its state.
    pub(crate) fn with_state(self, state: S) -> MethodRouter<()>
    where
        S: Clone,
    {
        MethodRouter {
            methods: self
                .methods
                .into_iter()
                .map(|(m, e)| (m, crate::handler::bind_state(e, state.clone())))
                .collect(),
            any: self.any.map(|e| crate::handler::bind_state(e, state)),
        }
    }

    /// Picks the handler for `method`: exact, then `GET` for `HEAD`, then `any`; otherwise
    /// `501` for an unregistered method, `204` with `Allow` for `OPTIONS`, or `405` with `Allow`.
    pub(crate) fn dispatch(&self, method: &Method) -> Dispatch<'_, S> {
        if let Some((_, e)) = self.methods.iter().find(|(m, _)| m == method) {
            return Dispatch::Call(e);
        }
        let get_for_head = (*method == Method::HEAD)
            .then(|| self.methods.iter().find(|(m, _)| *m == Method::GET))
            .flatten();
        if let Some((_, e)) = get_for_head {
            return Dispatch::Call(e);
        }
        if let Some(e) = &self.any {
            return Dispatch::Call(e);
        }
        if !is_standard(method) {
            return Dispatch::Answer(Response::error(StatusCode::NOT_IMPLEMENTED));
        }
        let status = if *method == Method::OPTIONS {
            StatusCode::NO_CONTENT
        } else {
            StatusCode::METHOD_NOT_ALLOWED
        };
        let mut response = if status == StatusCode::NO_CONTENT {
            Response::new(status)
        } else {
            Response::error(status)
        };
        if let Ok(allow) = HeaderValue::from_str(&self.allow()) {
            response.headers.append(header::ALLOW, allow);
        }
        Dispatch::Answer(response)
    }

    /// The `Allow` value: every routed method, `HEAD` with `GET`, and `OPTIONS`.
    fn allow(&self) -> String {
        let mut names: Vec<&str> = self.methods.iter().map(|(m, _)| m.as_str()).collect();
        if names.contains(&"GET") && !names.contains(&"HEAD") {
            names.insert(
                names.iter().position(|n| *n == "GET").map_or(0, |i| i + 1),
                "HEAD",
            );
        }
        if !names.contains(&"OPTIONS") {
            names.push("OPTIONS");
        }
        names.join(", ")
    }
}

//! Cross-origin resource sharing (the Fetch standard's CORS protocol): which other sites'
//! scripts may call this API.

use std::sync::Arc;

use http1::{HeaderValue, Method, StatusCode, header};
use server::{Request, Response, Service};

use super::Layer;

/// How long a browser may cache a preflight answer unless told otherwise (10 minutes, what
/// Chromium caps it at).
pub const DEFAULT_MAX_AGE: u32 = 600;

/// Which origins are allowed.
#[derive(Debug, Clone)]
enum Origins {
    Any,
    List(Vec<String>),
}

#[derive(Debug, Clone)]
struct Config {
    origins: Origins,
    methods: String,
    headers: String,
    credentials: bool,
    max_age: u32,
}

/// The CORS layer, for a router's routes (`Router::layer` turns each route's `OPTIONS` answer
/// into a handler the layer sees) or for a whole service ([`super::ServiceExt::layer`]).
///
/// ```
/// use web::middleware::{Cors, ServiceExt};
/// use web::{Router, routing::get};
///
/// let app = Router::new()
///     .route("/api/items", get(|| async { "[]" }))
///     .layer(Cors::new().allow_origin("https://app.example").allow_credentials());
/// # fn is_service<S: web::Service>(_: &S) {}
/// # is_service(&app);
/// ```
#[derive(Debug, Clone)]
pub struct Cors {
    config: Arc<Config>,
}

impl Default for Cors {
    fn default() -> Self {
        Cors::new()
    }
}

impl Cors {
    /// No origin allowed yet; `GET, HEAD, POST, PUT, PATCH, DELETE` and the `Content-Type`,
    /// `Authorization` and `X-CSRF-Token` headers once one is.
    pub fn new() -> Cors {
        Cors {
            config: Arc::new(Config {
                origins: Origins::List(Vec::new()),
                methods: "GET, HEAD, POST, PUT, PATCH, DELETE".into(),
                headers: "content-type, authorization, x-csrf-token".into(),
                credentials: false,
                max_age: DEFAULT_MAX_AGE,
            }),
        }
    }

    /// Every origin (`*`), without credentials: for public, read-only APIs.
    pub fn permissive() -> Cors {
        Cors::new().allow_any_origin()
    }

    fn config_mut(&mut self) -> &mut Config {
        Arc::make_mut(&mut self.config)
    }

    /// Allows scripts from `origin` (`https://app.example`, exactly as browsers send it).
    pub fn allow_origin(mut self, origin: &str) -> Cors {
        if let Origins::List(list) = &mut self.config_mut().origins {
            list.push(origin.to_string());
        }
        self
    }

    /// Allows every origin.
    pub fn allow_any_origin(mut self) -> Cors {
        self.config_mut().origins = Origins::Any;
        self
    }

    /// The methods allowed, as the `Access-Control-Allow-Methods` value.
    pub fn allow_methods(mut self, methods: &[Method]) -> Cors {
        let names: Vec<&str> = methods.iter().map(Method::as_str).collect();
        self.config_mut().methods = names.join(", ");
        self
    }

    /// The request headers allowed, as the `Access-Control-Allow-Headers` value.
    pub fn allow_headers(mut self, headers: &[&str]) -> Cors {
        self.config_mut().headers = headers.join(", ");
        self
    }

    /// Lets the browser send cookies with cross-origin requests (then the allowed origin is
    /// echoed, never `*`, as the standard requires).
    pub fn allow_credentials(mut self) -> Cors {
        self.config_mut().credentials = true;
        self
    }

    /// How long a preflight answer may be cached, in seconds.
    pub fn max_age(mut self, seconds: u32) -> Cors {
        self.config_mut().max_age = seconds;
        self
    }
}

impl<S: Service> Layer<S> for Cors {
    type Service = CorsService<S>;

    fn layer(&self, inner: S) -> CorsService<S> {
        CorsService {
            inner,
            config: self.config.clone(),
        }
    }
}

/// A service behind a [`Cors`] layer.
#[derive(Debug, Clone)]
pub struct CorsService<S> {
    inner: S,
    config: Arc<Config>,
}

impl Config {
    /// The `Access-Control-Allow-Origin` value for `origin`, if it is allowed.
    fn allow(&self, origin: &str) -> Option<HeaderValue> {
        let allowed = match &self.origins {
            Origins::Any if !self.credentials => return Some(HeaderValue::from_static("*")),
            Origins::Any => true,
            Origins::List(list) => list.iter().any(|o| o.eq_ignore_ascii_case(origin)),
        };
        allowed
            .then(|| HeaderValue::from_str(origin).ok())
            .flatten()
    }

    fn decorate(&self, res: &mut Response, allow: HeaderValue) {
        if allow != "*" {
            res.headers
                .append(header::VARY, HeaderValue::from_static("Origin"));
        }
        res.headers
            .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
        if self.credentials {
            res.headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
    }
}

fn value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

impl<S: Service> Service for CorsService<S> {
    async fn call(&self, req: Request) -> Response {
        let config = &self.config;
        let Some(origin) = req.headers().get_str("origin").map(str::to_string) else {
            return self.inner.call(req).await;
        };
        let allow = config.allow(&origin);
        let preflight = *req.method() == Method::OPTIONS
            && req.headers().contains("access-control-request-method");
        if preflight {
            // A refused preflight gets no CORS headers: the browser then blocks the request.
            let mut res = Response::new(StatusCode::NO_CONTENT);
            if let Some(allow) = allow {
                config.decorate(&mut res, allow);
                let h = &mut res.headers;
                h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, value(&config.methods));
                h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, value(&config.headers));
                h.insert(
                    header::ACCESS_CONTROL_MAX_AGE,
                    value(&config.max_age.to_string()),
                );
            }
            return res;
        }
        let mut res = self.inner.call(req).await;
        if let Some(allow) = allow {
            config.decorate(&mut res, allow);
        }
        res
    }
}

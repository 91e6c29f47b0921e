//! The admin listener (`--admin ADDR`): `/metrics` in the Prometheus text format, `/healthz`
//! and `/readyz`. It runs on a listener of its own, never on the public one, as nginx's
//! `stub_status` is usually put on a private `server` block.

use std::sync::{Arc, Mutex};

use http::StatusCode;
use prometheus_client::registry::Registry;
use server::{Health, Request, Response, Service};

/// The content type of the OpenMetrics text format `prometheus-client` writes, which
/// Prometheus asks for first and parses natively.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The admin service.
pub struct Admin {
    registry: Registry,
    health: Arc<Health>,
}

impl Admin {
    /// Serves the server's metrics and `health`.
    pub fn new(health: Arc<Health>) -> Admin {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(server::metrics::Collector));
        Admin { registry, health }
    }

    fn metrics(&self) -> Response {
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            return Response::error(StatusCode::INTERNAL_SERVER_ERROR);
        }
        Response::with_body(StatusCode::OK, OPENMETRICS, text)
    }

    fn readyz(&self) -> Response {
        match self.health.ready() {
            Ok(()) => Response::text(StatusCode::OK, "ready\n"),
            Err(why) => Response::text(StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")),
        }
    }
}

/// Makes `/readyz` (the admin listener's) report not ready while one of `stores` does not
/// answer, as the site's own `/readyz` does, so a load balancer probing the admin port stops
/// sending too. SQLite is asked at once; PostgreSQL reports its last background ping.
///
/// The stores are let go of when the returned guard is dropped: keep it until the server has
/// stopped, so that the last connection to a SQLite book closes then (which folds its
/// write-ahead log back into the one file).
pub fn check_database(
    server: &server::Server,
    stores: Vec<app::guestbook::store::Store>,
) -> DatabaseCheck {
    let held = Arc::new(Mutex::new(stores));
    let asked = held.clone();
    let check = move || {
        let stores = asked.lock().unwrap_or_else(|e| e.into_inner());
        stores.iter().try_for_each(|s| s.ready_now())
    };
    server.health().register("database", Box::new(check));
    DatabaseCheck(held)
}

/// See [`check_database`].
pub struct DatabaseCheck(Arc<Mutex<Vec<app::guestbook::store::Store>>>);

impl Drop for DatabaseCheck {
    fn drop(&mut self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// As [`check_database`], for the `demo` routes of a configuration file: the databases of the
/// configuration in use, whatever a reload swapped in.
pub fn check_config_databases(
    server: &server::Server,
    sites: std::sync::Arc<arc_swap::ArcSwap<crate::cmd::config_service::Sites>>,
) {
    let check = move || sites.load().stores().iter().try_for_each(|s| s.ready_now());
    server.health().register("database", Box::new(check));
}

impl Service for Admin {
    async fn call(&self, req: Request) -> Response {
        if !matches!(req.method().as_str(), "GET" | "HEAD") {
            return Response::error(StatusCode::METHOD_NOT_ALLOWED)
                .header(http::header::ALLOW, "GET, HEAD");
        }
        let mut response = match req.path() {
            "/metrics" => self.metrics(),
            "/healthz" => Response::text(StatusCode::OK, "ok\n"),
            "/readyz" => self.readyz(),
            _ => Response::error(StatusCode::NOT_FOUND),
        };
        response.headers.insert(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("no-store"),
        );
        response
    }
}

//! The default site of `sockserve`, written with the [`web`] framework like any application:
//!
//! - `/` and `/test.jpg`: the tutorial's "Wow" page and its picture, built into the binary so
//!   the site works from any directory.
//! - `/time`: the server's date and time, as HTML or JSON.
//! - `/guestbook` and `/api/messages`: a guestbook stored in SQLite or PostgreSQL, which
//!   remembers its visitors in a session, lets them delete their own messages, and updates
//!   every open page live (`/guestbook/live`, server-sent events).
//! - `/readyz`: whether the database answers, for load balancers.
//! - `/echo`: the request the server received, explained.
//! - `/ws/echo`: a WebSocket that sends every message back, and a page that talks to it.
//!
//! # Layout
//! - [`assets`]: the embedded page and picture, with their content types and ETags.
//! - [`time`], [`echo`], [`guestbook`], [`ws`]: one module per page.
//! - [`negotiate`]: HTML or JSON, from `Accept` or `?format=`.
//! - [`conditional`]: `304 Not Modified`, decided on the finished response.

pub mod assets;
pub mod conditional;
pub mod echo;
pub mod guestbook;
pub mod live;
pub mod negotiate;
pub mod time;
pub mod ws;

use std::time::Duration;

use web::cookies::Key;
use web::middleware::{CatchPanic, Compression, ServiceExt, Timeout};
use web::routing::{any, get, post};
use web::session::MemoryStore;
use web::{CsrfLayer, SessionLayer};
use web::{Html, Router, Service, StatusCode};

use crate::conditional::NotModified;
use crate::guestbook::store::{DbTarget, Store, StoreError};

/// How long any page may take before the client gets `503`.
pub const HANDLER_TIMEOUT: Duration = Duration::from_secs(30);

/// What the site needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// The guestbook's database: a SQLite file (created with its schema if missing) or a
    /// PostgreSQL server (migrated at start).
    pub db: DbTarget,
}

/// What handlers share: the guestbook database.
#[derive(Debug, Clone)]
pub struct Site {
    /// The guestbook database.
    pub store: Store,
}

/// Opens the database and returns the site as a [`Service`].
pub fn site(config: &Config) -> Result<impl Service, StoreError> {
    let store = Store::open(config.db.clone())?;
    Ok(layered(router(Site { store })))
}

/// The site's routes inside its middleware, outermost last.
pub type Layered = CatchPanic<NotModified<Compression<Timeout<Router>>>>;

/// Wraps the route table in the site's middleware. Conditional requests are answered outside
/// compression, so that a `304` carries the `Vary` and `ETag` of the `200` it stands for.
pub fn layered(router: Router) -> Layered {
    NotModified::new(router.timeout(HANDLER_TIMEOUT).compressed()).catch_panics()
}

/// The route table.
pub fn router(site: Site) -> Router {
    Router::new()
        .route("/", get(|| async { assets::INDEX.respond() }))
        .route("/test.jpg", get(|| async { assets::TEST_JPG.respond() }))
        .route("/time", get(time::show))
        // The pages with forms, and the live updates that know whose messages are whose: in a
        // session, the forms' posts checked against CSRF.
        .route("/guestbook", get(guestbook::show).post(guestbook::post))
        .route("/guestbook/{id}/delete", post(guestbook::delete))
        .route("/guestbook/live", get(live::events))
        .layer(CsrfLayer::new())
        .layer(SessionLayer::new(MemoryStore::new(), Key::generate()))
        .route("/guestbook/{id}", get(guestbook::show_one))
        .route(
            "/api/messages",
            get(guestbook::api_list).post(guestbook::api_post),
        )
        .route("/api/messages/{id}", get(guestbook::api_get))
        .route("/api/{*rest}", any(guestbook::api_not_found))
        .route("/echo", any(echo::echo))
        .route("/ws/echo", get(ws::echo))
        .route("/readyz", get(guestbook::store::readyz))
        .fallback(|| async { (StatusCode::NOT_FOUND, Html(assets::NOT_FOUND_PAGE)) })
        .with_state(site)
}

#[cfg(test)]
mod tests;

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

use std::sync::Arc;
use std::time::Duration;

use web::cookies::{Key, key_from_secret};
use web::middleware::{CatchPanic, Compression, ServiceExt, Timeout};
use web::routing::{any, get, post};
use web::session::{MemoryStore, SessionStore};
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
    /// The secret the session cookies' key is derived from (`--session-key-file`); `None`
    /// keeps one in the database, made by the first instance and read by every other, so that
    /// instances behind a load balancer and restarts need no setup to share sessions.
    pub session_secret: Option<Vec<u8>>,
}

/// What handlers share: the guestbook database.
#[derive(Debug, Clone)]
pub struct Site {
    /// The guestbook database.
    pub store: Store,
}

/// Where the pages with forms keep their sessions, and the key that signs their cookie.
#[derive(Clone)]
pub struct Sessions {
    store: Arc<dyn SessionStore>,
    key: Key,
}

impl Sessions {
    /// Sessions in this process's memory under a key made now: gone at a restart and unknown
    /// to other instances; for a site built from parts (tests, the configuration file's demo).
    pub fn in_memory() -> Sessions {
        Sessions {
            store: Arc::new(MemoryStore::new()),
            key: Key::generate(),
        }
    }

    /// Sessions in the site's database (see [`storage::sessions::for_store`]), their cookies
    /// signed with a key from `secret`, or from the secret kept in the database when `None`.
    pub fn in_database(store: &Store, secret: Option<&[u8]>) -> Result<Sessions, SiteError> {
        let secret = match secret {
            Some(s) => s.to_vec(),
            None => storage::sessions::shared_secret(store, storage::sessions::SESSION_KEY_SECRET)?,
        };
        Ok(Sessions {
            store: storage::sessions::for_store(store)?,
            key: key_from_secret(&secret).map_err(SiteError::SessionKey)?,
        })
    }
}

impl std::fmt::Debug for Sessions {
    /// Never the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sessions")
    }
}

/// Why the site cannot start.
#[derive(Debug)]
pub enum SiteError {
    /// The database cannot be opened or migrated, or its sessions set up.
    Store(StoreError),
    /// The configured session secret is too short.
    SessionKey(web::cookies::SecretTooShort),
}

impl From<StoreError> for SiteError {
    fn from(e: StoreError) -> SiteError {
        SiteError::Store(e)
    }
}

impl std::fmt::Display for SiteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SiteError::Store(e) => e.fmt(f),
            SiteError::SessionKey(e) => write!(f, "session key: {e}"),
        }
    }
}

impl std::error::Error for SiteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SiteError::Store(e) => e.source(),
            SiteError::SessionKey(_) => None,
        }
    }
}

/// Opens the database and returns the site as a [`Service`], its sessions in that database
/// so that every instance on it knows every visitor.
pub fn site(config: &Config) -> Result<impl Service, SiteError> {
    let store = Store::open(config.db.clone())?;
    let sessions = Sessions::in_database(&store, config.session_secret.as_deref())?;
    Ok(layered(router_with(Site { store }, sessions)))
}

/// The site's routes inside its middleware, outermost last.
pub type Layered = CatchPanic<NotModified<Compression<Timeout<Router>>>>;

/// Wraps the route table in the site's middleware. Conditional requests are answered outside
/// compression, so that a `304` carries the `Vary` and `ETag` of the `200` it stands for.
pub fn layered(router: Router) -> Layered {
    NotModified::new(router.timeout(HANDLER_TIMEOUT).compressed()).catch_panics()
}

/// The route table, sessions in memory ([`Sessions::in_memory`]).
pub fn router(site: Site) -> Router {
    router_with(site, Sessions::in_memory())
}

/// The route table, sessions in `sessions`.
pub fn router_with(site: Site, sessions: Sessions) -> Router {
    Router::new()
        .route("/time", get(time::show))
        // The pages with forms, and the live updates that know whose messages are whose: in a
        // session, the forms' posts checked against CSRF.
        .route("/guestbook", get(guestbook::show).post(guestbook::post))
        .route("/guestbook/{id}/delete", post(guestbook::delete))
        .route("/guestbook/live", get(live::events))
        .layer(CsrfLayer::new())
        .layer(SessionLayer::new(sessions.store, sessions.key))
        // The page and its picture are the same for everyone: no session, no CSRF check.
        .route("/", get(|| async { assets::INDEX.respond() }))
        .route("/test.jpg", get(|| async { assets::TEST_JPG.respond() }))
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

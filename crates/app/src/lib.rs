//! The default site of `sockserve`, written with the [`web`] framework like any application:
//!
//! - `/` and `/test.jpg`: the tutorial's "Wow" page and its picture, built into the binary so
//!   the site works from any directory.
//! - `/time`: the server's date and time, as HTML or JSON.
//! - `/guestbook` and `/api/messages`: a guestbook stored in SQLite.
//! - `/echo`: the request the server received, explained.
//!
//! # Layout
//! - [`assets`]: the embedded page and picture, with their content types and ETags.
//! - [`time`], [`echo`], [`guestbook`]: one module per page.
//! - [`negotiate`]: HTML or JSON, from `Accept` or `?format=`.

pub mod assets;
pub mod echo;
pub mod guestbook;
pub mod negotiate;
pub mod time;

use std::path::PathBuf;
use std::time::Duration;

use web::middleware::ServiceExt;
use web::routing::{any, get};
use web::{Html, Request, Router, Service, StatusCode};

use crate::guestbook::store::{Store, StoreError};

/// How long any page may take before the client gets `503`.
pub const HANDLER_TIMEOUT: Duration = Duration::from_secs(30);

/// What the site needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// The guestbook's SQLite file, created with its schema if missing.
    pub db: PathBuf,
}

/// What handlers share: the guestbook database.
#[derive(Debug, Clone)]
pub struct Site {
    /// The guestbook database.
    pub store: Store,
}

/// Opens the database and returns the site as a [`Service`].
pub fn site(config: &Config) -> Result<impl Service, StoreError> {
    let store = Store::open(&config.db)?;
    Ok(router(Site { store })
        .timeout(HANDLER_TIMEOUT)
        .compressed()
        .catch_panics())
}

/// The route table.
pub fn router(site: Site) -> Router {
    Router::new()
        .route(
            "/",
            get(|req: Request| async move { assets::INDEX.respond(req.headers()) }),
        )
        .route(
            "/test.jpg",
            get(|req: Request| async move { assets::TEST_JPG.respond(req.headers()) }),
        )
        .route("/time", get(time::show))
        .route("/guestbook", get(guestbook::show).post(guestbook::post))
        .route("/guestbook/{id}", get(guestbook::show_one))
        .route(
            "/api/messages",
            get(guestbook::api_list).post(guestbook::api_post),
        )
        .route("/api/messages/{id}", get(guestbook::api_get))
        .route("/echo", any(echo::echo))
        .fallback(|| async { (StatusCode::NOT_FOUND, Html(assets::NOT_FOUND_PAGE)) })
        .with_state(site)
}

#[cfg(test)]
mod tests;

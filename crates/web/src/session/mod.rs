//! Sessions: values kept on the server between a client's requests, found again through a
//! signed cookie that holds only a random id.
//!
//! The [`SessionLayer`] wraps the application; handlers take a [`Session`] and read or write
//! typed values. A session is created only when a value is first written, so visitors who
//! never log in get no cookie and cost no storage.
//!
//! ```
//! use web::cookies::Key;
//! use web::middleware::ServiceExt;
//! use web::session::{MemoryStore, Session, SessionLayer};
//! use web::{InternalError, Router, routing::{get, post}};
//!
//! async fn whoami(session: Session) -> String {
//!     session.get::<String>("user").unwrap_or_else(|| "nobody".into())
//! }
//!
//! async fn login(session: Session) -> Result<&'static str, InternalError> {
//!     session.cycle_id(); // a new id at login: a planted id is worth nothing (session fixation)
//!     session.insert("user", "alice")?;
//!     Ok("welcome")
//! }
//!
//! let app = Router::new()
//!     .route("/", get(whoami))
//!     .route("/login", post(login))
//!     .layer(SessionLayer::new(MemoryStore::new(), Key::generate()));
//! # fn is_service<S: web::Service>(_: &S) {}
//! # is_service(&app);
//! ```
//!
//! # Expiry
//! A session ends after [`DEFAULT_IDLE_TIMEOUT`] without a request, and in any case
//! [`DEFAULT_ABSOLUTE_TIMEOUT`] after it began (Django's default cookie age), whichever comes
//! first; both can be set on the layer. The cookie's `Max-Age` says the same to the browser.

mod layer;
mod sqlite;
mod store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::extract::{FromRequestParts, Parts};
use crate::rejection::Rejection;

pub use layer::{SessionLayer, SessionService};
pub use sqlite::SqliteStore;
pub use store::{MAX_MEMORY_SESSIONS, MemoryStore, Record, SessionStore, StoreError, StoreFuture};

/// How long a session lasts without a request, unless the layer says otherwise.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// How long a session lasts at most, however active, unless the layer says otherwise.
pub const DEFAULT_ABSOLUTE_TIMEOUT: Duration = Duration::from_secs(14 * 24 * 60 * 60);

/// The session cookie's name, unless the layer says otherwise.
pub const DEFAULT_COOKIE_NAME: &str = "session";

/// The current time in seconds since the Unix epoch.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `n` random bytes from the operating system as URL-safe base64: session ids and tokens.
pub(crate) fn random_token(n: usize) -> Result<String, getrandom::Error> {
    use base64::Engine;
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// A value could not be stored in the session.
#[derive(Debug)]
pub struct SessionError(serde_json::Error);

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the value cannot be stored in the session")
    }
}

impl std::error::Error for SessionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// What the layer knows about the request's session, and what the handler did to it.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// The stored session the cookie pointed to, if any.
    pub(crate) loaded: Option<Record>,
    /// The values, as the handler left them.
    pub(crate) data: HashMap<String, Value>,
    /// A value was written or removed.
    pub(crate) modified: bool,
    /// The id must change ([`Session::cycle_id`]).
    pub(crate) cycle: bool,
    /// The session must end ([`Session::flush`]).
    pub(crate) flushed: bool,
}

/// The request's session: typed values by key, kept on the server. Cheap to clone (clones share
/// the session). See the [module documentation](self).
#[derive(Debug, Clone, Default)]
pub struct Session {
    state: Arc<Mutex<State>>,
}

impl Session {
    /// The values move out of the record, which keeps only what `finish` reads of it (id,
    /// creation, expiry): no copy of the map per request.
    pub(crate) fn from_record(mut loaded: Option<Record>) -> Session {
        let data = loaded
            .as_mut()
            .map(|r| std::mem::take(&mut r.data))
            .unwrap_or_default();
        Session {
            state: Arc::new(Mutex::new(State {
                loaded,
                data,
                ..State::default()
            })),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // Every change is a single assignment or map operation: nothing is half done.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The value under `key`, or `None` if there is none or it does not have type `T` (a value
    /// of another type is left alone).
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        // Read in place (`&Value` is a deserializer): no copy of the value.
        T::deserialize(self.lock().data.get(key)?).ok()
    }

    /// Stores `value` under `key`, starting a session if there is none.
    pub fn insert<T: Serialize>(&self, key: &str, value: T) -> Result<(), SessionError> {
        let value = serde_json::to_value(value).map_err(SessionError)?;
        let mut state = self.lock();
        if state.data.get(key) != Some(&value) {
            state.data.insert(key.to_string(), value);
            state.modified = true;
        }
        Ok(())
    }

    /// Removes the value under `key` and returns it, if it had type `T`.
    pub fn remove<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let mut state = self.lock();
        let value = state.data.remove(key)?;
        state.modified = true;
        serde_json::from_value(value).ok()
    }

    /// Removes every value; the session ends with the request unless one is written again.
    pub fn clear(&self) {
        let mut state = self.lock();
        if !state.data.is_empty() {
            state.data.clear();
            state.modified = true;
        }
    }

    /// Ends the session: its values are dropped, the store forgets it, and the browser is told
    /// to forget the cookie. For logging out.
    pub fn flush(&self) {
        let mut state = self.lock();
        state.data.clear();
        state.flushed = true;
    }

    /// Gives the session a new id, keeping its values, and deletes the old one from the store.
    /// Call it when the privilege changes (at login), so that an id an attacker planted or
    /// learned before is worth nothing afterwards (OWASP's session fixation advice).
    pub fn cycle_id(&self) {
        self.lock().cycle = true;
    }

    /// The session id as stored, or `None` for a session not saved yet (or about to get a new
    /// id). Ids are secrets: do not show or log them.
    pub fn id(&self) -> Option<String> {
        let state = self.lock();
        if state.cycle || state.flushed {
            return None;
        }
        state.loaded.as_ref().map(|r| r.id.clone())
    }

    /// Whether it holds no values.
    pub fn is_empty(&self) -> bool {
        self.lock().data.is_empty()
    }
}

/// The session the [`SessionLayer`] attached; a `500` (a programming error, logged) when the
/// handler is not behind one.
impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Rejection> {
        parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or(Rejection::MissingExtension(
                "Session (is the route behind a SessionLayer?)",
            ))
    }
}

#[cfg(test)]
mod tests;

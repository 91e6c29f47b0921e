//! Where sessions live between requests: the [`SessionStore`] trait and the in-memory store.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;

/// The future a [`SessionStore`] method returns: boxed, so the trait can be used as
/// `Arc<dyn SessionStore>` and the backend chosen at run time (memory, SQLite, PostgreSQL).
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// One session as stored: its id, its values, and when it ends.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The session id (22 characters of URL-safe base64, 128 random bits).
    pub id: String,
    /// The values, by key, as JSON.
    pub data: HashMap<String, Value>,
    /// When the session was created, in seconds since the Unix epoch; the absolute expiry
    /// counts from here, and a new id keeps it.
    pub created: i64,
    /// When the store may forget it, in seconds since the Unix epoch: the earlier of the idle
    /// and the absolute deadline, moved forward as the session is used.
    pub expires: i64,
}

impl Record {
    /// The values as a JSON object, for stores that keep them as text.
    pub fn data_json(&self) -> String {
        // A map of string keys to JSON values always serializes.
        serde_json::to_string(&self.data).unwrap_or_else(|_| "{}".to_string())
    }

    /// Values read back from [`Record::data_json`]'s text.
    pub fn parse_data(text: &str) -> Result<HashMap<String, Value>, StoreError> {
        serde_json::from_str(text).map_err(StoreError::backend)
    }
}

/// Why a store could not do what was asked.
#[derive(Debug)]
pub enum StoreError {
    /// The database failed: the request is answered `500`.
    Backend(Box<dyn std::error::Error + Send + Sync>),
    /// The database cannot be reached now (down, restarting, too slow): `503` with
    /// `Retry-After`, so a client or load balancer tries again rather than waiting.
    Unavailable(Box<dyn std::error::Error + Send + Sync>),
    /// The store is at its size limit even after dropping expired sessions: `503`.
    Full,
}

impl StoreError {
    /// Wraps a backend's error.
    pub fn backend(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
        StoreError::Backend(e.into())
    }

    /// Wraps a backend's error that may pass if tried again later.
    pub fn unavailable(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
        StoreError::Unavailable(e.into())
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Backend(_) => f.write_str("the session store failed"),
            StoreError::Unavailable(_) => f.write_str("the session store is unavailable"),
            StoreError::Full => f.write_str("the session store is full"),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Backend(e) | StoreError::Unavailable(e) => Some(e.as_ref()),
            StoreError::Full => None,
        }
    }
}

/// A place to keep sessions. The session layer calls it at most twice per request (a load
/// before the handler, a save or delete after); it never calls it for requests without a
/// session cookie that do not start a session.
///
/// Implementations write `Box::pin(async move { ... })` in each method:
///
/// ```
/// use web::session::{Record, SessionStore, StoreFuture};
///
/// struct Nowhere;
///
/// impl SessionStore for Nowhere {
///     fn load<'a>(&'a self, _id: &'a str) -> StoreFuture<'a, Option<Record>> {
///         Box::pin(async move { Ok(None) })
///     }
///     fn save<'a>(&'a self, _record: &'a Record) -> StoreFuture<'a, ()> {
///         Box::pin(async move { Ok(()) })
///     }
///     fn delete<'a>(&'a self, _id: &'a str) -> StoreFuture<'a, ()> {
///         Box::pin(async move { Ok(()) })
///     }
/// }
/// ```
pub trait SessionStore: Send + Sync + 'static {
    /// The session with `id`, or `None` if there is none or it has expired (a store may also
    /// leave expiry to the layer, which checks [`Record::expires`] again).
    fn load<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<Record>>;

    /// Creates or replaces the session with `record.id`.
    fn save<'a>(&'a self, record: &'a Record) -> StoreFuture<'a, ()>;

    /// Forgets the session with `id`; forgetting one that is not there is not an error.
    fn delete<'a>(&'a self, id: &'a str) -> StoreFuture<'a, ()>;

    /// Drops every session expired by `now` (seconds since the Unix epoch) and says how many,
    /// for a periodic clean-up task. Stores that expire entries themselves keep the default.
    fn delete_expired(&self, now: i64) -> StoreFuture<'_, u64> {
        let _ = now;
        Box::pin(async { Ok(0) })
    }
}

impl<T: SessionStore + ?Sized> SessionStore for Arc<T> {
    fn load<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<Record>> {
        (**self).load(id)
    }
    fn save<'a>(&'a self, record: &'a Record) -> StoreFuture<'a, ()> {
        (**self).save(record)
    }
    fn delete<'a>(&'a self, id: &'a str) -> StoreFuture<'a, ()> {
        (**self).delete(id)
    }
    fn delete_expired(&self, now: i64) -> StoreFuture<'_, u64> {
        (**self).delete_expired(now)
    }
}

/// Most sessions a [`MemoryStore`] holds; past it, expired ones are dropped, and if none has
/// expired a new session is refused with `503` rather than growing without bound.
pub const MAX_MEMORY_SESSIONS: usize = 100_000;

/// Sessions in this process's memory: for one process and for tests. They are gone after a
/// restart, and not shared between servers (use the SQLite store, or PostgreSQL, for that).
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    sessions: Arc<Mutex<HashMap<String, Record>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// How many sessions it holds, expired or not.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Record>> {
        // A panic while holding the lock leaves a consistent map: each operation is one call.
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SessionStore for MemoryStore {
    fn load<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<Record>> {
        let now = super::now();
        let found = self.lock().get(id).filter(|r| r.expires > now).cloned();
        Box::pin(async move { Ok(found) })
    }

    fn save<'a>(&'a self, record: &'a Record) -> StoreFuture<'a, ()> {
        let mut map = self.lock();
        let result = if map.len() >= MAX_MEMORY_SESSIONS && !map.contains_key(&record.id) {
            let now = super::now();
            map.retain(|_, r| r.expires > now);
            if map.len() >= MAX_MEMORY_SESSIONS {
                Err(StoreError::Full)
            } else {
                Ok(())
            }
        } else {
            Ok(())
        };
        if result.is_ok() {
            map.insert(record.id.clone(), record.clone());
        }
        Box::pin(async move { result })
    }

    fn delete<'a>(&'a self, id: &'a str) -> StoreFuture<'a, ()> {
        self.lock().remove(id);
        Box::pin(async { Ok(()) })
    }

    fn delete_expired(&self, now: i64) -> StoreFuture<'_, u64> {
        let mut map = self.lock();
        let before = map.len();
        map.retain(|_, r| r.expires > now);
        let gone = (before - map.len()) as u64;
        Box::pin(async move { Ok(gone) })
    }
}

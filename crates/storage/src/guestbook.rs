//! The guestbook's storage: one async interface over SQLite and PostgreSQL.
//!
//! Handlers hold a [`Store`] and await its methods; which backend answers is decided once, by
//! [`Store::open`] from a [`DbTarget`]. Every call either answers or fails within a bounded
//! time: on PostgreSQL a database that goes away makes calls fail with
//! [`ErrorKind::Unavailable`](crate::ErrorKind::Unavailable) in about [`CALL_TIMEOUT`] at most,
//! and the next call after it returns succeeds (broken connections are dropped from the pool
//! and new ones made).
//!
//! [`Store::subscribe`] streams what changes from now on, wherever the change was made: on
//! PostgreSQL from any instance sharing the database (`LISTEN/NOTIFY`), on SQLite from this
//! process.

use std::pin::Pin;
use std::time::Duration;

use futures_core::Stream;
use tokio::sync::broadcast;

use crate::{DbTarget, StoreError, postgres, sqlite};

/// The longest one call may take on PostgreSQL before it fails as unavailable: a pooled
/// connection must be free (or a new one connected) and the statement answered within it.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// Events buffered for a subscriber that has not read them yet; one that falls further behind
/// skips the oldest (and is told so in the log).
pub const SUBSCRIBER_BACKLOG: usize = 256;

/// One guestbook entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Message {
    /// Increasing with time: newest first is highest id first.
    pub id: i64,
    /// Who wrote it.
    pub name: String,
    /// What they wrote.
    pub message: String,
    /// When, in seconds since the Unix epoch.
    pub created_at: i64,
    /// Who may delete it (a session or account id), if anyone; never shown to clients.
    #[serde(skip)]
    pub owner: Option<String>,
}

/// A change to the guestbook, as [`Store::subscribe`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A message was stored (on this instance or another sharing the database).
    Posted(Message),
    /// The message with this id was deleted.
    Deleted(i64),
}

/// A stream of [`Event`]s; it ends only when the store is closed.
pub type Subscription = Pin<Box<dyn Stream<Item = Event> + Send + 'static>>;

/// The guestbook database, cheap to clone and share between threads and runtimes.
#[derive(Clone, Debug)]
pub enum Store {
    /// An embedded SQLite file.
    Sqlite(sqlite::SqliteStore),
    /// A PostgreSQL server shared with other instances.
    Postgres(postgres::PgStore),
}

impl Store {
    /// Opens the database `target` names and brings its schema to the latest version (safe
    /// when several instances start at once). Blocks; call it before serving. On PostgreSQL it
    /// waits a few seconds for a server that is starting, then fails.
    pub fn open(target: impl Into<DbTarget>) -> Result<Store, StoreError> {
        match target.into() {
            DbTarget::Sqlite(path) => sqlite::SqliteStore::open(&path).map(Store::Sqlite),
            DbTarget::Postgres(url) => postgres::PgStore::open(&url).map(Store::Postgres),
        }
    }

    /// Brings the schema of `target` to the latest version and returns the versions applied
    /// (empty when it was up to date), for `sockserve migrate`.
    pub fn migrate(target: &DbTarget) -> Result<Vec<u32>, StoreError> {
        match target {
            DbTarget::Sqlite(path) => sqlite::migrate_file(path),
            DbTarget::Postgres(url) => postgres::migrate_url(url),
        }
    }

    /// Which backend this is, for the log and `/readyz`: `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Stores a message, owned by `owner` if given; returns it with its id.
    pub async fn insert(
        &self,
        name: &str,
        message: &str,
        created_at: i64,
        owner: Option<&str>,
    ) -> Result<Message, StoreError> {
        let m = Message {
            id: 0,
            name: name.to_string(),
            message: message.to_string(),
            created_at,
            owner: owner.map(str::to_string),
        };
        match self {
            Store::Sqlite(s) => s.run(move |s| s.insert(m)).await,
            Store::Postgres(p) => p.insert(m).await,
        }
    }

    /// Messages `offset..offset+limit`, newest first, and the total count, as of one moment.
    pub async fn page(&self, offset: u64, limit: u64) -> Result<(Vec<Message>, u64), StoreError> {
        match self {
            Store::Sqlite(s) => s.run(move |s| s.page(offset, limit)).await,
            Store::Postgres(p) => p.page(offset, limit).await,
        }
    }

    /// One message by id.
    pub async fn get(&self, id: i64) -> Result<Option<Message>, StoreError> {
        match self {
            Store::Sqlite(s) => s.run(move |s| s.get(id)).await,
            Store::Postgres(p) => p.get(id).await,
        }
    }

    /// Deletes message `id` if `owner` owns it; `false` when there is no such message or it
    /// belongs to someone else (or no one): the caller cannot tell which, as it should not.
    pub async fn delete(&self, id: i64, owner: &str) -> Result<bool, StoreError> {
        let owner = owner.to_string();
        match self {
            Store::Sqlite(s) => s.run(move |s| s.delete(id, &owner)).await,
            Store::Postgres(p) => p.delete(id, owner).await,
        }
    }

    /// Whether the database answers now: `Ok` when a trivial query succeeds within
    /// [`CALL_TIMEOUT`], for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.run(|s| s.ping()).await,
            Store::Postgres(p) => p.ping().await,
        }
    }

    /// Whether the database answers, without waiting: for synchronous readiness checks (an
    /// admin listener's `/readyz`). SQLite is asked at once (a local file answers in
    /// microseconds); PostgreSQL reports its last background ping, at most half a second old.
    pub fn ready_now(&self) -> Result<(), String> {
        let ok = match self {
            Store::Sqlite(s) => s.ping().is_ok(),
            Store::Postgres(p) => p.ready_now(),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("the {} database does not answer", self.backend()))
        }
    }

    /// The changes made from now on, on any instance sharing this database.
    pub fn subscribe(&self) -> Subscription {
        let rx = match self {
            Store::Sqlite(s) => s.events().subscribe(),
            Store::Postgres(p) => p.events().subscribe(),
        };
        stream_of(rx)
    }
}

/// A broadcast receiver as a stream; a subscriber that fell behind skips what it missed.
fn stream_of(rx: broadcast::Receiver<Event>) -> Subscription {
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(event) => return Some((event, rx)),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(skipped = n, "a guestbook subscriber fell behind");
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }))
}

#[cfg(test)]
#[path = "guestbook_tests.rs"]
mod tests;

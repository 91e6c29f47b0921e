//! The guestbook on SQLite, the embedded default.
//!
//! One connection writes (behind a mutex: SQLite allows one writer at a time anyway) and a
//! small pool of connections reads, so page views never wait for a post. Every call blocks, so
//! the async interface runs them on the blocking thread pool ([`SqliteStore::run`]).
//!
//! Durability: the database is in WAL mode with `synchronous=NORMAL`. A commit has been
//! written to the WAL file (in the kernel's page cache, at least) before the write call returns,
//! so a message whose post was answered survives the process being killed (`kill -9`) and a
//! restart. Only a power loss or kernel crash can lose the last commits; `FULL` would cover that
//! at the cost of an `fsync` per post. On a clean stop (Ctrl-C) the WAL is checkpointed into
//! the main file and emptied, so the `.db` file alone holds the book.
//!
//! The message count, which every page view needs, is a row that the insert's own transaction
//! updates, so reads never count the table.
//!
//! Migrations: the schema's version is `PRAGMA user_version`; each pending step runs inside one
//! `BEGIN IMMEDIATE` transaction, which takes the write lock first, so two processes opening a
//! new file at once apply each step once (the second waits, then finds nothing to do).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use tokio::sync::broadcast;

use crate::guestbook::{Event, Message, SUBSCRIBER_BACKLOG};
use crate::{ErrorKind, StoreError};

/// How long a connection waits for a lock held by another before failing (`SQLITE_BUSY`).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Read connections kept open for reuse; more concurrent readers open temporary ones.
const MAX_IDLE_READERS: usize = 8;

/// The first schema, as every book before versioning had it (hence `IF NOT EXISTS`: a book
/// written then is at version 0 and already has the table).
pub(crate) const V1_MESSAGES: &str = "
CREATE TABLE IF NOT EXISTS messages (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    message    TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
";

/// The number of messages, kept in a one-row table by triggers, so that it changes in the same
/// transaction as the rows it counts and a page view reads one row instead of counting the table
/// (`count(*)` reads every page of it: on a book of 400,000 messages, recounting after each post
/// cut page views under a steady stream of posts to a hundredth). A database written before this
/// table existed is counted once, when it is created.
const V1_COUNTER: &str = "
CREATE TABLE IF NOT EXISTS message_count (
    only INTEGER PRIMARY KEY CHECK (only = 0),
    n    INTEGER NOT NULL
);
INSERT OR IGNORE INTO message_count (only, n) SELECT 0, count(*) FROM messages;
CREATE TRIGGER IF NOT EXISTS message_count_insert AFTER INSERT ON messages
    BEGIN UPDATE message_count SET n = n + 1 WHERE only = 0; END;
CREATE TRIGGER IF NOT EXISTS message_count_delete AFTER DELETE ON messages
    BEGIN UPDATE message_count SET n = n - 1 WHERE only = 0; END;
";

/// Version 2: who may delete a message (a session or account id); old messages have no owner.
const V2_OWNER: &str = "ALTER TABLE messages ADD COLUMN owner TEXT;";

/// Version 3: the framework's sessions, the same table `web::session::SqliteStore` creates (it
/// keeps them in this file), so that the versions stay PostgreSQL's.
const V3_SESSIONS: &str = "
CREATE TABLE IF NOT EXISTS sessions (
    id      TEXT    PRIMARY KEY,
    data    TEXT    NOT NULL,
    created INTEGER NOT NULL,
    expires INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires);
";

/// Version 4: secrets that outlive a restart, such as the session cookies' key.
const V4_SECRETS: &str = "
CREATE TABLE site_secrets (
    name       TEXT    PRIMARY KEY,
    value      BLOB    NOT NULL,
    created_at INTEGER NOT NULL DEFAULT (unixepoch())
);
";

/// The schema's steps, version `i + 1` at index `i`; the same versions as PostgreSQL's.
const MIGRATIONS: &[&[&str]] = &[
    &[V1_MESSAGES, V1_COUNTER],
    &[V2_OWNER],
    &[V3_SESSIONS],
    &[V4_SECRETS],
];

fn ctx(context: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| {
        // A lock held past the busy timeout is a database too busy to answer now, not a fault.
        let kind = match source.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                ErrorKind::Unavailable
            }
            _ => ErrorKind::Failed,
        };
        StoreError::new(kind, context, source)
    }
}

/// The guestbook database, cheap to clone and share between threads.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    events: broadcast::Sender<Event>,
}

/// Leaves the database in one file: the read connections close first, then the writer moves
/// every committed page from the WAL into the main file and empties the WAL, so that a server
/// stopped with Ctrl-C leaves `sockserve.db` holding every message on its own (a read-only
/// connection that closes last cannot do that, and would leave the WAL behind).
impl Drop for Inner {
    fn drop(&mut self) {
        self.readers
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        let writer = self
            .writer
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        if let Err(e) = writer.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "cannot checkpoint the guestbook's WAL");
        }
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .finish()
    }
}

/// Opens the file in WAL mode and brings its schema up to date; returns the connection and the
/// versions applied.
fn open_writer(path: &Path) -> Result<(Connection, Vec<u32>), StoreError> {
    let mut writer = Connection::open(path).map_err(ctx("cannot open the database file"))?;
    writer
        .busy_timeout(BUSY_TIMEOUT)
        .map_err(ctx("cannot set the busy timeout"))?;
    let mode: String = writer
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(ctx("cannot switch to WAL mode"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(mode, "the guestbook database is not in WAL mode");
    }
    writer
        .execute_batch("PRAGMA synchronous=NORMAL;")
        .map_err(ctx("cannot set synchronous mode"))?;
    let applied = migrate(&mut writer)?;
    Ok((writer, applied))
}

/// Applies the pending steps in one write transaction (see the module's doc).
fn migrate(conn: &mut Connection) -> Result<Vec<u32>, StoreError> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(ctx("cannot lock the database to migrate it"))?;
    let current: u32 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(ctx("cannot read the schema version"))?;
    let latest = MIGRATIONS.len() as u32;
    if current > latest {
        return Err(StoreError::bare(
            ErrorKind::Config,
            "the database was written by a newer version of sockserve",
        ));
    }
    let mut applied = Vec::new();
    for (version, steps) in (1..).zip(MIGRATIONS).skip(current as usize) {
        for step in *steps {
            tx.execute_batch(step)
                .map_err(ctx("cannot migrate the schema"))?;
        }
        applied.push(version);
    }
    if !applied.is_empty() {
        // PRAGMA takes no parameters; the value is a number of ours.
        tx.execute_batch(&format!("PRAGMA user_version = {latest}"))
            .map_err(ctx("cannot record the schema version"))?;
    }
    tx.commit().map_err(ctx("cannot commit the migration"))?;
    Ok(applied)
}

/// `sockserve migrate` on a file: the versions applied.
pub(crate) fn migrate_file(path: &Path) -> Result<Vec<u32>, StoreError> {
    open_writer(path).map(|(_, applied)| applied)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates its schema.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let (writer, applied) = open_writer(path)?;
        if !applied.is_empty() {
            tracing::debug!(?applied, path = %path.display(), "guestbook schema migrated");
        }
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
                events: broadcast::channel(SUBSCRIBER_BACKLOG).0,
            }),
        })
    }

    /// The secret called `name`, made of `fresh` if none is stored yet.
    pub(crate) fn secret(&self, name: &str, fresh: &[u8]) -> Result<Vec<u8>, StoreError> {
        let conn = self
            .inner
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        conn.execute(
            "INSERT INTO site_secrets (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
            params![name, fresh],
        )
        .map_err(ctx("cannot store a site secret"))?;
        conn.query_row(
            "SELECT value FROM site_secrets WHERE name = ?1",
            params![name],
            |r| r.get(0),
        )
        .map_err(ctx("cannot read a site secret"))
    }

    /// The database file.
    pub(crate) fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Where changes are announced, in this process.
    pub(crate) fn events(&self) -> &broadcast::Sender<Event> {
        &self.inner.events
    }

    /// Runs `f` with this store on the blocking thread pool.
    pub async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&SqliteStore) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.clone();
        match tokio::task::spawn_blocking(move || f(&store)).await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(StoreError::bare(
                ErrorKind::Unavailable,
                "the database task was cancelled",
            )),
        }
    }

    /// Stores `m` (its id is ignored) and announces it; returns it with its id.
    pub fn insert(&self, mut m: Message) -> Result<Message, StoreError> {
        {
            let conn = self
                .inner
                .writer
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let mut stmt = conn
                .prepare_cached(
                    "INSERT INTO messages (name, message, created_at, owner) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(ctx("cannot prepare the insert"))?;
            m.id = stmt
                .insert(params![m.name, m.message, m.created_at, m.owner])
                .map_err(ctx("cannot store the message"))?;
        }
        // No subscriber is not an error.
        let _ = self.inner.events.send(Event::Posted(m.clone()));
        Ok(m)
    }

    /// Deletes message `id` if `owner` owns it; whether it did.
    pub fn delete(&self, id: i64, owner: &str) -> Result<bool, StoreError> {
        let deleted = {
            let conn = self
                .inner
                .writer
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            conn.prepare_cached("DELETE FROM messages WHERE id = ?1 AND owner = ?2")
                .and_then(|mut s| s.execute(params![id, owner]))
                .map_err(ctx("cannot delete the message"))?
        };
        if deleted > 0 {
            let _ = self.inner.events.send(Event::Deleted(id));
        }
        Ok(deleted > 0)
    }

    /// Messages `offset..offset+limit`, newest first, and the total count. An offset at or
    /// past the end is not queried: skipping rows costs as much as reading them.
    pub fn page(&self, offset: u64, limit: u64) -> Result<(Vec<Message>, u64), StoreError> {
        self.with_reader(|conn| {
            let total = count(conn)?;
            if offset >= total {
                return Ok((Vec::new(), total));
            }
            // The count is read again inside the listing's statement, which sees one snapshot,
            // so that a post landing in between cannot make a page of 6 say "5 in all".
            let mut stmt = conn
                .prepare_cached(
                    "SELECT id, name, message, created_at, owner,
                            (SELECT n FROM message_count WHERE only = 0)
                     FROM messages ORDER BY id DESC LIMIT ?1 OFFSET ?2",
                )
                .map_err(ctx("cannot prepare the listing"))?;
            let mut total_then = total;
            let messages = stmt
                .query_map(params![clamp(limit), clamp(offset)], |row| {
                    total_then = row.get::<_, i64>(5)?.try_into().unwrap_or(0);
                    row_to_message(row)
                })
                .map_err(ctx("cannot list messages"))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(ctx("cannot read a message"))?;
            Ok((messages, total_then))
        })
    }

    /// One message by id.
    pub fn get(&self, id: i64) -> Result<Option<Message>, StoreError> {
        self.with_reader(|reader| {
            reader
                .prepare_cached(
                    "SELECT id, name, message, created_at, owner FROM messages WHERE id = ?1",
                )
                .and_then(|mut s| s.query_row([id], row_to_message).optional())
                .map_err(ctx("cannot read a message"))
        })
    }

    /// Whether the file can be read now.
    pub fn ping(&self) -> Result<(), StoreError> {
        self.with_reader(|conn| count(conn).map(drop))
    }

    /// Runs `f` with a read connection from the pool (opening one if none is idle).
    fn with_reader<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let idle = self
            .inner
            .readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let reader = match idle {
            Some(r) => r,
            None => self.open_reader()?,
        };
        let result = f(&reader);
        let mut readers = self
            .inner
            .readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if readers.len() < MAX_IDLE_READERS {
            readers.push(reader);
        }
        result
    }

    fn open_reader(&self) -> Result<Connection, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(&self.inner.path, flags)
            .map_err(ctx("cannot open a reader"))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(ctx("cannot set the busy timeout"))?;
        Ok(conn)
    }
}

/// The number of messages, from the counter row.
fn count(conn: &Connection) -> Result<u64, StoreError> {
    let n: i64 = conn
        .prepare_cached("SELECT n FROM message_count WHERE only = 0")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(ctx("cannot count messages"))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// SQLite integers are signed; a page past `i64::MAX` rows is as empty as one at it.
fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn row_to_message(row: &rusqlite::Row<'_>) -> rusqlite::Result<Message> {
    Ok(Message {
        id: row.get(0)?,
        name: row.get(1)?,
        message: row.get(2)?,
        created_at: row.get(3)?,
        owner: row.get(4)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(name: &str, message: &str, created_at: i64) -> Message {
        Message {
            id: 0,
            name: name.into(),
            message: message.into(),
            created_at,
            owner: None,
        }
    }

    #[test]
    fn insert_page_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("g.db");
        let store = SqliteStore::open(&path).expect("open");
        for i in 0..5 {
            store
                .insert(msg(&format!("n{i}"), "hello", 1_700_000_000 + i))
                .expect("insert");
        }
        let (page, total) = store.page(0, 2).expect("page");
        assert_eq!(total, 5);
        assert_eq!(
            page.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
            ["n4", "n3"]
        );
        assert!(store.page(u64::MAX, 2).expect("far page").0.is_empty());
        let (page, _) = store.page(4, 2).expect("last page");
        assert_eq!(page.len(), 1);
        // The cached count follows commits made by the writer connection.
        store
            .insert(msg("n5", "later", 1_700_000_005))
            .expect("insert");
        assert_eq!(store.page(0, 1).expect("page").1, 6);
        drop(store);
        let again = SqliteStore::open(&path).expect("reopen");
        assert_eq!(again.page(0, 10).expect("page").1, 6);
        assert_eq!(
            again.get(1).expect("get").map(|m| m.name),
            Some("n0".to_string())
        );
        assert_eq!(again.get(99).expect("get"), None);
    }

    #[test]
    fn count_stays_right_across_posts_without_a_table_scan() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("g.db");
        // A book written before the counter existed is counted once, when it is opened.
        {
            let old = Connection::open(&path).expect("old");
            old.execute_batch(V1_MESSAGES).expect("schema");
            for i in 0..3 {
                old.execute(
                    "INSERT INTO messages (name, message, created_at) VALUES ('o', 'm', ?1)",
                    [i],
                )
                .expect("old insert");
            }
        }
        let store = SqliteStore::open(&path).expect("open");
        assert_eq!(store.page(0, 1).expect("page").1, 3);
        // Readers kept in the pool see every post at once, from the row the insert updated.
        let (a, b) = (store.clone(), store.clone());
        let readers: Vec<_> = (0..4)
            .map(|_| {
                let a = a.clone();
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        let (page, total) = a.page(0, 200).expect("page");
                        assert!((3..=103).contains(&total), "{total}");
                        assert_eq!(page.len() as u64, total, "one moment");
                    }
                })
            })
            .collect();
        for i in 0..100 {
            b.insert(msg("n", "m", i)).expect("insert");
        }
        for r in readers {
            r.join().expect("reader");
        }
        assert_eq!(store.page(0, 1).expect("page").1, 103);
        // The counter is a row of the file, not a cache: another connection reads the same.
        let other = Connection::open(&path).expect("other");
        let (rows, counted): (i64, i64) = other
            .query_row(
                "SELECT count(*), (SELECT n FROM message_count) FROM messages",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("count");
        assert_eq!((rows, counted), (103, 103));
        drop(other);
        drop(store);
        drop((a, b));
        assert_eq!(
            SqliteStore::open(&path)
                .expect("reopen")
                .page(0, 1)
                .expect("page")
                .1,
            103
        );
    }

    #[test]
    fn closing_leaves_every_message_in_the_main_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("g.db");
        let store = SqliteStore::open(&path).expect("open");
        store
            .insert(msg("kept", "in the main file", 1))
            .expect("insert");
        assert_eq!(store.page(0, 1).expect("page").1, 1, "a reader is pooled");
        drop(store);
        let wal = dir.path().join("g.db-wal");
        assert!(
            std::fs::metadata(&wal).map_or(true, |m| m.len() == 0),
            "the WAL still holds pages"
        );
        // The main file alone, copied where no WAL can be found, has the message.
        let alone = tempfile::tempdir().expect("tempdir");
        std::fs::copy(&path, alone.path().join("g.db")).expect("copy");
        let copy = SqliteStore::open(&alone.path().join("g.db")).expect("open copy");
        assert_eq!(
            copy.get(1).expect("get").map(|m| m.name),
            Some("kept".into())
        );
    }

    #[test]
    fn text_is_stored_as_given() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("g.db")).expect("open");
        let evil = "'); DROP TABLE messages; -- <script>";
        store.insert(msg(evil, evil, 0)).expect("insert");
        assert_eq!(store.page(0, 1).expect("page").0[0].message, evil);
    }
}

//! The guestbook's SQLite database.
//!
//! One connection writes (behind a mutex: SQLite allows one writer at a time anyway) and a
//! small pool of connections reads, so page views never wait for a post. Every call blocks, so
//! callers run them on the blocking thread pool ([`Store::run`]).
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

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

/// How long a connection waits for a lock held by another before failing (`SQLITE_BUSY`).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Read connections kept open for reuse; more concurrent readers open temporary ones.
const MAX_IDLE_READERS: usize = 8;

const SCHEMA: &str = "
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
const COUNTER: &str = "
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS message_count (
    only INTEGER PRIMARY KEY CHECK (only = 0),
    n    INTEGER NOT NULL
);
INSERT OR IGNORE INTO message_count (only, n) SELECT 0, count(*) FROM messages;
CREATE TRIGGER IF NOT EXISTS message_count_insert AFTER INSERT ON messages
    BEGIN UPDATE message_count SET n = n + 1 WHERE only = 0; END;
CREATE TRIGGER IF NOT EXISTS message_count_delete AFTER DELETE ON messages
    BEGIN UPDATE message_count SET n = n - 1 WHERE only = 0; END;
COMMIT;
";

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
}

/// A database failure; the details go to the log, the client sees a plain `500`.
#[derive(Debug)]
pub struct StoreError {
    context: &'static str,
    source: rusqlite::Error,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "guestbook database: {}", self.context)
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

fn ctx(context: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| StoreError { context, source }
}

/// The guestbook database, cheap to clone and share between threads.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
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

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .finish()
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path` and its schema.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let writer = Connection::open(path).map_err(ctx("cannot open the database file"))?;
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
        writer
            .execute_batch(SCHEMA)
            .map_err(ctx("cannot create the schema"))?;
        writer
            .execute_batch(COUNTER)
            .map_err(ctx("cannot create the message counter"))?;
        Ok(Store {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Runs `f` with this store on the blocking thread pool.
    pub async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.clone();
        match tokio::task::spawn_blocking(move || f(&store)).await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(StoreError {
                context: "the database task was cancelled",
                source: rusqlite::Error::QueryReturnedNoRows,
            }),
        }
    }

    /// Stores a message; returns it with its id.
    pub fn insert(
        &self,
        name: &str,
        message: &str,
        created_at: i64,
    ) -> Result<Message, StoreError> {
        let conn = self
            .inner
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut stmt = conn
            .prepare_cached("INSERT INTO messages (name, message, created_at) VALUES (?1, ?2, ?3)")
            .map_err(ctx("cannot prepare the insert"))?;
        let id = stmt
            .insert(params![name, message, created_at])
            .map_err(ctx("cannot store the message"))?;
        Ok(Message {
            id,
            name: name.to_string(),
            message: message.to_string(),
            created_at,
        })
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
                    "SELECT id, name, message, created_at, (SELECT n FROM message_count WHERE only = 0)
                     FROM messages ORDER BY id DESC LIMIT ?1 OFFSET ?2",
                )
                .map_err(ctx("cannot prepare the listing"))?;
            let mut total_then = total;
            let messages = stmt
                .query_map(params![clamp(limit), clamp(offset)], |row| {
                    total_then = row.get::<_, i64>(4)?.try_into().unwrap_or(0);
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
                .prepare_cached("SELECT id, name, message, created_at FROM messages WHERE id = ?1")
                .and_then(|mut s| s.query_row([id], row_to_message).optional())
                .map_err(ctx("cannot read a message"))
        })
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_page_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("g.db");
        let store = Store::open(&path).expect("open");
        for i in 0..5 {
            store
                .insert(&format!("n{i}"), "hello", 1_700_000_000 + i)
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
        store.insert("n5", "later", 1_700_000_005).expect("insert");
        assert_eq!(store.page(0, 1).expect("page").1, 6);
        drop(store);
        let again = Store::open(&path).expect("reopen");
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
            old.execute_batch(SCHEMA).expect("schema");
            for i in 0..3 {
                old.execute(
                    "INSERT INTO messages (name, message, created_at) VALUES ('o', 'm', ?1)",
                    [i],
                )
                .expect("old insert");
            }
        }
        let store = Store::open(&path).expect("open");
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
            b.insert("n", "m", i).expect("insert");
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
            Store::open(&path)
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
        let store = Store::open(&path).expect("open");
        store.insert("kept", "in the main file", 1).expect("insert");
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
        let copy = Store::open(&alone.path().join("g.db")).expect("open copy");
        assert_eq!(
            copy.get(1).expect("get").map(|m| m.name),
            Some("kept".into())
        );
    }

    #[test]
    fn text_is_stored_as_given() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("g.db")).expect("open");
        let evil = "'); DROP TABLE messages; -- <script>";
        store.insert(evil, evil, 0).expect("insert");
        assert_eq!(store.page(0, 1).expect("page").0[0].message, evil);
    }
}

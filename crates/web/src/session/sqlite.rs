//! Sessions in a SQLite file: they survive a restart and are shared by every worker.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::{Connection, OptionalExtension, params};

use super::store::{Record, SessionStore, StoreError, StoreFuture};

/// The table, created if missing. `expires` is indexed for the clean-up.
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    created INTEGER NOT NULL,
    expires INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires);";

/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A [`SessionStore`] in a SQLite database (its own `sessions` table, which may share a file
/// with the application's tables). Each call runs on tokio's blocking pool, so a slow disk
/// does not stall the worker's other connections.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    /// Opens (or creates) the database at `path` and its table, in WAL mode so readers do not
    /// wait for the writer.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open(path).map_err(StoreError::backend)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(StoreError::backend)?;
        SqliteStore::with_connection(conn)
    }

    /// A store in memory only, for tests.
    pub fn open_in_memory() -> Result<SqliteStore, StoreError> {
        SqliteStore::with_connection(Connection::open_in_memory().map_err(StoreError::backend)?)
    }

    /// Uses an open connection, creating the table if missing.
    pub fn with_connection(conn: Connection) -> Result<SqliteStore, StoreError> {
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(StoreError::backend)?;
        conn.execute_batch(SCHEMA).map_err(StoreError::backend)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` with the connection on the blocking pool.
    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            // Each statement is complete on its own, so a panic elsewhere leaves it usable.
            let conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            f(&conn)
        })
        .await
        .map_err(StoreError::backend)?
    }
}

impl SessionStore for SqliteStore {
    fn load<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<Record>> {
        let id = id.to_string();
        Box::pin(self.run(move |conn| {
            let row = conn
                .query_row(
                    "SELECT data, created, expires FROM sessions WHERE id = ?1 AND expires > ?2",
                    params![id, super::now()],
                    |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, i64>(1)?,
                            row.get::<_, i64>(2)?,
                        ))
                    },
                )
                .optional()
                .map_err(StoreError::backend)?;
            row.map(|(data, created, expires)| {
                Ok(Record {
                    id,
                    data: Record::parse_data(&data)?,
                    created,
                    expires,
                })
            })
            .transpose()
        }))
    }

    fn save<'a>(&'a self, record: &'a Record) -> StoreFuture<'a, ()> {
        let (id, data, created, expires) = (
            record.id.clone(),
            record.data_json(),
            record.created,
            record.expires,
        );
        Box::pin(self.run(move |conn| {
            conn.execute(
                "INSERT INTO sessions (id, data, created, expires) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET data = ?2, expires = ?4",
                params![id, data, created, expires],
            )
            .map(drop)
            .map_err(StoreError::backend)
        }))
    }

    fn delete<'a>(&'a self, id: &'a str) -> StoreFuture<'a, ()> {
        let id = id.to_string();
        Box::pin(self.run(move |conn| {
            conn.execute("DELETE FROM sessions WHERE id = ?1", params![id])
                .map(drop)
                .map_err(StoreError::backend)
        }))
    }

    fn delete_expired(&self, now: i64) -> StoreFuture<'_, u64> {
        Box::pin(self.run(move |conn| {
            conn.execute("DELETE FROM sessions WHERE expires <= ?1", params![now])
                .map(|n| n as u64)
                .map_err(StoreError::backend)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn round_trip_update_and_expiry() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path().join("s.db")).expect("open");
        let now = super::super::now();
        let mut r = Record {
            id: "abc".into(),
            data: [("user".to_string(), serde_json::json!("alice"))].into(),
            created: now,
            expires: now + 60,
        };
        store.save(&r).await.expect("save");
        assert_eq!(store.load("abc").await.expect("load"), Some(r.clone()));
        r.data.insert("n".into(), serde_json::json!(2));
        store.save(&r).await.expect("update");
        assert_eq!(store.load("abc").await.expect("load"), Some(r.clone()));
        r.id = "old".into();
        r.expires = now - 1;
        store.save(&r).await.expect("save expired");
        assert_eq!(store.load("old").await.expect("load"), None);
        assert_eq!(store.delete_expired(now).await.expect("clean"), 1);
        store.delete("abc").await.expect("delete");
        assert_eq!(store.load("abc").await.expect("load"), None);
    }
}

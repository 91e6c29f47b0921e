//! The framework's sessions ([`web::session::SessionStore`]) in PostgreSQL, so that every
//! instance behind a load balancer knows every visitor: a session started on one instance is
//! found by the next request, whichever instance answers it.
//!
//! It shares the guestbook's pool and runtime when made from a PostgreSQL [`Store`]
//! ([`PgSessionStore::from_store`]), or opens its own ([`PgSessionStore::open`]). The table is
//! version 3 of the PostgreSQL schema. Values are kept as the JSON text the framework gives.
//!
//! [`for_store`] picks the sessions of a site's database (PostgreSQL's, or the framework's
//! SQLite store in the same file), and [`shared_secret`] the cookies' key every instance on
//! that database shares.

use std::sync::Arc;

use web::session::{Record, SessionStore, StoreError as SessionError, StoreFuture};

use crate::guestbook::Store;
use crate::postgres::{PgStore, pg};
use crate::{ErrorKind, StoreError};

/// The `site_secrets` row holding the secret the session cookies' key is derived from.
pub const SESSION_KEY_SECRET: &str = "session_key";
/// Random bytes in a generated secret: the 64 `cookie::Key` derives its signing and
/// encryption keys from.
pub const SECRET_LEN: usize = 64;

/// The secret called `name` in the database: the one stored by whichever instance came first,
/// or, if none has, 64 fresh random bytes stored now. Every instance on the database gets the
/// same bytes, and a restart keeps them. Blocks; call it at start-up. Never log the result.
pub fn shared_secret(store: &Store, name: &str) -> Result<Vec<u8>, StoreError> {
    let mut fresh = vec![0u8; SECRET_LEN];
    getrandom::fill(&mut fresh).map_err(|e| {
        StoreError::new(
            ErrorKind::Failed,
            "no randomness for a secret",
            e.to_string(),
        )
    })?;
    match store {
        Store::Sqlite(s) => s.secret(name, &fresh),
        Store::Postgres(p) => p.secret(name, fresh),
    }
}

/// The sessions of the site whose database is `store`: PostgreSQL's `sessions` table, sharing
/// its pool, or the framework's SQLite store in the same file, so that sessions survive a
/// restart on both. The SQLite connection is WAL with `synchronous=NORMAL` like the
/// guestbook's own: a commit is a write to the log, not an `fsync`, which keeps a page with a
/// session as fast as one without on a busy site.
pub fn for_store(store: &Store) -> Result<Arc<dyn SessionStore>, StoreError> {
    match store {
        Store::Postgres(db) => Ok(Arc::new(PgSessionStore { db: db.clone() })),
        Store::Sqlite(s) => {
            let failed =
                |context| move |e: rusqlite::Error| StoreError::new(ErrorKind::Failed, context, e);
            let conn = rusqlite::Connection::open(s.path())
                .map_err(failed("cannot open the sessions' database file"))?;
            conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
                .map_err(failed("cannot set up the sessions' connection"))?;
            let sessions = web::session::SqliteStore::with_connection(conn).map_err(|e| {
                StoreError::new(ErrorKind::Failed, "cannot open the sessions' table", e)
            })?;
            Ok(Arc::new(sessions))
        }
    }
}

/// Sessions in PostgreSQL; cheap to clone.
#[derive(Debug, Clone)]
pub struct PgSessionStore {
    db: PgStore,
}

impl PgSessionStore {
    /// Connects to `url` and migrates it (the sessions table included).
    pub fn open(url: &str) -> Result<PgSessionStore, StoreError> {
        PgStore::open(url).map(|db| PgSessionStore { db })
    }

    /// The sessions of the database `store` is on, sharing its connections; `None` when it
    /// is not PostgreSQL (SQLite sites use the framework's own SQLite store).
    pub fn from_store(store: &Store) -> Option<PgSessionStore> {
        match store {
            Store::Postgres(db) => Some(PgSessionStore { db: db.clone() }),
            Store::Sqlite(_) => None,
        }
    }
}

/// A database failure as the framework's session error: `503` with `Retry-After` when the
/// database cannot be reached now, like the guestbook's pages; `500` otherwise.
fn session_error(e: StoreError) -> SessionError {
    if e.is_unavailable() {
        SessionError::unavailable(e)
    } else {
        SessionError::backend(e)
    }
}

impl SessionStore for PgSessionStore {
    fn load<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<Record>> {
        let id = id.to_string();
        Box::pin(async move {
            let row = self
                .db
                .call(move |client| async move {
                    let stmt = client
                        .prepare_cached(
                            "SELECT data, created, expires FROM sessions
                             WHERE id = $1 AND expires > extract(epoch FROM now())::bigint",
                        )
                        .await
                        .map_err(pg("cannot prepare the session lookup"))?;
                    let row = client
                        .query_opt(&stmt, &[&id])
                        .await
                        .map_err(pg("cannot read a session"))?;
                    Ok(row.map(|r| (id, r.get::<_, String>(0), r.get(1), r.get(2))))
                })
                .await
                .map_err(session_error)?;
            let Some((id, data, created, expires)) = row else {
                return Ok(None);
            };
            Ok(Some(Record {
                id,
                data: Record::parse_data(&data)?,
                created,
                expires,
            }))
        })
    }

    fn save<'a>(&'a self, record: &'a Record) -> StoreFuture<'a, ()> {
        let (id, data, created, expires) = (
            record.id.clone(),
            record.data_json(),
            record.created,
            record.expires,
        );
        Box::pin(async move {
            self.db
                .call(move |client| async move {
                    let stmt = client
                        .prepare_cached(
                            "INSERT INTO sessions (id, data, created, expires)
                             VALUES ($1, $2, $3, $4)
                             ON CONFLICT (id) DO UPDATE
                             SET data = EXCLUDED.data, created = EXCLUDED.created,
                                 expires = EXCLUDED.expires",
                        )
                        .await
                        .map_err(pg("cannot prepare the session save"))?;
                    client
                        .execute(&stmt, &[&id, &data, &created, &expires])
                        .await
                        .map(drop)
                        .map_err(pg("cannot save a session"))
                })
                .await
                .map_err(session_error)
        })
    }

    fn delete<'a>(&'a self, id: &'a str) -> StoreFuture<'a, ()> {
        let id = id.to_string();
        Box::pin(async move {
            self.db
                .call(move |client| async move {
                    let stmt = client
                        .prepare_cached("DELETE FROM sessions WHERE id = $1")
                        .await
                        .map_err(pg("cannot prepare the session delete"))?;
                    client
                        .execute(&stmt, &[&id])
                        .await
                        .map(drop)
                        .map_err(pg("cannot delete a session"))
                })
                .await
                .map_err(session_error)
        })
    }

    fn delete_expired(&self, now: i64) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            self.db
                .call(move |client| async move {
                    client
                        .execute("DELETE FROM sessions WHERE expires <= $1", &[&now])
                        .await
                        .map_err(pg("cannot delete expired sessions"))
                })
                .await
                .map_err(session_error)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::testing::TempPostgres;

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    }

    #[test]
    fn sessions_are_shared_by_every_instance() {
        let pg = TempPostgres::start().expect("a throwaway PostgreSQL");
        let url = pg.create_database("sessions").expect("createdb");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let a = PgSessionStore::open(&url).expect("open a");
        let guestbook = Store::open(crate::DbTarget::Postgres(url)).expect("open b");
        let b = PgSessionStore::from_store(&guestbook).expect("a postgres store");
        let mut record = Record {
            id: "abcdefghijklmnopqrstuv".into(),
            data: HashMap::from([("user".to_string(), serde_json::json!("ann"))]),
            created: now(),
            expires: now() + 3600,
        };
        rt.block_on(async {
            assert_eq!(b.load(&record.id).await.expect("load"), None);
            a.save(&record).await.expect("save");
            assert_eq!(
                b.load(&record.id).await.expect("load").as_ref(),
                Some(&record)
            );
            record.data.insert("n".into(), serde_json::json!(2));
            b.save(&record).await.expect("save again");
            assert_eq!(
                a.load(&record.id).await.expect("load"),
                Some(record.clone())
            );
            let old = Record {
                id: "expired-expired-expire".into(),
                expires: now() - 1,
                ..record.clone()
            };
            a.save(&old).await.expect("save old");
            assert_eq!(a.load(&old.id).await.expect("load"), None, "expired");
            assert_eq!(a.delete_expired(now()).await.expect("sweep"), 1);
            a.delete(&record.id).await.expect("delete");
            assert_eq!(b.load(&record.id).await.expect("load"), None);
            a.delete(&record.id).await.expect("deleting twice is fine");
        });
    }
}

//! The seeded guestbooks, filled through the site's own `POST /api/messages` so the benchmark
//! never depends on the database schema: a small one (10,000 messages) whose page shows 50, and a
//! large one (400,000) for reads while others write.
//!
//! Seeding takes a while, so each database is kept in `bench/work/` and reused while its marker
//! file says it is complete.

use std::fs;
use std::path::{Path, PathBuf};
use std::thread;

use crate::error::{BenchError, Result};
use crate::httpc::Conn;
use crate::servers::{self, Env, Layout, ServerKind};

/// Messages in the small guestbook.
pub const MESSAGES: usize = 10_000;
/// Messages in the large guestbook: enough that counting the table on every read would show.
pub const BOOK_MESSAGES: usize = 400_000;
/// Connections posting at once while seeding the large book.
const SEED_CONNECTIONS: usize = 4;
/// Text every seeded message contains, so a check can tell the seeded page from an empty one.
pub const MARKER: &str = "benchmark message";

/// Which seeded guestbook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Book {
    /// [`MESSAGES`] messages in `env.db`, served by [`ServerKind::SockserveSite`].
    Page,
    /// [`BOOK_MESSAGES`] messages in `env.book_db`, served by [`ServerKind::SockserveBook`].
    Large,
}

impl Book {
    fn db(self, env: &Env) -> &Path {
        match self {
            Book::Page => &env.db,
            Book::Large => &env.book_db,
        }
    }

    fn messages(self) -> usize {
        match self {
            Book::Page => MESSAGES,
            Book::Large => BOOK_MESSAGES,
        }
    }

    fn server(self) -> ServerKind {
        match self {
            Book::Page => ServerKind::SockserveSite,
            Book::Large => ServerKind::SockserveBook,
        }
    }
}

/// Seeds `book` unless a complete seeded copy is already there.
pub fn ensure_seeded(env: &Env, book: Book) -> Result<()> {
    if is_seeded(env, book) {
        return Ok(());
    }
    let db = book.db(env);
    let _ = fs::remove_file(marker(db));
    for suffix in ["", "-wal", "-shm"] {
        let _ = fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let site = servers::start(book.server(), env, Layout::Shared)
        .map_err(|e| e.context("starting the site to seed the guestbook"))?;
    let total = book.messages();
    let lanes = if book == Book::Large {
        SEED_CONNECTIONS
    } else {
        1
    };
    let port = site.port;
    thread::scope(|s| {
        let handles: Vec<_> = (0..lanes)
            .map(|lane| s.spawn(move || seed_lane(port, lane, lanes, total)))
            .collect();
        handles.into_iter().try_for_each(|h| {
            h.join()
                .unwrap_or_else(|_| Err(BenchError::new("a seeding thread panicked")))
        })
    })?;
    drop(site);
    fs::write(marker(db), total.to_string())?;
    Ok(())
}

/// Posts messages `lane`, `lane + lanes`, ... below `total` over one connection.
fn seed_lane(port: u16, lane: usize, lanes: usize, total: usize) -> Result<()> {
    let mut conn = Conn::open(port)?;
    for i in (lane..total).step_by(lanes) {
        post(&mut conn, i).map_err(|e| e.context(format!("seeding message {i}")))?;
    }
    Ok(())
}

/// Whether `book` holds a complete seeded guestbook, by its marker file.
pub fn is_seeded(env: &Env, book: Book) -> bool {
    let db = book.db(env);
    db.exists()
        && fs::read_to_string(marker(db)).is_ok_and(|s| s.trim() == book.messages().to_string())
}

fn marker(db: &Path) -> PathBuf {
    db.with_extension("seeded")
}

/// Posts message `i` as JSON to `/api/messages`.
pub fn post(conn: &mut Conn, i: usize) -> Result<()> {
    let body = format!(r#"{{"name":"Visitor {i}","message":"This is {MARKER} number {i}."}}"#);
    let reply = conn.request(
        "POST",
        "/api/messages",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )?;
    if !(200..300).contains(&reply.status) {
        return Err(BenchError::new(format!(
            "POST /api/messages answered {}: {:.200}",
            reply.status,
            reply.text()
        )));
    }
    Ok(())
}

/// What `book` is (for the report).
pub fn describe(env: &Env, book: Book) -> String {
    format!(
        "{} ({} messages posted through POST /api/messages)",
        book.db(env).display(),
        book.messages()
    )
}

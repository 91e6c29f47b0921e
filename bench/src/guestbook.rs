//! The seeded guestbook: 10,000 messages posted through the site's own API, so the benchmark
//! never depends on the database schema, and the page shows 50 of them.
//!
//! Seeding takes a while, so the database is kept in `bench/work/` and reused while its marker
//! file says it is complete.

use std::fs;
use std::path::Path;

use crate::error::{BenchError, Result};
use crate::httpc::Conn;
use crate::servers::{self, Env, Layout, ServerKind};

/// Messages in the seeded guestbook.
pub const MESSAGES: usize = 10_000;
/// Text every seeded message contains, so a check can tell the seeded page from an empty one.
pub const MARKER: &str = "benchmark message";

/// Seeds `env.db` unless a complete seeded copy is already there.
pub fn ensure_seeded(env: &Env) -> Result<()> {
    let marker = env.db.with_extension("seeded");
    if env.db.exists()
        && fs::read_to_string(&marker).is_ok_and(|s| s.trim() == MESSAGES.to_string())
    {
        return Ok(());
    }
    let _ = fs::remove_file(&marker);
    for suffix in ["", "-wal", "-shm"] {
        let _ = fs::remove_file(format!("{}{suffix}", env.db.display()));
    }
    let site = servers::start(ServerKind::SockserveSite, env, Layout::Shared)
        .map_err(|e| e.context("starting the site to seed the guestbook"))?;
    let mut conn = Conn::open(site.port)?;
    for i in 0..MESSAGES {
        post(&mut conn, i).map_err(|e| e.context(format!("seeding message {i}")))?;
    }
    drop(site);
    fs::write(&marker, MESSAGES.to_string())?;
    Ok(())
}

/// Whether `env.db` holds a complete seeded guestbook, by its marker file.
pub fn is_seeded(env: &Env) -> bool {
    env.db.exists()
        && fs::read_to_string(marker(env)).is_ok_and(|s| s.trim() == MESSAGES.to_string())
}

fn marker(env: &Env) -> std::path::PathBuf {
    env.db.with_extension("seeded")
}

/// Posts message `i` as JSON to `/api/messages`.
fn post(conn: &mut Conn, i: usize) -> Result<()> {
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

/// Whether `path` looks like a seeded database (for the report).
pub fn describe(db: &Path) -> String {
    format!(
        "{} ({MESSAGES} messages posted through POST /api/messages)",
        db.display()
    )
}

//! The admin listener's `/readyz` reports the site's database as the site's own `/readyz`
//! does: not ready while PostgreSQL is down (or a configuration's SQLite book is unreadable),
//! ready again once it is back.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use storage::testing::TempPostgres;

use crate::harness::{Running, free_port, get};
use crate::ops_load::fetch;

/// Polls the admin `/readyz` until its status is `want`, for up to `limit`; its body.
fn readyz_until(admin: SocketAddr, want: u16, limit: Duration) -> String {
    let end = Instant::now() + limit;
    loop {
        let got = fetch(admin, "/readyz");
        if let Some((status, body)) = &got
            && *status == want
        {
            return String::from_utf8_lossy(body).into_owned();
        }
        assert!(Instant::now() < end, "/readyz never {want}: {got:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_admin_readyz_follows_the_postgresql_database() {
    let pg = TempPostgres::start().expect("a throwaway PostgreSQL (scripts/test installs it)");
    let admin: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let admin_s = admin.to_string();
    let site = Running::start(&["-p", "0", "-q", "--db", &pg.url(), "--admin", &admin_s]);
    assert_eq!(readyz_until(admin, 200, Duration::from_secs(5)), "ready\n");
    pg.stop().expect("stop PostgreSQL");
    let why = readyz_until(admin, 503, Duration::from_secs(5));
    assert!(why.contains("database"), "{why}");
    // The site's own /readyz agrees.
    assert_eq!(get(site.addr, "/readyz").status, 503);
    pg.start_again().expect("start PostgreSQL again");
    assert_eq!(readyz_until(admin, 200, Duration::from_secs(5)), "ready\n");
}

#[test]
fn a_configuration_s_demo_database_is_checked_too() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("site.toml"),
        "[[listen]]\naddr = \"127.0.0.1:0\"\n[[site]]\n  [[site.route]]\n  path = \"/app/\"\n  \
         demo = { db = \"book.db\" }\n",
    )
    .unwrap();
    let admin: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let admin_s = admin.to_string();
    let s = Running::start_in(Some(d.path()), &["-c", "site.toml", "--admin", &admin_s]);
    assert_eq!(readyz_until(admin, 200, Duration::from_secs(5)), "ready\n");
    assert_eq!(get(s.addr, "/app/readyz").status, 200);
    // The book's counter table taken away from under the site: its database no longer answers.
    let rename = |from: &str, to: &str| {
        let db = d.path().join("book.db");
        let code = format!(
            "import sqlite3; c = sqlite3.connect({db:?}); c.execute('ALTER TABLE {from} RENAME TO {to}'); c.commit()"
        );
        let ok = std::process::Command::new("python3")
            .args(["-c", &code])
            .status()
            .unwrap();
        assert!(ok.success());
    };
    rename("message_count", "hidden");
    let why = readyz_until(admin, 503, Duration::from_secs(5));
    assert!(why.contains("database"), "{why}");
    rename("hidden", "message_count");
    assert_eq!(readyz_until(admin, 200, Duration::from_secs(5)), "ready\n");
}

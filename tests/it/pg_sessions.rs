//! Sessions of the demo site kept in its database: a form served by one instance and posted to
//! another is accepted, and a restart keeps the visitor's session, on PostgreSQL (two
//! instances, the key kept in `site_secrets`) and on SQLite.

use storage::testing::TempPostgres;

use crate::harness::{Running, get, request};
use crate::site::FormSession;

fn site(db: &str) -> Running {
    Running::start(&["-p", "0", "-q", "--db", db])
}

/// Posts the guestbook form to `server` as `visitor`; the cookie to use next (the session may
/// have been given a new id).
fn post_as(server: &Running, visitor: &FormSession, name: &str) -> String {
    let body = format!("name={name}&message=hello+from+elsewhere");
    let r = request(
        server.addr,
        "POST",
        "/guestbook",
        &visitor.headers(),
        body.as_bytes(),
    );
    assert_eq!(r.status, 303, "{}", r.text());
    r.header("set-cookie")
        .and_then(|c| c.split(';').next())
        .map_or_else(|| visitor.cookie.clone(), str::to_string)
}

/// Whether `server` fills the form's name field with `name` for the session in `cookie`.
fn remembers(server: &Running, cookie: &str, name: &str) -> bool {
    let r = request(server.addr, "GET", "/guestbook", &[("Cookie", cookie)], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    r.text().contains(&format!(r#" value="{name}">"#))
}

#[test]
fn a_form_from_one_instance_posts_to_another_and_restarts_keep_the_session() {
    let pg =
        TempPostgres::start().expect("a throwaway PostgreSQL (scripts/test installs postgresql)");
    let url = pg.create_database("sessions_it").expect("createdb");
    let a = site(&url);
    let b = site(&url);
    let visitor = FormSession::new(&a);
    let cookie = post_as(&b, &visitor, "zed");
    assert!(
        remembers(&a, &cookie, "zed"),
        "instance A knows the session B saved"
    );
    drop(a);
    let a = site(&url);
    assert!(
        remembers(&a, &cookie, "zed"),
        "a restarted instance keeps the session"
    );
    assert_eq!(get(b.addr, "/readyz").status, 200);
}

#[test]
fn sqlite_restart_keeps_the_session() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("book.db");
    let db = db.to_str().expect("utf-8 path");
    let first = site(db);
    let visitor = FormSession::new(&first);
    let cookie = post_as(&first, &visitor, "amy");
    assert!(remembers(&first, &cookie, "amy"));
    drop(first);
    let second = site(db);
    assert!(
        remembers(&second, &cookie, "amy"),
        "the session outlived the restart"
    );
}

#[test]
fn a_short_session_key_is_refused_at_start() {
    let out = std::process::Command::new(crate::harness::BIN)
        .args(["-p", "0", "-q", "--db", ":memory:"])
        .env("SOCKSERVE_SESSION_KEY", "c2hvcnQ=")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("at least 64"), "{err}");
    assert!(
        !err.contains("c2hvcnQ"),
        "the secret is never printed: {err}"
    );
}

//! The demo site on both backends: the same requests against `--db FILE` and `--db postgres://`
//! (a throwaway server, `storage::testing::TempPostgres`), then what only PostgreSQL brings:
//! two instances sharing one book, a database that goes away and returns, `sockserve migrate`.

use std::process::Command;
use std::time::{Duration, Instant};

use storage::testing::TempPostgres;

use crate::harness::{BIN, Resp, Running, get, request, stderr, stdout};

const JSON: (&str, &str) = ("Content-Type", "application/json");

fn site(db: &str) -> Running {
    Running::start(&["-p", "0", "-q", "--db", db])
}

fn postgres() -> TempPostgres {
    TempPostgres::start().expect("a throwaway PostgreSQL (scripts/test installs postgresql)")
}

/// `POST /api/messages`; the stored message's id.
fn api_post(server: &Running, message: &str) -> i64 {
    let body = serde_json::json!({ "name": "pg", "message": message }).to_string();
    let r = request(
        server.addr,
        "POST",
        "/api/messages",
        &[JSON],
        body.as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    v["id"].as_i64().expect("id")
}

fn total(server: &Running) -> u64 {
    let r = get(server.addr, "/api/messages");
    assert_eq!(r.status, 200, "{}", r.text());
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    v["total"].as_u64().expect("total")
}

/// The same walk through the guestbook on either backend.
fn guestbook_walk(server: &Running) {
    assert_eq!(get(server.addr, "/readyz").status, 200);
    assert_eq!(total(server), 0);
    // The form needs the session and CSRF token a browser gets with the page.
    let visitor = crate::site::FormSession::new(server);
    let r = request(
        server.addr,
        "POST",
        "/guestbook",
        &visitor.headers(),
        b"name=ann&message=hello+from+a+form",
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let page = get(server.addr, "/guestbook").text();
    assert!(page.contains("hello from a form"), "{page}");
    let id = api_post(server, "<b>json</b>");
    let one = get(server.addr, &format!("/api/messages/{id}"));
    assert_eq!(one.status, 200);
    let v: serde_json::Value = serde_json::from_slice(&one.body).expect("json");
    assert_eq!(v["message"], "<b>json</b>");
    assert!(v.get("owner").is_none(), "owners are never shown: {v}");
    assert!(
        get(server.addr, &format!("/guestbook/{id}"))
            .text()
            .contains("&lt;b&gt;json&lt;/b&gt;")
    );
    assert_eq!(get(server.addr, "/api/messages/999999").status, 404);
    assert_eq!(get(server.addr, "/guestbook?page=9").status, 404);
    let bad = request(
        server.addr,
        "POST",
        "/guestbook",
        &visitor.headers(),
        b"name=&message=",
    );
    assert_eq!(bad.status, 422);
    assert_eq!(total(server), 2);
}

#[test]
fn the_guestbook_is_the_same_on_sqlite_and_postgres() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("book.db");
    guestbook_walk(&site(file.to_str().expect("utf-8")));
    let pg = postgres();
    guestbook_walk(&site(&pg.url()));
}

#[test]
fn two_instances_share_one_book_at_once() {
    let pg = postgres();
    let (a, b) = (site(&pg.url()), site(&pg.url()));
    for i in 0..5 {
        let id = api_post(&a, &format!("through a, {i}"));
        let seen = get(b.addr, &format!("/api/messages/{id}"));
        assert_eq!(seen.status, 200, "posted on a, not yet on b");
        let id = api_post(&b, &format!("through b, {i}"));
        assert_eq!(get(a.addr, &format!("/api/messages/{id}")).status, 200);
    }
    assert_eq!((total(&a), total(&b)), (10, 10));
}

fn timed(server: &Running, method: &str, path: &str, body: &[u8]) -> (Resp, Duration) {
    let start = Instant::now();
    let r = request(server.addr, method, path, &[JSON], body);
    (r, start.elapsed())
}

#[test]
fn a_database_that_goes_away_means_503_at_once_and_back_within_2_s() {
    let pg = postgres();
    let mut server = site(&pg.url());
    let kept = api_post(&server, "posted before the outage");
    pg.stop().expect("stop PostgreSQL");
    let post = br#"{"name": "n", "message": "during the outage"}"#;
    for (method, path, body) in [
        ("GET", "/guestbook", &b""[..]),
        ("GET", "/api/messages", b""),
        ("POST", "/api/messages", post),
        ("GET", "/readyz", b""),
    ] {
        let (r, took) = timed(&server, method, path, body);
        assert_eq!(r.status, 503, "{method} {path}: {}", r.text());
        assert!(
            took < Duration::from_secs(4),
            "{method} {path} took {took:?}"
        );
        if path != "/readyz" {
            assert_eq!(r.header("retry-after"), Some("2"), "{method} {path}");
        }
    }
    assert_eq!(
        server.wait_exit(Duration::ZERO),
        None,
        "the server keeps running"
    );
    pg.start_again().expect("start PostgreSQL again");
    let back = Instant::now();
    loop {
        let r = get(server.addr, "/api/messages");
        if r.status == 200 {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(2),
            "not back within 2 s: {}",
            r.status
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(get(server.addr, "/readyz").status, 200);
    assert_eq!(
        get(server.addr, &format!("/api/messages/{kept}")).status,
        200,
        "an acknowledged post survives"
    );
    assert_eq!(total(&server), 1, "the refused post was not stored");
}

fn migrate(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run sockserve migrate")
}

#[test]
fn migrate_brings_either_database_up_to_date_once() {
    let pg = postgres();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("m.db");
    let file = file.to_str().expect("utf-8");
    let url = pg.url();
    for db in [file, url.as_str()] {
        let first = migrate(&["migrate", "--db", db]);
        assert!(first.status.success(), "{}", stderr(&first));
        assert!(
            stdout(&first).contains("applied version 1, 2"),
            "{}",
            stdout(&first)
        );
        // The site's own flag works before the command too.
        let again = migrate(&["--db", db, "migrate"]);
        assert!(again.status.success(), "{}", stderr(&again));
        assert!(stdout(&again).contains("up to date"), "{}", stdout(&again));
    }
    let secret = format!("postgres://sockserve:hunter2@127.0.0.1:{}/none", pg.port());
    let refused = migrate(&["migrate", "--db", &secret]);
    assert_eq!(refused.status.code(), Some(1));
    let err = stderr(&refused);
    assert!(
        err.starts_with("sockserve: postgres://sockserve:***@"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
    let bad = migrate(&["migrate", "--db", "postgres://h:notaport/x"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert_eq!(stderr(&bad).lines().count(), 1, "{}", stderr(&bad));
    let misplaced = migrate(&["migrate", "-p", "80"]);
    assert_eq!(misplaced.status.code(), Some(2));
}

#[test]
fn a_configuration_file_demo_route_takes_a_postgres_url_and_shares_the_book() {
    let pg = postgres();
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = format!(
        "[[listen]]\naddr = \"127.0.0.1:0\"\n\n[[site]]\n  [[site.route]]\n  path = \"/\"\n  \
         demo = {{ db = \"{}\" }}\n",
        pg.url()
    );
    std::fs::write(dir.path().join("site.toml"), toml).expect("write");
    let check = Command::new(BIN)
        .args(["check", "site.toml"])
        .current_dir(dir.path())
        .output()
        .expect("sockserve check");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let from_file = Running::start_in(Some(dir.path()), &["-c", "site.toml"]);
    let from_flags = site(&pg.url());
    let id = api_post(&from_file, "through the configuration file");
    assert_eq!(
        get(from_flags.addr, &format!("/api/messages/{id}")).status,
        200
    );
    assert_eq!(total(&from_file), total(&from_flags));
    // Nothing was made on disk for it: the URL is not a path under the file's directory.
    let entries: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
}

//! The demo site's regressions over real sockets: what a `304` carries, the guestbook's edges
//! (pages past the end, caching, JSON errors, reads while it is written, its file at exit),
//! `/echo`'s header names, and pages that fit a phone's width in a real Chromium.

use std::io::Write;
use std::process::Command;
use std::time::Duration;

use crate::harness::{Resp, Running, get, read_to_close, request};
use crate::site::browser::{Driver, start_driver};
use crate::site::{api_total, fresh_db, post_message, start};

/// RFC 9110 15.4.5: the `304` carries the `ETag`, `Vary` and `Cache-Control` of the `200` it
/// stands for; the front page's `304` used to drop `Vary: accept-encoding`, and one to a client
/// that accepts gzip carried the strong tag while the gzipped `200` carried the weak one.
#[test]
fn not_modified_keeps_the_vary_and_etag_of_the_200() {
    let (_dir, db) = fresh_db();
    let server = start(&db);
    post_message(&server, "Ann", "hello");
    for path in ["/", "/test.jpg", "/guestbook", "/guestbook/1"] {
        for gzip in [&[][..], &[("Accept-Encoding", "gzip")][..]] {
            let ok = request(server.addr, "GET", path, gzip, b"");
            assert_eq!(ok.status, 200, "{path}");
            let etag = ok.header("etag").expect("etag");
            let mut conditional = gzip.to_vec();
            conditional.push(("If-None-Match", etag));
            // The guestbook's page is the visitor's own (their session's form token): it is
            // validated for the same visitor.
            if let Some(cookie) = ok.header("set-cookie").and_then(|c| c.split(';').next()) {
                conditional.push(("Cookie", cookie));
            }
            for method in ["GET", "HEAD"] {
                let nm = request(server.addr, method, path, &conditional, b"");
                assert_eq!(nm.status, 304, "{method} {path} {gzip:?}");
                for name in [
                    "etag",
                    "vary",
                    "cache-control",
                    "expires",
                    "content-location",
                ] {
                    assert_eq!(
                        nm.header(name),
                        ok.header(name),
                        "{method} {path} {gzip:?}: {name}"
                    );
                }
                assert!(nm.body.is_empty() && nm.header("content-encoding").is_none());
                assert!(nm.header("date").is_some());
            }
        }
    }
    let front = request(server.addr, "GET", "/", &[("Accept-Encoding", "gzip")], b"");
    assert_eq!(front.header("vary"), Some("accept-encoding"));
}

#[test]
fn guestbook_pages_past_the_end_are_404() {
    let (_dir, db) = fresh_db();
    let server = start(&db);
    assert_eq!(get(server.addr, "/guestbook?page=1").status, 200);
    assert_eq!(get(server.addr, "/api/messages").status, 200);
    post_message(&server, "Ann", "hello");
    for page in ["2", "9", "18446744073709551615"] {
        let html = get(server.addr, &format!("/guestbook?page={page}"));
        assert_eq!(html.status, 404, "page {page}");
        assert!(
            html.header("content-type")
                .is_some_and(|t| t.starts_with("text/html"))
        );
        let api = get(server.addr, &format!("/api/messages?page={page}"));
        assert_eq!(api.status, 404, "page {page}");
        assert_json_error(&api);
    }
    // The server is still there: nothing overflowed.
    assert_eq!(api_total(&server), 1);
}

#[test]
fn api_errors_are_json() {
    let (_dir, db) = fresh_db();
    let server = start(&db);
    for (path, status) in [
        ("/api/messages/abc", 400),
        ("/api/messages/7", 404),
        ("/api/messages?page=x", 400),
        ("/api/messages?page=18446744073709551616", 400),
    ] {
        let r = get(server.addr, path);
        assert_eq!(r.status, status, "{path}");
        assert_json_error(&r);
    }
}

fn assert_json_error(r: &Resp) {
    assert_eq!(r.header("content-type"), Some("application/json"), "{r:?}");
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    assert!(v["error"].is_string(), "{v}");
}

/// The book's page changes with every post: caches must ask each time (`no-cache`), and the
/// validator lets them ask cheaply.
#[test]
fn guestbook_html_is_no_cache_with_a_validator() {
    let (_dir, db) = fresh_db();
    let server = start(&db);
    post_message(&server, "Ann", "hello");
    let visitor = crate::site::FormSession::new(&server);
    let cookie = ("Cookie", visitor.cookie.as_str());
    let page = request(server.addr, "GET", "/guestbook", &[cookie], b"");
    // The visitor's own page (their name, their form token): no shared cache keeps it.
    assert_eq!(page.header("cache-control"), Some("private, no-cache"));
    let etag = page.header("etag").expect("etag").to_string();
    let again = request(
        server.addr,
        "GET",
        "/guestbook",
        &[("If-None-Match", &etag), cookie],
        b"",
    );
    assert_eq!(again.status, 304);
    post_message(&server, "Bob", "later");
    let after = request(
        server.addr,
        "GET",
        "/guestbook",
        &[("If-None-Match", &etag), cookie],
        b"",
    );
    assert_eq!(after.status, 200, "a post changes the page");
    assert!(after.text().contains("later"));
}

/// Readers and a writer at once: every read answers, the count never goes back, and it ends
/// at the number of posts (the count is kept beside the rows, not recounted per read).
#[test]
fn guestbook_count_stays_right_while_it_is_written() {
    const POSTS: u64 = 40;
    let (_dir, db) = fresh_db();
    let server = start(&db);
    let addr = server.addr;
    let readers: Vec<_> = (0..3)
        .map(|_| {
            std::thread::spawn(move || {
                let mut last = 0;
                for _ in 0..40 {
                    let r = get(addr, "/api/messages");
                    assert_eq!(r.status, 200);
                    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
                    let total = v["total"].as_u64().expect("total");
                    assert!(total >= last && total <= POSTS, "{last} then {total}");
                    assert_eq!(
                        v["messages"].as_array().map(Vec::len),
                        Some(total.min(50) as usize)
                    );
                    last = total;
                }
            })
        })
        .collect();
    for i in 0..POSTS {
        post_message(&server, &format!("n{i}"), "m");
    }
    for r in readers {
        r.join().expect("reader");
    }
    assert_eq!(api_total(&server), POSTS);
    assert!(get(addr, "/guestbook").text().contains("40 messages"));
}

/// Ctrl-C: the server exits and leaves the guestbook in `sockserve.db` alone, with no WAL
/// holding messages beside it.
#[test]
fn ctrl_c_leaves_the_guestbook_in_one_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server =
        Running::start_in(Some(dir.path()), &["-p", "0", "-q", "--db", "sockserve.db"]);
    post_message(&server, "Ann", "kept after Ctrl-C");
    Command::new("kill")
        .args(["-INT", &server.child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert_eq!(server.wait_exit(Duration::from_secs(10)), Some(0));
    let wal = dir.path().join("sockserve.db-wal");
    let wal_len = std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert_eq!(wal_len, 0, "the WAL still holds pages");
    // The main file on its own, where no WAL can be found beside it.
    let alone = tempfile::tempdir().expect("tempdir");
    let copy = alone.path().join("copy.db");
    std::fs::copy(dir.path().join("sockserve.db"), &copy).expect("copy");
    let conn = rusqlite::Connection::open(&copy).expect("open copy");
    let message: String = conn
        .query_row("SELECT message FROM messages", [], |r| r.get(0))
        .expect("the message is in the main file");
    assert_eq!(message, "kept after Ctrl-C");
}

#[test]
fn echo_shows_header_names_as_sent() {
    let (_dir, db) = fresh_db();
    let server = start(&db);
    let raw = "GET /echo?format=json HTTP/1.1\r\nhOsT: t\r\nX-MiXeD-CaSe: 1\r\nACCEPT: */*\r\nx-lower: 2\r\nConnection: close\r\n\r\n";
    let mut s = server.connect();
    s.write_all(raw.as_bytes()).expect("write");
    let data = read_to_close(&mut s);
    let r = crate::harness::parse_response(&data, false).expect("response");
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    let names: Vec<&str> = v["headers"]
        .as_array()
        .expect("headers")
        .iter()
        .filter_map(|h| h[0].as_str())
        .collect();
    assert_eq!(
        names,
        ["hOsT", "X-MiXeD-CaSe", "ACCEPT", "x-lower", "Connection"]
    );
    let html = request(
        server.addr,
        "GET",
        "/echo",
        &[("X-Shown-As-Sent", "1")],
        b"",
    )
    .text();
    assert!(html.contains("<code>X-Shown-As-Sent</code>"), "{html}");
    assert!(html.contains("<code>Host</code>"));
}

/// Sizes the viewport as a phone's or a laptop's (CSS pixels, no device emulation otherwise).
fn set_width(driver: &Driver, width: u32) {
    driver.cmd(
        "POST",
        "/goog/cdp/execute",
        Some(serde_json::json!({
            "cmd": "Emulation.setDeviceMetricsOverride",
            "params": {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": false},
        })),
    );
}

/// Whether the page is wider than the window (a horizontal scrollbar); saves a screenshot in
/// the target directory for a person to look at.
fn overflows(driver: &Driver, shot: &str) -> (u64, u64) {
    let widths = driver.script("return [document.documentElement.scrollWidth, window.innerWidth]");
    if let Some(png) = driver.cmd("GET", "/screenshot", None).as_str() {
        let _ = std::fs::write(
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(shot),
            from_base64(png),
        );
    }
    (
        widths[0].as_u64().expect("scrollWidth"),
        widths[1].as_u64().expect("innerWidth"),
    )
}

/// Long unbroken names, messages, targets and header values wrap instead of widening the page
/// (the guestbook's messages widened it to 31,188 px in a 390 px window).
#[test]
fn chromium_long_words_wrap_at_phone_and_laptop_widths() {
    let (_dir, db) = fresh_db();
    let server = start(&db);
    post_message(&server, &"N".repeat(64), &"m".repeat(2000));
    let driver = start_driver();
    let long_query = "q".repeat(600);
    // A long unbroken header value for /echo's table: a cookie the browser sends back.
    driver.go(&server.url("/"));
    driver.script("document.cookie = 'long=' + 'c'.repeat(1500) + '; path=/'; return null");
    for width in [390, 1200] {
        set_width(&driver, width);
        for path in [
            "/guestbook".to_string(),
            "/guestbook/1".to_string(),
            format!("/echo?{long_query}"),
        ] {
            driver.go(&server.url(&path));
            if path.starts_with("/echo") {
                let cookie =
                    driver.script("return document.body.innerText.includes('c'.repeat(1500))");
                assert_eq!(cookie, true, "the long cookie is on the page");
            }
            let page: String = path
                .chars()
                .take(16)
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            let name = format!("site-{width}{page}.png");
            let (scroll, inner) = overflows(&driver, &name);
            assert_eq!(inner, u64::from(width), "the viewport is {width} px wide");
            assert!(scroll <= inner, "{path} at {width} px: {scroll} > {inner}");
        }
    }
}

/// Standard base64 (the screenshot WebDriver sends), padding and unknown bytes skipped.
fn from_base64(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0);
    for sextet in text
        .bytes()
        .filter_map(|b| ALPHABET.iter().position(|&a| a == b))
    {
        acc = (acc << 6) | sextet as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

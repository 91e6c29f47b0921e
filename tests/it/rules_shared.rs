//! Integration tests: the HTTP rules every service shares (negotiation, entity-tag lists,
//! Basic user-ids), read the same way by the file server, the site and the access log.

use std::time::Duration;

use crate::foundation::site;
use crate::harness::{Resp, Running, request};

/// `sockserve serve` over a directory holding one compressible file and one subdirectory.
fn serve() -> (Running, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let css = "body { color: #333; margin: 0 auto; }\n".repeat(100);
    std::fs::write(dir.path().join("style.css"), css).expect("write");
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    let root = dir.path().to_str().expect("utf-8 path").to_string();
    let server = Running::start(&["serve", &root, "-p", "0", "-q"]);
    (server, dir)
}

fn get(server: &Running, path: &str, headers: &[(&str, &str)]) -> Resp {
    request(server.addr, "GET", path, headers, b"")
}

#[test]
fn every_accept_encoding_line_counts_for_files() {
    let (s, _d) = serve();
    let r = get(
        &s,
        "/style.css",
        &[("Accept-Encoding", "identity"), ("Accept-Encoding", "gzip")],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-encoding"), Some("gzip"));
}

#[test]
fn every_if_none_match_line_counts_for_files() {
    let (s, _d) = serve();
    let etag = get(&s, "/style.css", &[])
        .header("etag")
        .expect("etag")
        .to_string();
    let r = get(
        &s,
        "/style.css",
        &[("If-None-Match", "\"other\""), ("If-None-Match", &etag)],
    );
    assert_eq!(r.status, 304);
}

#[test]
fn listing_ranks_accept_as_the_site_does() {
    let (s, _d) = serve();
    let r = get(&s, "/", &[("Accept", "text/html;q=0.5, application/json")]);
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("application/json")),
        "{:?}",
        r.header("content-type")
    );
    let r = get(&s, "/", &[("Accept", "*/*")]);
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("text/html"))
    );
}

#[test]
fn star_inside_an_if_none_match_list_is_not_a_match_on_the_site() {
    let (s, _d) = site(&[]);
    let r = request(s.addr, "GET", "/", &[("If-None-Match", "\"x\", *")], b"");
    assert_eq!(r.status, 200);
    let r = request(s.addr, "GET", "/", &[("If-None-Match", "*")], b"");
    assert_eq!(r.status, 304);
}

#[test]
fn basic_credentials_nobody_verified_name_nobody_in_the_access_log() {
    let (s, dir) = site(&["--access-log", "access.log"]);
    // "alice" alone: RFC 7617 needs `user-id ":" password`.
    request(
        s.addr,
        "GET",
        "/",
        &[("Authorization", "Basic YWxpY2U=")],
        b"",
    );
    // "bob:pw"
    request(
        s.addr,
        "GET",
        "/",
        &[("Authorization", "Basic Ym9iOnB3")],
        b"",
    );
    let text = crate::harness::log_lines(&dir.path().join("access.log"), 2, Duration::from_secs(5));
    let mut lines: Vec<&str> = text.lines().collect();
    // Lines from different worker threads may come in either order.
    lines.sort_unstable();
    assert_eq!(lines.len(), 2, "{text}");
    // Well-formed or not, credentials the site did not ask for and so never checked.
    assert!(lines[0].starts_with("127.0.0.1 - - ["), "{}", lines[0]);
    assert!(lines[1].starts_with("127.0.0.1 - - ["), "{}", lines[1]);
}

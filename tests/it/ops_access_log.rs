//! The access log over the real binary: what each line says, in every format; and the request
//! targets that never reach it.

use std::path::Path;

use crate::harness::{Running, statuses};

/// The demo site with its guestbook in `dir` and `extra` flags.
fn site(dir: &Path, extra: &[&str]) -> Running {
    let db = dir.join("book.db");
    let db = db.to_str().expect("utf-8 path");
    let mut args = vec!["-p", "0", "--db", db];
    args.extend_from_slice(extra);
    Running::start_in(Some(dir), &args)
}

#[test]
fn quote_and_other_characters_rfc_3986_leaves_out_are_400() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = site(dir.path(), &["-q"]);
    for target in [
        "/with_\"quotes\"",
        "/a<b>",
        "/a{b}",
        "/?q=|",
        "/a^b",
        "/a`b",
        "/a\\b",
    ] {
        let raw = format!("GET {target} HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(statuses(&s.exchange(raw.as_bytes())), [400], "{target}");
    }
    let ok = s.exchange(b"GET /?q=[1]&r=(a)!*'~ HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    assert_eq!(statuses(&ok), [200]);
}

//! The access log over the real binary: what each line says, in every format; and the request
//! targets that never reach it.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::{self, BIN, Running, get, statuses};

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

#[test]
fn quotes_and_control_bytes_from_the_client_are_escaped_in_the_combined_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("access.log");
    let s = site(
        dir.path(),
        &[
            "--access-log",
            log.to_str().expect("utf-8"),
            "--log-format",
            "combined",
        ],
    );
    let raw = b"GET /?q=1 HTTP/1.1\r\nHost: a\r\nUser-Agent: evil\" 200 0 \"\tx\xff\r\n\
                Referer: http://r/\\\r\nConnection: close\r\n\r\n";
    assert_eq!(statuses(&s.exchange(raw)), [200]);
    let text = harness::log_lines(&log, 1, Duration::from_secs(5));
    let line = text.lines().next().expect("a line");
    assert!(
        line.contains("\"GET /?q=1 HTTP/1.1\" 200 ")
            && line.contains(" \"http://r/\\x5C\" \"evil\\x22 200 0 \\x22\\x09x\\xFF\" "),
        "{line}"
    );
    assert_eq!(line.matches('"').count(), 6, "{line}");
}

#[test]
fn a_request_that_did_not_parse_is_logged_with_dashes_not_a_made_up_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("access.log");
    let s = site(dir.path(), &["--access-log", log.to_str().expect("utf-8")]);
    assert_eq!(statuses(&s.exchange(b"GARBAGE\r\n\r\n")), [400]);
    let text = harness::log_lines(&log, 1, Duration::from_secs(5));
    let line = text.lines().next().expect("a line");
    assert!(line.contains("] \"-\" 400 "), "{line}");
    assert!(!line.contains("HTTP/1.1"), "{line}");
}

#[test]
fn json_log_is_one_object_per_line_with_every_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("access.log");
    let s = site(
        dir.path(),
        &[
            "--access-log",
            log.to_str().expect("utf-8"),
            "--log-format",
            "json",
        ],
    );
    let raw = b"GET /time HTTP/1.0\r\nHost: example.com\r\nUser-Agent: t\"ua\r\n\r\n";
    assert_eq!(statuses(&s.exchange(raw)), [200]);
    assert_eq!(statuses(&s.exchange(b"BAD\r\n\r\n")), [400]);
    let text = harness::log_lines(&log, 2, Duration::from_secs(5));
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    let ok = lines.iter().find(|v| v["status"] == 200).expect("the 200");
    assert_eq!(ok["method"], "GET");
    assert_eq!(ok["target"], "/time");
    assert_eq!(ok["version"], "HTTP/1.0");
    assert_eq!(ok["host"], "example.com");
    assert_eq!(ok["user_agent"], "t\"ua");
    assert_eq!(ok["referer"], serde_json::Value::Null);
    assert_eq!(ok["client"], "127.0.0.1");
    assert!(ok["bytes"].as_u64().is_some_and(|b| b > 0));
    assert!(ok["duration"].is_number());
    assert!(ok["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
    let bad = lines.iter().find(|v| v["status"] == 400).expect("the 400");
    assert_eq!(bad["method"], serde_json::Value::Null);
    assert_eq!(bad["version"], serde_json::Value::Null);
}

#[test]
fn buffered_lines_reach_the_log_within_seconds_and_none_is_lost_at_exit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("access.log");
    let mut s = site(
        dir.path(),
        &[
            "--access-log",
            log.to_str().expect("utf-8"),
            "--threads",
            "2",
        ],
    );
    assert_eq!(get(s.addr, "/").status, 200);
    // A quiet server still writes its lines out (at least every second).
    assert_eq!(
        harness::log_lines(&log, 1, Duration::from_secs(5))
            .lines()
            .count(),
        1
    );
    let addr = s.addr;
    let clients: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                for _ in 0..50 {
                    assert_eq!(get(addr, "/test.jpg").status, 200);
                }
            })
        })
        .collect();
    for c in clients {
        c.join().expect("client");
    }
    s.terminate();
    assert_eq!(s.wait_exit(Duration::from_secs(10)), Some(0));
    let text = fs::read_to_string(&log).expect("log");
    assert_eq!(text.lines().count(), 201, "{text}");
    for line in text.lines() {
        assert!(
            line.starts_with("127.0.0.1 - - [") && line.contains(" HTTP/1.1\" 200 "),
            "{line}"
        );
    }
}

#[test]
fn stderr_is_not_coloured_when_it_is_not_a_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("book.db");
    let mut child = Command::new(BIN)
        .args(["-p", "0", "--db", db.to_str().expect("utf-8")])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut banner = String::new();
    let stdout = child.stdout.take().expect("stdout");
    BufReader::new(stdout)
        .read_line(&mut banner)
        .expect("banner");
    let addr = harness::parse_banner(&banner);
    assert_eq!(get(addr, "/").status, 200);
    let pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    rustix::process::kill_process(pid.expect("pid"), rustix::process::Signal::TERM).expect("kill");
    let out = child.wait_with_output().expect("exit");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("INFO"), "{err}");
    assert!(err.contains("\"GET / HTTP/1.1\" 200"), "{err}");
    assert!(!err.contains('\x1b'), "{err:?}");
}

//! Per-site access logs (`[[site]] access-log`): each request's line in the log of the site
//! that answered it, the others in the server's log; rotation (rename, SIGUSR1) and a reload
//! that moves a site's log lose no line.

use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::config_run::{curl, start, tree};
use crate::harness::{eventually, log_lines};
use crate::ops_load::{Load, load_secs};

const SITES: &str = r#"
[server]
access-log = "main.log"

[[listen]]
addr = "127.0.0.1:0"

[[site]]
hosts = ["a.test"]
access-log = "a.log"
log-format = "json"
  [[site.route]]
  path = "/"
  files = { root = "www" }

[[site]]
hosts = ["load", "b.test"]
access-log = "b.log"
  [[site.route]]
  path = "/"
  files = { root = "www" }

[[site]]
hosts = ["c.test"]
  [[site.route]]
  path = "/"
  files = { root = "other" }
"#;

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("kill");
    assert!(ok.success());
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn each_request_is_logged_by_the_site_that_answered_it() {
    let d = tree(SITES);
    let s = start(d.path());
    let port = s.addr.port();
    for (host, path) in [
        ("a.test", "/a.txt?one"),
        ("b.test", "/a.txt?two"),
        ("c.test", "/?three"),
        ("a.test", "/missing?four"),
    ] {
        let out = curl(&s, host, &[&format!("http://{host}:{port}{path}")]);
        assert!(out.starts_with("HTTP/1.1 "), "{out}");
    }
    let p = d.path();
    let a = log_lines(&p.join("a.log"), 2, Duration::from_secs(5));
    let b = log_lines(&p.join("b.log"), 1, Duration::from_secs(5));
    let main = log_lines(&p.join("main.log"), 1, Duration::from_secs(5));
    // a.test's log is JSON, in its own format; the others are the server's common format.
    assert_eq!(a.lines().count(), 2, "{a}");
    assert!(a.contains("\"target\":\"/a.txt?one\"") && a.contains("\"host\":\"a.test"));
    assert!(a.contains("\"target\":\"/missing?four\",") && a.contains("\"status\":404"));
    assert_eq!(b.lines().count(), 1, "{b}");
    assert!(b.contains("\"GET /a.txt?two HTTP/1.1\" 200 "), "{b}");
    assert_eq!(main.lines().count(), 1, "{main}");
    assert!(main.contains("\"GET /?three HTTP/1.1\" 200 "), "{main}");
}

/// The `n=` of every logged request target.
fn logged(text: &str) -> HashSet<u64> {
    text.lines()
        .filter_map(|l| {
            let at = l.find("n=")? + 2;
            let digits: String = l[at..].chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect()
}

#[test]
fn a_site_log_rotated_under_load_and_moved_by_a_reload_loses_no_line() {
    let d = tree(SITES);
    let p = d.path();
    let s = start(p);
    let pid = s.child.id();
    let load = Load::start(s.addr, "/a.txt", 4, |b| b == b"hello from www\n");
    std::thread::sleep(load_secs() / 3);
    // logrotate: rename, then USR1.
    fs::rename(p.join("b.log"), p.join("b.log.1")).expect("rename");
    signal(pid, "-USR1");
    eventually("the reopened log", || !read(&p.join("b.log")).is_empty());
    std::thread::sleep(load_secs() / 3);
    // A reload that moves the site's log to another file.
    let moved = SITES.replace("access-log = \"b.log\"", "access-log = \"b2.log\"");
    fs::write(p.join("site.toml"), moved).expect("write");
    signal(pid, "-HUP");
    eventually("the moved log", || !read(&p.join("b2.log")).is_empty());
    std::thread::sleep(load_secs() / 3);
    let counts = load.stop();
    assert_eq!(counts.failed.load(std::sync::atomic::Ordering::Relaxed), 0);
    s.terminate();
    let mut s = s;
    assert_eq!(s.wait_exit(Duration::from_secs(10)), Some(0));
    let mut seen = HashSet::new();
    for f in ["b.log.1", "b.log", "b2.log"] {
        let text = read(&p.join(f));
        assert!(!text.is_empty(), "{f} got no line");
        seen.extend(logged(&text));
    }
    assert!(
        logged(&read(&p.join("main.log"))).is_empty(),
        "the site's requests reached the server's log"
    );
    let answered = counts.answered.lock().expect("answered").clone();
    let missing: Vec<_> = answered.iter().filter(|n| !seen.contains(n)).collect();
    assert!(
        missing.is_empty(),
        "{} answered, {} not logged: {:?}",
        answered.len(),
        missing.len(),
        &missing[..missing.len().min(5)]
    );
}

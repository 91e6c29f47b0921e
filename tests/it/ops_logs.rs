//! Log rotation under load: rename the access log, SIGUSR1, and every request the clients
//! counted is in one of the two files.

use std::collections::HashSet;
use std::fs;
use std::process::Command;
use std::time::Duration;

use crate::harness::Running;
use crate::ops_load::{Load, load_secs};

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
fn rotation_under_load_loses_no_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("a.txt"), "hello\n").expect("write");
    let log = dir.path().join("access.log");
    let rotated = dir.path().join("access.log.1");
    let mut s = Running::start_in(
        Some(dir.path()),
        &[
            "serve",
            ".",
            "-p",
            "0",
            "--access-log",
            log.to_str().expect("utf-8"),
        ],
    );
    let load = Load::start(s.addr, "/a.txt", 6, |b| b == b"hello\n");
    std::thread::sleep(load_secs() / 2);
    fs::rename(&log, &rotated).expect("rename");
    let usr1 = Command::new("kill")
        .args(["-USR1", &s.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(usr1.success());
    std::thread::sleep(load_secs() / 2);
    let counts = load.stop();
    s.terminate();
    assert_eq!(s.wait_exit(Duration::from_secs(10)), Some(0));
    assert_eq!(counts.failed.load(std::sync::atomic::Ordering::Relaxed), 0);
    let old = fs::read_to_string(&rotated).expect("rotated");
    let new = fs::read_to_string(&log).expect("reopened");
    assert!(!new.is_empty(), "the reopened log got lines");
    let mut seen = logged(&old);
    seen.extend(logged(&new));
    let answered = counts.answered.lock().expect("answered").clone();
    let missing: Vec<_> = answered
        .iter()
        .filter(|n| !seen.contains(n))
        .take(5)
        .collect();
    assert!(
        missing.is_empty(),
        "{} answered, not logged: {missing:?}",
        answered.len()
    );
}

//! Reload and binary upgrade under load: no failed request, the new configuration visible
//! within a second, a broken one refused while the old keeps serving, the old process drained
//! and gone with status 0 after an upgrade, a download in flight intact.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{BIN, Running, dead, eventually};
use crate::ops_load::{Load, fetch, load_secs};

/// Two releases, `v1` and `v2`, and `current` pointing at `v1`: the deploy-by-symlink layout a
/// reload switches between.
fn releases(dir: &Path) {
    for (v, body) in [("v1", "one\n"), ("v2", "two\n")] {
        fs::create_dir_all(dir.join(v)).expect("mkdir");
        fs::write(dir.join(v).join("a.txt"), body).expect("write");
    }
    symlink("v1", dir.join("current")).expect("symlink");
}

fn point_current(dir: &Path, to: &str) {
    let tmp = dir.join("current.new");
    let _ = fs::remove_file(&tmp);
    symlink(to, &tmp).expect("symlink");
    fs::rename(&tmp, dir.join("current")).expect("rename");
}

fn either_release(body: &[u8]) -> bool {
    body == b"one\n" || body == b"two\n"
}

fn sockserve(args: &[&str]) -> bool {
    Command::new(BIN)
        .args(args)
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn twenty_reloads_under_load_fail_nothing_and_show_within_a_second() {
    let dir = tempfile::tempdir().expect("tempdir");
    releases(dir.path());
    let pid = dir.path().join("pid");
    let pid_s = pid.to_str().expect("utf-8");
    let s = Running::start_in(
        Some(dir.path()),
        &["serve", "current", "-p", "0", "-q", "--pid-file", pid_s],
    );
    eventually("the pid file", || pid.exists());
    let load = Load::start(s.addr, "/a.txt", 8, either_release);
    let pause = load_secs() / 22;
    let mut slowest = Duration::ZERO;
    for i in 0..20 {
        std::thread::sleep(pause);
        let (to, body) = if i % 2 == 0 {
            ("v2", b"two\n")
        } else {
            ("v1", b"one\n")
        };
        point_current(dir.path(), to);
        assert!(sockserve(&["reload", "--pid-file", pid_s]), "reload {i}");
        // From the signal, which the command sent before it exited: starting the command (a
        // debug binary, on a machine busy with the load and other tests) is not the server's.
        let asked = Instant::now();
        while fetch(s.addr, "/a.txt").map(|r| r.1) != Some(body.to_vec()) {
            assert!(
                asked.elapsed() < Duration::from_secs(1),
                "reload {i} not visible in 1 s"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        slowest = slowest.max(asked.elapsed());
    }
    // A broken configuration: the directory is gone. The reload is refused, the old serves.
    point_current(dir.path(), "v3-missing");
    assert!(sockserve(&["reload", "--pid-file", pid_s]));
    std::thread::sleep(pause);
    assert_eq!(
        fetch(s.addr, "/a.txt").map(|r| r.1),
        Some(b"one\n".to_vec())
    );
    let counts = load.stop();
    let failed = counts.failed.load(std::sync::atomic::Ordering::Relaxed);
    let errors = counts.errors.lock().expect("errors").clone();
    assert_eq!(failed, 0, "failed requests: {errors:?}");
    assert!(counts.ok.load(std::sync::atomic::Ordering::Relaxed) > 100);
    eprintln!("slowest reload seen after {slowest:?}");
}

/// Reads `stream` slowly to the end, returning every byte.
fn slow_download(mut stream: TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return out,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn binary_upgrade_under_load_fails_nothing_and_the_old_process_exits_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    releases(dir.path());
    // 8 MiB read at ~3 MiB/s: the download spans the upgrade.
    let big: Vec<u8> = (0..8 * 1024 * 1024u32)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    fs::write(dir.path().join("v1").join("big.bin"), &big).expect("big");
    let pid = dir.path().join("pid");
    let pid_s = pid.to_str().expect("utf-8");
    let mut old = Running::start_in(
        Some(dir.path()),
        &[
            "serve",
            "current",
            "-p",
            "0",
            "-q",
            "--pid-file",
            pid_s,
            "--grace",
            "15",
        ],
    );
    eventually("the pid file", || pid.exists());
    let old_pid = old.child.id();
    let load = Load::start(old.addr, "/a.txt", 8, either_release);
    let mut download = TcpStream::connect(old.addr).expect("connect");
    download
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .expect("request");
    download
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let reader = std::thread::spawn(move || slow_download(download));
    std::thread::sleep(load_secs() / 3);

    assert!(sockserve(&["upgrade", "--pid-file", pid_s]));
    eventually("a new pid in the pid file", || {
        fs::read_to_string(&pid).is_ok_and(|p| p.trim() != old_pid.to_string())
    });
    let new_pid: u32 = fs::read_to_string(&pid)
        .expect("pid")
        .trim()
        .parse()
        .expect("a pid");
    std::thread::sleep(load_secs() / 3);
    let before = load.ok();
    std::thread::sleep(load_secs() / 3);
    assert!(load.ok() > before, "the new process serves");

    let got = reader.join().expect("reader");
    let body_at = got
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head")
        + 4;
    assert!(got.starts_with(b"HTTP/1.1 200"));
    assert!(got[body_at..] == big[..], "the download is intact");
    assert_eq!(
        old.wait_exit(Duration::from_secs(20)),
        Some(0),
        "old exits 0"
    );

    let counts = load.stop();
    let failed = counts.failed.load(std::sync::atomic::Ordering::Relaxed);
    let errors = counts.errors.lock().expect("errors").clone();
    assert_eq!(failed, 0, "failed requests: {errors:?}");
    assert_eq!(fetch(old.addr, "/a.txt").map(|r| r.0), Some(200));
    let _ = Command::new("kill")
        .args(["-TERM", &new_pid.to_string()])
        .status();
    eventually("the new process exits", || dead(new_pid));
}

#[test]
fn twenty_config_file_reloads_under_load_fail_nothing_and_a_broken_file_keeps_the_old() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("site.toml");
    let toml = |body: &str| {
        format!(
            "[[listen]]\naddr = \"127.0.0.1:0\"\n[[site]]\n[[site.route]]\npath = \"/\"\n\
             respond = {{ body = \"{body}\" }}\n"
        )
    };
    fs::write(&file, toml("one")).expect("write");
    let pid = dir.path().join("pid");
    let pid_s = pid.to_str().expect("utf-8");
    let s = Running::start_in(
        Some(dir.path()),
        &[
            "--config",
            file.to_str().expect("utf-8"),
            "--pid-file",
            pid_s,
        ],
    );
    eventually("the pid file", || pid.exists());
    let load = Load::start(s.addr, "/", 8, |b| b == b"one" || b == b"two");
    let pause = load_secs() / 22;
    for i in 0..20 {
        std::thread::sleep(pause);
        let body = if i % 2 == 0 { "two" } else { "one" };
        fs::write(&file, toml(body)).expect("write");
        assert!(sockserve(&["reload", "--pid-file", pid_s]), "reload {i}");
        // From the signal, which the command sent before it exited: starting the command (a
        // debug binary, on a machine busy with the load and other tests) is not the server's.
        let asked = Instant::now();
        while fetch(s.addr, "/").map(|r| r.1) != Some(body.as_bytes().to_vec()) {
            assert!(
                asked.elapsed() < Duration::from_secs(1),
                "reload {i} not visible in 1 s"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    fs::write(&file, toml("three").replace("path", "pth")).expect("write");
    assert!(sockserve(&["reload", "--pid-file", pid_s]));
    std::thread::sleep(pause);
    assert_eq!(fetch(s.addr, "/").map(|r| r.1), Some(b"one".to_vec()));
    let counts = load.stop();
    let failed = counts.failed.load(std::sync::atomic::Ordering::Relaxed);
    let errors = counts.errors.lock().expect("errors").clone();
    assert_eq!(failed, 0, "failed requests: {errors:?}");
}

#[test]
fn a_reload_opens_an_added_listener_and_drains_a_removed_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("site.toml");
    let toml = |ports: &[u16]| {
        let mut t = String::new();
        for p in ports {
            t.push_str(&format!("[[listen]]\naddr = \"127.0.0.1:{p}\"\n"));
        }
        t + "[[site]]\n[[site.route]]\npath = \"/\"\nrespond = { body = \"hi\" }\n"
    };
    let (first, second) = (crate::harness::free_port(), crate::harness::free_port());
    fs::write(&file, toml(&[first])).expect("write");
    let s = Running::start_in(
        Some(dir.path()),
        &["--config", file.to_str().expect("utf-8")],
    );
    let at = |p: u16| std::net::SocketAddr::from(([127, 0, 0, 1], p));
    assert_eq!(fetch(at(first), "/").map(|r| r.0), Some(200));
    // An idle kept-alive connection on the listener that goes away.
    let mut kept = TcpStream::connect(at(first)).expect("connect");
    kept.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("request");
    let mut buf = [0u8; 512];
    assert!(kept.read(&mut buf).expect("answer") > 0);
    fs::write(&file, toml(&[second])).expect("write");
    let hup = Command::new("kill")
        .args(["-HUP", &s.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(hup.success());
    eventually("the added listener serves", || {
        fetch(at(second), "/").is_some_and(|r| r.0 == 200)
    });
    eventually("the removed listener is closed", || {
        TcpStream::connect(at(first)).is_err()
    });
    // Its idle connection is closed too, as at shutdown.
    kept.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    assert_eq!(kept.read(&mut buf).unwrap_or(0), 0);
    assert_eq!(fetch(at(second), "/").map(|r| r.1), Some(b"hi".to_vec()));
}

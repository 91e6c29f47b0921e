//! `scripts/cluster` (PostgreSQL, two instances, HAProxy) under a load of reads and posts with
//! `scripts/rolling-restart` in the middle: no request fails, no acknowledged post is lost, and
//! a post through one instance is visible through the other at once.
//!
//! The load lasts `PG_CLUSTER_SECS` seconds (default 8; the acceptance run uses 60).

use std::collections::HashMap;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::harness::{BIN, Resp, parse_response, read_to_close};

/// The load's default length, short enough for every test run (it lasts at least until a
/// second after the rolling restart, however long that takes).
const DEFAULT_SECS: u64 = 5;
/// Clients reading pages and clients posting, at once.
const READERS: usize = 2;
const WRITERS: usize = 2;

/// The cluster in a temporary directory, stopped when dropped.
struct Cluster {
    dir: tempfile::TempDir,
    env: HashMap<String, String>,
}

impl Cluster {
    fn script(&self, name: &str, args: &[&str]) -> std::process::Output {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        Command::new(root.join("scripts").join(name))
            .args(args)
            .env("CLUSTER_DIR", self.dir.path().join("c"))
            .env("SOCKSERVE_BIN", BIN)
            .env("CLUSTER_FSYNC", "off")
            .output()
            .expect("run the script")
    }

    fn start(instances: usize) -> Cluster {
        let mut c = Cluster {
            dir: tempfile::tempdir().expect("tempdir"),
            env: HashMap::new(),
        };
        let out = c.script("cluster", &["start", &instances.to_string()]);
        assert!(
            out.status.success(),
            "scripts/cluster start: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let env = std::fs::read_to_string(c.dir.path().join("c/cluster.env")).expect("env");
        c.env = env
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        c
    }

    fn port(&self, key: &str) -> SocketAddr {
        let port: u16 = self.env[key].parse().expect("port");
        SocketAddr::from(([127, 0, 0, 1], port))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.script("cluster", &["stop"]);
    }
}

/// One request on a fresh connection; `Err` for anything that is not a whole response.
fn try_request(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> Result<Resp, String> {
    let mut s = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: cluster\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())
        .and_then(|()| s.write_all(body))
        .map_err(|e| format!("write: {e}"))?;
    let data = read_to_close(&mut s);
    parse_response(&data, false).ok_or_else(|| format!("no response: {data:?}"))
}

fn post(addr: SocketAddr, message: &str) -> Result<i64, String> {
    let body = serde_json::json!({ "name": "load", "message": message }).to_string();
    let r = try_request(addr, "POST", "/api/messages", body.as_bytes())?;
    if r.status != 201 {
        return Err(format!("POST: {} {}", r.status, r.text()));
    }
    let v: serde_json::Value = serde_json::from_slice(&r.body).map_err(|e| e.to_string())?;
    v["id"].as_i64().ok_or_else(|| "no id".to_string())
}

#[derive(Default)]
struct Tally {
    ok: u64,
    failures: Vec<String>,
    acknowledged: Vec<i64>,
}

#[test]
fn rolling_restart_under_load_fails_nothing_and_loses_nothing() {
    assert!(
        crate::harness::have("haproxy") && storage::testing::available(),
        "scripts/test installs haproxy and postgresql"
    );
    let secs = std::env::var("PG_CLUSTER_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SECS);
    let cluster = Cluster::start(2);
    let (lb, one, two) = (
        cluster.port("LB_PORT"),
        cluster.port("PORT_1"),
        cluster.port("PORT_2"),
    );
    // Visible through the other instance at once.
    let id = post(one, "through instance 1").expect("post");
    let seen = try_request(two, "GET", &format!("/api/messages/{id}"), b"").expect("get");
    assert_eq!(seen.status, 200, "posted through 1, not visible through 2");

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let clients: Vec<_> = (0..READERS + WRITERS)
        .map(|n| {
            let (stop, tally) = (stop.clone(), tally.clone());
            std::thread::spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let result = if n < READERS {
                        let path = if i % 2 == 0 {
                            "/guestbook"
                        } else {
                            "/api/messages"
                        };
                        try_request(lb, "GET", path, b"").and_then(|r| match r.status {
                            200 => Ok(None),
                            s => Err(format!("GET {path}: {s}")),
                        })
                    } else {
                        post(lb, &format!("client {n}, post {i}")).map(Some)
                    };
                    let mut t = tally.lock().expect("tally");
                    match result {
                        Ok(id) => {
                            t.ok += 1;
                            t.acknowledged.extend(id);
                        }
                        Err(e) => t.failures.push(e),
                    }
                }
            })
        })
        .collect();
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(secs) / 3);
    let restart = cluster.script("rolling-restart", &[]);
    assert!(
        restart.status.success(),
        "rolling-restart: {}{}",
        String::from_utf8_lossy(&restart.stdout),
        String::from_utf8_lossy(&restart.stderr)
    );
    // The load goes on for its length, and at least a second past the restart.
    let end = Duration::from_secs(secs).max(started.elapsed() + Duration::from_secs(1));
    std::thread::sleep(end.saturating_sub(started.elapsed()));
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().expect("client");
    }
    let t = tally.lock().expect("tally");
    assert!(
        t.failures.is_empty(),
        "{} of {} requests failed, first: {:?}",
        t.failures.len(),
        t.ok + t.failures.len() as u64,
        &t.failures[..t.failures.len().min(5)]
    );
    assert!(
        t.acknowledged.len() > 10,
        "too few posts to mean anything: {}",
        t.acknowledged.len()
    );
    // Every acknowledged post is there, through the balancer.
    for id in &t.acknowledged {
        let r = try_request(lb, "GET", &format!("/api/messages/{id}"), b"").expect("get");
        assert_eq!(r.status, 200, "acknowledged post {id} is missing");
    }
    eprintln!(
        "{} requests in {:?}, {} posts, none failed",
        t.ok,
        started.elapsed(),
        t.acknowledged.len()
    );
}

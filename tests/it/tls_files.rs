//! Large files over TLS: no `sendfile` through rustls, so the writer reads the file a chunk at a
//! time into the session; the memory a connection holds stays bounded whatever the file's size.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::Running;

/// The served file: large enough that buffering it whole per connection would show at once.
const BIG: usize = 24 * 1024 * 1024 + 7;
/// Clients that ask for it and then stop reading.
const STALLED: usize = 16;
/// Most the server's resident memory may grow while they wait: about 1 MiB each, where a
/// whole file each would be 384 MiB.
const MAX_GROWTH_KIB: u64 = 16 * 1024;

/// Opens argv[2] TLS connections to port argv[1], asks each for /big.bin, reads a little of
/// each, prints `ready`, then holds them until stdin closes.
const STALL: &str = r#"
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
held = []
for _ in range(int(sys.argv[2])):
    raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    tls = ctx.wrap_socket(raw, server_hostname="localhost")
    tls.sendall(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert tls.recv(100).startswith(b"HTTP/1.1 200")
    held.append(tls)
print("ready", flush=True)
sys.stdin.read()
"#;

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

#[test]
fn a_large_file_over_tls_arrives_whole_and_stalled_readers_hold_little_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let big: Vec<u8> = (0..BIG).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(dir.path().join("big.bin"), &big).expect("write");
    let root = dir.path().to_str().expect("utf-8");
    let server = Running::start(&[
        "serve",
        root,
        "-p",
        "0",
        "-q",
        "--threads",
        "2",
        "--tls-self-signed",
    ]);
    let port = server.addr.port().to_string();
    let url = format!("https://127.0.0.1:{port}/big.bin");
    let fetch = || {
        let out = Command::new("curl")
            .args(["-sSk", &url])
            .output()
            .expect("curl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    // Once, so the server's first-request allocations are behind the baseline.
    assert!(fetch() == big, "the file arrived altered");
    let before = rss_kib(server.child.id());

    let mut stall = Command::new("python3")
        .args(["-c", STALL, &port, &STALLED.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut ready = String::new();
    BufReader::new(stall.stdout.take().expect("stdout"))
        .read_line(&mut ready)
        .expect("ready line");
    assert_eq!(ready.trim(), "ready");
    std::thread::sleep(Duration::from_millis(500));
    let during = rss_kib(server.child.id());
    // Served in full to another client while the stalled ones wait.
    assert!(
        fetch() == big,
        "the file arrived altered beside stalled readers"
    );
    drop(stall.stdin.take());
    let _ = stall.wait();

    let growth = during.saturating_sub(before);
    eprintln!("{STALLED} stalled readers: {before} KiB -> {during} KiB");
    assert!(
        growth < MAX_GROWTH_KIB,
        "{STALLED} stalled readers of a {} MiB file grew the server by {growth} KiB",
        BIG >> 20
    );
}

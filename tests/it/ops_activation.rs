//! systemd socket activation: started by `systemd-socket-activate`, which holds the listening
//! socket and passes it as LISTEN_FDS, the server answers on that socket.

use std::fs;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{BIN, free_port, have};
use crate::ops_load::fetch;

#[test]
fn serves_on_the_socket_systemd_passes() {
    if !have("systemd-socket-activate") {
        // scripts/test installs it (Debian's systemd package).
        eprintln!("skipped: no systemd-socket-activate");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("a.txt"), "activated\n").expect("write");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let port_s = port.to_string();
    let mut child = Command::new("systemd-socket-activate")
        .args(["-l", &listen, BIN, "serve", ".", "-p", &port_s, "-q"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("systemd-socket-activate");
    let addr = listen.parse().expect("addr");
    let start = Instant::now();
    let mut got = None;
    while start.elapsed() < Duration::from_secs(10) {
        got = fetch(addr, "/a.txt");
        if got.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    assert_eq!(got, Some((200, b"activated\n".to_vec())));
}

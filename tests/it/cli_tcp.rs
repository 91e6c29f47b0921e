//! Integration tests: `sockserve tcp listen` answers each message as it arrives, over real sockets.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::{BIN, Running, parse_banner, read_to_close, stderr, stdout};

/// Reads one reply of `len` bytes without waiting for the server to close.
fn read_reply(s: &mut TcpStream, len: usize) -> Vec<u8> {
    let mut reply = vec![0; len];
    s.read_exact(&mut reply)
        .expect("reply before the client closed");
    reply
}

#[test]
fn listen_answers_a_line_while_the_client_waits_without_closing() {
    let server = Running::start(&["tcp", "listen", "-p", "0"]);
    let mut s = TcpStream::connect(server.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    // The tutorial's client: send, then recv, with the write side still open.
    s.write_all(b"can you hear me?\n").expect("write");
    assert_eq!(read_reply(&mut s, 3), b"Yes");
    s.write_all(b"still there?\n").expect("write");
    assert_eq!(read_reply(&mut s, 3), b"Yes");
    s.shutdown(Shutdown::Write).expect("half-close");
    assert_eq!(
        read_to_close(&mut s),
        b"",
        "nothing after the end of stream"
    );
}

#[test]
fn listen_echoes_each_message_as_it_arrives() {
    let server = Running::start(&["tcp", "listen", "-p", "0", "--echo"]);
    let mut s = TcpStream::connect(server.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    for line in ["one\n", "two\n"] {
        s.write_all(line.as_bytes()).expect("write");
        assert_eq!(read_reply(&mut s, line.len()), line.as_bytes());
    }
}

#[test]
fn listen_prints_each_message_once() {
    let mut child = Command::new(BIN)
        .args(["tcp", "listen", "-p", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut banner = String::new();
    out.read_line(&mut banner).expect("banner");
    let addr = parse_banner(&banner);
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    for message in ["first-message", "second-message"] {
        s.write_all(message.as_bytes()).expect("write");
        assert_eq!(read_reply(&mut s, 3), b"Yes");
    }
    drop(s);
    std::thread::sleep(Duration::from_millis(200));
    let _ = child.kill();
    let mut printed = String::new();
    let _ = out.read_to_string(&mut printed);
    let waited = child.wait_with_output().expect("wait");
    let logged = stderr(&waited);
    let all = format!("{printed}{}{logged}", stdout(&waited));
    for message in ["first-message", "second-message"] {
        assert_eq!(
            all.matches(message).count(),
            1,
            "stdout {printed:?} stderr {logged:?}"
        );
    }
}

#[test]
fn send_still_gets_one_reply() {
    let server = Running::start(&["tcp", "listen", "-p", "0"]);
    let out = crate::tcp::sockserve(&["tcp", "send", &server.addr.to_string(), "over\n"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "Yes\n");
}

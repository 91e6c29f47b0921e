//! The process around the server: signals, exit codes and how fast the binary leaves.

use std::fs;
use std::net::{TcpStream, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process};

use crate::harness::{Running, dead, get, read_pid};

/// Generous, so a loaded machine does not fail the test; the exit itself takes a few ms.
const PROMPT: Duration = Duration::from_millis(500);

fn signal(s: &Running, sig: Signal) {
    let pid = Pid::from_raw(i32::try_from(s.child.id()).expect("pid")).expect("non-zero pid");
    kill_process(pid, sig).expect("kill");
}

/// Sends `sig` and returns how long the process took to exit, and its exit code.
fn time_exit(s: &mut Running, sig: Signal) -> (Duration, Option<i32>) {
    let start = Instant::now();
    signal(s, sig);
    loop {
        if let Ok(Some(status)) = s.child.try_wait() {
            return (start.elapsed(), status.code());
        }
        assert!(start.elapsed() < Duration::from_secs(10), "never exited");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn script_dir(dir: &Path) {
    let bin = dir.join("cgi-bin");
    fs::create_dir_all(&bin).expect("cgi-bin");
    let script = bin.join("hi.sh");
    fs::write(
        &script,
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nhi\\n'\n",
    )
    .expect("script");
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod");
    fs::write(dir.join("a.txt"), "a\n").expect("file");
}

#[test]
fn sigint_and_sigterm_with_no_connections_open_exit_promptly_for_every_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    script_dir(dir.path());
    let db = dir.path().join("book.db");
    let db = db.to_str().expect("utf-8");
    let d = dir.path().to_str().expect("utf-8");
    let commands: [(&[&str], &str); 6] = [
        (&["-p", "0", "-q", "--db", db], "/guestbook"),
        (&["serve", d, "-p", "0", "-q"], "/a.txt"),
        (&["serve", d, "-p", "0", "-q", "--cgi"], "/cgi-bin/hi.sh"),
        (&["tcp", "listen", "-p", "0"], ""),
        (&["daytime", "-p", "0"], ""),
        (&["daytime", "-p", "0", "--udp"], ""),
    ];
    for (args, path) in commands {
        for sig in [Signal::INT, Signal::TERM] {
            let mut s = Running::start_in(Some(dir.path()), args);
            // Served something first, so threads and caches that work leaves behind exist too.
            if !path.is_empty() {
                assert_eq!(get(s.addr, path).status, 200, "{args:?}");
            } else if s.banner.starts_with("Listening on udp") {
                let u = UdpSocket::bind("127.0.0.1:0").expect("udp");
                u.set_read_timeout(Some(Duration::from_secs(5)))
                    .expect("timeout");
                u.send_to(b"x", s.addr).expect("send");
                let mut buf = [0; 128];
                u.recv_from(&mut buf).expect("daytime reply");
            } else {
                let mut c = TcpStream::connect(s.addr).expect("connect");
                use std::io::{Read, Write};
                let _ = c.write_all(b"hi\n");
                let _ = c.shutdown(std::net::Shutdown::Write);
                let mut sink = Vec::new();
                let _ = c.read_to_end(&mut sink);
            }
            std::thread::sleep(Duration::from_millis(100));
            let (took, code) = time_exit(&mut s, sig);
            assert_eq!(code, Some(0), "{args:?} {sig:?}");
            assert!(took < PROMPT, "{args:?} took {took:?} to exit on {sig:?}");
        }
    }
}

#[test]
fn a_signal_right_after_the_banner_is_a_graceful_shutdown() {
    // The handlers are installed before the banner is printed, so the default action (death
    // by the signal, no exit code) never happens.
    for _ in 0..5 {
        let mut s = Running::start(&["tcp", "listen", "-p", "0"]);
        let (_, code) = time_exit(&mut s, Signal::TERM);
        assert_eq!(code, Some(0));
    }
}

#[test]
fn a_second_signal_ends_the_process_at_once_with_128_plus_its_number() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("book.db");
    let db = db.to_str().expect("utf-8");
    let log = dir.path().join("access.log");
    let log_arg = log.to_str().expect("utf-8");
    for (sig, code) in [(Signal::INT, 130), (Signal::TERM, 143)] {
        let _ = fs::remove_file(&log);
        let mut s = Running::start_in(
            Some(dir.path()),
            &["-p", "0", "--db", db, "--access-log", log_arg],
        );
        assert_eq!(get(s.addr, "/time").status, 200);
        // Half a request head: the connection is not idle, so the grace period waits for it.
        let mut c = s.connect();
        use std::io::Write;
        c.write_all(b"GET / HTTP/1.1\r\n").expect("write");
        std::thread::sleep(Duration::from_millis(100));
        signal(&s, Signal::TERM);
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            s.child.try_wait().expect("wait").is_none(),
            "the first signal must wait for the open connection"
        );
        let (took, got) = time_exit(&mut s, sig);
        assert_eq!(got, Some(code));
        assert!(took < PROMPT, "{took:?}");
        // The line still buffered when the process ended was written first.
        let text = fs::read_to_string(&log).expect("access log");
        assert!(text.contains("\"GET /time HTTP/1.1\" 200 "), "{text:?}");
    }
}

#[test]
fn a_second_signal_kills_every_cgi_process_group_before_the_process_exits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("cgi-bin");
    fs::create_dir_all(&bin).expect("cgi-bin");
    let pidfile = dir.path().join("sleep.pid");
    // The script's `sleep` runs in the script's process group; it writes its pid, then waits.
    let script = bin.join("slow.sh");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\nsleep 60 &\necho $! > {}\nwait\n",
            pidfile.display()
        ),
    )
    .expect("script");
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod");
    let d = dir.path().to_str().expect("utf-8");
    let mut s = Running::start(&["serve", d, "-p", "0", "-q", "--cgi"]);
    let mut c = s.connect();
    use std::io::Write;
    c.write_all(b"GET /cgi-bin/slow.sh HTTP/1.1\r\nHost: a\r\n\r\n")
        .expect("write");
    let sleep_pid = read_pid(&pidfile);
    signal(&s, Signal::TERM);
    std::thread::sleep(Duration::from_millis(200));
    let (_, code) = time_exit(&mut s, Signal::TERM);
    assert_eq!(code, Some(143));
    // SIGKILL is delivered before exit returns; give the kernel a moment to reap.
    let start = Instant::now();
    while !dead(sleep_pid) {
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "the script's `sleep` outlived the server"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn tcp_listen_with_a_silent_client_connected_exits_promptly() {
    let mut s = Running::start(&["tcp", "listen", "-p", "0"]);
    // A client that said one thing, got its answer, and now waits without closing.
    let mut c = TcpStream::connect(s.addr).expect("connect");
    use std::io::{Read, Write};
    c.write_all(b"can you hear me?").expect("write");
    let mut reply = [0u8; 16];
    let n = c.read(&mut reply).expect("reply");
    assert!(n > 0);
    let (took, code) = time_exit(&mut s, Signal::TERM);
    assert_eq!(code, Some(0));
    assert!(took < PROMPT, "waited {took:?} for a silent client");
    // The server closed the conversation cleanly: the client reads the end of the stream.
    assert_eq!(c.read(&mut reply).expect("end"), 0);
}

//! Integration tests: CGI requests whose body breaks off, and script output that is not a
//! usable response (a blank line alone, its own chunked framing, a malformed line).

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::harness::{BIN, eventually, get, parse_banner, read_pid, read_to_close, reaped};

/// `sockserve serve ROOT --cgi` on a fresh directory, its stderr (server and access log) kept
/// in a file.
struct Server {
    tmp: tempfile::TempDir,
    child: Child,
    addr: SocketAddr,
}

impl Server {
    /// Writes each `(name, text)` script into `cgi-bin`, then starts the server with `extra`.
    fn start(scripts: &[(&str, &str)], extra: &[&str]) -> Server {
        let tmp = tempfile::tempdir().expect("tempdir");
        let bin = tmp.path().join("www/cgi-bin");
        fs::create_dir_all(&bin).expect("mkdir");
        for (name, text) in scripts {
            let path = bin.join(name);
            fs::write(&path, text).expect("write script");
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        let log = fs::File::create(tmp.path().join("server.log")).expect("log file");
        let mut child = Command::new(BIN)
            .arg("serve")
            .arg(tmp.path().join("www"))
            .args(["--cgi", "-p", "0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawn sockserve");
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        let mut banner = String::new();
        reader.read_line(&mut banner).expect("banner");
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = reader.read_to_end(&mut sink);
        });
        let addr = parse_banner(&banner);
        Server { tmp, child, addr }
    }

    fn log(&self) -> String {
        fs::read_to_string(self.tmp.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A script that writes its pid, reads all of stdin, then leaves a marker and answers 200: the
/// marker proves it took a short body for a whole one.
fn reader_script(pidfile: &Path, marker: &Path) -> String {
    format!(
        "#!/bin/sh\necho $$ > {p}.tmp; mv {p}.tmp {p}\ncat > /dev/null\ntouch {m}\n\
         echo 'Content-Type: text/plain'\necho\necho read it all\n",
        p = pidfile.display(),
        m = marker.display()
    )
}

/// Sends a POST announcing 10 bytes and only 3 of them; `hang_up` closes the connection
/// then, otherwise the client stays silent. Returns what the server sent back.
fn post_three_of_ten(srv: &Server, pidfile: &Path, hang_up: bool) -> (u32, Vec<u8>) {
    let mut s = TcpStream::connect(srv.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    s.write_all(b"POST /cgi-bin/read.sh HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
        .expect("write");
    let pid = read_pid(pidfile);
    if hang_up {
        let _ = s.shutdown(Shutdown::Both);
        return (pid, Vec::new());
    }
    (pid, read_to_close(&mut s))
}

/// The access-log lines for the script.
fn access_lines(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("\"POST /cgi-bin/read.sh"))
        .map(str::to_string)
        .collect()
}

#[test]
fn request_body_timeout_kills_the_script_and_is_not_logged_200() {
    let probe = tempfile::tempdir().expect("tempdir");
    let (pidfile, marker) = (probe.path().join("pid"), probe.path().join("marker"));
    let srv = Server::start(
        &[("read.sh", &reader_script(&pidfile, &marker))],
        &["--body-timeout", "1"],
    );
    let (pid, answer) = post_three_of_ten(&srv, &pidfile, false);
    let text = String::from_utf8_lossy(&answer);
    assert!(!text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(!text.contains("read it all"), "{text}");
    eventually("the script killed and reaped", || reaped(pid));
    assert!(!marker.exists(), "the script ran on with a short body");
    eventually("the request in the access log", || {
        !access_lines(&srv.log()).is_empty()
    });
    for line in access_lines(&srv.log()) {
        assert!(!line.contains("\" 200 "), "{line}");
    }
}

/// Like [`reader_script`], but the script prints its head before it reads its input, as many
/// scripts do.
fn head_first_script(pidfile: &Path, marker: &Path) -> String {
    format!(
        "#!/bin/sh\necho $$ > {p}.tmp; mv {p}.tmp {p}\necho 'Content-Type: text/plain'\necho\n\
         echo early\ncat > /dev/null\ntouch {m}\necho read it all\n",
        p = pidfile.display(),
        m = marker.display()
    )
}

#[test]
fn request_body_timeout_after_the_script_head_is_not_answered_200() {
    let probe = tempfile::tempdir().expect("tempdir");
    let (pidfile, marker) = (probe.path().join("pid"), probe.path().join("marker"));
    let srv = Server::start(
        &[("read.sh", &head_first_script(&pidfile, &marker))],
        &["--body-timeout", "1"],
    );
    let (pid, answer) = post_three_of_ten(&srv, &pidfile, false);
    let text = String::from_utf8_lossy(&answer);
    assert!(!text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(!text.contains("early"), "{text}");
    eventually("the script killed and reaped", || reaped(pid));
    assert!(!marker.exists(), "the script ran on with a short body");
    eventually("the request in the access log", || {
        !access_lines(&srv.log()).is_empty()
    });
    for line in access_lines(&srv.log()) {
        assert!(!line.contains("\" 200 "), "{line}");
    }
}

#[test]
fn client_gone_mid_body_kills_the_script_and_is_not_logged_200() {
    let probe = tempfile::tempdir().expect("tempdir");
    let (pidfile, marker) = (probe.path().join("pid"), probe.path().join("marker"));
    let srv = Server::start(&[("read.sh", &reader_script(&pidfile, &marker))], &[]);
    let (pid, _) = post_three_of_ten(&srv, &pidfile, true);
    eventually("the script killed and reaped", || reaped(pid));
    assert!(!marker.exists(), "the script ran on with a short body");
    // Whatever the connection logs for a client that left, it is not the script's 200.
    std::thread::sleep(Duration::from_millis(300));
    for line in access_lines(&srv.log()) {
        assert!(!line.contains("\" 200 "), "{line}");
    }
}

#[test]
fn blank_line_alone_from_a_script_is_500() {
    let srv = Server::start(
        &[
            ("blank.sh", "#!/bin/sh\necho\necho body\n"),
            ("other.sh", "#!/bin/sh\necho 'X-Only: 1'\necho\necho body\n"),
            ("status.sh", "#!/bin/sh\necho 'Status: 204'\necho\n"),
        ],
        &[],
    );
    for path in ["/cgi-bin/blank.sh", "/cgi-bin/other.sh"] {
        let resp = get(srv.addr, path);
        assert_eq!(resp.status, 500, "{path}");
        assert!(!resp.text().contains("body"), "{path}");
    }
    assert_eq!(get(srv.addr, "/cgi-bin/status.sh").status, 204);
}

#[test]
fn script_chunked_output_is_dechunked_never_passed_on_raw() {
    let chunked = "printf 'Content-Type: text/plain\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n'\n\
                   printf '5\\r\\nhello\\r\\n'\n";
    let srv = Server::start(
        &[
            (
                "whole.sh",
                &format!("#!/bin/sh\n{chunked}printf '7\\r\\n, world\\r\\n0\\r\\n\\r\\n'\n"),
            ),
            (
                "slow.sh",
                &format!(
                    "#!/bin/sh\n{chunked}sleep 0.3\nprintf '7\\r\\n, world\\r\\n0\\r\\n\\r\\n'\n"
                ),
            ),
            (
                "bad.sh",
                &format!("#!/bin/sh\n{chunked}sleep 0.3\nprintf 'zz\\r\\n'\n"),
            ),
            ("short.sh", &format!("#!/bin/sh\n{chunked}sleep 0.3\n")),
            (
                "gzip.sh",
                "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\nTransfer-Encoding: gzip\\r\\n\\r\\nxx'\n",
            ),
        ],
        &[],
    );
    for path in ["/cgi-bin/whole.sh", "/cgi-bin/slow.sh"] {
        let resp = get(srv.addr, path);
        assert_eq!(
            (resp.status, resp.text().as_str()),
            (200, "hello, world"),
            "{path}"
        );
    }
    let fetch = |path: &str| {
        let mut s = TcpStream::connect(srv.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let req = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).expect("write");
        String::from_utf8_lossy(&read_to_close(&mut s)).into_owned()
    };
    // A coding the server cannot take apart is refused before anything is sent.
    let text = fetch("/cgi-bin/gzip.sh");
    assert!(text.starts_with("HTTP/1.1 500"), "{text}");
    assert!(!text.contains("xx"), "{text}");
    // Broken chunking found while streaming: what was decoded went out (framed again by the
    // server as one chunk), the rest never does, and the response is cut short (no last
    // chunk) so the client sees it failed.
    for path in ["/cgi-bin/bad.sh", "/cgi-bin/short.sh"] {
        let text = fetch(path);
        assert!(text.starts_with("HTTP/1.1 200"), "{path}: {text}");
        let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        assert_eq!(body, "5\r\nhello\r\n", "{path}");
    }
}

#[test]
fn malformed_header_line_is_logged_as_that_line() {
    let srv = Server::start(&[("hello.sh", "#!/bin/sh\necho 'Hello world'\n")], &[]);
    assert_eq!(get(srv.addr, "/cgi-bin/hello.sh").status, 500);
    eventually("the script's error in the log", || {
        srv.log().contains("malformed header line")
    });
    let log = srv.log();
    assert!(log.contains("Hello world"), "{log}");
    assert!(!log.contains("no header block"), "{log}");
}

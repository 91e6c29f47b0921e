//! Starts the real binary and talks to it over sockets.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Path of the binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_sockserve");

/// A running `sockserve` process, killed when dropped.
pub struct Running {
    pub child: Child,
    pub addr: SocketAddr,
    /// The first stdout line, e.g. `Listening on http://127.0.0.1:41234/`.
    pub banner: String,
}

impl Running {
    /// Starts `sockserve ARGS...` (add `-p 0` yourself where the command takes it) in `dir`
    /// (or the current directory) and waits for its `Listening on` line.
    pub fn start_in(dir: Option<&Path>, args: &[&str]) -> Running {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(d) = dir {
            cmd.current_dir(d);
        }
        let mut child = cmd.spawn().expect("spawn sockserve");
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let mut banner = String::new();
        reader.read_line(&mut banner).expect("read banner");
        if banner.is_empty() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("sockserve {args:?} printed no banner; stderr:\n{err}");
        }
        // Keep draining stdout and stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = reader.read_to_end(&mut sink);
        });
        if let Some(mut e) = child.stderr.take() {
            std::thread::spawn(move || {
                let mut sink = Vec::new();
                let _ = e.read_to_end(&mut sink);
            });
        }
        let addr = parse_banner(&banner);
        Running {
            child,
            addr,
            banner: banner.trim_end().to_string(),
        }
    }

    /// Starts `sockserve ARGS...` in the current directory.
    pub fn start(args: &[&str]) -> Running {
        Running::start_in(None, args)
    }

    /// `http://ADDR` without a trailing slash.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A new connection with a 10 s read timeout.
    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        s
    }

    /// Sends `raw`, half-closes, and returns everything until the server closes.
    pub fn exchange(&self, raw: &[u8]) -> Vec<u8> {
        let mut s = self.connect();
        s.write_all(raw).expect("write");
        let _ = s.shutdown(Shutdown::Write);
        read_to_close(&mut s)
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
    }

    /// Waits up to `limit` for the process to exit; its exit code, or `None` if still running.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status.code().unwrap_or(-1));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads until EOF (or a reset, or the read timeout), returning what arrived.
pub fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    out
}

/// A port free now on 127.0.0.1, for a listener whose address must be given up front (see
/// [`crate::pebble::free_ports`] for why it is not one `bind(0)` handed out).
pub fn free_port() -> u16 {
    crate::pebble::free_ports::<1>()[0]
}

/// Extracts the address from `Listening on SCHEME://ADDR[/]`.
pub fn parse_banner(banner: &str) -> SocketAddr {
    let rest = banner
        .trim()
        .strip_prefix("Listening on ")
        .unwrap_or_else(|| panic!("unexpected banner {banner:?}"));
    let after_scheme = rest.split_once("://").map_or(rest, |(_, a)| a);
    after_scheme
        .trim_end_matches('/')
        .parse()
        .unwrap_or_else(|e| panic!("bad address in banner {banner:?}: {e}"))
}

/// Every status code in a byte stream of responses, in order (responses are split by their
/// framing, so a body that happens to contain `HTTP/1.1 200` is not counted).
pub fn statuses(data: &[u8]) -> Vec<u16> {
    split_responses(data).iter().map(|r| r.status).collect()
}

/// Splits a byte stream into consecutive responses by their framing; interim `100 Continue`
/// responses count as responses. Stops at the first thing that does not parse.
pub fn split_responses(mut data: &[u8]) -> Vec<Resp> {
    let mut out = Vec::new();
    while let Some((resp, used)) = parse_one(data) {
        out.push(resp);
        data = &data[used..];
    }
    out
}

/// Parses one response from the front of `data`; its length in bytes.
fn parse_one(data: &[u8]) -> Option<(Resp, usize)> {
    let end = data.windows(4).position(|w| w == b"\r\n\r\n")?;
    let mut resp = parse_response(&data[..end + 4], true)?;
    let rest = &data[end + 4..];
    let no_body = resp.status < 200 || resp.status == 204 || resp.status == 304;
    let used = if no_body {
        0
    } else if resp
        .header("transfer-encoding")
        .is_some_and(|v| v.contains("chunked"))
    {
        let (body, used) = dechunk_len(rest)?;
        resp.body = body;
        used
    } else if let Some(len) = resp.header("content-length") {
        let len: usize = len.parse().ok()?;
        resp.body = rest.get(..len)?.to_vec();
        len
    } else {
        resp.body = rest.to_vec();
        rest.len()
    };
    Some((resp, end + 4 + used))
}

/// One parsed response: status, headers (lower-case names), body.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    /// The reason phrase of the status line.
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one request on a fresh connection and parses the single response (`Connection: close`
/// is added so the body ends at EOF when it is close-delimited).
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    for (n, v) in headers {
        raw.push_str(&format!("{n}: {v}\r\n"));
    }
    if !body.is_empty() {
        raw.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    raw.push_str("\r\n");
    let mut bytes = raw.into_bytes();
    bytes.extend_from_slice(body);
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    s.write_all(&bytes).expect("write");
    let data = read_to_close(&mut s);
    parse_response(&data, method == "HEAD")
        .unwrap_or_else(|| panic!("unparseable response: {:?}", String::from_utf8_lossy(&data)))
}

/// `GET path` with no extra headers.
pub fn get(addr: SocketAddr, path: &str) -> Resp {
    request(addr, "GET", path, &[], b"")
}

/// Parses one response (head + body by Content-Length, chunked, or to the end of `data`).
pub fn parse_response(data: &[u8], head_request: bool) -> Option<Resp> {
    let end = data.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&data[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status = status_line.get(9..12)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &data[end + 4..];
    let find = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let body = if head_request || status == 304 || status == 204 {
        Vec::new()
    } else if find("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        dechunk(rest)?
    } else if let Some(len) = find("content-length") {
        let len: usize = len.parse().ok()?;
        rest.get(..len)?.to_vec()
    } else {
        rest.to_vec()
    };
    Some(Resp {
        status,
        reason: status_line.get(13..).unwrap_or("").to_string(),
        headers,
        body,
    })
}

/// Decodes a chunked body (trailers ignored).
pub fn dechunk(data: &[u8]) -> Option<Vec<u8>> {
    dechunk_len(data).map(|(body, _)| body)
}

/// Decodes a chunked body; also returns how many bytes of `data` it spanned.
fn dechunk_len(data: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let eol = at + data[at..].windows(2).position(|w| w == b"\r\n")?;
        let line = std::str::from_utf8(&data[at..eol]).ok()?;
        let size = usize::from_str_radix(line.split(';').next()?.trim(), 16).ok()?;
        at = eol + 2;
        if size == 0 {
            // Skip trailer lines up to the empty line.
            loop {
                let eol = at + data[at..].windows(2).position(|w| w == b"\r\n")?;
                let empty = eol == at;
                at = eol + 2;
                if empty {
                    return Some((out, at));
                }
            }
        }
        out.extend_from_slice(data.get(at..at + size)?);
        at += size + 2;
    }
}

/// A server that accepts one connection and says nothing for `hold`, then closes it: for
/// client timeouts. Join the handle to make sure the connection was made.
pub fn silent_server(hold: Duration) -> (SocketAddr, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let holder = std::thread::spawn(move || {
        let (s, _) = listener.accept().expect("accept");
        std::thread::sleep(hold);
        drop(s);
    });
    (addr, holder)
}

/// A finished command's standard output, as text.
pub fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A finished command's standard error, as text.
pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Whether `cmd` is on PATH (to skip interoperability checks against optional peers).
pub fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Waits up to `limit` for the log at `path` to hold `lines` lines and returns its text: access-log
/// lines are buffered per thread and written within a second, in no set order across threads.
pub fn log_lines(path: &Path, lines: usize, limit: Duration) -> String {
    let end = Instant::now() + limit;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.lines().count() >= lines || Instant::now() >= end {
            return text;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Polls `cond` for up to 20 s, panicking with `what` if it never holds.
pub fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for: {what}");
}

/// The pid a script wrote to `path`, waiting for the file to appear.
pub fn read_pid(path: &Path) -> u32 {
    let mut pid = None;
    eventually("the script's pid file", || {
        pid = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok());
        pid.is_some()
    });
    pid.expect("pid")
}

/// A process that no longer runs: gone, or a zombie (a grandchild whose parent was killed
/// waits for init to reap it).
pub fn dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// A process that is gone altogether: killed and reaped.
pub fn reaped(pid: u32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}

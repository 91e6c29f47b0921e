//! Integration tests: `sockserve get`, against a scripted server that sends exactly the bytes a
//! test needs, against sockserve's own site, and against python's http.server and nginx.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::harness::{BIN, Running, have, silent_server, stderr, stdout};
use crate::tcp::closed_port;

/// One scripted answer: the bytes to send, and whether to close the connection after them.
struct Step {
    reply: Vec<u8>,
    close: bool,
}

fn reply(raw: &str) -> Step {
    Step {
        reply: raw.as_bytes().to_vec(),
        close: false,
    }
}

fn reply_and_close(raw: &str) -> Step {
    Step {
        reply: raw.as_bytes().to_vec(),
        close: true,
    }
}

/// A server that answers the requests it receives with `steps`, in order, on whichever
/// connection they arrive, and records each request (head and body) and each connection.
struct Scripted {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
    connections: Arc<Mutex<usize>>,
}

impl Scripted {
    fn start(steps: Vec<Step>) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(Mutex::new(0));
        let (log, count) = (requests.clone(), connections.clone());
        std::thread::spawn(move || {
            let mut steps = steps.into_iter();
            while let Ok((mut s, _)) = listener.accept() {
                *count.lock().expect("lock") += 1;
                s.set_read_timeout(Some(Duration::from_secs(30)))
                    .expect("timeout");
                while let Some(request) = read_request(&mut s) {
                    log.lock().expect("lock").push(request);
                    let Some(step) = steps.next() else { return };
                    if s.write_all(&step.reply).is_err() || step.close {
                        break;
                    }
                }
            }
        });
        Scripted {
            addr,
            requests,
            connections,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("lock").clone()
    }

    fn connections(&self) -> usize {
        *self.connections.lock().expect("lock")
    }
}

/// Reads one request head and its `Content-Length` body; `None` at end of stream.
fn read_request(s: &mut TcpStream) -> Option<String> {
    let mut data = Vec::new();
    let mut byte = [0u8; 1];
    while !data.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => data.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&data).into_owned();
    let length = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_string())
        })
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    s.read_exact(&mut body).ok()?;
    Some(head + &String::from_utf8_lossy(&body))
}

/// Runs `sockserve get ARGS...` to completion, with a generous timeout of its own.
fn get(args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("get")
        .args(args)
        .args(["--timeout", "30"])
        .stdin(Stdio::null())
        .output()
        .expect("run sockserve get")
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}; stderr: {}",
        out.status.code(),
        stderr(out)
    );
}

/// A failed run: exit `code` and one `sockserve: ` line on stderr, returned.
fn assert_fails(out: &Output, code: i32) -> String {
    let err = stderr(out);
    assert_eq!(
        out.status.code(),
        Some(code),
        "stderr: {err}; stdout: {}",
        stdout(out)
    );
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(err.starts_with("sockserve: "), "{err:?}");
    err
}

// --- body framing ---------------------------------------------------------------------------

#[test]
fn content_length_body() {
    let server = Scripted::start(vec![reply(
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    )]);
    let out = get(&[&server.url("/a?b=1")]);
    assert_ok(&out);
    assert_eq!(stdout(&out), "hello");
    let request = &server.requests()[0];
    assert!(request.starts_with("GET /a?b=1 HTTP/1.1\r\n"), "{request}");
    assert!(
        request.contains(&format!("\r\nHost: {}\r\n", server.addr)),
        "{request}"
    );
    assert!(request.contains("\r\nUser-Agent: sockserve/"), "{request}");
}

#[test]
fn chunked_body_with_extensions_and_trailers() {
    let server = Scripted::start(vec![reply(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
         6;name=value\r\nhello \r\n5\r\nworld\r\n0\r\nX-Trailer: yes\r\n\r\n",
    )]);
    let out = get(&[&server.url("/")]);
    assert_ok(&out);
    assert_eq!(stdout(&out), "hello world");
}

#[test]
fn close_delimited_body() {
    let server = Scripted::start(vec![reply_and_close(
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end",
    )]);
    let out = get(&[&server.url("/")]);
    assert_ok(&out);
    assert_eq!(stdout(&out), "until the end");
}

#[test]
fn interim_responses_are_skipped() {
    let server = Scripted::start(vec![reply(
        "HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    )]);
    let out = get(&["-i", &server.url("/")]);
    assert_ok(&out);
    assert!(
        stdout(&out).starts_with("HTTP/1.1 200 OK\r\n"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).ends_with("\r\n\r\nok"));
}

#[test]
fn head_request_reads_no_body() {
    // The length describes the GET body; after HEAD nothing follows and the client must not wait.
    let server = Scripted::start(vec![reply(
        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
    )]);
    let started = Instant::now();
    let out = get(&["-X", "HEAD", "-i", &server.url("/")]);
    assert_ok(&out);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(server.requests()[0].starts_with("HEAD / HTTP/1.1\r\n"));
    assert_eq!(
        stdout(&out),
        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
    );
}

// --- output options -------------------------------------------------------------------------

#[test]
fn include_and_trace_show_the_heads() {
    let server = Scripted::start(vec![reply(
        "HTTP/1.1 200 OK\r\nX-Test: 1\r\nContent-Length: 2\r\n\r\nhi",
    )]);
    let out = get(&["-i", "--trace", "-H", "X-Mine: a b", &server.url("/p")]);
    assert_ok(&out);
    assert_eq!(
        stdout(&out),
        "HTTP/1.1 200 OK\r\nX-Test: 1\r\nContent-Length: 2\r\n\r\nhi"
    );
    let err = stderr(&out);
    for line in [
        "> GET /p HTTP/1.1",
        &format!("> Host: {}", server.addr),
        "> x-mine: a b",
        "< HTTP/1.1 200 OK",
        "< X-Test: 1",
    ] {
        assert!(
            err.lines().any(|l| l == line),
            "missing {line:?} in:\n{err}"
        );
    }
    assert!(server.requests()[0].contains("\r\nx-mine: a b\r\n"));
}

#[test]
fn output_file_gets_the_body_and_stdout_stays_empty() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("out.bin");
    let body: String = (0..50_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let server = Scripted::start(vec![reply(&format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ))]);
    let out = get(&["-o", path.to_str().expect("utf-8"), &server.url("/big")]);
    assert_ok(&out);
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&path).expect("output file"), body);
}

#[test]
fn data_is_posted_with_its_length_and_form_type() {
    let server = Scripted::start(vec![
        reply("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"),
        reply("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    ]);
    assert_ok(&get(&["-d", "name=Ann&msg=hi", &server.url("/guestbook")]));
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("body.json");
    std::fs::write(&file, "{\"a\":1}").expect("write");
    let put = get(&[
        "-X",
        "PUT",
        "--data-file",
        file.to_str().expect("utf-8"),
        "-H",
        "Content-Type: application/json",
        &server.url("/thing"),
    ]);
    assert_ok(&put);
    let requests = server.requests();
    let post = &requests[0];
    assert!(post.starts_with("POST /guestbook HTTP/1.1\r\n"), "{post}");
    assert!(
        post.contains("\r\ncontent-type: application/x-www-form-urlencoded\r\n"),
        "{post}"
    );
    assert!(
        post.ends_with("\r\nContent-Length: 15\r\n\r\nname=Ann&msg=hi"),
        "{post}"
    );
    let put = &requests[1];
    assert!(put.starts_with("PUT /thing HTTP/1.1\r\n"), "{put}");
    assert!(
        put.contains("\r\ncontent-type: application/json\r\n"),
        "{put}"
    );
    assert!(put.ends_with("\r\n\r\n{\"a\":1}"), "{put}");
}

#[test]
fn fail_exits_22_on_client_and_server_errors() {
    let page = "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found";
    let server = Scripted::start(vec![reply(page), reply(page)]);
    let plain = get(&[&server.url("/missing")]);
    assert_ok(&plain);
    assert_eq!(stdout(&plain), "not found");
    let failed = get(&["--fail", &server.url("/missing")]);
    let err = assert_fails(&failed, 22);
    assert!(err.contains("404 Not Found"), "{err}");
    assert!(failed.stdout.is_empty());
}

// --- redirects ------------------------------------------------------------------------------

#[test]
fn redirects_are_followed_on_one_kept_alive_connection() {
    let server = Scripted::start(vec![
        reply("HTTP/1.1 302 Found\r\nLocation: /two\r\nContent-Length: 5\r\n\r\nmoved"),
        reply(
            "HTTP/1.1 301 Moved Permanently\r\nLocation: three?x=1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        ),
        reply("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\narrived"),
    ]);
    let out = get(&["-L", "--trace", &server.url("/one")]);
    assert_ok(&out);
    assert_eq!(stdout(&out), "arrived");
    let paths: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.lines().next().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        paths,
        [
            "GET /one HTTP/1.1",
            "GET /two HTTP/1.1",
            "GET /three?x=1 HTTP/1.1"
        ]
    );
    assert_eq!(server.connections(), 1, "{}", stderr(&out));
    assert_eq!(stderr(&out).matches("* reusing the connection").count(), 2);
}

#[test]
fn without_follow_the_redirect_itself_is_printed() {
    let server = Scripted::start(vec![reply(
        "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 5\r\n\r\nmoved",
    )]);
    let out = get(&[&server.url("/")]);
    assert_ok(&out);
    assert_eq!(stdout(&out), "moved");
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn redirect_methods_change_as_browsers_do() {
    let server = Scripted::start(vec![
        reply("HTTP/1.1 307 Temporary Redirect\r\nLocation: /again\r\nContent-Length: 0\r\n\r\n"),
        reply("HTTP/1.1 303 See Other\r\nLocation: /result\r\nContent-Length: 0\r\n\r\n"),
        reply("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone"),
    ]);
    let out = get(&["-L", "-d", "x=1", &server.url("/form")]);
    assert_ok(&out);
    assert_eq!(stdout(&out), "done");
    let requests = server.requests();
    assert!(requests[0].starts_with("POST /form ") && requests[0].ends_with("x=1"));
    assert!(
        requests[1].starts_with("POST /again ") && requests[1].ends_with("x=1"),
        "{}",
        requests[1]
    );
    assert!(requests[2].starts_with("GET /result "), "{}", requests[2]);
    assert!(!requests[2].contains("Content-Length"), "{}", requests[2]);
}

#[test]
fn redirect_to_another_server_opens_a_new_connection() {
    let target = Scripted::start(vec![reply(
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nthere",
    )]);
    let origin = Scripted::start(vec![reply(&format!(
        "HTTP/1.1 301 Moved Permanently\r\nLocation: {}\r\nContent-Length: 0\r\n\r\n",
        target.url("/new")
    ))]);
    let out = get(&["-L", "-H", "Authorization: secret", &origin.url("/old")]);
    assert_ok(&out);
    assert_eq!(stdout(&out), "there");
    assert!(origin.requests()[0].contains("authorization: secret"));
    // Credentials are not handed to a different host.
    assert!(
        !target.requests()[0]
            .to_ascii_lowercase()
            .contains("authorization")
    );
}

#[test]
fn a_redirect_loop_stops_after_ten() {
    let hop = "HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n";
    let server = Scripted::start((0..12).map(|_| reply(hop)).collect());
    let out = get(&["-L", &server.url("/loop")]);
    let err = assert_fails(&out, 1);
    assert!(err.contains("too many redirects"), "{err}");
    assert_eq!(server.requests().len(), 11);
}

#[test]
fn a_redirect_to_https_is_followed_over_tls() {
    let port = closed_port();
    let server = Scripted::start(vec![reply(&format!(
        "HTTP/1.1 301 Moved\r\nLocation: https://127.0.0.1:{port}/\r\nContent-Length: 0\r\n\r\n"
    ))]);
    let err = assert_fails(&get(&["-L", &server.url("/")]), 1);
    assert!(
        err.contains(&format!("cannot connect to 127.0.0.1:{port}")),
        "{err}"
    );
}

// --- bad servers ----------------------------------------------------------------------------

#[test]
fn garbage_instead_of_http() {
    let server = Scripted::start(vec![reply_and_close("SSH-2.0-OpenSSH_9.6\r\n")]);
    let err = assert_fails(&get(&[&server.url("/")]), 1);
    assert!(err.contains("malformed response"), "{err}");
}

#[test]
fn close_in_the_middle_of_the_body() {
    let server = Scripted::start(vec![reply_and_close(
        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b",
    )]);
    let out = get(&[&server.url("/")]);
    let err = assert_fails(&out, 1);
    assert!(err.contains("before the body was complete"), "{err}");
    // What did arrive was passed on, as curl does.
    assert_eq!(stdout(&out), "only ten b");
}

#[test]
fn close_in_the_middle_of_a_chunked_body() {
    let server = Scripted::start(vec![reply_and_close(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
    )]);
    let err = assert_fails(&get(&[&server.url("/")]), 1);
    assert!(err.contains("before the body was complete"), "{err}");
}

#[test]
fn close_without_any_response() {
    let server = Scripted::start(vec![reply_and_close("")]);
    let err = assert_fails(&get(&[&server.url("/")]), 1);
    assert!(err.contains("without a response"), "{err}");
}

#[test]
fn malformed_chunk_size() {
    let server = Scripted::start(vec![reply(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    )]);
    let err = assert_fails(&get(&[&server.url("/")]), 1);
    assert!(err.contains("bad response body"), "{err}");
}

#[test]
fn conflicting_lengths_are_refused() {
    let server = Scripted::start(vec![reply(
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
    )]);
    let err = assert_fails(&get(&[&server.url("/")]), 1);
    assert!(err.contains("invalid Content-Length"), "{err}");
}

#[test]
fn a_silent_server_times_out() {
    let (addr, holder) = silent_server(Duration::from_secs(5));
    let out = Command::new(BIN)
        .args(["get", &format!("http://{addr}/"), "--timeout", "1"])
        .output()
        .expect("run");
    let err = assert_fails(&out, 1);
    assert!(
        err.contains("timed out after 1s waiting for the response"),
        "{err}"
    );
    holder.join().expect("holder");
}

// --- bad input ------------------------------------------------------------------------------

#[test]
fn unreachable_and_unknown_hosts() {
    let port = closed_port();
    let err = assert_fails(&get(&[&format!("http://127.0.0.1:{port}/")]), 1);
    assert!(
        err.contains(&format!("cannot connect to 127.0.0.1:{port}")),
        "{err}"
    );
    let out = get(&["http://no-such-host.invalid/"]);
    let err = assert_fails(&out, 1);
    assert!(err.contains("no-such-host.invalid"), "{err}");
}

#[test]
fn malformed_urls_are_usage_errors() {
    for (url, expected) in [
        ("ftp://example.com/", "unsupported URL scheme"),
        ("http://", "has no host"),
        ("http://exa mple.com/", "invalid host"),
        ("http://example.com:99999/", "invalid port"),
        ("http://user:pw@example.com/", "credentials"),
        ("http://[::1/", "invalid host"),
    ] {
        let err = assert_fails(&get(&[url]), 2);
        assert!(err.contains(expected), "{url}: {err}");
    }
    let err = assert_fails(&get(&["-H", "no colon", "http://127.0.0.1:1/"]), 2);
    assert!(err.contains("Name: value"), "{err}");
    let err = assert_fails(&get(&["-H", "Content-Length: 5", "http://127.0.0.1:1/"]), 2);
    assert!(err.contains("framing"), "{err}");
    let err = assert_fails(&get(&["-X", "GE T", "http://127.0.0.1:1/"]), 2);
    assert!(err.contains("not a valid method"), "{err}");
}

// --- against real servers -------------------------------------------------------------------

#[test]
fn against_sockserve_itself() {
    let (site, _dir) = crate::foundation::site(&[]);
    let page = get(&["-i", &site.url("/")]);
    assert_ok(&page);
    let text = stdout(&page);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("<title>WOW</title>"), "{text}");
    let head = get(&["-X", "HEAD", "-i", &site.url("/")]);
    assert_ok(&head);
    let text = stdout(&head);
    assert!(
        text.starts_with("HTTP/1.1 200 OK\r\n") && text.ends_with("\r\n\r\n"),
        "{text}"
    );
    assert!(
        text.to_ascii_lowercase().contains("content-length:"),
        "{text}"
    );
    let missing = get(&["--fail", &site.url("/no/such/page")]);
    let err = assert_fails(&missing, 22);
    assert!(err.contains("404"), "{err}");
}

/// Waits until something accepts connections on `addr` (or `child` exits).
fn wait_listening(addr: SocketAddr, child: &mut Child) -> bool {
    let end = Instant::now() + Duration::from_secs(30);
    while Instant::now() < end {
        if TcpStream::connect(addr).is_ok() {
            return true;
        }
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// A child process killed when dropped.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn write_site(root: &Path) {
    std::fs::create_dir(root.join("docs")).expect("mkdir");
    std::fs::write(root.join("docs/index.html"), "<h1>docs</h1>\n").expect("write");
    std::fs::write(root.join("hello.txt"), "hello from a file\n".repeat(200)).expect("write");
}

#[test]
fn against_python_http_server() {
    if !have("python3") {
        eprintln!("python3 not found; skipping");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    write_site(dir.path());
    let port = closed_port();
    let child = Command::new("python3")
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
        ])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn python3");
    let mut python = Peer(child);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    assert!(
        wait_listening(addr, &mut python.0),
        "python http.server did not start"
    );
    let file = get(&["-i", &format!("http://{addr}/hello.txt")]);
    assert_ok(&file);
    let text = stdout(&file);
    // http.server answers HTTP/1.0 with a length and closes.
    assert!(text.starts_with("HTTP/1.0 200 OK\r\n"), "{text}");
    assert!(text.ends_with(&"hello from a file\n".repeat(200)));
    // A directory without its slash is a 301 to the slash.
    let dir_page = get(&["-L", &format!("http://{addr}/docs")]);
    assert_ok(&dir_page);
    assert_eq!(stdout(&dir_page), "<h1>docs</h1>\n");
    let missing = get(&["--fail", &format!("http://{addr}/nope")]);
    assert_fails(&missing, 22);
}

#[test]
fn against_nginx() {
    if !have("nginx") {
        eprintln!("nginx not found; skipping");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write_site(root);
    let port = closed_port();
    let conf = format!(
        "daemon off;\nmaster_process off;\nuser root;\npid {r}/nginx.pid;\nerror_log {r}/error.log;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {r}/tmp;\n  proxy_temp_path {r}/tmp;\n\
         fastcgi_temp_path {r}/tmp;\n  uwsgi_temp_path {r}/tmp;\n  scgi_temp_path {r}/tmp;\n\
         gzip on;\n  gzip_min_length 1;\n  gzip_types text/plain;\n\
         server {{\n    listen 127.0.0.1:{port};\n    root {r};\n\
         location = /a {{ return 302 /b; }}\n    location = /b {{ return 301 /hello.txt; }}\n  }}\n}}\n",
        r = root.display()
    );
    std::fs::write(root.join("nginx.conf"), conf).expect("write conf");
    let child = Command::new("nginx")
        .args([
            "-p",
            &root.display().to_string(),
            "-c",
            &root.join("nginx.conf").display().to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn nginx");
    let mut nginx = Peer(child);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    if !wait_listening(addr, &mut nginx.0) {
        eprintln!(
            "nginx did not start: {}",
            std::fs::read_to_string(root.join("error.log")).unwrap_or_default()
        );
        return;
    }
    // Redirect chain over nginx's keep-alive connection.
    let out = get(&["-L", "--trace", &format!("http://{addr}/a")]);
    assert_ok(&out);
    assert_eq!(stdout(&out), "hello from a file\n".repeat(200));
    assert_eq!(
        stderr(&out).matches("* reusing the connection").count(),
        2,
        "{}",
        stderr(&out)
    );
    // Compressed on request: nginx streams gzip with chunked framing, passed through as is.
    let gz = get(&[
        "-i",
        "-H",
        "Accept-Encoding: gzip",
        &format!("http://{addr}/hello.txt"),
    ]);
    assert_ok(&gz);
    let raw = gz.stdout;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("head") + 4;
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    assert!(
        raw[split..].starts_with(&[0x1f, 0x8b]),
        "not gzip after the head"
    );
    let head_only = get(&["-X", "HEAD", &format!("http://{addr}/hello.txt")]);
    assert_ok(&head_only);
    assert!(head_only.stdout.is_empty());
}

#[test]
fn against_the_scripted_server_keep_alive_is_refused_after_close() {
    // `Connection: close` on the first response: the redirect needs a second connection.
    let server = Scripted::start(vec![
        reply_and_close(
            "HTTP/1.1 302 Found\r\nLocation: /b\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        ),
        reply("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"),
    ]);
    let out = get(&["-L", &server.url("/a")]);
    assert_ok(&out);
    assert_eq!(stdout(&out), "b");
    assert_eq!(server.connections(), 2);
}

#[test]
fn python_style_http_1_0_keep_alive_needs_the_token() {
    let server = Scripted::start(vec![
        reply(
            "HTTP/1.0 302 Found\r\nLocation: /b\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
        ),
        reply("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nb"),
    ]);
    let out = get(&["-L", &server.url("/a")]);
    assert_ok(&out);
    assert_eq!(server.connections(), 1);
}

#[test]
fn a_stale_kept_alive_connection_is_retried_once() {
    // The server closes after the redirect without saying so: the reused connection is dead,
    // and the request goes again on a new one.
    let server = Scripted::start(vec![
        reply_and_close("HTTP/1.1 302 Found\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n"),
        reply("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"),
    ]);
    let out = get(&["-L", "--trace", &server.url("/a")]);
    assert_ok(&out);
    assert_eq!(stdout(&out), "b");
    assert_eq!(server.connections(), 2);
    assert!(
        stderr(&out).contains("* reusing the connection"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_early_answer_to_a_large_upload_is_shown() {
    let (site, dir) = crate::foundation::site(&["--max-body-size", "1000"]);
    let upload = dir.path().join("upload.bin");
    std::fs::write(&upload, vec![b'x'; 3 * 1024 * 1024]).expect("write");
    let out = get(&[
        "--fail",
        "--data-file",
        upload.to_str().expect("utf-8"),
        &site.url("/echo"),
    ]);
    let err = assert_fails(&out, 22);
    assert!(err.contains("413"), "{err}");
}

/// `sockserve serve DIR --cgi` on a free port, with a 3 MB file and a CGI script.
fn file_server() -> (Running, tempfile::TempDir, Vec<u8>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let big: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.path().join("big.bin"), &big).expect("write");
    std::fs::create_dir(dir.path().join("cgi-bin")).expect("mkdir");
    let script = dir.path().join("cgi-bin/hi.sh");
    std::fs::write(
        &script,
        // The pause makes the server stream the output rather than collect it first.
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\necho hello\nsleep 1\necho from cgi\n",
    )
    .expect("write");
    let mut perms = std::fs::metadata(&script).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).expect("chmod");
    let root = dir.path().to_str().expect("utf-8").to_string();
    let server = Running::start(&["serve", &root, "-p", "0", "--cgi", "-q"]);
    (server, dir, big)
}

#[test]
fn against_sockserve_serve_files_and_cgi() {
    let (server, dir, big) = file_server();
    // A script that pauses is streamed, and without a length that means chunked.
    let cgi = get(&["-i", &server.url("/cgi-bin/hi.sh")]);
    assert_ok(&cgi);
    let text = stdout(&cgi);
    assert!(
        text.to_ascii_lowercase()
            .contains("\r\ntransfer-encoding: chunked\r\n"),
        "{text}"
    );
    assert!(text.ends_with("\r\n\r\nhello\nfrom cgi\n"), "{text}");
    // A large file, sent with sendfile, written with -o; no progress bar off a terminal.
    let path = dir.path().join("copy.bin");
    let copy = get(&["-o", path.to_str().expect("utf-8"), &server.url("/big.bin")]);
    assert_ok(&copy);
    assert!(copy.stderr.is_empty(), "{}", stderr(&copy));
    assert!(std::fs::read(&path).expect("copy") == big, "copy differs");
}

#[test]
fn progress_bar_on_a_terminal() {
    if !have("script") {
        eprintln!("script(1) not found; skipping");
        return;
    }
    let (server, dir, big) = file_server();
    let path = dir.path().join("copy.bin");
    // script(1) runs the command on a pseudo-terminal, so stderr is a terminal.
    let command = format!("{BIN} get -o {} {}", path.display(), server.url("/big.bin"));
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .expect("run script");
    assert!(out.status.success(), "{}", stdout(&out));
    let screen = stdout(&out);
    assert!(screen.contains("] 100%  3.0 MiB / 3.0 MiB"), "{screen:?}");
    assert!(std::fs::read(&path).expect("copy") == big, "copy differs");
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let body = "x".repeat(4 * 1024 * 1024);
    let server = Scripted::start(vec![reply(&format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ))]);
    let command = format!(
        "set -o pipefail; {BIN} get {} | head -c 10 >/dev/null",
        server.url("/")
    );
    let out = Command::new("bash")
        .args(["-c", &command])
        .output()
        .expect("run bash");
    assert!(out.status.success(), "{:?}: {}", out.status, stderr(&out));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
}

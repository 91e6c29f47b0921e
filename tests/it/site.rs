//! Integration tests of the demo site: the real binary, real sockets, a real SQLite file.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::harness::{Resp, Running, get, request};

/// The site on a free port with `db` as its database.
pub(crate) fn start(db: &Path) -> Running {
    let db = db.to_str().expect("utf-8 path");
    Running::start(&["-p", "0", "-q", "--db", db])
}

/// A fresh database path in a new temporary directory.
pub(crate) fn fresh_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("guestbook.db");
    (dir, db)
}

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

/// A session cookie and its CSRF token, as a browser gets them by loading the guestbook: the
/// form's posts need both.
pub(crate) struct FormSession {
    pub(crate) cookie: String,
    pub(crate) token: String,
}

impl FormSession {
    pub(crate) fn new(server: &Running) -> FormSession {
        let page = get(server.addr, "/guestbook");
        let cookie = page
            .header("set-cookie")
            .and_then(|c| c.split(';').next())
            .expect("a session cookie")
            .to_string();
        let html = page.text();
        let marker = r#"name="csrf_token" value=""#;
        let at = html.find(marker).expect("a CSRF token in the form") + marker.len();
        let token = html[at..].split('"').next().expect("token").to_string();
        FormSession { cookie, token }
    }

    /// The form's content type, the cookie, and the token in `X-CSRF-Token`.
    pub(crate) fn headers(&self) -> [(&str, &str); 3] {
        [
            FORM,
            ("Cookie", &self.cookie),
            ("X-CSRF-Token", &self.token),
        ]
    }
}

fn post_form(server: &Running, body: &str) -> Resp {
    let session = FormSession::new(server);
    request(
        server.addr,
        "POST",
        "/guestbook",
        &session.headers(),
        body.as_bytes(),
    )
}

pub(crate) fn post_message(server: &Running, name: &str, message: &str) {
    let body = format!("name={}&message={}", encode(name), encode(message));
    let r = post_form(server, &body);
    assert_eq!(r.status, 303, "post {name:?}: {}", r.text());
    assert_eq!(r.header("location"), Some("/guestbook"));
}

/// Percent-encodes everything but unreserved characters.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// POSTs a body the server refuses before reading it: the server may close while the body is
/// still being written, so write errors are ignored and the answer is read anyway.
fn oversized(server: &Running, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
    use std::io::Write;
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut s = server.connect();
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let _ = s
        .write_all(head.as_bytes())
        .and_then(|()| s.write_all(body));
    let data = crate::harness::read_to_close(&mut s);
    crate::harness::parse_response(&data, false).unwrap_or_else(|| panic!("no response to {path}"))
}

pub(crate) fn api_total(server: &Running) -> u64 {
    let r = get(server.addr, "/api/messages");
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    v["total"].as_u64().expect("total")
}

#[test]
fn front_page_links_and_methods() {
    let (_dir, db) = fresh_db();
    let server = start(&db);
    let page = get(server.addr, "/");
    for link in ["/time", "/guestbook", "/echo"] {
        assert!(
            page.text().contains(&format!("href=\"{link}\"")),
            "link to {link}"
        );
    }
    let again = request(
        server.addr,
        "GET",
        "/",
        &[("If-None-Match", page.header("etag").expect("etag"))],
        b"",
    );
    assert_eq!(again.status, 304);
    let post = request(server.addr, "POST", "/test.jpg", &[], b"x");
    assert_eq!(post.status, 405);
    assert!(
        post.header("allow")
            .is_some_and(|a| a.contains("GET") && a.contains("HEAD"))
    );
    for method in ["MKCOLA", "PURGE", "LINK", "get"] {
        assert_eq!(
            request(server.addr, method, "/", &[], b"").status,
            501,
            "{method}"
        );
    }
    let head = request(server.addr, "HEAD", "/guestbook", &[], b"");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
}

#[test]
fn guestbook_post_redirect_get_and_escaping() {
    let (_dir, db) = fresh_db();
    let server = start(&db);
    post_message(
        &server,
        "Ann <admin>",
        "<script>alert(1)</script>\nsecond line",
    );
    let page = get(server.addr, "/guestbook");
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(html.contains("Ann &lt;admin&gt;"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // The page's own script is the only one.
    assert_eq!(html.matches("<script>").count(), 1, "{html}");
    assert!(!html.contains("<script>alert"));
    let api = get(server.addr, "/api/messages");
    let v: serde_json::Value = serde_json::from_slice(&api.body).expect("json");
    assert_eq!(
        v["messages"][0]["message"],
        "<script>alert(1)</script>\nsecond line"
    );
}

#[test]
fn guestbook_pages_newest_first() {
    let (_dir, db) = fresh_db();
    let server = start(&db);
    for i in 0..55 {
        let body = format!(r#"{{"name":"n{i}","message":"m{i}"}}"#);
        let r = request(
            server.addr,
            "POST",
            "/api/messages",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let first = get(server.addr, "/guestbook").text();
    assert!(first.find("m54").expect("newest") < first.find("m53").expect("next"));
    assert!(!first.contains(">m4<"), "page 1 holds only 50");
    assert!(first.contains("/guestbook?page=2"));
    let second = get(server.addr, "/guestbook?page=2").text();
    assert!(second.contains(">m4<") && second.contains(">m0<"));
    assert_eq!(get(server.addr, "/guestbook?page=abc").status, 400);
}

#[test]
fn bad_input_for_every_field() {
    let (_dir, db) = fresh_db();
    let server = start(&db);
    let long_name = "a".repeat(65);
    let long_message = "b".repeat(2001);
    let cases = [
        ("message=hi".to_string(), 422, "Please write a name"),
        (
            "name=+++&message=hi".to_string(),
            422,
            "Please write a name",
        ),
        (
            format!("name={long_name}&message=hi"),
            422,
            "name is too long",
        ),
        (
            "name=a%00b&message=hi".to_string(),
            422,
            "control character",
        ),
        (
            "name=a%0D%0Ab&message=hi".to_string(),
            422,
            "control character",
        ),
        ("name=%E9t%E9&message=hi".to_string(), 400, "UTF-8"),
        ("name=Ann".to_string(), 422, "Please write a message"),
        (
            "name=Ann&message=%20%0A".to_string(),
            422,
            "Please write a message",
        ),
        (
            format!("name=Ann&message={long_message}"),
            422,
            "message is too long",
        ),
        (
            "name=Ann&message=bell%07".to_string(),
            422,
            "control character",
        ),
        ("name=Ann&message=%FF%FE".to_string(), 400, "UTF-8"),
    ];
    for (body, status, needle) in &cases {
        let r = post_form(&server, body);
        assert_eq!(r.status, *status, "{body}: {}", r.text());
        let html = r.text();
        assert!(html.contains("<form"), "{body}: the form again");
        assert!(html.contains(needle), "{body}: {needle:?} in {html}");
    }
    // What the visitor typed comes back, escaped, so they can fix it.
    let r = post_form(&server, "name=%3Cb%3E&message=");
    assert!(r.text().contains(r#"value="&lt;b&gt;""#), "{}", r.text());
    let session = FormSession::new(&server);
    let [_, cookie, token] = session.headers();
    let wrong_type = request(
        server.addr,
        "POST",
        "/guestbook",
        &[("Content-Type", "text/plain"), cookie, token],
        b"name=a&message=b",
    );
    assert_eq!(wrong_type.status, 415);
    let huge = format!("name=Ann&message={}", "x".repeat(1024 * 1024));
    let r = oversized(&server, "/guestbook", &session.headers(), huge.as_bytes());
    assert_eq!(r.status, 413);
    assert!(r.text().contains("<form"));
    assert_eq!(api_total(&server), 0, "no bad post was stored");
}

#[test]
fn messages_survive_restart_and_kill_9() {
    let (_dir, db) = fresh_db();
    let mut server = start(&db);
    post_message(&server, "before", "graceful restart");
    server.terminate();
    assert!(
        server.wait_exit(Duration::from_secs(60)).is_some(),
        "exits on SIGTERM"
    );
    let mut server = start(&db);
    assert_eq!(api_total(&server), 1);
    post_message(&server, "killed", "answered then SIGKILL");
    server.child.kill().expect("SIGKILL");
    let _ = server.child.wait();
    let server = start(&db);
    let html = get(server.addr, "/guestbook").text();
    assert!(html.contains("answered then SIGKILL"), "{html}");
    assert!(html.contains("graceful restart"));
    let conn = rusqlite::Connection::open(&db).expect("open db");
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("pragma");
    assert_eq!(mode, "wal");
}

#[test]
fn fifty_concurrent_posters_none_lost() {
    let (_dir, db) = fresh_db();
    let server = start(&db);
    let addr = server.addr;
    let session = std::sync::Arc::new(FormSession::new(&server));
    let threads: Vec<_> = (0..50)
        .map(|i| {
            let session = session.clone();
            std::thread::spawn(move || {
                let body = format!("name=poster{i}&message=concurrent+{i}");
                request(
                    addr,
                    "POST",
                    "/guestbook",
                    &session.headers(),
                    body.as_bytes(),
                )
                .status
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().expect("poster thread"), 303);
    }
    assert_eq!(api_total(&server), 50);
    let html = get(server.addr, "/guestbook").text();
    for i in 0..50 {
        assert!(html.contains(&format!("concurrent {i}<")), "message {i}");
    }
}

#[test]
fn time_as_html_and_json() {
    let (_dir, db) = fresh_db();
    let server = start(&db);
    let html = get(server.addr, "/time");
    assert_eq!(
        html.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(html.text().contains("<time"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    for r in [
        request(
            server.addr,
            "GET",
            "/time",
            &[("Accept", "application/json")],
            b"",
        ),
        get(server.addr, "/time?format=json"),
    ] {
        assert_eq!(r.header("content-type"), Some("application/json"));
        let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
        assert!((v["unix"].as_i64().expect("unix") - now).abs() < 30);
        let utc = v["utc"].as_str().expect("utc");
        assert!(utc.ends_with('Z') && utc.contains('T'), "{utc}");
        assert!(v["local"].as_str().is_some());
    }
}

#[test]
fn echo_shows_the_request() {
    let (_dir, db) = fresh_db();
    let server = start(&db);
    let headers = [
        ("X-Second", "2"),
        ("X-First", "1"),
        ("Accept", "application/json"),
    ];
    let r = request(server.addr, "PUT", "/echo?a=1", &headers, b"hello body");
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    assert_eq!(v["method"], "PUT");
    assert_eq!(v["target"], "/echo?a=1");
    assert_eq!(v["version"], "HTTP/1.1");
    let names: Vec<&str> = v["headers"]
        .as_array()
        .expect("headers")
        .iter()
        .filter_map(|h| h[0].as_str())
        .collect();
    assert_eq!(
        names[..5],
        ["Host", "Connection", "X-Second", "X-First", "Accept"]
    );
    assert_eq!(
        v["body"],
        serde_json::json!({"encoding": "text", "data": "hello body", "length": 10})
    );

    let r = request(
        server.addr,
        "POST",
        "/echo?format=json",
        &[],
        &[0xff, 0x00, 0x01],
    );
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    assert_eq!(v["body"]["encoding"], "base64");
    assert_eq!(v["body"]["data"], "/wAB");

    let html = request(server.addr, "GET", "/echo", &[("X-Test", "<i>")], b"").text();
    assert!(html.contains("request line") && html.contains("&lt;i&gt;"));

    let big = vec![b'x'; 1024 * 1024 + 1];
    assert_eq!(oversized(&server, "/echo", &[], &big).status, 413);
    assert_eq!(
        request(server.addr, "BREW", "/echo", &[], b"").status,
        200,
        "any method"
    );
}

#[test]
fn unusable_database_is_a_clear_start_up_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("missing-dir").join("x.db");
    let out = std::process::Command::new(crate::harness::BIN)
        .args(["-p", "0", "--db", db.to_str().expect("utf-8")])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("x.db") && err.contains("cannot open"), "{err}");
}

/// A real headless Chromium, driven over the W3C WebDriver protocol through `chromedriver`.
pub(crate) mod browser {
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::process::{Child, Command, Stdio};

    use serde_json::{Value, json};

    use super::*;
    use crate::harness::free_port;

    const CHROMIUM: &str = "/usr/bin/chromium";
    const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

    pub(crate) struct Driver {
        child: Child,
        addr: SocketAddr,
        session: String,
        /// Chromium's profile directory, removed after the browser quits.
        profile: tempfile::TempDir,
    }

    impl Drop for Driver {
        fn drop(&mut self) {
            let _ = call(
                self.addr,
                "DELETE",
                &format!("/session/{}", self.session),
                None,
            );
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// One WebDriver command; the `value` of its answer.
    fn call(
        addr: SocketAddr,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let raw = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let mut s = TcpStream::connect(addr).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(Duration::from_secs(120)))
            .map_err(|e| e.to_string())?;
        s.write_all(raw.as_bytes()).map_err(|e| e.to_string())?;
        let data = read_response(&mut s)?;
        let resp =
            crate::harness::parse_response(&data, false).ok_or("unparseable WebDriver answer")?;
        let v: Value =
            serde_json::from_slice(&resp.body).map_err(|e| format!("{e}: {}", resp.text()))?;
        if resp.status != 200 {
            return Err(format!("{method} {path}: {} {v}", resp.status));
        }
        Ok(v["value"].clone())
    }

    /// Reads one response by its `Content-Length`: chromedriver says `Connection: close` but
    /// keeps the connection open.
    fn read_response(s: &mut TcpStream) -> Result<Vec<u8>, String> {
        let mut data = Vec::new();
        let mut buf = [0u8; 65536];
        loop {
            if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
                let len = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok());
                if len.is_some_and(|len| data.len() >= end + 4 + len) {
                    return Ok(data);
                }
            }
            match s.read(&mut buf) {
                Ok(0) => return Ok(data),
                Ok(n) => data.extend_from_slice(&buf[..n]),
                Err(e) => return Err(format!("reading from chromedriver: {e}")),
            }
        }
    }

    pub(crate) fn start_driver() -> Driver {
        start_driver_with(&[])
    }

    /// [`start_driver`] with more Chromium flags (e.g. a certificate to trust).
    pub(crate) fn start_driver_with(extra_args: &[String]) -> Driver {
        assert!(
            Path::new(CHROMIUM).exists(),
            "{CHROMIUM} is missing: install Debian's `chromium` and `chromium-driver` (.ci/run does)"
        );
        let port = free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run chromedriver ({e}): install Debian's `chromium-driver`")
            });
        // From here on, dropping the driver (also on a failed assertion) stops chromedriver.
        let mut driver = Driver {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            session: String::new(),
            profile: tempfile::tempdir().expect("profile dir"),
        };
        let addr = driver.addr;
        let deadline = Instant::now() + Duration::from_secs(60);
        while call(addr, "GET", "/status", None).map(|v| v["ready"] == true) != Ok(true) {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            format!("--user-data-dir={}", driver.profile.path().display()),
        ];
        args.extend_from_slice(extra_args);
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
        }}});
        let session = call(addr, "POST", "/session", Some(caps))
            .unwrap_or_else(|e| panic!("cannot start headless Chromium: {e}"));
        driver.session = session["sessionId"]
            .as_str()
            .expect("session id")
            .to_string();
        driver
    }

    impl Driver {
        pub(crate) fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
            let full = format!("/session/{}{path}", self.session);
            call(self.addr, method, &full, body).unwrap_or_else(|e| panic!("{e}"))
        }

        pub(crate) fn go(&self, url: &str) {
            self.cmd("POST", "/url", Some(json!({"url": url})));
        }

        pub(crate) fn script(&self, script: &str) -> Value {
            self.cmd(
                "POST",
                "/execute/sync",
                Some(json!({"script": script, "args": []})),
            )
        }

        pub(crate) fn element(&self, css: &str) -> String {
            let v = self.cmd(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            );
            v[ELEMENT].as_str().expect("element id").to_string()
        }

        /// Polls `check` for up to 30 s.
        pub(crate) fn wait_for(&self, what: &str, check: impl Fn(&Driver) -> bool) {
            let deadline = Instant::now() + Duration::from_secs(30);
            while !check(self) {
                assert!(Instant::now() < deadline, "timed out waiting for {what}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    #[test]
    fn chromium_shows_the_picture_and_signs_the_guestbook() {
        let (_dir, db) = fresh_db();
        let server = start(&db);
        let driver = start_driver();
        driver.go(&server.url("/"));
        assert_eq!(driver.script("return document.title"), "WOW");
        driver.wait_for("the picture to decode", |d| {
            d.script("const i = document.querySelector('img'); return i.complete && i.naturalWidth")
                .as_u64()
                .is_some_and(|w| w > 0)
        });
        assert_eq!(
            driver.script("return document.querySelector('img').naturalWidth"),
            300
        );

        driver.go(&server.url("/guestbook"));
        let name = driver.element("#name");
        driver.cmd(
            "POST",
            &format!("/element/{name}/value"),
            Some(json!({"text": "Chromium"})),
        );
        let message = driver.element("#message");
        let text = "Signed by a real browser <b>not bold</b>";
        driver.cmd(
            "POST",
            &format!("/element/{message}/value"),
            Some(json!({"text": text})),
        );
        let button = driver.element("button[type=submit]");
        driver.cmd("POST", &format!("/element/{button}/click"), Some(json!({})));
        driver.wait_for("the message after the redirect", |d| {
            d.script("return document.body.innerText")
                .as_str()
                .is_some_and(|t| t.contains(text))
        });
        let url = driver.cmd("GET", "/url", None);
        assert_eq!(
            url.as_str(),
            Some(server.url("/guestbook").as_str()),
            "redirected back to the page"
        );
        assert_eq!(
            driver.script("return document.querySelectorAll('article b').length"),
            0,
            "escaped"
        );
        assert_eq!(super::api_total(&server), 1);
    }
}

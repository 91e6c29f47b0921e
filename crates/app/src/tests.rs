//! The site's routes, called without a socket, against a real SQLite file.

use bytes::Bytes;
use web::{Body, Request, Response, ResponseBody};

use super::*;

struct Fixture {
    _dir: tempfile::TempDir,
    app: Layered,
    rt: tokio::runtime::Runtime,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("site.db")).expect("open db");
        Fixture {
            _dir: dir,
            app: layered(router(Site { store })),
            rt: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime"),
        }
    }

    fn call(&self, head: &str, body: &[u8]) -> Response {
        let raw = format!("{head}\r\n\r\n");
        let req = Request::from_raw_head(raw.as_bytes(), Body::full(Bytes::copy_from_slice(body)))
            .expect("valid head");
        self.rt.block_on(self.app.call(req))
    }

    /// Posts the guestbook's form as a browser would: with the session cookie and the CSRF
    /// token of the page it loaded first.
    fn post_form(&self, body: &str) -> Response {
        let session = self.session();
        let head = format!(
            "POST /guestbook HTTP/1.1\r\nHost: t\r\n{session}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}",
            body.len()
        );
        self.call(&head, body.as_bytes())
    }

    /// The `Cookie` and `X-CSRF-Token` lines of a visitor who loaded the guestbook.
    fn session(&self) -> String {
        let page = self.call("GET /guestbook HTTP/1.1\r\nHost: t", b"");
        let cookie = cookie_of(&page).expect("a session cookie");
        let html = text(&page);
        let marker = r#"name="csrf_token" value=""#;
        let at = html.find(marker).expect("a token") + marker.len();
        let token = html[at..].split('"').next().expect("token");
        format!("Cookie: {cookie}\r\nX-CSRF-Token: {token}")
    }
}

/// The `name=value` of the response's session cookie, if it set one.
fn cookie_of(r: &Response) -> Option<String> {
    let c = r.headers.get_str("set-cookie")?;
    Some(c.split(';').next()?.to_string())
}

fn text(r: &Response) -> String {
    match &r.body {
        ResponseBody::Full(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    }
}

#[test]
fn front_page_picture_and_methods() {
    let f = Fixture::new();
    let r = f.call("GET / HTTP/1.1\r\nHost: t", b"");
    assert_eq!(r.status, StatusCode::OK);
    assert!(text(&r).contains("Wow, sockserve"));
    let etag = r.headers.get_str("etag").expect("etag").to_string();
    let r = f.call(
        &format!("GET / HTTP/1.1\r\nHost: t\r\nIf-None-Match: {etag}"),
        b"",
    );
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    let r = f.call("GET /test.jpg HTTP/1.1\r\nHost: t", b"");
    assert_eq!(r.headers.get_str("content-type"), Some("image/jpeg"));
    let r = f.call("POST / HTTP/1.1\r\nHost: t", b"");
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(
        r.headers
            .get_str("allow")
            .is_some_and(|a| a.starts_with("GET, HEAD"))
    );
    for m in ["PURGE", "MKCOLA", "LINK", "get"] {
        let r = f.call(&format!("{m} / HTTP/1.1\r\nHost: t"), b"");
        assert_eq!(r.status, StatusCode::NOT_IMPLEMENTED, "{m}");
    }
    let r = f.call("GET /missing HTTP/1.1\r\nHost: t", b"");
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(text(&r).contains("404"));
}

#[test]
fn guestbook_post_redirect_get_and_escaping() {
    let f = Fixture::new();
    let r = f.post_form("name=Ann&message=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers.get_str("location"), Some("/guestbook"));
    let page = text(&f.call("GET /guestbook HTTP/1.1\r\nHost: t", b""));
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    assert!(!page.contains("<script>alert"));
    let one = f.call("GET /guestbook/1 HTTP/1.1\r\nHost: t", b"");
    assert_eq!(one.status, StatusCode::OK);
    assert!(text(&one).contains("&lt;script&gt;"));
    assert_eq!(
        f.call("GET /guestbook/2 HTTP/1.1\r\nHost: t", b"").status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        f.call("GET /guestbook/x HTTP/1.1\r\nHost: t", b"").status,
        StatusCode::BAD_REQUEST
    );
}

#[test]
fn guestbook_bad_input_shows_the_form_again() {
    let f = Fixture::new();
    let long_name = "n".repeat(65);
    let long_message = "m".repeat(2001);
    let cases: [(&str, u16, &str); 9] = [
        ("name=&message=hi", 422, "name"),
        ("message=hi", 422, "name"),
        (&format!("name={long_name}&message=hi"), 422, "too long"),
        ("name=a%0Ab&message=hi", 422, "control character"),
        ("name=%FF&message=hi", 400, "UTF-8"),
        ("name=Ann&message=", 422, "message"),
        ("name=Ann", 422, "message"),
        (&format!("name=Ann&message={long_message}"), 422, "too long"),
        ("name=Ann&message=%C3%28", 400, "UTF-8"),
    ];
    for (body, status, needle) in cases {
        let r = f.post_form(body);
        assert_eq!(r.status.as_u16(), status, "{body}");
        let page = text(&r);
        assert!(page.contains("<form"), "{body}");
        assert!(page.contains(needle), "{body}: {needle}");
    }
    let r = f.call(
        &format!(
            "POST /guestbook HTTP/1.1\r\nHost: t\r\n{}\r\nContent-Type: text/plain\r\nContent-Length: 2",
            f.session()
        ),
        b"hi",
    );
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Without the page's session and token, a post is refused before it is read.
    let r = f.call(
        "POST /guestbook HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 16",
        b"name=a&message=b",
    );
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let page = text(&f.call("GET /guestbook HTTP/1.1\r\nHost: t", b""));
    assert!(page.contains("0 messages"), "nothing was stored");
}

#[test]
fn api_messages() {
    let f = Fixture::new();
    let body = br#"{"name":"Bob","message":"hello"}"#;
    let r = f.call(
        &format!("POST /api/messages HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}", body.len()),
        body,
    );
    assert_eq!(r.status, StatusCode::CREATED);
    let location = r.headers.get_str("location").expect("location").to_string();
    let one: serde_json::Value = serde_json::from_str(&text(
        &f.call(&format!("GET {location} HTTP/1.1\r\nHost: t"), b""),
    ))
    .expect("json");
    assert_eq!(one["name"], "Bob");
    let list: serde_json::Value =
        serde_json::from_str(&text(&f.call("GET /api/messages HTTP/1.1\r\nHost: t", b"")))
            .expect("json");
    assert_eq!(list["total"], 1);
    assert_eq!(list["messages"][0]["message"], "hello");
    let bad = br#"{"name":"","message":"x"}"#;
    let r = f.call(
        &format!("POST /api/messages HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}", bad.len()),
        bad,
    );
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        f.call("GET /api/messages/99 HTTP/1.1\r\nHost: t", b"")
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        f.call("GET /api/messages/x HTTP/1.1\r\nHost: t", b"")
            .status,
        StatusCode::BAD_REQUEST
    );
}

#[test]
fn time_and_echo() {
    let f = Fixture::new();
    let r = f.call(
        "GET /time HTTP/1.1\r\nHost: t\r\nAccept: application/json",
        b"",
    );
    let v: serde_json::Value = serde_json::from_str(&text(&r)).expect("json");
    assert!(
        v["unix"]
            .as_i64()
            .is_some_and(|t| (t - chrono::Utc::now().timestamp()).abs() < 60)
    );
    assert!(chrono::DateTime::parse_from_rfc3339(v["utc"].as_str().unwrap_or("")).is_ok());
    assert!(text(&f.call("GET /time HTTP/1.1\r\nHost: t", b"")).contains("<dl>"));
    let r = f.call(
        "PURGE /echo?format=json HTTP/1.1\r\nHost: t\r\nX-Z: 1\r\nX-A: 2\r\nContent-Length: 3",
        b"\xff\x00a",
    );
    let v: serde_json::Value = serde_json::from_str(&text(&r)).expect("json");
    assert_eq!(v["method"], "PURGE");
    assert_eq!(v["headers"][0][0], "Host");
    assert_eq!(v["headers"][1][0], "X-Z");
    assert_eq!(v["headers"][2][0], "X-A");
    assert_eq!(v["body"]["encoding"], "base64");
    let html = text(&f.call(
        "GET /echo?%3Cb%3E HTTP/1.1\r\nHost: t\r\nX-Evil: <script>",
        b"",
    ));
    assert!(html.contains("&lt;script&gt;") && !html.contains("<script>"));
}

/// RFC 9110 15.4.5: the `304` has the `ETag`, `Vary` and `Cache-Control` of the `200` it stands
/// for, also when the `200` was gzipped (and so had a weak `ETag` and `Vary: accept-encoding`).
#[test]
fn not_modified_carries_the_fields_of_the_200() {
    let f = Fixture::new();
    f.post_form("name=Ann&message=hi");
    let kept = [
        "etag",
        "vary",
        "cache-control",
        "content-location",
        "expires",
    ];
    for path in ["/", "/test.jpg", "/guestbook", "/guestbook/1"] {
        for extra in ["", "\r\nAccept-Encoding: gzip"] {
            let ok = f.call(&format!("GET {path} HTTP/1.1\r\nHost: t{extra}"), b"");
            assert_eq!(ok.status, StatusCode::OK, "{path}{extra:?}");
            let etag = ok.headers.get_str("etag").expect("etag").to_string();
            // The guestbook's page is the visitor's own (their form token): validated for them.
            let cookie = cookie_of(&ok).map_or(String::new(), |c| format!("\r\nCookie: {c}"));
            for validator in [etag.clone(), format!("\"other\", {etag}")] {
                let head = format!(
                    "GET {path} HTTP/1.1\r\nHost: t{extra}{cookie}\r\nIf-None-Match: {validator}"
                );
                let nm = f.call(&head, b"");
                assert_eq!(nm.status, StatusCode::NOT_MODIFIED, "{path}{extra:?}");
                for name in kept {
                    assert_eq!(
                        nm.headers.get_all(name).collect::<Vec<_>>(),
                        ok.headers.get_all(name).collect::<Vec<_>>(),
                        "{path}{extra:?}: {name}"
                    );
                }
                assert!(
                    !nm.headers.contains("content-type")
                        && !nm.headers.contains("content-encoding")
                );
            }
        }
    }
    let r = f.call("GET / HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip", b"");
    assert_eq!(r.headers.get_str("vary"), Some("accept-encoding"));
    let r = f.call("GET / HTTP/1.1\r\nHost: t\r\nIf-None-Match: \"nope\"", b"");
    assert_eq!(r.status, StatusCode::OK);
    let page = f.call("GET /guestbook HTTP/1.1\r\nHost: t", b"");
    assert_eq!(
        page.headers.get_str("cache-control"),
        Some("private, no-cache")
    );
    let etag = page.headers.get_str("etag").expect("etag").to_string();
    f.post_form("name=Bob&message=later");
    let r = f.call(
        &format!("GET /guestbook HTTP/1.1\r\nHost: t\r\nIf-None-Match: {etag}"),
        b"",
    );
    assert_eq!(
        r.status,
        StatusCode::OK,
        "a post changes the page's validator"
    );
}

#[test]
fn guestbook_pages_past_the_end_are_404_and_api_errors_are_json() {
    let f = Fixture::new();
    let get = |target: &str| f.call(&format!("GET {target} HTTP/1.1\r\nHost: t"), b"");
    assert_eq!(
        get("/guestbook").status,
        StatusCode::OK,
        "an empty book has a page"
    );
    assert_eq!(get("/api/messages?page=1").status, StatusCode::OK);
    f.post_form("name=Ann&message=hi");
    for page in ["2", "3", "18446744073709551615"] {
        let r = get(&format!("/guestbook?page={page}"));
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{page}");
        assert!(text(&r).contains("404"));
        let r = get(&format!("/api/messages?page={page}"));
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{page}");
        let v: serde_json::Value = serde_json::from_str(&text(&r)).expect("json");
        assert!(v["error"].is_string());
    }
    for (target, status) in [
        ("/api/messages/abc", StatusCode::BAD_REQUEST),
        ("/api/messages/99", StatusCode::NOT_FOUND),
        (
            "/api/messages?page=18446744073709551616",
            StatusCode::BAD_REQUEST,
        ),
        ("/api/messages?page=x", StatusCode::BAD_REQUEST),
        ("/api/nothing", StatusCode::NOT_FOUND),
        ("/api/messages/1/more", StatusCode::NOT_FOUND),
    ] {
        let r = get(target);
        assert_eq!(r.status, status, "{target}");
        assert_eq!(
            r.headers.get_str("content-type"),
            Some("application/json"),
            "{target}"
        );
        let v: serde_json::Value = serde_json::from_str(&text(&r)).expect("json");
        assert!(v["error"].is_string(), "{target}");
    }
}

/// `/echo` answers every request the parser accepts, whatever its bytes: obs-text header values,
/// odd methods and targets, binary bodies.
#[test]
fn echo_never_fails_on_odd_input() {
    let f = Fixture::new();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let methods = ["GET", "POST", "BREW", "M-SEARCH", "PROPFIND", "X"];
    let targets = [
        "/echo",
        "/echo?",
        "/echo?a=%FF&b",
        "/echo?format=json&x=<>",
        "/echo?%%%",
    ];
    let mut answered = 0;
    for _ in 0..200 {
        let method = methods[(next() % methods.len() as u64) as usize];
        let target = targets[(next() % targets.len() as u64) as usize];
        let value: Vec<u8> = (0..(next() % 40))
            .map(|_| 0x80 | (next() as u8 & 0x7f))
            .collect();
        let body: Vec<u8> = (0..(next() % 300)).map(|_| next() as u8).collect();
        let mut raw =
            format!("{method} {target} HTTP/1.1\r\nHost: t\r\nAccept: application/json\r\nX-Odd: ")
                .into_bytes();
        raw.extend_from_slice(&value);
        raw.extend_from_slice(format!("\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes());
        let Ok(req) = Request::from_raw_head(&raw, Body::full(Bytes::from(body.clone()))) else {
            continue; // the server would have answered 400 itself
        };
        let r = f.rt.block_on(f.app.call(req));
        assert_eq!(r.status, StatusCode::OK, "{method} {target}");
        let v: serde_json::Value = serde_json::from_str(&text(&r)).expect("json");
        assert_eq!(v["body"]["length"], body.len());
        answered += 1;
    }
    assert!(answered > 100, "most inputs reach the handler ({answered})");
}

/// The site is written with the framework's public API alone: no dependency on, and no path
/// into, the server or the protocol crate.
#[test]
fn the_app_uses_only_the_framework() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    for dep in ["http1", "server"] {
        assert!(
            !manifest.lines().any(|l| l.trim_start().starts_with(dep)),
            "crates/app depends on {dep}"
        );
    }
    let mut dirs = vec![root.join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read source");
            for (i, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                // Spelt in two pieces so that this test does not find itself.
                for forbidden in ["http1", "server"].map(|c| format!("{c}::")) {
                    let hit = code.match_indices(&forbidden).any(|(at, _)| {
                        !code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                    });
                    assert!(!hit, "{}:{}: {line}", path.display(), i + 1);
                }
            }
        }
    }
}

/// Every layer of the site holds the future below it once: a layer that awaited a captured
/// future kept it twice, and the layers above copied the doubled state on every request
/// (984 bytes for `GET /`, 216 with each layer holding it once).
#[test]
fn the_site_future_holds_each_layer_once() {
    let f = Fixture::new();
    let req = Request::from_raw_head(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", Body::empty())
        .expect("valid head");
    let size = std::mem::size_of_val(&f.app.call(req));
    assert!(size <= 320, "the site's future is {size} bytes");
}

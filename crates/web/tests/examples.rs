//! The examples' applications, served by the real server on 127.0.0.1:0 and driven by real
//! clients (raw sockets, curl with its cookie jar). Each example's source is compiled in here
//! as a module, so what is tested is exactly what `cargo run --example` serves.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

mod support;

use support::Running;

#[allow(dead_code)]
#[path = "../examples/form.rs"]
mod form;
#[allow(dead_code)]
#[path = "../examples/hello.rs"]
mod hello;
#[allow(dead_code)]
#[path = "../examples/session_login.rs"]
mod session_login;
#[allow(dead_code)]
#[path = "../examples/templates.rs"]
mod templates;
#[allow(dead_code)]
#[path = "../examples/testing.rs"]
mod testing;
#[allow(dead_code)]
#[path = "../examples/todo_json.rs"]
mod todo_json;

/// How long a stopping server waits for its open connections.
const GRACE: Duration = Duration::from_secs(1);

fn serve(app: impl server::Service) -> Running {
    support::serve(app, GRACE)
}

/// One request on its own connection; the status and the body.
fn fetch(addr: SocketAddr, method: &str, path: &str, extra: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let raw = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(raw.as_bytes()).expect("send");
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("read");
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text[9..12].parse().expect("status");
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn have(cmd: &str) -> bool {
    Command::new(cmd).arg("--version").output().is_ok()
}

#[test]
fn hello_and_form_answer() {
    let server = serve(hello::app());
    assert_eq!(fetch(server.addr, "GET", "/", "", "").1, "Hello, world!\n");
    let (_, body) = fetch(server.addr, "GET", "/hello/%3Cb%3EAda", "", "");
    assert!(body.contains("&lt;b&gt;Ada"), "{body}");
    let server = serve(form::app());
    let form = "Content-Type: application/x-www-form-urlencoded\r\n";
    let (status, _) = fetch(server.addr, "POST", "/todos", form, "title=write+tests");
    assert_eq!(status, 303);
    let (_, body) = fetch(server.addr, "GET", "/todos.json", "", "");
    assert!(body.contains("write tests"), "{body}");
}

#[test]
fn todo_json_crud_over_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = todo_json::Db::open(&dir.path().join("todos.db")).unwrap();
    let server = serve(todo_json::app(db));
    let json = "Content-Type: application/json\r\n";
    let (status, body) = fetch(server.addr, "POST", "/todos", json, r#"{"title":"milk"}"#);
    assert_eq!(status, 201, "{body}");
    let todo: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(todo["title"], "milk");
    let (status, body) = fetch(server.addr, "POST", "/todos", json, r#"{"done":true}"#);
    assert_eq!(status, 422);
    assert!(body.contains(r#""field":"title""#), "{body}");
    let (status, body) = fetch(server.addr, "POST", "/todos", json, r#"{"title":""}"#);
    assert_eq!((status, body.contains("title")), (422, true));
    let (_, body) = fetch(
        server.addr,
        "PUT",
        "/todos/1",
        json,
        r#"{"title":"oat milk","done":true}"#,
    );
    assert!(body.contains(r#""done":true"#), "{body}");
    let (_, body) = fetch(server.addr, "GET", "/todos", "", "");
    assert_eq!(body, r#"[{"id":1,"title":"oat milk","done":true}]"#);
    assert_eq!(fetch(server.addr, "DELETE", "/todos/1", "", "").0, 204);
    assert_eq!(fetch(server.addr, "GET", "/todos/1", "", "").0, 404);
    let (status, body) = fetch(server.addr, "GET", "/todos/x", "", "");
    assert_eq!(status, 400);
    assert!(body.contains(r#""field":"id""#), "{body}");
}

#[test]
fn templates_escape_and_extend_the_layout() {
    let server = serve(templates::app());
    let (status, body) = fetch(server.addr, "GET", "/", "", "");
    assert_eq!(status, 200);
    assert!(body.contains("<title>Books</title>") && body.contains("TCP/IP Illustrated"));
    let (_, body) = fetch(server.addr, "GET", "/search?q=%3Cscript%3E", "", "");
    assert!(!body.contains("<script>"), "escaped: {body}");
    assert!(body.contains("&lt;script&gt;"), "{body}");
    let (_, body) = fetch(server.addr, "GET", "/search?q=stevens", "", "");
    assert!(body.contains("TCP/IP Illustrated") && !body.contains("Klabnik"));
}

#[tokio::test]
async fn testing_example_checks_pass() {
    let seen = testing::checks().await.expect("checks pass");
    assert!(seen.len() >= 4);
}

#[test]
fn session_login_with_curls_cookie_jar() {
    if !have("curl") {
        panic!("curl is missing: scripts/test installs it");
    }
    let dir = tempfile::tempdir().unwrap();
    let store = web::session::SqliteStore::open(dir.path().join("s.db")).unwrap();
    let key = web::cookies::key_from_secret(&[9; 48]).unwrap();
    let server = serve(session_login::app(store, key));
    let jar = dir.path().join("jar.txt");
    let jar = jar.to_str().unwrap();
    let url = |p: &str| format!("http://{}{p}", server.addr);
    let curl = |args: &[&str]| -> String {
        let out = Command::new("curl")
            .args(["-s", "-c", jar, "-b", jar])
            .args(args)
            .output()
            .expect("curl runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let page = curl(&[&url("/")]);
    let token = page
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a token in the form")
        .to_string();
    let before = std::fs::read_to_string(jar).unwrap();
    assert!(before.contains("#HttpOnly_127.0.0.1"), "{before}");

    // Without the token, refused.
    let code = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-d",
        "name=alice&password=wonderland",
        &url("/login"),
    ]);
    assert_eq!(code, "403");
    // A wrong password goes back to the form.
    let form = format!("csrf_token={token}&name=alice&password=nope");
    assert!(curl(&["-L", "-d", &form, &url("/login")]).contains("Wrong name or password"));
    let form = format!("csrf_token={token}&name=alice&password=wonderland");
    let page = curl(&["-L", "-d", &form, &url("/login")]);
    assert!(page.contains("Hello, alice!"), "{page}");
    let after = std::fs::read_to_string(jar).unwrap();
    let id = |jar: &str| {
        jar.lines()
            .find(|l| l.contains("\tsession\t"))
            .map(str::to_string)
    };
    assert_ne!(id(&before), id(&after), "the id changes at login");
    assert!(curl(&[&url("/")]).contains("visited 2 pages"));

    let page = curl(&["-L", "-d", &format!("csrf_token={token}"), &url("/logout")]);
    assert!(page.contains("Log in"), "{page}");
    // The old session is gone; the login form shown afterwards starts a fresh one for its token.
    let later = id(&std::fs::read_to_string(jar).unwrap());
    assert_ne!(later, id(&after));
    assert!(!curl(&[&url("/")]).contains("Hello"));
}

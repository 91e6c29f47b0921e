//! `sockserve --config FILE`: virtual hosts, routes under prefixes, every handler, the per-route
//! rules, and reloading on SIGHUP, over real sockets (curl where a client matters).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::harness::{Running, eventually, get, request};

/// A directory with `www/` (a file, a subdirectory), `other/`, `cgi-bin/env.sh` and the
/// configuration `site.toml` written from `toml`.
pub fn tree(toml: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::create_dir_all(p.join("www/sub dir")).unwrap();
    std::fs::create_dir_all(p.join("other")).unwrap();
    std::fs::create_dir_all(p.join("cgi-bin")).unwrap();
    std::fs::write(p.join("www/a.txt"), "hello from www\n").unwrap();
    std::fs::write(p.join("www/sub dir/s.txt"), "sub\n").unwrap();
    std::fs::write(p.join("other/index.html"), "<p>other site</p>\n").unwrap();
    std::fs::write(p.join("missing.html"), "<h1>custom 404</h1>\n").unwrap();
    let script = "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\necho \"script=$SCRIPT_NAME info=$PATH_INFO\"\n";
    std::fs::write(p.join("cgi-bin/env.sh"), script).unwrap();
    Command::new("chmod")
        .args(["+x"])
        .arg(p.join("cgi-bin/env.sh"))
        .status()
        .unwrap();
    std::fs::write(p.join("site.toml"), toml).unwrap();
    d
}

/// `sockserve -c site.toml` in `dir`.
pub fn start(dir: &Path) -> Running {
    Running::start_in(Some(dir), &["-c", "site.toml"])
}

/// curl with `--resolve` so `http://NAME:PORT/` reaches the server: `-s -i` and `args`.
pub fn curl(server: &Running, name: &str, args: &[&str]) -> String {
    let port = server.addr.port();
    let out = Command::new("curl")
        .args(["-s", "-i", "--max-time", "10", "--resolve"])
        .arg(format!("{name}:{port}:127.0.0.1"))
        .args(args)
        .output()
        .expect("curl");
    String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n")
}

const VHOSTS: &str = r#"
[[listen]]
addr = "127.0.0.1:0"

[[site]]
hosts = ["www.example.test", "*.apps.example.test"]
  [[site.route]]
  path = "/"
  files = { root = "www" }

[[site]]
hosts = ["other.example.test"]
  [[site.route]]
  path = "/"
  files = { root = "other" }
"#;

#[test]
fn two_virtual_hosts_on_one_port() {
    let d = tree(VHOSTS);
    let s = start(d.path());
    let port = s.addr.port();
    let www = curl(
        &s,
        "www.example.test",
        &[&format!("http://www.example.test:{port}/a.txt")],
    );
    assert!(www.contains("hello from www"), "{www}");
    let other = curl(
        &s,
        "other.example.test",
        &[&format!("http://other.example.test:{port}/")],
    );
    assert!(other.contains("other site"), "{other}");
    // One label under the wildcard; the trailing dot and the case are ignored.
    let wild = curl(
        &s,
        "X.apps.example.test.",
        &[&format!("http://X.apps.example.test.:{port}/a.txt")],
    );
    assert!(wild.contains("hello from www"), "{wild}");
    let deep = curl(
        &s,
        "a.b.apps.example.test",
        &[&format!("http://a.b.apps.example.test:{port}/a.txt")],
    );
    assert!(deep.starts_with("HTTP/1.1 421"), "{deep}");
    // No site claims it and none is the default: 421 Misdirected Request.
    let none = curl(&s, "nobody.test", &[&format!("http://nobody.test:{port}/")]);
    assert!(none.starts_with("HTTP/1.1 421"), "{none}");
}

#[test]
fn a_default_site_takes_unknown_hosts() {
    let d = tree(&VHOSTS.replace(
        "hosts = [\"other.example.test\"]",
        "hosts = [\"other.example.test\"]\ndefault = true",
    ));
    let s = start(d.path());
    let r = get(s.addr, "/");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("other site"));
}

const ROUTES: &str = r#"
[[listen]]
addr = "127.0.0.1:0"

[[site]]
errors = { 404 = "missing.html" }
headers = { set = { X-Frame-Options = "DENY" }, add = { X-Extra = "1" } }
  [[site.route]]
  path = "/"
  files = { root = "www" }

  [[site.route]]
  path = "/static/"
  files = { root = "www" }
  cache = { max-age = 3600, immutable = true }
  headers = { remove = ["X-Extra"] }

  [[site.route]]
  path = "/cgi-bin/"
  cgi = { root = "cgi-bin", timeout = 5 }

  [[site.route]]
  path = "/old/"
  redirect = { to = "https://example.test/new/{rest}?{query}", status = 301 }

  [[site.route]]
  path = "=/health"
  respond = { status = 200, body = "ok\n" }

  [[site.route]]
  path = "/health/"
  respond = { status = 410, body = "gone\n", content-type = "text/x-test" }

  [[site.route]]
  path = "/app/"
  demo = { db = "guestbook.db" }
"#;

#[test]
fn prefixes_and_every_handler() {
    let d = tree(ROUTES);
    let s = start(d.path());
    let r = get(s.addr, "/a.txt");
    assert_eq!((r.status, r.text().as_str()), (200, "hello from www\n"));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    assert_eq!(r.header("x-extra"), Some("1"));
    // Mounted: the prefix is taken off, and the listing's links keep it.
    let r = get(s.addr, "/static/a.txt");
    assert_eq!(r.text(), "hello from www\n");
    assert_eq!(r.header("cache-control"), Some("max-age=3600, immutable"));
    assert_eq!(r.header("x-extra"), None);
    let r = get(s.addr, "/static/sub%20dir");
    assert_eq!(
        (r.status, r.header("location")),
        (301, Some("/static/sub%20dir/"))
    );
    let r = get(s.addr, "/static");
    assert_eq!((r.status, r.header("location")), (301, Some("/static/")));
    let listing = get(s.addr, "/static/sub%20dir/").text();
    assert!(listing.contains("<a href=\"/static/\">/</a>"), "{listing}");
    assert!(listing.contains("href=\"s.txt\""), "{listing}");
    // CGI keeps the whole path: SCRIPT_NAME is what the client asked for.
    let r = get(s.addr, "/cgi-bin/env.sh/x/y");
    assert_eq!(r.text(), "script=/cgi-bin/env.sh info=/x/y\n");
    let r = get(s.addr, "/old/a/b?q=1");
    assert_eq!(
        (r.status, r.header("location")),
        (301, Some("https://example.test/new/a/b?q=1"))
    );
    let r = get(s.addr, "/health");
    assert_eq!((r.status, r.text().as_str()), (200, "ok\n"));
    let r = get(s.addr, "/health/x");
    assert_eq!(
        (r.status, r.header("content-type")),
        (410, Some("text/x-test"))
    );
    // The site's own error page.
    let r = get(s.addr, "/nothing-here");
    assert_eq!(r.status, 404);
    assert!(r.text().contains("custom 404"), "{}", r.text());
}

#[test]
fn the_demo_site_under_a_prefix_keeps_its_links() {
    let d = tree(ROUTES);
    let s = start(d.path());
    let home = get(s.addr, "/app/");
    assert_eq!(home.status, 200);
    let page = home.text();
    assert!(page.contains("href=\"/app/guestbook\""), "{page}");
    assert!(!page.contains("href=\"/guestbook\""), "{page}");
    let book = get(s.addr, "/app/guestbook");
    let cookie = book
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_string();
    let book = book.text();
    assert!(book.contains("action=\"/app/guestbook\""), "{book}");
    let marker = r#"name="csrf_token" value=""#;
    let at = book.find(marker).expect("a CSRF token in the form") + marker.len();
    let token = book[at..].split('"').next().expect("token");
    let r = request(
        s.addr,
        "POST",
        "/app/guestbook",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", &cookie),
            ("X-CSRF-Token", token),
        ],
        b"name=Ann&message=hello",
    );
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/app/guestbook"))
    );
    assert!(get(s.addr, "/app/guestbook").text().contains("hello"));
    let img = get(s.addr, "/app/test.jpg");
    assert_eq!(img.header("content-type"), Some("image/jpeg"));
}

#[test]
fn cors_preflight_and_actual_response() {
    let d = tree(
        r#"
[[listen]]
addr = "127.0.0.1:0"
[[site]]
  [[site.route]]
  path = "/api/"
  respond = { body = "{}", content-type = "application/json" }
  cors = { origins = ["https://app.example.test"], methods = ["PUT", "DELETE"], headers = ["X-Token"], credentials = true, max-age = 600, expose = ["X-Count"] }
"#,
    );
    let s = start(d.path());
    let pre = request(
        s.addr,
        "OPTIONS",
        "/api/items",
        &[
            ("Origin", "https://app.example.test"),
            ("Access-Control-Request-Method", "PUT"),
            ("Access-Control-Request-Headers", "x-token"),
        ],
        b"",
    );
    assert_eq!(pre.status, 204);
    assert_eq!(
        pre.header("access-control-allow-origin"),
        Some("https://app.example.test")
    );
    assert_eq!(
        pre.header("access-control-allow-methods"),
        Some("PUT, DELETE")
    );
    assert_eq!(pre.header("access-control-allow-headers"), Some("x-token"));
    assert_eq!(pre.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(pre.header("access-control-max-age"), Some("600"));
    // Another origin, or a method not allowed: no permission given.
    let other = request(
        s.addr,
        "OPTIONS",
        "/api/items",
        &[
            ("Origin", "https://evil.test"),
            ("Access-Control-Request-Method", "PUT"),
        ],
        b"",
    );
    assert_eq!(other.header("access-control-allow-origin"), None);
    let patch = request(
        s.addr,
        "OPTIONS",
        "/api/items",
        &[
            ("Origin", "https://app.example.test"),
            ("Access-Control-Request-Method", "PATCH"),
        ],
        b"",
    );
    assert_eq!(patch.header("access-control-allow-origin"), None);
    let actual = request(
        s.addr,
        "GET",
        "/api/items",
        &[("Origin", "https://app.example.test")],
        b"",
    );
    assert_eq!(
        actual.header("access-control-allow-origin"),
        Some("https://app.example.test")
    );
    assert_eq!(
        actual.header("access-control-expose-headers"),
        Some("x-count")
    );
    assert_eq!(actual.header("vary"), Some("Origin"));
}

/// A file answered from the cache carries fields rendered once; a route's `headers` once
/// left them as they were there, so `set` sent the file's field beside its own and `remove`
/// did not take it out, from the second request on.
#[test]
fn route_headers_apply_to_a_cached_files_fields() {
    let d = tree(
        r#"
[[listen]]
addr = "127.0.0.1:0"
[[site]]
headers = { set = { X-Content-Type-Options = "nosniff", Cache-Control = "max-age=60" }, remove = ["Accept-Ranges"], add = { X-Extra = "1" } }
  [[site.route]]
  path = "/"
  files = { root = "www" }
  [[site.route]]
  path = "/api/"
  files = { root = "www" }
  cors = { origins = ["*"] }
"#,
    );
    let s = start(d.path());
    // `/` has the files service apply the rules; `/api/` (with `cors`) applies them after it.
    for path in ["/a.txt", "/a.txt", "/a.txt", "/api/a.txt", "/api/a.txt"] {
        let r = get(s.addr, path);
        assert_eq!((r.status, r.text().as_str()), (200, "hello from www\n"));
        let all = |name: &str| -> Vec<&str> {
            (r.headers.iter())
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
                .collect()
        };
        assert_eq!(all("x-content-type-options"), ["nosniff"], "{path}");
        assert_eq!(all("cache-control"), ["max-age=60"], "{path}");
        assert_eq!(all("x-extra"), ["1"], "{path}");
        assert!(all("accept-ranges").is_empty(), "{path}");
        assert!(r.header("etag").is_some(), "{path}");
    }
}

/// `remove = ["Server"]` was documented and did nothing: the encoders add `Server` to every
/// response that has none. Now no `Server` goes, on files (cached or not) and other answers,
/// over HTTP/1.1 and HTTP/2.
#[test]
fn route_headers_remove_the_server_field() {
    let d = tree(
        r#"
[[listen]]
addr = "127.0.0.1:0"
[[site]]
headers = { remove = ["Server"] }
  [[site.route]]
  path = "/"
  files = { root = "www" }
  [[site.route]]
  path = "/health"
  respond = { status = 200, body = "ok\n" }
  [[site.route]]
  path = "/named"
  respond = { status = 200, body = "ok\n" }
  headers = { remove = ["Server"], set = { Server = "edge" } }
"#,
    );
    let s = start(d.path());
    for path in ["/a.txt", "/a.txt", "/health"] {
        let r = get(s.addr, path);
        assert_eq!(r.status, 200, "{path}");
        assert!(r.header("server").is_none(), "{path}: {:?}", r.headers);
        let out = std::process::Command::new("curl")
            .args([
                "-s",
                "-D",
                "-",
                "-o",
                "/dev/null",
                "--http2-prior-knowledge",
            ])
            .arg(format!("http://{}{path}", s.addr))
            .output()
            .expect("curl");
        let head = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
        assert!(head.starts_with("http/2 200"), "{head}");
        assert!(!head.contains("server:"), "{path} over h2: {head}");
    }
    // Removed first, then set, as the rules go.
    assert_eq!(get(s.addr, "/named").header("server"), Some("edge"));
}

#[test]
fn a_burst_past_the_rate_gets_429_with_retry_after() {
    let d = tree(
        r#"
[[listen]]
addr = "127.0.0.1:0"
[[site]]
rate = { per-second = 1, burst = 5 }
  [[site.route]]
  path = "/"
  respond = { body = "ok" }
  [[site.route]]
  path = "/free/"
  respond = { body = "free" }
  rate = { per-second = 1000, burst = 1000 }
"#,
    );
    let s = start(d.path());
    let codes: Vec<u16> = (0..8).map(|_| get(s.addr, "/").status).collect();
    assert_eq!(&codes[..5], &[200; 5], "{codes:?}");
    assert!(codes[5..].iter().all(|&c| c == 429), "{codes:?}");
    let r = get(s.addr, "/");
    assert_eq!(r.header("retry-after"), Some("1"));
    // Another route's own rate is not spent by this one.
    assert_eq!(get(s.addr, "/free/x").status, 200);
}

#[test]
fn allow_and_deny_by_cidr() {
    let d = tree(
        r#"
[[listen]]
addr = "127.0.0.1:0"
[[site]]
allow = ["10.0.0.0/8"]
  [[site.route]]
  path = "/"
  respond = { body = "inside" }
  [[site.route]]
  path = "/local/"
  respond = { body = "local" }
  allow = ["127.0.0.0/8", "::1"]
  [[site.route]]
  path = "/local/not-me/"
  respond = { body = "no" }
  allow = []
  deny = ["127.0.0.1"]
"#,
    );
    let s = start(d.path());
    assert_eq!(get(s.addr, "/").status, 403);
    assert_eq!(get(s.addr, "/local/x").text(), "local");
    assert_eq!(get(s.addr, "/local/not-me/").status, 403);
    // Another spelling of the same path meets the same rule.
    for other in ["/local/%6eot-me/", "/local//not-me/", "/local/./not-me/x"] {
        assert_eq!(get(s.addr, other).status, 403, "{other}");
    }
    assert_eq!(get(s.addr, "/local/../local/not-me/").status, 400);
}

#[test]
fn sighup_swaps_the_sites_and_a_broken_file_keeps_them() {
    let toml = "[[listen]]\naddr = \"127.0.0.1:0\"\n[[site]]\n[[site.route]]\npath = \"/\"\nrespond = { body = \"one\" }\n";
    let d = tree(toml);
    let s = start(d.path());
    assert_eq!(get(s.addr, "/").text(), "one");
    let hup = || {
        Command::new("kill")
            .args(["-HUP", &s.child.id().to_string()])
            .status()
            .unwrap()
    };
    std::fs::write(d.path().join("site.toml"), toml.replace("one", "two")).unwrap();
    hup();
    eventually("the new body after SIGHUP", || {
        get(s.addr, "/").text() == "two"
    });
    std::fs::write(
        d.path().join("site.toml"),
        toml.replace("one", "three").replace("path", "pth"),
    )
    .unwrap();
    hup();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(get(s.addr, "/").text(), "two");
}

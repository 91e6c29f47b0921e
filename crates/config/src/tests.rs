//! The loader on whole files: a good one, and files with mistakes that must all be reported.
#![allow(clippy::unwrap_used)]

use super::*;

fn dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join("www")).unwrap();
    std::fs::create_dir(d.path().join("cgi-bin")).unwrap();
    std::fs::write(d.path().join("www/404.html"), "gone").unwrap();
    d
}

fn parse(d: &tempfile::TempDir, text: &str) -> Result<Config, Diagnostics> {
    Config::parse(text, "site.toml", d.path())
}

const GOOD: &str = r#"
[server]
threads = 2
unknown-host = 404

[[listen]]
addr = "127.0.0.1:8080"

[[site]]
hosts = ["example.test", "*.example.test"]
errors = { 404 = "www/404.html" }
headers = { set = { X-Frame-Options = "DENY" }, remove = ["Server"] }

  [[site.route]]
  path = "/"
  files = { root = "www", listing = true, index = ["index.html"] }

  [[site.route]]
  path = "/cgi-bin/"
  cgi = { root = "cgi-bin", timeout = 30 }
  allow = ["127.0.0.0/8"]

  [[site.route]]
  path = "/old/"
  redirect = { to = "https://example.test/new/{rest}", status = 301 }

  [[site.route]]
  path = "=/health"
  respond = { status = 200, body = "ok\n" }
  cors = { origins = ["*"], max-age = 600 }
  rate = { per-second = 5, burst = 10 }

[[site]]
default = true
  [[site.route]]
  path = "/app/"
  demo = { db = "guestbook.db" }
"#;

#[test]
fn a_good_file() {
    let d = dir();
    let c = parse(&d, GOOD).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.listen.len(), 1);
    assert_eq!(c.sites.len(), 2);
    assert_eq!(c.sites[0].routes.len(), 4);
    assert_eq!(c.server.threads, Some(2));
    assert_eq!(c.server.unknown_host, http::StatusCode::NOT_FOUND);
    let health = &c.sites[0].routes[3];
    assert_eq!(health.path, RoutePath::Exact("/health".into()));
    // Inherited from the site, with the route's own added.
    assert_eq!(health.rules.headers.set.len(), 1);
    assert!(health.rules.cors.is_some());
    assert_eq!(health.rules.rate.unwrap().burst, 10);
    assert_eq!(c.sites[0].routes[1].rules.allow.len(), 1);
    assert!(c.sites[0].routes[0].rules.allow.is_empty());
    assert!(matches!(c.sites[1].routes[0].handler, Handler::Demo(_)));
}

#[test]
fn five_mistakes_are_all_reported_with_positions() {
    let d = dir();
    let text = r#"[[listen]]
addr = "127.0.0.1:99999"

[[site]]
hosts = ["a..test"]
  [[site.route]]
  path = "/"
  files = { root = "nope", listng = true }

  [[site.route]]
  path = "/x"
  respond = { status = 99 }
  redirect = { to = "/y" }

  [[site.route]]
  path = "/z"
  respond = { status = 700 }
  colour = "red"
"#;
    let e = parse(&d, text).unwrap_err();
    let shown = e.to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert!(lines.len() >= 6, "{shown}");
    assert!(lines[0].starts_with("site.toml:2:8: "), "{shown}");
    assert!(shown.contains("site.toml:5:10: \"a..test\""), "{shown}");
    assert!(shown.contains("unknown field `listng`"), "{shown}");
    assert!(shown.contains("files root"), "{shown}");
    assert!(
        shown.contains("has `redirect` and `respond`") || shown.contains("and `"),
        "{shown}"
    );
    assert!(shown.contains("unknown field `colour`"), "{shown}");
    assert!(shown.contains("700 is not a status"), "{shown}");
}

#[test]
fn without_a_server_table_the_defaults_hold() {
    let d = dir();
    let c = parse(&d, "[[listen]]\naddr = \"127.0.0.1:1\"\n[[site]]\n[[site.route]]\npath = \"/\"\nrespond = {}\n").unwrap();
    assert!(c.server.http2);
    assert_eq!(c.server.unknown_host, http::StatusCode::MISDIRECTED_REQUEST);
}

#[test]
fn two_unknown_keys_in_one_table_are_both_reported() {
    let d = dir();
    let text = "[[listen]]\naddr = \"127.0.0.1:1\"\nfoo = 1\nbar = 2\n[[site]]\n[[site.route]]\npath = \"/\"\nrespond = {}\n";
    let e = parse(&d, text).unwrap_err();
    assert_eq!(e.len(), 2, "{e}");
    assert_eq!((e.items[0].line, e.items[0].column), (3, 1));
    assert_eq!((e.items[1].line, e.items[1].column), (4, 1));
}

#[test]
fn duplicates_and_structure() {
    let d = dir();
    let text = r#"
[[listen]]
addr = "127.0.0.1:8080"
[[listen]]
addr = "127.0.0.1:8080"
[[site]]
default = true
hosts = ["a.test"]
[[site.route]]
path = "/"
respond = {}
[[site.route]]
path = "/"
respond = {}
[[site]]
default = true
hosts = ["A.test"]
[[site.route]]
path = "nope"
respond = {}
[[site.route]]
path = "/q"
"#;
    let e = parse(&d, text).unwrap_err().to_string();
    for want in [
        "already a listener",
        "this path already has a route",
        "a second default site",
        "a.test is already claimed",
        "starts with `/`",
        "has no handler",
    ] {
        assert!(e.contains(want), "{want}: {e}");
    }
}

#[test]
fn syntax_errors_have_positions() {
    let d = dir();
    let e = parse(&d, "[[listen]]\naddr = \n").unwrap_err();
    assert_eq!(e.items[0].line, 2, "{e}");
}

#[test]
fn rules_values_are_judged() {
    let d = dir();
    let text = r#"
[[listen]]
addr = "127.0.0.1:8080"
tls = { cert = "missing.pem", key = "missing.key" }
[[site]]
headers = { set = { Content-Length = "1" } }
cors = { origins = ["*"], credentials = true }
cache = { no-store = true, max-age = 5 }
allow = ["10.0.0.1/8"]
rate = { per-second = 0 }
auth = { htpasswd = "none.htpasswd" }
[[site.route]]
path = "/"
redirect = { to = "/{nope}", status = 200 }
"#;
    let e = parse(&d, text).unwrap_err();
    assert!(e.len() >= 9, "{e}");
}

#[test]
fn acme_names_and_the_acme_section() {
    let d = dir();
    let site = "[[site]]\n[[site.route]]\npath = \"/\"\nrespond = {}\n";
    // Names alone: the defaults of the flags.
    let text = format!("[[listen]]\naddr = \"127.0.0.1:1\"\nacme = [\"a.test\"]\n{site}");
    let c = parse(&d, &text).unwrap();
    assert!(matches!(&c.listen[0].tls, Some(Tls::Acme { domains }) if domains == &["a.test"]));
    let acme = c.acme.expect("defaults");
    assert!(acme.directory.is_none() && acme.state.is_none());
    // Every setting, the state directory relative to the file.
    let text = format!(
        "[acme]\ndirectory = \"https://ca.test/dir\"\nemail = \"a@b.test\"\nstate = \"st\"\nchallenge = \"tls-alpn-01\"\nretry = 5\n[[listen]]\naddr = \"127.0.0.1:1\"\nacme = [\"a.test\"]\n{site}"
    );
    let acme = parse(&d, &text).unwrap().acme.unwrap();
    assert_eq!(acme.state, Some(d.path().join("st")));
    assert_eq!(acme.challenge, Some(AcmeChallenge::TlsAlpn01));
    assert_eq!(acme.retry, Some(5.0));
    // Mistakes, each where it is written.
    let text = format!(
        "[acme]\ndirectory = \"ftp://x\"\nchallenge = \"http-01\"\nretry = -1\n[[listen]]\naddr = \"127.0.0.1:1\"\nacme = [\"a.test\"]\n{site}"
    );
    let e = parse(&d, &text).unwrap_err();
    let shown = e.to_string();
    assert!(shown.contains("site.toml:2:13: \"ftp://x\""), "{shown}");
    assert!(
        shown.contains("site.toml:3:13: challenge \"http-01\""),
        "{shown}"
    );
    assert!(shown.contains("site.toml:4:9: `retry`"), "{shown}");
    let text = format!(
        "[acme]\ncolour = 1\n[[listen]]\naddr = \"127.0.0.1:1\"\nacme = [\"a.test\"]\n{site}"
    );
    let shown = parse(&d, &text).unwrap_err().to_string();
    assert!(
        shown.contains("site.toml:2:1: unknown field `colour`"),
        "{shown}"
    );
    // [acme] without a listener that uses it.
    let text = format!("[acme]\nemail = \"a@b.test\"\n[[listen]]\naddr = \"127.0.0.1:1\"\n{site}");
    let shown = parse(&d, &text).unwrap_err().to_string();
    assert!(
        shown.contains("site.toml:1:1: [acme] without a listener"),
        "{shown}"
    );
}

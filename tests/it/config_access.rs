//! A configuration's `auth` and `files.upload`: Basic authentication against a file made by
//! Apache's `htpasswd`, the verified user reaching CGI, and uploads only behind it.

use std::process::Command;

use crate::config_run::{start, tree};
use crate::harness::{get, have, request};

const TOML: &str = r#"
[[listen]]
addr = "127.0.0.1:0"

[[site]]
  [[site.route]]
  path = "/"
  files = { root = "www" }

  [[site.route]]
  path = "/admin/"
  auth = { realm = "Admin area", htpasswd = "users.htpasswd" }
  files = { root = "www", upload = { max-file-size = 1024 } }

  [[site.route]]
  path = "/cgi-bin/"
  auth = { users = ["carol:s3cret"] }
  cgi = { root = "cgi-bin" }
"#;

/// `Basic` credentials for `user:password`.
fn basic(pair: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("base64")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(pair.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    format!("Basic {}", String::from_utf8_lossy(&out.stdout).trim())
}

#[test]
fn auth_from_an_htpasswd_file_and_uploads_behind_it() {
    if !have("htpasswd") {
        eprintln!("skipped: no htpasswd (apache2-utils)");
        return;
    }
    let d = tree(TOML);
    let made = Command::new("htpasswd")
        .current_dir(d.path())
        .args(["-cbB", "users.htpasswd", "alice", "wonderland"])
        .output()
        .unwrap();
    assert!(made.status.success());
    let s = start(d.path());
    assert_eq!(get(s.addr, "/a.txt").status, 200);
    let r = get(s.addr, "/admin/a.txt");
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Basic realm=\"Admin area\", charset=\"UTF-8\"")
    );
    let good = basic("alice:wonderland");
    let r = request(
        s.addr,
        "GET",
        "/admin/a.txt",
        &[("Authorization", &good)],
        b"",
    );
    assert_eq!((r.status, r.text().as_str()), (200, "hello from www\n"));
    let bad = basic("alice:nope");
    let r = request(
        s.addr,
        "GET",
        "/admin/a.txt",
        &[("Authorization", &bad)],
        b"",
    );
    assert_eq!(r.status, 401);
    // Uploads: refused without the password, made with it, limited in size.
    let put = |auth: &str, body: &[u8]| {
        request(
            s.addr,
            "PUT",
            "/admin/new.txt",
            &[("Authorization", auth)],
            body,
        )
        .status
    };
    assert_eq!(put(&bad, b"x"), 401);
    assert!(matches!(put(&good, b"uploaded\n"), 200 | 201 | 204));
    assert_eq!(
        std::fs::read_to_string(d.path().join("www/new.txt")).unwrap(),
        "uploaded\n"
    );
    assert_eq!(put(&good, &[b'a'; 2048]), 413);
    // The verified user reaches the script as REMOTE_USER.
    std::fs::write(
        d.path().join("cgi-bin/user.sh"),
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\necho \"user=$REMOTE_USER\"\n",
    )
    .unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(d.path().join("cgi-bin/user.sh"))
        .status()
        .unwrap();
    let carol = basic("carol:s3cret");
    let r = request(
        s.addr,
        "GET",
        "/cgi-bin/user.sh",
        &[("Authorization", &carol)],
        b"",
    );
    assert_eq!(r.text(), "user=carol\n");
}

#[test]
fn uploads_without_auth_must_say_public() {
    let d = tree(
        "[[listen]]\naddr = \"127.0.0.1:0\"\n[[site]]\n[[site.route]]\npath = \"/\"\nfiles = { root = \"www\", upload = {} }\n",
    );
    let out = Command::new(crate::harness::BIN)
        .current_dir(d.path())
        .args(["check", "site.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        crate::harness::stderr(&out).contains("site.toml:6:34: uploads need `auth`"),
        "{}",
        crate::harness::stderr(&out)
    );
}

//! TLS listeners of a configuration: HTTPS, SNI choosing the certificate by name, and the site
//! chosen by `Host` behind it; `limits` per route.

use std::process::Command;

use crate::config_run::{curl, start, tree};
use crate::harness::{get, request};

/// A self-signed certificate for `name` in `dir` as `NAME.pem` and `NAME.key`.
pub fn cert(dir: &std::path::Path, name: &str) {
    let ok = Command::new("openssl")
        .current_dir(dir)
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
        ])
        .args([
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
        ])
        .args([
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            &format!("subjectAltName=DNS:{name}"),
        ])
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

#[test]
fn sni_picks_the_certificate_and_host_the_site() {
    let d = tree(
        r#"
[[listen]]
addr = "127.0.0.1:0"
tls = { cert = "a.test.pem", key = "a.test.key", hsts = 600 }

[[listen]]
addr = "127.0.0.1:0"
tls = { cert = "b.test.pem", key = "b.test.key" }

[[site]]
hosts = ["a.test"]
  [[site.route]]
  path = "/"
  respond = { body = "site a" }

[[site]]
hosts = ["b.test"]
  [[site.route]]
  path = "/"
  respond = { body = "site b" }
"#,
    );
    cert(d.path(), "a.test");
    cert(d.path(), "b.test");
    let s = start(d.path());
    assert!(
        s.banner.starts_with("Listening on https://"),
        "{}",
        s.banner
    );
    let port = s.addr.port();
    let ca = |n: &str| d.path().join(format!("{n}.pem")).display().to_string();
    // The first listener has both certificates: each name gets its own.
    let a = curl(
        &s,
        "a.test",
        &[
            "--cacert",
            &ca("a.test"),
            &format!("https://a.test:{port}/"),
        ],
    );
    assert!(a.ends_with("site a"), "{a}");
    assert!(a.contains("strict-transport-security: max-age=600"), "{a}");
    let b = curl(
        &s,
        "b.test",
        &[
            "--cacert",
            &ca("b.test"),
            &format!("https://b.test:{port}/"),
        ],
    );
    assert!(b.ends_with("site b"), "{b}");
    // b.test's certificate does not verify a.test.
    let wrong = curl(
        &s,
        "a.test",
        &[
            "--cacert",
            &ca("b.test"),
            &format!("https://a.test:{port}/"),
        ],
    );
    assert!(wrong.is_empty(), "{wrong}");
}

#[test]
fn limits_on_body_size_and_handler_time() {
    let d = tree(
        r#"
[[listen]]
addr = "127.0.0.1:0"
[[site]]
  [[site.route]]
  path = "/cgi-bin/"
  cgi = { root = "cgi-bin" }
  limits = { body = 10, timeout = 0.5 }
"#,
    );
    std::fs::write(
        d.path().join("cgi-bin/slow.sh"),
        "#!/bin/sh\nsleep 3\nprintf 'Content-Type: text/plain\\r\\n\\r\\nlate\\n'\n",
    )
    .unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(d.path().join("cgi-bin/slow.sh"))
        .status()
        .unwrap();
    let s = start(d.path());
    let r = request(s.addr, "POST", "/cgi-bin/env.sh", &[], &[b'x'; 11]);
    assert_eq!(r.status, 413);
    let r = request(s.addr, "POST", "/cgi-bin/env.sh", &[], b"0123456789");
    assert_eq!(r.status, 200);
    // Chunked: the limit is counted as the body arrives.
    let chunked = s.exchange(
        b"POST /cgi-bin/env.sh HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n8\r\n01234567\r\n8\r\n89abcdef\r\n0\r\n\r\n",
    );
    let text = String::from_utf8_lossy(&chunked);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    let started = std::time::Instant::now();
    assert_eq!(get(s.addr, "/cgi-bin/slow.sh").status, 504);
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}

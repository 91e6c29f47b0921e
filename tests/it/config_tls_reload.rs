//! A reload that adds a TLS `[[listen]]` opens it with its certificates, and one that removes
//! it stops accepting there; the plain listener serves throughout.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::config_run::{start, tree};
use crate::config_tls::cert;
use crate::harness::{BIN, eventually, free_port, get, parse_banner};

fn config(tls_port: Option<u16>) -> String {
    let tls = tls_port.map_or(String::new(), |port| {
        format!(
            "[[listen]]\naddr = \"127.0.0.1:{port}\"\ntls = {{ cert = \"a.test.pem\", key = \"a.test.key\", hsts = 60 }}\n"
        )
    });
    format!(
        r#"
[[listen]]
addr = "127.0.0.1:0"

{tls}
[[site]]
hosts = ["a.test"]
default = true
  [[site.route]]
  path = "/"
  files = {{ root = "www" }}
"#
    )
}

/// `curl -s -i ARGS` with `a.test` on 127.0.0.1 at `port`.
fn curl(port: u16, args: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["-s", "-i", "--max-time", "10", "--resolve"])
        .arg(format!("a.test:{port}:127.0.0.1"))
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n")
}

/// `sockserve -c site.toml` in `dir`, its standard error going to `stderr.log` there, so a
/// test can read what a refused reload logged: the child, its address and the log's path.
fn start_logged(dir: &Path) -> (Child, SocketAddr, PathBuf) {
    let log = dir.join("stderr.log");
    let mut child = Command::new(BIN)
        .args(["-c", "site.toml"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut banner = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut banner)
        .unwrap();
    if banner.is_empty() {
        let status = child.wait();
        let said = std::fs::read_to_string(&log).unwrap_or_default();
        panic!("sockserve did not start ({status:?}): {said}");
    }
    (child, parse_banner(&banner), log)
}

fn hup(pid: u32) {
    let ok = Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

#[test]
fn a_reload_opens_an_added_tls_listener_and_closes_a_removed_one() {
    let d = tree(&config(None));
    cert(d.path(), "a.test");
    let s = start(d.path());
    let pid = s.child.id();
    let port = free_port();
    let ca = d.path().join("a.test.pem").display().to_string();
    let url = format!("https://a.test:{port}/a.txt");
    let https = || curl(port, &["--cacert", &ca, &url]);
    assert!(https().is_empty(), "nothing listens there yet");

    std::fs::write(d.path().join("site.toml"), config(Some(port))).unwrap();
    hup(pid);
    let mut answer = String::new();
    eventually("the added TLS listener", || {
        answer = https();
        !answer.is_empty()
    });
    assert!(answer.starts_with("HTTP/2 200"), "{answer}");
    assert!(answer.ends_with("hello from www\n"), "{answer}");
    assert!(
        answer.contains("strict-transport-security: max-age=60"),
        "{answer}"
    );
    // HTTP/1.1 over it too, and the plain listener is unchanged.
    let h1 = curl(port, &["--http1.1", "--cacert", &ca, &url]);
    assert!(h1.starts_with("HTTP/1.1 200"), "{h1}");
    assert_eq!(get(s.addr, "/a.txt").status, 200);

    // Removed again: it stops accepting, the plain listener goes on.
    std::fs::write(d.path().join("site.toml"), config(None)).unwrap();
    hup(pid);
    eventually("the removed TLS listener closed", || {
        TcpStream::connect(("127.0.0.1", port)).is_err()
    });
    assert_eq!(get(s.addr, "/a.txt").status, 200);
}

#[test]
fn a_reload_adding_acme_names_not_managed_is_refused_and_changes_nothing() {
    let d = tree(&config(None));
    let (mut child, addr, log) = start_logged(d.path());
    let port = free_port();
    let with_acme = config(None).replace(
        "[[site]]",
        &format!(
            "[acme]\nstate = \"state\"\n\n[[listen]]\naddr = \"127.0.0.1:{port}\"\nacme = [\"a.test\"]\n\n[[site]]"
        ),
    );
    std::fs::write(d.path().join("site.toml"), with_acme).unwrap();
    hup(child.id());
    let text = || std::fs::read_to_string(&log).unwrap_or_default();
    eventually("the refused reload logged", || {
        text().contains("take a restart")
    });
    assert!(text().contains("a.test"), "{}", text());
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    assert_eq!(get(addr, "/a.txt").status, 200);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn a_reload_that_changes_what_a_tls_listener_is_in_place_is_refused_and_it_serves_on() {
    let port = free_port();
    let d = tree(&config(Some(port)));
    cert(d.path(), "a.test");
    let (mut child, _, log) = start_logged(d.path());
    let ca = d.path().join("a.test.pem").display().to_string();
    let url = format!("https://a.test:{port}/a.txt");
    let https = || curl(port, &["--cacert", &ca, &url]);
    eventually("the TLS listener", || https().starts_with("HTTP/2 200"));

    // The same address, now self-signed: its handshake configuration was made at start-up.
    let self_signed = config(Some(port)).replace(
        "tls = { cert = \"a.test.pem\", key = \"a.test.key\", hsts = 60 }",
        "tls = { self-signed = true }",
    );
    assert_ne!(self_signed, config(Some(port)));
    std::fs::write(d.path().join("site.toml"), self_signed).unwrap();
    hup(child.id());
    let text = || std::fs::read_to_string(&log).unwrap_or_default();
    eventually("the refused reload logged", || {
        text().contains("takes a restart")
    });
    assert!(
        text().contains(&format!(
            "127.0.0.1:{port}: this listener was started as TLS from files, hsts 60 and is now TLS self-signed"
        )),
        "{}",
        text()
    );
    // Still the certificate from the files, with its HSTS.
    let answer = https();
    assert!(answer.starts_with("HTTP/2 200"), "{answer}");
    assert!(
        answer.contains("strict-transport-security: max-age=60"),
        "{answer}"
    );
    let _ = child.kill();
    let _ = child.wait();
}

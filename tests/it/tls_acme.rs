//! `--acme` end to end: the real binary gets its certificates from pebble, the ACME test CA
//! (Debian package `pebble`), which each test starts on loopback. Pebble's validation authority
//! connects to the binary's own ports: HTTP-01 on the plain port, TLS-ALPN-01 on the HTTPS port.
//! Skipped, saying so, where pebble is not installed.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{BIN, parse_banner};
use crate::pebble::{self, DOMAIN, Options, Pebble};

/// The longest a test waits for an issuance or a renewal.
const WAIT: Duration = Duration::from_secs(20);

/// Pebble started with `options`, and the directories of one test.
struct Ca {
    pebble: Pebble,
    _pebble_dir: tempfile::TempDir,
    /// The served directory, holding `index.html`.
    www: tempfile::TempDir,
    /// The `--acme-state` directory.
    state: tempfile::TempDir,
}

impl Ca {
    fn start(options: &Options) -> Option<Ca> {
        let binaries = pebble::binaries()?;
        let pebble_dir = tempfile::tempdir().unwrap();
        let pebble = Pebble::start(&binaries, pebble_dir.path(), options);
        let www = tempfile::tempdir().unwrap();
        std::fs::write(www.path().join("index.html"), "issued by ACME\n").unwrap();
        Some(Ca {
            pebble,
            _pebble_dir: pebble_dir,
            www,
            state: tempfile::tempdir().unwrap(),
        })
    }

    /// `serve WWW --acme DOMAIN` against this CA, plus `extra`.
    fn serve(&self, extra: &[&str]) -> Sockserve {
        let mut args = vec![
            "serve".to_string(),
            s(self.www.path()),
            "--acme".into(),
            DOMAIN.into(),
            "--acme-directory".into(),
            self.pebble.directory_url.clone(),
            "--acme-ca".into(),
            s(&self.pebble.ca_pem),
            "--acme-state".into(),
            s(self.state.path()),
            "--acme-email".into(),
            "admin@example.com".into(),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        Sockserve::start(&args)
    }

    /// The root of the certificates pebble issues (a new one after each restart), as a file.
    fn root(&self) -> PathBuf {
        let url = format!("https://{}/roots/0", self.pebble.management);
        let pem = curl(&["--cacert", &s(&self.pebble.ca_pem), &url]).expect("pebble's root");
        let path = self.state.path().join("pebble-root.pem");
        std::fs::write(&path, pem).unwrap();
        path
    }
}

/// The binary, its stderr (logs and the access log) kept in a file for failure messages.
struct Sockserve {
    child: Child,
    addr: SocketAddr,
    lines: Vec<String>,
    _log_dir: tempfile::TempDir,
    log: PathBuf,
}

impl Sockserve {
    fn start(args: &[String]) -> Sockserve {
        let log_dir = tempfile::tempdir().unwrap();
        let log = log_dir.path().join("stderr.log");
        let mut child = Command::new(BIN)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("spawn sockserve");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut lines = Vec::new();
        for _ in 0..4 {
            let mut line = String::new();
            if out.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            lines.push(line.trim_end().to_string());
            if line.starts_with("Certificates for") {
                break;
            }
        }
        let first = lines.first().cloned().unwrap_or_default();
        if !first.starts_with("Listening on") {
            let err = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("sockserve {args:?} did not start: {lines:?}\n{err}");
        }
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        Sockserve {
            child,
            addr: parse_banner(&first),
            lines,
            _log_dir: log_dir,
            log,
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `https://DOMAIN:PORT/` verified against `root`, `DOMAIN` resolved to loopback.
    fn fetch(&self, root: &Path) -> Result<String, String> {
        let port = self.addr.port();
        curl(&[
            "--cacert",
            &s(root),
            "--resolve",
            &format!("{DOMAIN}:{port}:127.0.0.1"),
            &format!("https://{DOMAIN}:{port}/"),
        ])
        .map(|body| String::from_utf8_lossy(&body).into_owned())
    }

    /// The SHA-256 of the certificate served for `DOMAIN`, or `None` when the handshake fails.
    fn served(&self) -> Option<String> {
        served_fingerprint(self.addr.port(), DOMAIN)
    }

    /// Waits until a certificate other than `previous` is served for `DOMAIN`.
    fn next_certificate(&self, previous: Option<&str>) -> String {
        let end = Instant::now() + WAIT;
        loop {
            if let Some(now) = self.served().filter(|now| Some(now.as_str()) != previous) {
                return now;
            }
            assert!(
                Instant::now() < end,
                "no new certificate was served; sockserve said:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Sockserve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn s(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_string()
}

/// `curl -sS ARGS`: its stdout, or its stderr when it fails.
fn curl(args: &[&str]) -> Result<Vec<u8>, String> {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .args(args)
        .output()
        .expect("run curl");
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The SHA-256 of the certificate served on `port` for the SNI `name`, unverified; `refused`
/// when the handshake fails.
const PEER_CERT: &str = r#"
import hashlib, socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
try:
    with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=sys.argv[2]) as tls:
            der = tls.getpeercert(binary_form=True)
    print(hashlib.sha256(der).hexdigest())
except (ssl.SSLError, ConnectionError) as e:
    print("refused", e)
"#;

fn served_fingerprint(port: u16, name: &str) -> Option<String> {
    let out = Command::new("python3")
        .args(["-c", PEER_CERT, &port.to_string(), name])
        .output()
        .expect("run python3");
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (!text.starts_with("refused")).then_some(text)
}

/// Where the binary keeps the certificate from `ca`.
fn stored_cert(ca: &Ca) -> PathBuf {
    let slug = ca
        .pebble
        .directory_url
        .trim_start_matches("https://")
        .replace([':', '/'], "-");
    ca.state.path().join(slug).join(DOMAIN).join("cert.pem")
}

#[test]
fn http01_on_the_plain_port_gets_a_certificate_served_without_a_restart() {
    // With --redirect-https, the challenge is answered before the redirect.
    let [http, https] = pebble::free_ports::<2>();
    let options = Options {
        http_port: http,
        tls_port: https,
        validity: None,
    };
    let Some(ca) = Ca::start(&options) else {
        return;
    };
    let (http, https) = (http.to_string(), https.to_string());
    let server = ca.serve(&["-p", &http, "--https-port", &https, "--redirect-https"]);
    assert_eq!(server.addr.port().to_string(), https, "{:?}", server.lines);
    assert!(
        server
            .lines
            .iter()
            .any(|l| l.starts_with("Certificates for sockserve.test")),
        "{:?}",
        server.lines
    );
    server.next_certificate(None);
    let root = ca.root();
    assert_eq!(server.fetch(&root).as_deref(), Ok("issued by ACME\n"));
    // The access log is written out at least once a second, not per line: wait for it.
    crate::harness::eventually(
        "the CA's HTTP-01 request in the plain port's access log",
        || server.stderr().contains("GET /.well-known/acme-challenge/"),
    );
    assert!(stored_cert(&ca).is_file(), "the certificate is stored");
    // Every other plain request is redirected; an unknown token too.
    for path in ["/", "/.well-known/acme-challenge/unknown"] {
        let url = format!("http://127.0.0.1:{http}{path}");
        let status = curl(&["-o", "/dev/null", "-w", "%{http_code}", &url]).unwrap();
        assert_eq!(status, b"308", "{path}");
    }
}

#[test]
fn tls_alpn01_is_answered_in_the_handshake_on_the_https_port() {
    let [unused, https] = pebble::free_ports::<2>();
    let options = Options {
        http_port: unused,
        tls_port: https,
        validity: None,
    };
    let Some(ca) = Ca::start(&options) else {
        return;
    };
    // No plain port: TLS-ALPN-01 is the only challenge that can be answered.
    let server = ca.serve(&["-p", &https.to_string()]);
    server.next_certificate(None);
    let root = ca.root();
    assert_eq!(server.fetch(&root).as_deref(), Ok("issued by ACME\n"));
    let log = server.stderr();
    assert!(
        !log.contains("acme-challenge"),
        "validated without HTTP-01:\n{log}"
    );
}

#[test]
fn short_lived_certificates_are_renewed_while_serving() {
    let [http, https] = pebble::free_ports::<2>();
    // Renewal at two thirds: about 6 s after each issuance.
    let options = Options {
        http_port: http,
        tls_port: https,
        validity: Some(Duration::from_secs(9)),
    };
    let Some(ca) = Ca::start(&options) else {
        return;
    };
    let (http, https) = (http.to_string(), https.to_string());
    let server = ca.serve(&["-p", &http, "--https-port", &https, "--acme-retry", "0.5"]);
    let first = server.next_certificate(None);
    let issued = Instant::now();
    let root = ca.root();
    assert_eq!(server.fetch(&root).as_deref(), Ok("issued by ACME\n"));
    let second = server.next_certificate(Some(&first));
    assert!(
        issued.elapsed() >= Duration::from_secs(3),
        "renewed too early: {:?}",
        issued.elapsed()
    );
    assert_ne!(first, second);
    assert_eq!(server.fetch(&root).as_deref(), Ok("issued by ACME\n"));
}

#[test]
fn the_ca_going_away_keeps_the_certificate_served_and_it_is_renewed_when_it_returns() {
    let [http, https] = pebble::free_ports::<2>();
    // 9 s: renewal is due 6 s after the first issuance, with the CA gone.
    let options = Options {
        http_port: http,
        tls_port: https,
        validity: Some(Duration::from_secs(9)),
    };
    let Some(mut ca) = Ca::start(&options) else {
        return;
    };
    let (http, https) = (http.to_string(), https.to_string());
    let server = ca.serve(&["-p", &http, "--https-port", &https, "--acme-retry", "0.5"]);
    let first = server.next_certificate(None);
    let root = ca.root();
    ca.pebble.stop();
    let end = Instant::now() + WAIT;
    while !server.stderr().contains("certificate order failed") {
        assert!(
            Instant::now() < end,
            "no failed renewal:\n{}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The renewal failed: the old certificate is still served, and still verifies.
    assert_eq!(server.served().as_deref(), Some(first.as_str()));
    assert_eq!(server.fetch(&root).as_deref(), Ok("issued by ACME\n"));
    ca.pebble.restart();
    let renewed = server.next_certificate(Some(&first));
    assert_ne!(renewed, first);
}

#[test]
fn a_name_without_its_certificate_yet_is_refused_and_the_flags_are_checked() {
    let www = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    // A CA nobody answers at: the first order fails and is retried later.
    let server = Sockserve::start(&[
        "serve".into(),
        s(www.path()),
        "-p".into(),
        "0".into(),
        "--acme".into(),
        DOMAIN.into(),
        "--acme-directory".into(),
        "https://127.0.0.1:9/directory".into(),
        "--acme-state".into(),
        s(state.path()),
    ]);
    assert!(
        server.lines[0].starts_with("Listening on https://"),
        "{:?}",
        server.lines
    );
    assert_eq!(server.served(), None, "no certificate for {DOMAIN} yet");
    assert_eq!(served_fingerprint(server.addr.port(), "other.test"), None);
    let end = Instant::now() + WAIT;
    while !server.stderr().contains("certificate order failed") {
        assert!(Instant::now() < end, "{}", server.stderr());
        std::thread::sleep(Duration::from_millis(100));
    }

    let usage: [&[&str]; 7] = [
        &["serve", "--acme-email", "a@example.com"],
        &["serve", "--acme", "bad name"],
        &["serve", "--acme", "127.0.0.1"],
        &["serve", "--acme", "a.test", "--tls-self-signed"],
        &["serve", "--acme", "a.test", "--acme-challenge", "http-01"],
        &["serve", "--acme", "a.test", "--acme", "A.test"],
        &[
            "serve",
            "--acme",
            "a.test",
            "--tls-client-ca",
            "/nonexistent/ca.pem",
        ],
    ];
    for args in usage {
        let out = Command::new(BIN)
            .args(args)
            .args(["--acme-state", &s(state.path()), "-p", "0"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
    }
}

//! HTTPS with real TLS clients: curl, Python's `ssl`, headless Chromium.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::harness::{BIN, Running, get, parse_banner};

/// A certificate and its key written as PEM files in a fresh directory.
struct CertFiles {
    dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
    der: Vec<u8>,
}

impl CertFiles {
    fn new(names: &[&str]) -> CertFiles {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let made = rcgen::generate_simple_self_signed(names).expect("rcgen");
        let dir = tempfile::tempdir().expect("tempdir");
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(&cert, made.cert.pem()).expect("write cert");
        std::fs::write(&key, made.signing_key.serialize_pem()).expect("write key");
        CertFiles {
            dir,
            cert,
            key,
            der: made.cert.der().to_vec(),
        }
    }

    fn args(&self) -> Vec<String> {
        vec![
            "--tls-cert".into(),
            s(&self.cert),
            "--tls-key".into(),
            s(&self.key),
        ]
    }
}

fn s(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_string()
}

/// A served directory holding `index.html` and a 3 MiB file.
fn www() -> (tempfile::TempDir, Vec<u8>) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("index.html"), "<h1>over TLS</h1>\n").expect("write");
    let big: Vec<u8> = (0..3 * 1024 * 1024 + 5).map(|i| (i % 253) as u8).collect();
    std::fs::write(dir.path().join("big.bin"), &big).expect("write");
    (dir, big)
}

fn start(args: &[String]) -> Running {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Running::start(&args)
}

/// `curl -s ARGS...`, its stdout; panics when curl fails.
fn curl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("curl")
        .arg("-sS")
        .args(args)
        .output()
        .expect("run curl");
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs a Python program with `argv`; its stdout.
fn python(program: &str, argv: &[&str]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(program)
        .args(argv)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The SHA-256 (hex, upper case, colon-separated) of the certificate served for `sni`.
const PEER_CERT: &str = r#"
import hashlib, socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as raw:
    with ctx.wrap_socket(raw, server_hostname=sys.argv[2]) as tls:
        der = tls.getpeercert(binary_form=True)
print(":".join("%02X" % b for b in hashlib.sha256(der).digest()))
"#;

/// A verified GET with Python's `ssl` and the CA file; prints version, ALPN, then the response.
const VERIFIED_GET: &str = r#"
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.set_alpn_protocols(["http/1.1"])
with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
        print(tls.version(), tls.selected_alpn_protocol())
        tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        out = b""
        while True:
            try:
                chunk = tls.recv(65536)
            except ssl.SSLEOFError:
                break
            if not chunk:
                break
            out += chunk
print(out.decode())
"#;

#[test]
fn curl_verifies_the_certificate_and_gets_files_over_https() {
    let cert = CertFiles::new(&["localhost", "127.0.0.1"]);
    let (dir, big) = www();
    let mut args = vec![
        "serve".to_string(),
        s(dir.path()),
        "-p".into(),
        "0".into(),
        "-q".into(),
    ];
    args.extend(cert.args());
    let server = start(&args);
    let port = server.addr.port();
    assert_eq!(
        server.banner,
        format!("Listening on https://127.0.0.1:{port}/")
    );
    let ca = s(&cert.cert);
    let url = format!("https://localhost:{port}/");
    let resolve = format!("localhost:{port}:127.0.0.1");
    let page = curl(&["--cacert", &ca, "--resolve", &resolve, &url]);
    assert_eq!(page, b"<h1>over TLS</h1>\n");
    let got = curl(&[
        "--cacert",
        &ca,
        &format!("https://127.0.0.1:{port}/big.bin"),
    ]);
    assert!(
        got == big,
        "3 MiB file differs over TLS ({} bytes)",
        got.len()
    );
    let version = curl(&[
        "--http1.1",
        "--cacert",
        &ca,
        "-o",
        "/dev/null",
        "-w",
        "%{http_version} %{ssl_verify_result}",
        &url,
        "--resolve",
        &resolve,
    ]);
    assert_eq!(version, b"1.1 0");
}

#[test]
fn python_ssl_verifies_and_negotiates_tls13_with_alpn() {
    let cert = CertFiles::new(&["localhost"]);
    let (dir, _) = www();
    let mut args = vec![
        "serve".to_string(),
        s(dir.path()),
        "-p".into(),
        "0".into(),
        "-q".into(),
    ];
    args.extend(cert.args());
    let server = start(&args);
    let out = python(
        VERIFIED_GET,
        &[&server.addr.port().to_string(), &s(&cert.cert)],
    );
    assert!(out.starts_with("TLSv1.3 http/1.1\n"), "{out}");
    assert!(
        out.contains("HTTP/1.1 200 OK") && out.contains("<h1>over TLS</h1>"),
        "{out}"
    );
}

/// Starts `sockserve ARGS` and reads its first `lines` stdout lines.
fn start_reading(args: &[&str], lines: usize) -> (Child, Vec<String>) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sockserve");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut out = Vec::new();
    for _ in 0..lines {
        let mut line = String::new();
        reader.read_line(&mut line).expect("read");
        out.push(line.trim_end().to_string());
    }
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = reader.read_to_end(&mut sink);
    });
    (child, out)
}

/// Kills the child when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn self_signed_prints_the_fingerprint_of_the_certificate_it_serves() {
    let (dir, _) = www();
    let (child, lines) = start_reading(
        &[
            "serve",
            &s(dir.path()),
            "-p",
            "0",
            "-q",
            "--tls-self-signed",
        ],
        3,
    );
    let _child = Killed(child);
    let addr = parse_banner(&lines[0]);
    assert!(lines[0].starts_with("Listening on https://"), "{lines:?}");
    let printed = lines[2].rsplit(' ').next().expect("fingerprint");
    assert!(lines[2].contains("SHA-256"), "{lines:?}");
    let served = python(PEER_CERT, &[&addr.port().to_string(), "localhost"]);
    assert_eq!(served.trim(), printed);
}

/// Runs `sockserve ARGS` expecting a start-up failure; its exit code and stderr.
fn fails(args: &[String]) -> (i32, String) {
    let out = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run sockserve");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_certificate_files_are_one_line_errors_naming_the_file() {
    let good = CertFiles::new(&["localhost"]);
    let other = CertFiles::new(&["localhost"]);
    let missing = good.dir.path().join("missing.pem");
    let expired = good.dir.path().join("expired.pem");
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    params.not_before = rcgen::date_time_ymd(2001, 1, 1);
    params.not_after = rcgen::date_time_ymd(2002, 1, 1);
    std::fs::write(&expired, params.self_signed(&key).expect("sign").pem()).expect("write");
    let expired_key = good.dir.path().join("expired-key.pem");
    std::fs::write(&expired_key, key.serialize_pem()).expect("write");
    let cases = [
        (missing.clone(), good.key.clone(), "missing.pem"),
        (good.cert.clone(), other.key.clone(), "does not match"),
        (good.key.clone(), good.key.clone(), "no PEM certificate"),
        (good.cert.clone(), good.cert.clone(), "no PEM private key"),
        (
            expired.clone(),
            expired_key.clone(),
            "expired.pem: the certificate expired",
        ),
    ];
    for (cert, key, says) in cases {
        for command in [&["serve", "-p", "0"][..], &["-p", "0"]] {
            let mut args: Vec<String> = command.iter().map(|a| a.to_string()).collect();
            args.extend(["--tls-cert".into(), s(&cert), "--tls-key".into(), s(&key)]);
            let (code, err) = fails(&args);
            assert_eq!(code, 1, "{args:?}: {err}");
            assert_eq!(err.trim_end().lines().count(), 1, "{err}");
            assert!(err.contains(says), "{args:?}: {err}");
        }
    }
    let (code, err) = fails(&["serve".into(), "--tls-cert".into(), s(&good.cert)]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn redirect_https_answers_plain_requests_with_308_and_hsts_goes_only_over_tls() {
    let (dir, _) = www();
    let (child, lines) = start_reading(
        &[
            "serve",
            &s(dir.path()),
            "-p",
            "0",
            "-q",
            "--tls-self-signed",
            "--https-port",
            "0",
            "--redirect-https",
            "--hsts",
            "31536000",
        ],
        4,
    );
    let _child = Killed(child);
    let https = parse_banner(&lines[0]);
    let http = parse_banner(&lines[3]);
    assert!(lines[3].starts_with("Listening on http://"), "{lines:?}");
    let r = get(http, "/a/b?c=d");
    assert_eq!(r.status, 308);
    assert_eq!(
        r.header("location"),
        Some(format!("https://test:{}/a/b?c=d", https.port()).as_str()),
        "the host the client asked for, on the HTTPS port"
    );
    assert!(r.header("strict-transport-security").is_none());
    let head = curl(&["-k", "-I", &format!("https://127.0.0.1:{}/", https.port())]);
    let head = String::from_utf8(head).expect("utf-8").to_ascii_lowercase();
    assert!(
        head.contains("strict-transport-security: max-age=31536000"),
        "{head}"
    );

    // Without the redirect, both ports serve, and only HTTPS carries HSTS.
    let (child, lines) = start_reading(
        &[
            "serve",
            &s(dir.path()),
            "-p",
            "0",
            "-q",
            "--tls-self-signed",
            "--https-port",
            "0",
            "--hsts",
            "60",
        ],
        4,
    );
    let _child = Killed(child);
    let r = get(parse_banner(&lines[3]), "/");
    assert_eq!(
        (r.status, r.header("strict-transport-security")),
        (200, None)
    );
}

#[test]
fn sni_chooses_the_certificate_by_name_and_unknown_names_get_the_first() {
    let first = CertFiles::new(&["first.test"]);
    let exact = CertFiles::new(&["a.test"]);
    let wild = CertFiles::new(&["*.w.test"]);
    let (dir, _) = www();
    let mut args = vec![
        "serve".to_string(),
        s(dir.path()),
        "-p".into(),
        "0".into(),
        "-q".into(),
    ];
    for c in [&first, &exact, &wild] {
        args.extend(c.args());
    }
    let server = start(&args);
    let port = server.addr.port();
    for (name, cert) in [
        ("a.test", &exact),
        ("x.w.test", &wild),
        ("first.test", &first),
    ] {
        let url = format!("https://{name}:{port}/");
        let resolve = format!("{name}:{port}:127.0.0.1");
        let page = curl(&["--cacert", &s(&cert.cert), "--resolve", &resolve, &url]);
        assert_eq!(page, b"<h1>over TLS</h1>\n", "{name}");
    }
    let first_fp = tls::fingerprint(&first.der);
    assert_eq!(
        python(PEER_CERT, &[&port.to_string(), "unknown.test"]).trim(),
        first_fp
    );
}

#[test]
fn cgi_scripts_see_https_and_the_ssl_variables() {
    let (dir, _) = www();
    let bin = dir.path().join("cgi-bin");
    std::fs::create_dir(&bin).expect("mkdir");
    let script = bin.join("env.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\nenv\n",
    )
    .expect("write");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let cert = CertFiles::new(&["localhost"]);
    let mut args = vec![
        "serve".to_string(),
        s(dir.path()),
        "--cgi".into(),
        "-p".into(),
        "0".into(),
        "-q".into(),
    ];
    args.extend(cert.args());
    let server = start(&args);
    let url = format!("https://localhost:{}/cgi-bin/env.sh", server.addr.port());
    let resolve = format!("localhost:{}:127.0.0.1", server.addr.port());
    let env = curl(&["--cacert", &s(&cert.cert), "--resolve", &resolve, &url]);
    let env = String::from_utf8(env).expect("utf-8");
    let lines: Vec<&str> = env.lines().collect();
    assert!(lines.contains(&"HTTPS=on"), "{env}");
    assert!(lines.contains(&"SSL_PROTOCOL=TLSv1.3"), "{env}");
    assert!(
        lines.iter().any(|l| l.starts_with("SSL_CIPHER=TLS_")),
        "{env}"
    );
    assert!(lines.contains(&"SSL_TLS_SNI=localhost"), "{env}");
}

#[test]
fn chromium_loads_the_demo_page_and_its_picture_over_https() {
    use crate::site::browser::start_driver_with;
    let cert = CertFiles::new(&["localhost", "127.0.0.1"]);
    let db = cert.dir.path().join("guestbook.db");
    let mut args = vec![
        "-p".to_string(),
        "0".into(),
        "-q".into(),
        "--db".into(),
        s(&db),
    ];
    args.extend(cert.args());
    let server = start(&args);
    let spki = tls::spki_sha256_base64(&cert.der).expect("spki");
    let driver = start_driver_with(&[format!("--ignore-certificate-errors-spki-list={spki}")]);
    let url = format!("https://127.0.0.1:{}/", server.addr.port());
    driver.go(&url);
    assert_eq!(driver.script("return document.title"), "WOW");
    assert_eq!(driver.script("return location.protocol"), "https:");
    driver.wait_for("the picture to decode", |d| {
        d.script("const i = document.querySelector('img'); return i.complete && i.naturalWidth")
            .as_u64()
            .is_some_and(|w| w > 0)
    });
    assert_eq!(
        driver.script("return document.querySelector('img').naturalWidth"),
        300
    );
}

/// Plain requests still work on a server that also speaks TLS on another port.
#[test]
fn https_port_beside_plain_port_serves_both() {
    let (dir, _) = www();
    let (child, lines) = start_reading(
        &[
            "serve",
            &s(dir.path()),
            "-p",
            "0",
            "-q",
            "--tls-self-signed",
            "--https-port",
            "0",
        ],
        4,
    );
    let _child = Killed(child);
    let plain: SocketAddr = parse_banner(&lines[3]);
    assert_eq!(get(plain, "/").body, b"<h1>over TLS</h1>\n");
    let tls = parse_banner(&lines[0]);
    let page = curl(&["-k", &format!("https://127.0.0.1:{}/", tls.port())]);
    assert_eq!(page, b"<h1>over TLS</h1>\n");
}

/// The shared HTTP/1.1 conformance vectors, relayed over TLS by `scripts/tls_relay.py`; only
/// where the vectors are checked out beside the project (as CI lays them).
#[test]
fn conformance_vectors_pass_over_tls() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let vectors = root.join("../shared/conformance");
    if !vectors.join("run.py").exists() {
        eprintln!("conformance vectors not found beside the project; skipped");
        return;
    }
    let args = [
        "serve".to_string(),
        s(&vectors),
        "--cgi".into(),
        "--cgi-ext".into(),
        ".py=python3".into(),
        "-p".into(),
        "0".into(),
        "-q".into(),
        "--tls-self-signed".into(),
    ];
    let server = start(&args);
    let (relay, lines) = {
        let mut child = Command::new("python3")
            .arg(root.join("scripts/tls_relay.py"))
            .arg(server.addr.port().to_string())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run the relay");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("relay port");
        (Killed(child), line)
    };
    let port = lines
        .trim()
        .strip_prefix("relay on ")
        .expect("relay banner");
    let out = Command::new("python3")
        .arg(vectors.join("run.py"))
        .args(["127.0.0.1", port, "--cgi-prefix", "/cgi-bin/send_hdr.py"])
        .output()
        .expect("run the vectors");
    drop(relay);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}");
    assert!(report.contains(" 0 failed"), "{report}");
}

#[test]
fn sighup_and_changed_files_reload_the_certificates_and_a_bad_file_keeps_the_old_ones() {
    let old = CertFiles::new(&["localhost"]);
    let (dir, _) = www();
    let mut args = vec![
        "serve".to_string(),
        s(dir.path()),
        "-p".into(),
        "0".into(),
        "-q".into(),
    ];
    args.extend(old.args());
    let server = start(&args);
    let port = server.addr.port().to_string();
    let served = || python(PEER_CERT, &[&port, "localhost"]).trim().to_string();
    assert_eq!(served(), tls::fingerprint(&old.der));
    let hup = || {
        let ok = Command::new("kill")
            .args(["-HUP", &server.child.id().to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok);
    };
    let wait_for = |want: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while served() != want {
            assert!(
                std::time::Instant::now() < deadline,
                "certificate never became {want}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    let new = CertFiles::new(&["localhost"]);
    std::fs::copy(&new.cert, &old.cert).expect("copy");
    std::fs::copy(&new.key, &old.key).expect("copy");
    hup();
    wait_for(&tls::fingerprint(&new.der));

    std::fs::write(&old.key, "not a key").expect("write");
    hup();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(
        served(),
        tls::fingerprint(&new.der),
        "the bad file kept the loaded pair"
    );
    let page = curl(&["-k", &format!("https://127.0.0.1:{port}/")]);
    assert_eq!(page, b"<h1>over TLS</h1>\n");

    // Renewed files are picked up without a signal too.
    let renewed = CertFiles::new(&["localhost"]);
    std::fs::copy(&renewed.cert, &old.cert).expect("copy");
    std::fs::copy(&renewed.key, &old.key).expect("copy");
    wait_for(&tls::fingerprint(&renewed.der));
}

#[test]
fn client_ca_requires_a_client_certificate_and_cgi_sees_its_subject() {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let (dir, _) = www();
    let bin = dir.path().join("cgi-bin");
    std::fs::create_dir(&bin).expect("mkdir");
    let script = bin.join("env.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\nenv\n",
    )
    .expect("write");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");

    let ca_key = KeyPair::generate().expect("key");
    let mut ca_params = CertificateParams::new(Vec::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Test CA");
    let ca = ca_params.self_signed(&ca_key).expect("ca");
    let client_key = KeyPair::generate().expect("key");
    let mut client_params = CertificateParams::new(Vec::new()).expect("params");
    client_params.distinguished_name = rcgen::DistinguishedName::new();
    client_params
        .distinguished_name
        .push(DnType::OrganizationName, "Example");
    client_params
        .distinguished_name
        .push(DnType::CommonName, "alice");
    client_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let client = client_params
        .signed_by(
            &client_key,
            &rcgen::Issuer::from_params(&ca_params, &ca_key),
        )
        .expect("client");

    let cert = CertFiles::new(&["localhost"]);
    let ca_file = cert.dir.path().join("ca.pem");
    let client_file = cert.dir.path().join("client.pem");
    let client_key_file = cert.dir.path().join("client-key.pem");
    std::fs::write(&ca_file, ca.pem()).expect("write");
    std::fs::write(&client_file, client.pem()).expect("write");
    std::fs::write(&client_key_file, client_key.serialize_pem()).expect("write");

    let mut args = vec![
        "serve".to_string(),
        s(dir.path()),
        "--cgi".into(),
        "-p".into(),
        "0".into(),
        "-q".into(),
    ];
    args.extend(cert.args());
    args.extend(["--tls-client-ca".into(), s(&ca_file)]);
    let server = start(&args);
    let url = format!("https://localhost:{}/cgi-bin/env.sh", server.addr.port());
    let resolve = format!("localhost:{}:127.0.0.1", server.addr.port());
    let ca_arg = s(&cert.cert);

    let without = Command::new("curl")
        .args(["-sS", "--cacert", &ca_arg, "--resolve", &resolve, &url])
        .output()
        .expect("curl");
    assert!(
        !without.status.success(),
        "a client without a certificate was served"
    );

    let env = curl(&[
        "--cacert",
        &ca_arg,
        "--resolve",
        &resolve,
        "--cert",
        &s(&client_file),
        "--key",
        &s(&client_key_file),
        &url,
    ]);
    let env = String::from_utf8(env).expect("utf-8");
    let lines: Vec<&str> = env.lines().collect();
    assert!(
        lines.contains(&"SSL_CLIENT_S_DN=CN=alice,O=Example"),
        "{env}"
    );
    assert!(lines.contains(&"SSL_CLIENT_VERIFY=SUCCESS"), "{env}");
}

/// Two connections, the second offering the first one's session; prints whether it resumed.
/// argv: port, `1.2` or `1.3`, `tickets` or `ids` (TLS 1.2 session IDs: the stateful cache).
const RESUMES: &str = r#"
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
if sys.argv[2] == "1.2":
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
if sys.argv[3] == "ids":
    ctx.options |= ssl.OP_NO_TICKET
session = None
for _ in range(2):
    with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as tls:
            tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            tls.recv(65536)
            resumed = tls.session_reused
            version = tls.version()
            session = tls.session
print(version, resumed)
"#;

#[test]
fn sessions_resume_by_ticket_and_by_session_id() {
    let (dir, _) = www();
    let server = start(&[
        "serve".to_string(),
        s(dir.path()),
        "-p".into(),
        "0".into(),
        "-q".into(),
        "--tls-self-signed".into(),
    ]);
    let port = server.addr.port().to_string();
    assert_eq!(
        python(RESUMES, &[&port, "1.3", "tickets"]).trim(),
        "TLSv1.3 True"
    );
    assert_eq!(
        python(RESUMES, &[&port, "1.2", "tickets"]).trim(),
        "TLSv1.2 True"
    );
    assert_eq!(
        python(RESUMES, &[&port, "1.2", "ids"]).trim(),
        "TLSv1.2 True"
    );
}

#[test]
fn a_client_that_never_finishes_its_handshake_does_not_hold_up_others() {
    let (dir, _) = www();
    let server = start(&[
        "serve".to_string(),
        s(dir.path()),
        "-p".into(),
        "0".into(),
        "-q".into(),
        "--tls-self-signed".into(),
    ]);
    let mut silent = std::net::TcpStream::connect(server.addr).expect("connect");
    std::io::Write::write_all(&mut silent, b"\x16\x03\x01").expect("partial hello");
    let started = std::time::Instant::now();
    let page = curl(&["-k", &format!("https://127.0.0.1:{}/", server.addr.port())]);
    assert_eq!(page, b"<h1>over TLS</h1>\n");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // The silent one is closed once its handshake time is up.
    silent
        .set_read_timeout(Some(
            server::HANDSHAKE_TIMEOUT + std::time::Duration::from_secs(5),
        ))
        .expect("timeout");
    let mut buf = [0; 64];
    match std::io::Read::read(&mut silent, &mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("the stalled handshake was not closed: {other:?}"),
    }
    assert!(started.elapsed() >= server::HANDSHAKE_TIMEOUT - std::time::Duration::from_secs(1));
}

#[test]
fn tls_flags_without_a_certificate_or_where_they_do_not_apply_are_usage_errors() {
    let cases: [&[&str]; 4] = [
        &["serve", "--hsts", "5"],
        &["serve", "--https-port", "0"],
        &["serve", "--tls-self-signed", "--redirect-https"],
        &["tcp", "listen", "--tls-self-signed"],
    ];
    for args in cases {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let (code, err) = fails(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
    }
}

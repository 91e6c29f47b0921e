//! Integration tests: `sockserve get https://...` against Python's `http.server` wrapped in
//! `ssl.SSLContext`, with a test CA and server certificates made here with rcgen.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, date_time_ymd,
};

use crate::harness::{BIN, have, stderr, stdout};
use crate::tcp::closed_port;

/// The file every test fetches, and what it holds.
const FILE: &str = "hello.txt";
const FILE_BODY: &str = "hello over TLS\n";

/// An HTTPS server in Python, serving a directory; `protocol_version` HTTP/1.1 so connections
/// are kept alive. It binds port 0 and prints the port it got as its first line.
const SERVER_PY: &str = r#"
import http.server, ssl, sys, functools
cert, key, root, tls12 = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "tls12"
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
if tls12:
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
ctx.load_cert_chain(cert, key)
ctx.set_alpn_protocols(["http/1.1"])
def remember_sni(sock, name, ctx):
    sock.sni = name
ctx.sni_callback = remember_sni
class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def do_GET(self):
        if self.path == "/sni":
            body = (getattr(self.connection, "sni", None) or "none").encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        # A body that ends at close, closed with or without TLS close_notify.
        if self.path in ("/until-close", "/until-close-notify"):
            self.wfile.write(b"HTTP/1.0 200 OK\r\n\r\nto the end\n")
            self.wfile.flush()
            self.close_connection = True
            if self.path == "/until-close-notify":
                self.connection.unwrap()
            return
        super().do_GET()
handler = functools.partial(Handler, directory=root)
httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
print(httpd.server_address[1], flush=True)
httpd.serve_forever()
"#;

/// A test CA, another CA nobody trusts, and server certificates in a temporary directory.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = make_ca(dir.path(), "ca", "sockserve test CA");
        make_ca(dir.path(), "other-ca", "somebody else's CA");
        // Valid for localhost and 127.0.0.1 until 2035.
        make_leaf(
            dir.path(),
            "server",
            &["localhost", "127.0.0.1"],
            (2025, 2035),
            &ca,
        );
        // Expired at the start of 2021.
        make_leaf(dir.path(), "expired", &["127.0.0.1"], (2020, 2021), &ca);
        // For another name only.
        make_leaf(
            dir.path(),
            "elsewhere",
            &["example.test"],
            (2025, 2035),
            &ca,
        );
        // Self-signed and marked as a CA, as `openssl req -x509` makes them.
        make_self_signed_ca(dir.path(), "pinned", "localhost");
        std::fs::create_dir(dir.path().join("site")).expect("mkdir");
        std::fs::create_dir(dir.path().join("site/docs")).expect("mkdir");
        std::fs::write(dir.path().join("site").join(FILE), FILE_BODY).expect("write");
        std::fs::write(dir.path().join("site/docs/index.html"), "<h1>docs</h1>\n").expect("write");
        std::fs::write(dir.path().join("server.py"), SERVER_PY).expect("write");
        Pki { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn arg(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    /// Python serving `site/` with the certificate `name` (`server`, `expired`, `elsewhere`).
    fn serve(&self, name: &str, tls12: bool) -> Python {
        let mut child = Command::new("python3")
            .arg(self.path("server.py"))
            .arg(self.path(&format!("{name}.pem")))
            .arg(self.path(&format!("{name}.key")))
            .arg(self.path("site"))
            .arg(if tls12 { "tls12" } else { "any" })
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn python3");
        let mut line = String::new();
        let out = child.stdout.take().expect("stdout");
        BufReader::new(out).read_line(&mut line).expect("read port");
        let port: u16 = line.trim().parse().expect("python printed its port");
        Python { child, port }
    }
}

/// The key and self-signed certificate of a CA, as `NAME.pem` and `NAME.key`.
fn make_ca(dir: &Path, name: &str, cn: &str) -> Issuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.distinguished_name = name_of(cn);
    let key = KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("self-signed");
    std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).expect("write");
    std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).expect("write");
    Issuer::new(params, key)
}

/// A self-signed certificate for `name` marked as a CA, as `NAME.pem` and `NAME.key`.
fn make_self_signed_ca(dir: &Path, file: &str, name: &str) {
    let mut params = CertificateParams::new(vec![name.to_string()]).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name = name_of(name);
    let key = KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("self-signed");
    std::fs::write(dir.join(format!("{file}.pem")), cert.pem()).expect("write");
    std::fs::write(dir.join(format!("{file}.key")), key.serialize_pem()).expect("write");
}

/// A server certificate for `names`, valid from the first to the second year's 1 January.
fn make_leaf(
    dir: &Path,
    name: &str,
    names: &[&str],
    (from, to): (i32, i32),
    ca: &Issuer<'_, KeyPair>,
) {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names.clone()).expect("params");
    params.distinguished_name = name_of(&names[0]);
    params.not_before = date_time_ymd(from, 1, 1);
    params.not_after = date_time_ymd(to, 1, 1);
    let key = KeyPair::generate().expect("key");
    let cert = params.signed_by(&key, ca).expect("sign");
    std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).expect("write");
    std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).expect("write");
}

fn name_of(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

/// The Python server, killed when dropped.
struct Python {
    child: Child,
    port: u16,
}

impl Python {
    fn url(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.port)
    }
}

impl Drop for Python {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `sockserve get ARGS` with no system roots of the machine's: `SSL_CERT_FILE` names `roots`
/// (so the tests mean the same on a machine with or without ca-certificates).
fn get_with_roots(roots: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("get")
        .args(args)
        .args(["--timeout", "30"])
        .env("SSL_CERT_FILE", roots)
        .env_remove("SSL_CERT_DIR")
        .stdin(Stdio::null())
        .output()
        .expect("run sockserve get")
}

/// `sockserve get ARGS` whose system roots are the CA that nobody uses.
fn get(pki: &Pki, args: &[&str]) -> Output {
    get_with_roots(&pki.path("other-ca.pem"), args)
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}; stderr: {}",
        out.status.code(),
        stderr(out)
    );
}

/// A failed run: exit `code` and one `sockserve: ` line on stderr, returned.
fn assert_fails(out: &Output, code: i32) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(err.starts_with("sockserve: "), "{err:?}");
    err
}

/// Python with its `ssl` module, or a reason to skip.
fn python_with_ssl() -> bool {
    let ok = have("python3")
        && Command::new("python3")
            .args(["-c", "import ssl"])
            .status()
            .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("python3 with ssl not found; skipping");
    }
    ok
}

#[test]
fn a_server_signed_by_the_cacert_is_trusted() {
    if !python_with_ssl() {
        return;
    }
    let pki = Pki::new();
    let python = pki.serve("server", false);
    for host in ["localhost", "127.0.0.1"] {
        let out = get(
            &pki,
            &[
                "--cacert",
                &pki.arg("ca.pem"),
                &python.url(host, "/hello.txt"),
            ],
        );
        assert_ok(&out);
        assert_eq!(stdout(&out), FILE_BODY, "{host}");
        assert_eq!(stderr(&out), "", "{host}");
    }
}

#[test]
fn a_self_signed_ca_certificate_named_by_cacert_is_trusted_for_its_name() {
    if !python_with_ssl() {
        return;
    }
    let pki = Pki::new();
    let python = pki.serve("pinned", false);
    let pinned = pki.arg("pinned.pem");
    let out = get(
        &pki,
        &["--cacert", &pinned, &python.url("localhost", "/hello.txt")],
    );
    assert_ok(&out);
    assert_eq!(stdout(&out), FILE_BODY);
    // Its name is still checked.
    let out = get(
        &pki,
        &["--cacert", &pinned, &python.url("127.0.0.1", "/hello.txt")],
    );
    let err = assert_fails(&out, 60);
    assert!(err.contains("not valid for name \"127.0.0.1\""), "{err}");
}

#[test]
fn the_system_roots_verify_the_server() {
    if !python_with_ssl() {
        return;
    }
    let pki = Pki::new();
    let python = pki.serve("server", false);
    // SSL_CERT_FILE is where OpenSSL, and so the system-roots loader, looks first.
    let out = get_with_roots(
        &pki.path("ca.pem"),
        &[&python.url("localhost", "/hello.txt")],
    );
    assert_ok(&out);
    assert_eq!(stdout(&out), FILE_BODY);
}

#[test]
fn an_untrusted_certificate_fails_with_exit_60_unlike_a_refused_connection() {
    if !python_with_ssl() {
        return;
    }
    let pki = Pki::new();
    let python = pki.serve("server", false);
    let url = python.url("localhost", "/hello.txt");
    for out in [
        get(&pki, &[&url]),
        get(&pki, &["--cacert", &pki.arg("other-ca.pem"), &url]),
    ] {
        let err = assert_fails(&out, 60);
        assert!(
            err.contains(&format!(
                "the certificate of localhost:{} is not trusted: it is not signed by a trusted \
                 certificate authority",
                python.port
            )),
            "{err}"
        );
        assert!(err.contains("--cacert"), "{err}");
        assert_eq!(stdout(&out), "");
    }
    // Nothing listening is another failure, with another code.
    let port = closed_port();
    let err = assert_fails(
        &get(
            &pki,
            &[
                "--cacert",
                &pki.arg("ca.pem"),
                &format!("https://127.0.0.1:{port}/"),
            ],
        ),
        1,
    );
    assert!(
        err.contains(&format!("cannot connect to 127.0.0.1:{port}")),
        "{err}"
    );
}

#[test]
fn an_expired_or_misnamed_certificate_is_untrusted() {
    if !python_with_ssl() {
        return;
    }
    let pki = Pki::new();
    let ca = pki.arg("ca.pem");
    let expired = pki.serve("expired", false);
    let err = assert_fails(
        &get(&pki, &["--cacert", &ca, &expired.url("127.0.0.1", "/")]),
        60,
    );
    assert!(
        err.contains("is not trusted: it expired on 2021-01-01 00:00:00 UTC"),
        "{err}"
    );
    let elsewhere = pki.serve("elsewhere", false);
    let err = assert_fails(
        &get(&pki, &["--cacert", &ca, &elsewhere.url("localhost", "/")]),
        60,
    );
    assert!(err.contains("not valid for name \"localhost\""), "{err}");
    assert!(err.contains("example.test"), "{err}");
}

#[test]
fn insecure_accepts_any_certificate_and_says_so() {
    if !python_with_ssl() {
        return;
    }
    let pki = Pki::new();
    for name in ["server", "expired"] {
        let python = pki.serve(name, false);
        let out = get(&pki, &["-k", &python.url("127.0.0.1", "/hello.txt")]);
        assert_ok(&out);
        assert_eq!(stdout(&out), FILE_BODY);
        let err = stderr(&out);
        assert_eq!(
            err,
            format!(
                "sockserve: warning: --insecure: the certificate of 127.0.0.1:{} is not verified\n",
                python.port
            )
        );
    }
    // Over plain http there is nothing to warn about.
    let plain = plain_redirect_to("http://127.0.0.1:1/");
    let out = get(&pki, &["-k", &format!("http://{plain}/")]);
    assert_ok(&out);
    assert_eq!(stderr(&out), "");
}

#[test]
fn trace_shows_the_handshake_before_the_heads() {
    if !python_with_ssl() {
        return;
    }
    let pki = Pki::new();
    let python = pki.serve("server", false);
    let out = get(
        &pki,
        &[
            "--trace",
            "--cacert",
            &pki.arg("ca.pem"),
            &python.url("localhost", "/hello.txt"),
        ],
    );
    assert_ok(&out);
    let err = stderr(&out);
    let expected = [
        "* TLSv1.3, cipher TLS13_",
        "* ALPN http/1.1\n",
        "* certificate subject: CN=localhost\n",
        "* certificate issuer: CN=sockserve test CA\n",
        "* certificate valid: 2025-01-01 00:00:00 UTC to 2035-01-01 00:00:00 UTC\n",
        "* certificate verified\n",
        "> GET /hello.txt HTTP/1.1\n",
        "< HTTP/1.1 200 OK\n",
    ];
    let mut at = 0;
    for line in expected {
        let found = err[at..]
            .find(line)
            .unwrap_or_else(|| panic!("{line:?} missing or out of order in:\n{err}"));
        at += found + line.len();
    }
}

#[test]
fn sni_names_the_host_but_not_an_ip_address() {
    if !python_with_ssl() {
        return;
    }
    let pki = Pki::new();
    let python = pki.serve("server", false);
    for (host, sni) in [("localhost", "localhost"), ("127.0.0.1", "none")] {
        let out = get(&pki, &["-k", &python.url(host, "/sni")]);
        assert_ok(&out);
        assert_eq!(stdout(&out), sni, "{host}");
    }
}

#[test]
fn a_tls12_only_server_is_reached_over_tls12() {
    if !python_with_ssl() {
        return;
    }
    let pki = Pki::new();
    let python = pki.serve("server", true);
    let out = get(
        &pki,
        &[
            "--trace",
            "--cacert",
            &pki.arg("ca.pem"),
            &python.url("127.0.0.1", "/hello.txt"),
        ],
    );
    assert_ok(&out);
    assert_eq!(stdout(&out), FILE_BODY);
    let err = stderr(&out);
    assert!(err.contains("* TLSv1.2, cipher TLS_ECDHE_"), "{err}");
}

#[test]
fn a_redirect_from_http_to_https_is_followed() {
    if !python_with_ssl() {
        return;
    }
    let pki = Pki::new();
    let python = pki.serve("server", false);
    let plain = plain_redirect_to(&python.url("localhost", "/hello.txt"));
    let out = get(
        &pki,
        &[
            "-L",
            "-i",
            "--cacert",
            &pki.arg("ca.pem"),
            &format!("http://{plain}/"),
        ],
    );
    assert_ok(&out);
    let text = stdout(&out);
    assert!(text.starts_with("HTTP/1.1 302 Found\r\n"), "{text}");
    assert!(text.contains("\r\n\r\nHTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.ends_with(FILE_BODY), "{text}");
}

#[test]
fn a_tls_connection_is_reused_for_a_redirect_on_it() {
    if !python_with_ssl() {
        return;
    }
    let pki = Pki::new();
    let python = pki.serve("server", false);
    // http.server answers a directory without its slash with a 301 to the slash.
    let out = get(
        &pki,
        &[
            "-L",
            "--trace",
            "--cacert",
            &pki.arg("ca.pem"),
            &python.url("localhost", "/docs"),
        ],
    );
    assert_ok(&out);
    assert_eq!(stdout(&out), "<h1>docs</h1>\n");
    let err = stderr(&out);
    assert!(err.contains("< HTTP/1.1 301 "), "{err}");
    assert!(
        err.contains("* reusing the connection to 127.0.0.1:"),
        "{err}"
    );
    assert_eq!(err.matches("* TLSv1.3").count(), 1, "{err}");
}

#[test]
fn a_body_ending_at_close_needs_close_notify_over_tls() {
    if !python_with_ssl() {
        return;
    }
    let pki = Pki::new();
    let python = pki.serve("server", false);
    let ca = pki.arg("ca.pem");
    let out = get(
        &pki,
        &[
            "--cacert",
            &ca,
            &python.url("localhost", "/until-close-notify"),
        ],
    );
    assert_ok(&out);
    assert_eq!(stdout(&out), "to the end\n");
    let out = get(
        &pki,
        &["--cacert", &ca, &python.url("localhost", "/until-close")],
    );
    let err = assert_fails(&out, 1);
    assert!(err.contains("without close_notify"), "{err}");
}

#[test]
fn https_to_a_plain_http_server_fails_the_handshake_with_exit_35() {
    let plain = plain_redirect_to("http://127.0.0.1:1/");
    let out = Command::new(BIN)
        .args(["get", "-k", "--timeout", "30", &format!("https://{plain}/")])
        .stdin(Stdio::null())
        .output()
        .expect("run sockserve get");
    let err = assert_fails(&out, 35);
    assert!(
        err.contains(&format!(
            "the TLS handshake with {plain} failed: the server did not answer in TLS"
        )),
        "{err}"
    );
}

#[test]
fn no_system_roots_is_said_with_a_way_out() {
    let plain = plain_redirect_to("http://127.0.0.1:1/");
    let out = Command::new(BIN)
        .args(["get", "--timeout", "30", &format!("https://{plain}/")])
        .env("SSL_CERT_FILE", "/nonexistent/roots.pem")
        .env("SSL_CERT_DIR", "/nonexistent/certs")
        .stdin(Stdio::null())
        .output()
        .expect("run sockserve get");
    let err = assert_fails(&out, 1);
    assert!(
        err.contains("no trusted root certificates were found on this system"),
        "{err}"
    );
    assert!(err.contains("--cacert FILE"), "{err}");
}

#[test]
fn a_bad_cacert_file_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("not-a-ca.pem");
    std::fs::write(&file, "hello\n").expect("write");
    let out = Command::new(BIN)
        .args(["get", "--cacert"])
        .arg(&file)
        .arg("https://127.0.0.1:1/")
        .stdin(Stdio::null())
        .output()
        .expect("run sockserve get");
    let err = assert_fails(&out, 1);
    assert!(
        err.contains(&format!("cannot use {} as CA certificates", file.display())),
        "{err}"
    );
}

/// A plain HTTP server on a thread that answers every request with `302` to `location` and
/// closes, and a TLS client hello at once, as an HTTP server answers garbage; returns its
/// address.
fn plain_redirect_to(location: &str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let reply = format!(
        "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    std::thread::spawn(move || {
        while let Ok((mut s, _)) = listener.accept() {
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && matches!(s.read(&mut byte), Ok(1)) {
                head.push(byte[0]);
                // 0x16: a TLS handshake record, not a request line.
                if head == [0x16] {
                    break;
                }
            }
            let _ = s.write_all(reply.as_bytes());
        }
    });
    addr
}

//! `acme` in a configuration file end to end: the real binary gets its certificate from pebble,
//! the ACME test CA, answering HTTP-01 on the configuration's plain listener, then serves the
//! site over HTTPS with it. Skipped, saying so, where pebble is not installed.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{BIN, parse_banner};
use crate::pebble::{self, DOMAIN, Options, Pebble};

/// The longest the test waits for the issuance.
const WAIT: Duration = Duration::from_secs(20);

/// The binary, killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn s(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_string()
}

/// `curl -sS ARGS`: its stdout, or its stderr when it fails.
fn curl(args: &[&str]) -> Result<String, String> {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .args(args)
        .output()
        .expect("run curl");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn a_configuration_with_acme_gets_a_certificate_over_http01_and_serves_https() {
    let [http, https] = pebble::free_ports::<2>();
    let options = Options {
        http_port: http,
        tls_port: https,
        validity: None,
    };
    let Some(binaries) = pebble::binaries() else {
        return;
    };
    let pebble_dir = tempfile::tempdir().unwrap();
    let ca = Pebble::start(&binaries, pebble_dir.path(), &options);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("www")).unwrap();
    std::fs::write(dir.path().join("www/index.html"), "site over ACME\n").unwrap();
    let toml = format!(
        r#"
[acme]
directory = "{directory}"
ca = "{ca}"
state = "state"
email = "admin@example.com"
challenge = "http-01"

[[listen]]
addr = "127.0.0.1:{https}"
acme = ["{DOMAIN}"]

[[listen]]
addr = "127.0.0.1:{http}"

[[site]]
hosts = ["{DOMAIN}"]
  [[site.route]]
  path = "/"
  files = {{ root = "www" }}
"#,
        directory = ca.directory_url,
        ca = s(&ca.ca_pem),
    );
    std::fs::write(dir.path().join("site.toml"), toml).unwrap();
    let check = Command::new(BIN)
        .args(["check", "site.toml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");

    let log = dir.path().join("stderr.log");
    let mut child = Command::new(BIN)
        .args(["-c", "site.toml"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("spawn sockserve");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let _child = Killed(child);
    let mut lines = Vec::new();
    for _ in 0..3 {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        lines.push(line.trim_end().to_string());
    }
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let stderr = || std::fs::read_to_string(&log).unwrap_or_default();
    let first = lines.first().cloned().unwrap_or_default();
    assert!(first.starts_with("Listening on"), "{lines:?}\n{}", stderr());
    assert_eq!(parse_banner(&first).port(), https, "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("Certificates for {DOMAIN}"))),
        "{lines:?}"
    );

    // The root of what pebble issues, to verify the served certificate against.
    let url = format!("https://{}/roots/0", ca.management);
    let root_pem = curl(&["--cacert", &s(&ca.ca_pem), &url]).expect("pebble's root");
    let root = dir.path().join("pebble-root.pem");
    std::fs::write(&root, root_pem).unwrap();
    let site = format!("https://{DOMAIN}:{https}/");
    let resolve = format!("{DOMAIN}:{https}:127.0.0.1");
    let end = Instant::now() + WAIT;
    let body = loop {
        match curl(&["--cacert", &s(&root), "--resolve", &resolve, &site]) {
            Ok(body) => break body,
            Err(e) => assert!(
                Instant::now() < end,
                "no certificate was served ({e}); sockserve said:\n{}",
                stderr()
            ),
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(body, "site over ACME\n");
    // `challenge = "http-01"`: pebble validated on its HTTP port, which is the plain
    // listener's, so the certificate is the proof the plain listener answered.
    assert!(
        stderr().contains("installed a new certificate"),
        "{}",
        stderr()
    );
    assert!(
        dir.path().join("state").is_dir(),
        "the state directory is relative to the file"
    );
    // The plain listener still serves the site for everything else.
    let plain = format!("http://{DOMAIN}:{http}/");
    let resolve = format!("{DOMAIN}:{http}:127.0.0.1");
    assert_eq!(
        curl(&["--resolve", &resolve, &plain]).as_deref(),
        Ok("site over ACME\n")
    );
}

//! `config-from-flags` with the `--acme*` flags prints `[acme]` and the listeners' `acme`
//! names, and the printed file runs the same server: checked, run, and given its certificate
//! by pebble (the ACME test CA) over HTTP-01. The round trip is skipped, saying so, where
//! pebble is not installed.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{BIN, parse_banner, stderr, stdout};
use crate::pebble::{self, DOMAIN, Options, Pebble};

/// The binary, killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sockserve(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn acme_flags_print_as_the_acme_section_and_listener_names() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("www")).unwrap();
    // HTTPS on -p alone: one listener with the names, TLS-ALPN-01 by default.
    let out = sockserve(
        &[
            "config-from-flags",
            "serve",
            "www",
            "-p",
            "8443",
            "--acme",
            "a.example",
            "--acme",
            "b.example",
            "--acme-email",
            "ops@example.test",
            "--acme-retry",
            "30",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let config = config::Config::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let acme = config.acme.expect("[acme]");
    assert_eq!(acme.email.as_deref(), Some("ops@example.test"));
    assert_eq!(acme.retry, Some(30.0));
    assert_eq!(config.listen.len(), 1, "{text}");
    match &config.listen[0].tls {
        Some(config::Tls::Acme { domains }) => assert_eq!(domains, &["a.example", "b.example"]),
        other => panic!("{other:?}\n{text}"),
    }
    // `--acme-*` without `--acme` is refused as the flags refuse it.
    let out = sockserve(
        &["config-from-flags", "serve", "www", "--acme-email", "x@y"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("--acme-email needs --acme"),
        "{}",
        stderr(&out)
    );
    // What a listener cannot say is refused rather than dropped.
    let out = sockserve(
        &[
            "config-from-flags",
            "serve",
            "www",
            "--acme",
            "a.example",
            "--hsts",
            "60",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
}

#[test]
fn the_printed_acme_configuration_runs_and_gets_its_certificate() {
    let Some(binaries) = pebble::binaries() else {
        return;
    };
    let [http, https] = pebble::free_ports::<2>();
    let options = Options {
        http_port: http,
        tls_port: https,
        validity: None,
    };
    let pebble_dir = tempfile::tempdir().unwrap();
    let ca = Pebble::start(&binaries, pebble_dir.path(), &options);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("www")).unwrap();
    std::fs::write(dir.path().join("www/index.html"), "printed over ACME\n").unwrap();
    let ca_pem = ca.ca_pem.display().to_string();
    let (http_s, https_s) = (http.to_string(), https.to_string());
    let printed = sockserve(
        &[
            "serve",
            "www",
            "-p",
            &http_s,
            "--https-port",
            &https_s,
            "--acme",
            DOMAIN,
            "--acme-directory",
            &ca.directory_url,
            "--acme-ca",
            &ca_pem,
            "--acme-state",
            "state",
            "--acme-challenge",
            "http-01",
            "--print-config",
        ],
        dir.path(),
    );
    assert!(printed.status.success(), "{}", stderr(&printed));
    let text = stdout(&printed);
    assert!(text.contains("[acme]"), "{text}");
    assert!(text.contains(&format!("acme = [\"{DOMAIN}\"]")), "{text}");
    std::fs::write(dir.path().join("site.toml"), &text).unwrap();
    let check = sockserve(&["check", "site.toml"], dir.path());
    assert!(check.status.success(), "{}\n{text}", stdout(&check));

    let log = dir.path().join("stderr.log");
    let mut child = Command::new(BIN)
        .args(["-c", "site.toml"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let _child = Killed(child);
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let said = || std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(parse_banner(&first).port(), http, "{first}{}", said());

    let root = dir.path().join("pebble-root.pem");
    let fetched = Command::new("curl")
        .args(["-sS", "--max-time", "10", "--cacert", &ca_pem])
        .arg(format!("https://{}/roots/0", ca.management))
        .output()
        .unwrap();
    std::fs::write(&root, &fetched.stdout).unwrap();
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let got = Command::new("curl")
            .args(["-sS", "--max-time", "5", "--cacert"])
            .arg(&root)
            .args(["--resolve", &format!("{DOMAIN}:{https}:127.0.0.1")])
            .arg(format!("https://{DOMAIN}:{https}/"))
            .output()
            .unwrap();
        if got.status.success() {
            assert_eq!(String::from_utf8_lossy(&got.stdout), "printed over ACME\n");
            break;
        }
        assert!(
            Instant::now() < end,
            "no certificate was served ({}); sockserve said:\n{}",
            stderr(&got),
            said()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        dir.path().join("state").is_dir(),
        "the state directory given on the command line"
    );
}

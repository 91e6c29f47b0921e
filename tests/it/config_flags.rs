//! `config-from-flags` / `--print-config`: the file a command line amounts to, and that running
//! it serves the same; the SOCKSERVE_* environment variables.

use std::process::Command;

use crate::harness::{BIN, Running, get, stdout};

#[test]
fn serve_with_cgi_printed_then_run_serves_the_same() {
    let d = crate::config_run::tree("");
    let out = Command::new(BIN)
        .current_dir(d.path())
        .args([
            "config-from-flags",
            "serve",
            ".",
            "--cgi",
            "-p",
            "0",
            "-H",
            "X-A: b",
            "--max-age",
            "60",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let toml = stdout(&out);
    assert!(
        toml.contains("[[listen]]\naddr = \"127.0.0.1:0\""),
        "{toml}"
    );
    assert!(toml.contains("[[site.route]]\npath = \"/\""), "{toml}");
    std::fs::write(d.path().join("site.toml"), &toml).unwrap();
    let flags = Running::start_in(
        Some(d.path()),
        &[
            "serve",
            ".",
            "--cgi",
            "-p",
            "0",
            "-H",
            "X-A: b",
            "--max-age",
            "60",
            "-q",
        ],
    );
    let file = crate::config_run::start(d.path());
    for path in [
        "/www/a.txt",
        "/cgi-bin/env.sh/p",
        "/www/",
        "/www",
        "/nothing",
    ] {
        let (a, b) = (get(flags.addr, path), get(file.addr, path));
        assert_eq!(a.status, b.status, "{path}");
        assert_eq!(a.body, b.body, "{path}");
        for h in ["content-type", "cache-control", "location", "etag"] {
            assert_eq!(a.header(h), b.header(h), "{path} {h}");
        }
        // `-H` reaches the files' answers; a route's `headers` reach every answer of it.
        if !path.starts_with("/cgi-bin/") {
            assert_eq!(a.header("x-a"), b.header("x-a"), "{path}");
        }
    }
    // The same with --print-config after the command.
    let out = Command::new(BIN)
        .current_dir(d.path())
        .args([
            "serve",
            ".",
            "--cgi",
            "-p",
            "0",
            "-H",
            "X-A: b",
            "--max-age",
            "60",
            "--print-config",
        ])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), toml);
}

#[test]
fn the_demo_site_and_tls_flags_print_too_and_others_are_refused() {
    let out = Command::new(BIN)
        .args([
            "--print-config",
            "-p",
            "9000",
            "--db",
            "/tmp/g.db",
            "--tls-self-signed",
        ])
        .output()
        .unwrap();
    let toml = stdout(&out);
    assert!(toml.contains("demo"), "{toml}");
    assert!(toml.contains("db = \"/tmp/g.db\""), "{toml}");
    assert!(toml.contains("self-signed = true"), "{toml}");
    let out = Command::new(BIN)
        .args(["config-from-flags", "daytime"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn environment_variables_stand_for_the_common_flags() {
    let d = crate::config_run::tree("");
    let out = Command::new(BIN)
        .current_dir(d.path())
        .env("SOCKSERVE_PORT", "9123")
        .env("SOCKSERVE_BIND", "127.0.0.2")
        .env("SOCKSERVE_CORS", "true")
        .args(["config-from-flags", "serve", "www"])
        .output()
        .unwrap();
    let toml = stdout(&out);
    assert!(toml.contains("addr = \"127.0.0.2:9123\""), "{toml}");
    assert!(toml.contains("origins = [\"*\"]"), "{toml}");
    // And a real server on the port the environment gives.
    let s = Command::new(BIN)
        .current_dir(d.path())
        .env("SOCKSERVE_PORT", "0")
        .env("SOCKSERVE_ROOT", "www")
        .args(["serve", "-q"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut s = KillOnDrop(s);
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(s.0.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let addr = crate::harness::parse_banner(&line);
    assert_eq!(get(addr, "/a.txt").text(), "hello from www\n");
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

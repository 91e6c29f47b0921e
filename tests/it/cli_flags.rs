//! Integration tests: the command line: where flags may go, what they may not say together,
//! what the banner and the help print.

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::harness::{BIN, Running, get, have, parse_banner, stderr, stdout};
use crate::tcp::sockserve;

/// A failed run with clap's usage code or ours: exit 2 and a message on stderr.
fn assert_usage_error(out: &Output, needle: &str) {
    assert_eq!(out.status.code(), Some(2), "stdout {:?}", stdout(out));
    assert!(stderr(out).contains(needle), "{}", stderr(out));
}

/// Starts `sockserve ARGS...` and returns it with every stdout line printed in the first moments.
fn start_with_banner(args: &[&str]) -> (std::process::Child, Vec<String>) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut lines = Vec::new();
    let mut line = String::new();
    // The banner is written in one go: read until the directory line or a quiet moment.
    while out.read_line(&mut line).unwrap_or(0) > 0 {
        let done = line.starts_with("Serving ");
        lines.push(line.trim_end().to_string());
        line.clear();
        if done {
            break;
        }
    }
    (child, lines)
}

#[test]
fn bare_port_and_a_different_p_are_an_error() {
    let out = sockserve(&["serve", "9000", "-p", "9001"]);
    assert_usage_error(&out, "two ports given (9000 and -p 9001)");
}

#[test]
fn quiet_before_the_command_applies_to_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.txt"), b"hello").expect("write");
    let root = dir.path().to_str().expect("utf-8");
    let mut child = Command::new(BIN)
        .args(["-q", "-p", "0", "serve", root])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut banner = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut banner)
        .expect("banner");
    let addr = parse_banner(&banner);
    assert_eq!(get(addr, "/a.txt").text(), "hello");
    std::thread::sleep(Duration::from_millis(200));
    let _ = child.kill();
    let mut err = String::new();
    let _ = child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err);
    let _ = child.wait();
    assert!(!err.contains("/a.txt"), "access log despite -q: {err}");
}

#[test]
fn server_flags_on_a_client_command_are_an_error() {
    assert_usage_error(&sockserve(&["get", "-q", "http://127.0.0.1:1/"]), "--quiet");
    assert_usage_error(
        &sockserve(&["daytime", "-p", "0", "--head-timeout", "3"]),
        "--head-timeout does not apply to `daytime`",
    );
    assert_usage_error(
        &sockserve(&["-p", "5", "tcp", "send", "127.0.0.1:1", "hi"]),
        "--port",
    );
    assert_usage_error(&sockserve(&["--db", "x.db", "serve"]), "--db");
}

#[test]
fn get_output_dash_writes_to_stdout() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.txt"), b"body text").expect("write");
    let server = Running::start(&["serve", "-p", "0", dir.path().to_str().expect("utf-8")]);
    let out = Command::new(BIN)
        .args(["get", "-o", "-", &server.url("/a.txt")])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("run get");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "body text");
    assert!(!dir.path().join("-").exists(), "wrote a file named -");
}

#[test]
fn short_and_long_help_both_say_no_command_runs_the_demo_site() {
    for flag in ["-h", "--help"] {
        let out = sockserve(&[flag]);
        assert!(out.status.success());
        assert!(
            stdout(&out).contains("With no command, runs the demo site"),
            "{flag}: {}",
            stdout(&out)
        );
    }
}

#[test]
fn privileged_port_without_permission_gets_the_hint() {
    // As root the bind would succeed: drop to nobody, with no capabilities, to see the refusal.
    let mut cmd = if is_root() {
        if !have("setpriv") {
            return;
        }
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            BIN,
        ]);
        c
    } else {
        Command::new(BIN)
    };
    let out = cmd
        .args(["serve", "-p", "80", "-d", "/"])
        .stdin(Stdio::null())
        .output()
        .expect("run");
    if out.status.success() || stdout(&out).starts_with("Listening") {
        return; // the port is unprivileged here (ip_unprivileged_port_start lowered)
    }
    let err = stderr(&out);
    assert!(
        err.contains("port 80 needs root (or CAP_NET_BIND_SERVICE); choose another with -p PORT"),
        "{err}"
    );
}

/// Whether this process runs as root (`/proc/self/status` says the effective uid).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(2))
            == Some("0")
    })
}

#[test]
fn ipv6_wildcard_serves_ipv4_clients() {
    if TcpListener::bind("[::1]:0").is_err() {
        return; // no IPv6 on this machine
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.txt"), b"dual").expect("write");
    let server = Running::start(&[
        "serve",
        "-b",
        "::",
        "-p",
        "0",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert!(
        server.banner.starts_with("Listening on http://[::]:"),
        "{}",
        server.banner
    );
    let v4 = SocketAddr::from(([127, 0, 0, 1], server.addr.port()));
    assert_eq!(get(v4, "/a.txt").text(), "dual");
}

#[test]
fn wildcard_banner_lists_local_addresses_and_names_the_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = std::fs::canonicalize(dir.path()).expect("canonical");
    let (mut child, lines) = start_with_banner(&[
        "serve",
        "-b",
        "0.0.0.0",
        "-p",
        "0",
        dir.path().to_str().expect("utf-8"),
    ]);
    let _ = child.kill();
    let _ = child.wait();
    let addr = parse_banner(&lines[0]);
    assert!(
        lines[0].starts_with("Listening on http://0.0.0.0:"),
        "{lines:?}"
    );
    let loopback = format!("  http://127.0.0.1:{}/", addr.port());
    assert!(lines.contains(&loopback), "{lines:?}");
    assert_eq!(
        lines.last(),
        Some(&format!("Serving {}", root.display())),
        "{lines:?}"
    );
}

#[test]
fn readme_states_each_server_commands_default_port() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let usage = readme
        .split("## Usage")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("a Usage section");
    assert!(
        usage.contains("`daytime` defaults to `13`"),
        "README does not say daytime's default port"
    );
    assert!(
        usage.contains("(default `8000`"),
        "README does not say 8000"
    );
}

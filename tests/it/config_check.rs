//! `sockserve check FILE` and a bad file given to `--config`: every mistake, with its line and
//! column, and a non-zero exit.

use std::process::Command;

use crate::harness::{BIN, stderr, stdout};

/// Five different mistakes: a bad address, a bad host, an unknown key, a route with two
/// handlers, a status no handler can send.
const FIVE: &str = r#"[[listen]]
addr = "127.0.0.1:notaport"

[[site]]
hosts = ["bad..name"]

  [[site.route]]
  path = "/"
  files = { root = "www", listng = false }

  [[site.route]]
  path = "/x/"
  respond = { body = "x" }
  redirect = { to = "/y" }

  [[site.route]]
  path = "/z/"
  respond = { status = 999 }
"#;

#[test]
fn check_prints_all_five_mistakes_with_positions() {
    let d = crate::config_run::tree(FIVE);
    let out = Command::new(BIN)
        .current_dir(d.path())
        .args(["check", "site.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 5, "{err}");
    let want = [
        ("site.toml:2:8:", "not an address with a port"),
        ("site.toml:5:10:", "not a host name"),
        ("site.toml:9:27:", "unknown field `listng`"),
        ("site.toml:13:13:", "one handler"),
        ("site.toml:18:24:", "999 is not a status"),
    ];
    for (line, (at, what)) in lines.iter().zip(want) {
        assert!(
            line.starts_with(at) && line.contains(what),
            "{line} / {at} {what}\n{err}"
        );
    }
}

#[test]
fn check_accepts_a_good_file_and_config_refuses_a_bad_one() {
    let d = crate::config_run::tree(
        "[[listen]]\naddr = \"127.0.0.1:0\"\n[[site]]\n[[site.route]]\npath = \"/\"\nfiles = { root = \"www\" }\n",
    );
    let out = Command::new(BIN)
        .current_dir(d.path())
        .args(["check", "site.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("ok (1 listener, 1 site, 1 route)"));
    std::fs::write(d.path().join("bad.toml"), FIVE).unwrap();
    let out = Command::new(BIN)
        .current_dir(d.path())
        .args(["--config", "bad.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("bad.toml:2:8:"), "{}", stderr(&out));
    let out = Command::new(BIN)
        .args(["check", "/nonexistent/x.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("/nonexistent/x.toml:1:1: cannot read"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn config_with_a_command_or_a_server_flag_is_a_usage_error() {
    for args in [
        &["-c", "x.toml", "serve"][..],
        &["-c", "x.toml", "-p", "80"],
    ] {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains("--config"), "{}", stderr(&out));
    }
}

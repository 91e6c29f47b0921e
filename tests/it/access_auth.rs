//! Basic authentication over the real binary: password files made by Apache's own `htpasswd`,
//! the challenge, failed attempts limited per client, and the verified user reaching CGI's
//! `REMOTE_USER` and the access log (never a user the client merely named).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::harness::{self, BIN, Running, request};

/// `pw` hashed by the argon2 CLI (`argon2 sockservesalt1 -id -m 10 -t 1 -p 1 -e`).
const ARGON2_PW: &str =
    "$argon2id$v=19$m=1024,t=1,p=1$c29ja3NlcnZlc2FsdDE$g7ADeAbCn+u3evAYKdwj5PgcacIWtB3GbpBGAAilz8A";

/// `htpasswd -b [-c] FLAG FILE USER PASSWORD`.
fn htpasswd(file: &Path, flags: &[&str], user: &str, password: &str) {
    let mut cmd = Command::new("htpasswd");
    if !file.exists() {
        cmd.arg("-c");
    }
    let out = cmd
        .arg("-b")
        .args(flags)
        .arg(file)
        .args([user, password])
        .output()
        .expect("run htpasswd (apache2-utils)");
    assert!(out.status.success(), "{}", harness::stderr(&out));
}

/// `curl -s -o /dev/null -w '%{http_code}' [-u USER:PW] URL`.
fn curl_status(url: &str, user: Option<&str>) -> String {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-o", "/dev/null", "-w", "%{http_code}"]);
    if let Some(u) = user {
        cmd.args(["-u", u]);
    }
    let out = cmd.arg(url).output().expect("curl");
    harness::stdout(&out)
}

/// `Authorization: Basic base64(user:password)`.
fn basic(creds: &str) -> String {
    let out = Command::new("base64")
        .args(["-w", "0"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().expect("stdin").write_all(creds.as_bytes())?;
            c.wait_with_output()
        })
        .expect("base64");
    format!("Basic {}", harness::stdout(&out))
}

fn www(dir: &Path) -> std::path::PathBuf {
    let root = dir.join("www");
    fs::create_dir_all(&root).expect("mkdir");
    fs::write(root.join("hello.txt"), "hello\n").expect("write");
    root
}

#[test]
fn htpasswd_files_in_each_format_apache_writes_and_argon2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = www(dir.path());
    let users = dir.path().join("users");
    htpasswd(&users, &["-B", "-C", "4"], "bcrypt", "pw-b");
    htpasswd(&users, &["-m"], "md5", "pw-m");
    htpasswd(&users, &["-s"], "sha", "pw-s");
    let mut text = fs::read_to_string(&users).expect("read");
    text.push_str(&format!("argon:{ARGON2_PW}\n"));
    fs::write(&users, text).expect("write");
    let s = Running::start(&[
        "serve",
        root.to_str().expect("utf-8"),
        "-p",
        "0",
        "-q",
        "--auth-file",
        users.to_str().expect("utf-8"),
        "--auth-realm",
        "Staff only",
    ]);
    let url = s.url("/hello.txt");
    for (user, pw) in [
        ("bcrypt", "pw-b"),
        ("md5", "pw-m"),
        ("sha", "pw-s"),
        ("argon", "pw"),
    ] {
        assert_eq!(
            curl_status(&url, Some(&format!("{user}:{pw}"))),
            "200",
            "{user}"
        );
        assert_eq!(
            curl_status(&url, Some(&format!("{user}:{pw}x"))),
            "401",
            "{user}"
        );
    }
    assert_eq!(curl_status(&url, Some("nobody:pw")), "401");
    let r = request(s.addr, "GET", "/hello.txt", &[], b"");
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Basic realm=\"Staff only\", charset=\"UTF-8\"")
    );
    let ok = request(
        s.addr,
        "GET",
        "/hello.txt",
        &[("Authorization", &basic("sha:pw-s"))],
        b"",
    );
    assert_eq!((ok.status, ok.text().as_str()), (200, "hello\n"));
}

#[test]
fn failed_attempts_are_limited_per_client_with_429() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = www(dir.path());
    let s = Running::start(&[
        "serve",
        root.to_str().expect("utf-8"),
        "-p",
        "0",
        "-q",
        "--auth",
        "ann:right",
    ]);
    let wrong = basic("ann:wrong");
    for i in 0..10 {
        let r = request(s.addr, "GET", "/", &[("Authorization", &wrong)], b"");
        assert_eq!(r.status, 401, "attempt {i}");
    }
    let r = request(
        s.addr,
        "GET",
        "/",
        &[("Authorization", &basic("ann:right"))],
        b"",
    );
    assert_eq!(r.status, 429, "even the right password waits");
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry), "{retry}");
}

#[test]
fn remote_user_reaches_cgi_and_the_access_log_only_when_verified() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = www(dir.path());
    fs::create_dir_all(root.join("cgi-bin")).expect("mkdir");
    let script = root.join("cgi-bin/who.sh");
    fs::write(
        &script,
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\necho \"user=${REMOTE_USER-unset} type=${AUTH_TYPE-unset}\"\n",
    )
    .expect("write");
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod");
    let log = dir.path().join("access.log");
    let s = Running::start(&[
        "serve",
        root.to_str().expect("utf-8"),
        "--cgi",
        "-p",
        "0",
        "--auth",
        "ann:pw",
        "--access-log",
        log.to_str().expect("utf-8"),
    ]);
    let ok = request(
        s.addr,
        "GET",
        "/cgi-bin/who.sh",
        &[("Authorization", &basic("ann:pw"))],
        b"",
    );
    assert_eq!(
        (ok.status, ok.text().as_str()),
        (200, "user=ann type=Basic\n")
    );
    let bad = request(
        s.addr,
        "GET",
        "/cgi-bin/who.sh?bad",
        &[("Authorization", &basic("ann:no"))],
        b"",
    );
    assert_eq!(bad.status, 401);
    assert!(!bad.text().contains("user="), "the script never ran");
    let text = harness::log_lines(&log, 2, Duration::from_secs(5));
    let ann = text.lines().find(|l| l.contains("who.sh HTTP"));
    let ann = ann.unwrap_or_else(|| panic!("no verified line in {text:?}"));
    assert!(ann.starts_with("127.0.0.1 - ann ["), "{ann}");
    let refused = text
        .lines()
        .find(|l| l.contains("who.sh?bad"))
        .expect("refused line");
    assert!(refused.starts_with("127.0.0.1 - - ["), "{refused}");
    assert!(refused.contains("\" 401 "), "{refused}");

    // Without --auth, a user the client names reaches neither.
    let open = Running::start(&[
        "serve",
        root.to_str().expect("utf-8"),
        "--cgi",
        "-p",
        "0",
        "-q",
    ]);
    let r = request(
        open.addr,
        "GET",
        "/cgi-bin/who.sh",
        &[("Authorization", &basic("ann:pw"))],
        b"",
    );
    assert_eq!(r.text(), "user=unset type=Basic\n");
}

#[test]
fn bad_auth_flags_are_one_line_usage_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad");
    fs::write(&bad, "# users\nann:rl0uE9sSg4Mq2\n").expect("write");
    let missing = dir.path().join("missing");
    let cases: [(&[&str], &str); 4] = [
        (&["--auth", "nocolon"], "USER:PASSWORD"),
        (
            &["--auth-file", bad.to_str().expect("utf-8")],
            "bad:2: unsupported hash format",
        ),
        (
            &["--auth-file", missing.to_str().expect("utf-8")],
            "cannot read",
        ),
        (&["--auth-realm", "x"], "needs --auth"),
    ];
    for (flags, want) in cases {
        let out = Command::new(BIN)
            .args(["serve", dir.path().to_str().expect("utf-8"), "-p", "0"])
            .args(flags)
            .output()
            .expect("run");
        let err = harness::stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {err}");
        assert!(err.contains(want), "{flags:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
}

#[test]
fn a_user_added_with_htpasswd_logs_in_without_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = www(dir.path());
    let users = dir.path().join("users");
    htpasswd(&users, &["-s"], "old", "pw");
    let s = Running::start(&[
        "serve",
        root.to_str().expect("utf-8"),
        "-p",
        "0",
        "-q",
        "--auth-file",
        users.to_str().expect("utf-8"),
    ]);
    let url = s.url("/hello.txt");
    assert_eq!(curl_status(&url, Some("new:pw2")), "401");
    htpasswd(&users, &["-m"], "new", "pw2");
    // The file is looked at again at most every 2 s; tries are spaced so that they stay
    // under the failed-attempt limit.
    std::thread::sleep(Duration::from_millis(2100));
    let mut tries = 0;
    while curl_status(&url, Some("new:pw2")) != "200" {
        tries += 1;
        assert!(tries < 8, "the new user was never let in");
        std::thread::sleep(Duration::from_millis(700));
    }
    assert_eq!(curl_status(&url, Some("old:pw")), "200");
}

//! Integration tests: `sockserve serve DIR --cgi` running real sh, python3 and perl scripts.

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::harness::{
    self, BIN, Resp, dead, eventually, get, parse_banner, read_pid, read_to_close, reaped, request,
};

/// A served directory with a `cgi-bin`, and the server's log file beside it.
struct Site {
    tmp: tempfile::TempDir,
}

impl Site {
    fn new() -> Site {
        let tmp = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(tmp.path().join("www/cgi-bin")).expect("mkdir");
        fs::write(tmp.path().join("www/hello.txt"), "static hello\n").expect("write");
        Site { tmp }
    }

    fn root(&self) -> PathBuf {
        self.tmp.path().join("www")
    }

    /// A file under the root with `mode`.
    fn file(&self, rel: &str, mode: u32, text: &str) -> PathBuf {
        let path = self.root().join(rel);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(&path, text).expect("write script");
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod");
        path
    }

    /// An executable script in `cgi-bin`.
    fn script(&self, name: &str, text: &str) -> PathBuf {
        self.file(&format!("cgi-bin/{name}"), 0o755, text)
    }

    /// A path in the scratch area outside the served root (pid files, flags).
    fn scratch(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// Starts `sockserve serve ROOT --cgi -p 0 EXTRA...` with a secret in its own environment
    /// and its stderr going to a log file.
    fn serve(&self, extra: &[&str]) -> Server {
        let log = self.scratch("server.log");
        let root = self.root();
        let mut child = Command::new(BIN)
            .arg("serve")
            .arg(&root)
            .args(["--cgi", "-p", "0"])
            .args(extra)
            .env("SOCKSERVE_TEST_SECRET", "leaked-secret")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("spawn sockserve");
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        let mut banner = String::new();
        reader.read_line(&mut banner).expect("banner");
        if banner.is_empty() {
            let _ = child.wait();
            panic!(
                "no banner; log:\n{}",
                fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = reader.read_to_end(&mut sink);
        });
        Server {
            addr: parse_banner(&banner),
            child,
            log,
        }
    }
}

struct Server {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Server {
    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `KEY=VALUE` lines as printed by `env`.
fn env_map(body: &str) -> HashMap<String, String> {
    body.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Children of `parent` that are zombies.
fn zombies_of(parent: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.first() == Some(&"Z") && fields.get(1) == Some(&parent.to_string().as_str()) {
            out.push(pid);
        }
    }
    out
}

const ENV_SH: &str = "#!/bin/sh\necho 'Content-Type: text/plain'\necho\nenv\n";

#[test]
fn meta_variables_follow_rfc_3875() {
    let site = Site::new();
    site.script("env.sh", ENV_SH);
    let srv = site.serve(&["--cgi-env", "EXTRA_VAR=from-flag"]);
    let resp = request(
        srv.addr,
        "POST",
        "/cgi-bin/env.sh/extra/p%20ath?a=1?b//c&d=%2f",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("X-Multi", "one"),
            ("User-Agent", "cgi-test/1"),
            ("x-multi", "two"),
            ("Proxy", "http://evil.example/"),
            ("Authorization", "Basic YWxpY2U6c2VjcmV0"),
        ],
        b"hello",
    );
    assert_eq!(resp.status, 200);
    let env = env_map(&resp.text());
    let root = fs::canonicalize(site.root()).expect("root");
    let root = root.to_str().expect("utf-8 root");
    let want = [
        ("GATEWAY_INTERFACE", "CGI/1.1".to_string()),
        ("REQUEST_METHOD", "POST".into()),
        ("QUERY_STRING", "a=1?b//c&d=%2f".into()),
        (
            "REQUEST_URI",
            "/cgi-bin/env.sh/extra/p%20ath?a=1?b//c&d=%2f".into(),
        ),
        ("SCRIPT_NAME", "/cgi-bin/env.sh".into()),
        ("PATH_INFO", "/extra/p ath".into()),
        ("PATH_TRANSLATED", format!("{root}/extra/p ath")),
        ("SCRIPT_FILENAME", format!("{root}/cgi-bin/env.sh")),
        ("DOCUMENT_ROOT", root.to_string()),
        ("CONTENT_LENGTH", "5".into()),
        ("CONTENT_TYPE", "application/x-www-form-urlencoded".into()),
        ("AUTH_TYPE", "Basic".into()),
        ("REMOTE_ADDR", "127.0.0.1".into()),
        ("SERVER_NAME", "test".into()),
        ("SERVER_PORT", srv.addr.port().to_string()),
        ("SERVER_PROTOCOL", "HTTP/1.1".into()),
        ("HTTP_X_MULTI", "one, two".into()),
        ("HTTP_USER_AGENT", "cgi-test/1".into()),
        ("HTTP_HOST", "test".into()),
        ("PATH", "/usr/local/bin:/usr/bin:/bin".into()),
        ("EXTRA_VAR", "from-flag".into()),
    ];
    for (k, v) in want {
        assert_eq!(env.get(k), Some(&v), "{k} in {env:?}");
    }
    assert!(env["SERVER_SOFTWARE"].starts_with("sockserve/"));
    assert!(env["REMOTE_PORT"].parse::<u16>().is_ok());
    for absent in [
        // Named by the client, verified by nobody: tests/it/access_auth.rs has the verified case.
        "REMOTE_USER",
        "HTTP_PROXY",
        "HTTP_AUTHORIZATION",
        "HTTP_CONTENT_TYPE",
        "HTTP_CONTENT_LENGTH",
        "SOCKSERVE_TEST_SECRET",
        "HOME",
    ] {
        assert!(!env.contains_key(absent), "{absent} leaked: {env:?}");
    }
    assert!(!resp.text().contains("leaked-secret"));
}

#[test]
fn python_and_perl_scripts_run() {
    let site = Site::new();
    // Not executable: runs only through the --cgi-ext mapping.
    site.file(
        "cgi-bin/echo.py",
        0o644,
        "import os, sys\n\
         n = int(os.environ.get('CONTENT_LENGTH') or 0)\n\
         data = sys.stdin.buffer.read(n)\n\
         out = sys.stdout.buffer\n\
         out.write(b'Content-Type: text/plain\\r\\nX-Lang: python\\r\\n\\r\\n')\n\
         out.write(os.environ['QUERY_STRING'].encode() + b'|' + data)\n",
    );
    site.script(
        "status.pl",
        "#!/usr/bin/perl\nprint \"Status: 418 I'm a teapot\\r\\nContent-Type: text/plain\\r\\nX-Lang: perl\\r\\n\\r\\nshort and stout $ENV{REQUEST_METHOD}\\n\";\n",
    );
    let srv = site.serve(&["--cgi-ext", ".py=python3"]);
    let resp = request(srv.addr, "POST", "/cgi-bin/echo.py?q=1", &[], b"body bytes");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("x-lang"), Some("python"));
    assert_eq!(resp.text(), "q=1|body bytes");
    let resp = get(srv.addr, "/cgi-bin/status.pl");
    assert_eq!(resp.status, 418);
    assert_eq!(resp.reason, "I'm a teapot");
    assert_eq!(resp.header("x-lang"), Some("perl"));
    assert_eq!(resp.text(), "short and stout GET\n");
}

/// Deterministic, incompressible-looking bytes.
fn pattern(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// Sends `head` then `body` from another thread while reading the whole response here, so a
/// script that echoes as it reads cannot deadlock the test.
fn exchange_streaming(addr: SocketAddr, head: String, body: Vec<u8>) -> Resp {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut w = s.try_clone().expect("clone");
    let writer = std::thread::spawn(move || {
        w.write_all(head.as_bytes()).expect("head");
        for piece in body.chunks(64 * 1024) {
            if w.write_all(piece).is_err() {
                break;
            }
        }
    });
    let data = read_to_close(&mut s);
    writer.join().expect("writer");
    harness::parse_response(&data, false).expect("response")
}

#[test]
fn sixteen_mib_post_is_echoed_intact() {
    let site = Site::new();
    site.script(
        "cat.sh",
        "#!/bin/sh\necho 'Content-Type: application/octet-stream'\necho\nexec cat\n",
    );
    let srv = site.serve(&[]);
    let body = pattern(16 * 1024 * 1024);
    let head = format!(
        "POST /cgi-bin/cat.sh HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let resp = exchange_streaming(srv.addr, head, body.clone());
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body.len(), body.len());
    assert!(resp.body == body, "echoed body differs");
}

/// `body` as chunks of `size` bytes.
fn chunked(body: &[u8], size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for piece in body.chunks(size) {
        out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

#[test]
fn chunked_request_bodies_are_dechunked_with_a_length() {
    let site = Site::new();
    site.script(
        "len.py",
        "#!/usr/bin/env python3\nimport os, sys, hashlib\n\
         data = sys.stdin.buffer.read()\n\
         print('Content-Type: text/plain\\n')\n\
         print(os.environ.get('CONTENT_LENGTH'), len(data), hashlib.sha256(data).hexdigest())\n",
    );
    let srv = site.serve(&[]);
    // One body small enough to be held in memory, one that is spooled to a file.
    for size in [1000, 3 * 1024 * 1024 + 7] {
        let body = pattern(size);
        let head = "POST /cgi-bin/len.py HTTP/1.1\r\nHost: t\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n";
        let resp = exchange_streaming(srv.addr, head.to_string(), chunked(&body, 10_000));
        assert_eq!(resp.status, 200, "{}", resp.text());
        let sha = Command::new("sha256sum")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                c.stdin.take().expect("stdin").write_all(&body)?;
                c.wait_with_output()
            })
            .expect("sha256sum");
        let sha = String::from_utf8_lossy(&sha.stdout);
        let sha = sha.split_whitespace().next().expect("digest");
        assert_eq!(resp.text().trim(), format!("{size} {size} {sha}"));
    }
}

#[test]
fn redirects_local_and_client() {
    let site = Site::new();
    site.script("local.sh", "#!/bin/sh\necho 'Location: /hello.txt'\necho\n");
    site.script(
        "chain.sh",
        "#!/bin/sh\necho 'Location: /cgi-bin/env.sh?from=chain'\necho\n",
    );
    site.script("env.sh", ENV_SH);
    site.script(
        "away.pl",
        "#!/usr/bin/perl\nprint \"Location: http://example.org/x?y=1\\n\\n\";\n",
    );
    site.script(
        "moved.sh",
        "#!/bin/sh\nprintf 'Status: 301 Moved\\nLocation: /new\\n\\n'\n",
    );
    site.script(
        "loop.sh",
        "#!/bin/sh\necho 'Location: /cgi-bin/loop.sh'\necho\n",
    );
    let srv = site.serve(&[]);
    let resp = get(srv.addr, "/cgi-bin/local.sh");
    assert_eq!((resp.status, resp.text().as_str()), (200, "static hello\n"));
    let resp = get(srv.addr, "/cgi-bin/chain.sh");
    assert_eq!(resp.status, 200);
    let env = env_map(&resp.text());
    assert_eq!(
        env.get("QUERY_STRING").map(String::as_str),
        Some("from=chain")
    );
    assert_eq!(env.get("REQUEST_METHOD").map(String::as_str), Some("GET"));
    let resp = get(srv.addr, "/cgi-bin/away.pl");
    assert_eq!(resp.status, 302);
    assert_eq!(resp.header("location"), Some("http://example.org/x?y=1"));
    let resp = get(srv.addr, "/cgi-bin/moved.sh");
    assert_eq!((resp.status, resp.header("location")), (301, Some("/new")));
    assert_eq!(get(srv.addr, "/cgi-bin/loop.sh").status, 500);
}

#[test]
fn nph_scripts_send_the_whole_response() {
    let site = Site::new();
    site.script(
        "nph-raw.sh",
        "#!/bin/sh\nprintf 'HTTP/1.1 299 Custom Reason\\r\\nContent-Type: text/plain\\r\\nX-Nph: yes\\r\\n\\r\\nraw body'\n",
    );
    let srv = site.serve(&[]);
    let mut s = TcpStream::connect(srv.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    s.write_all(b"GET /cgi-bin/nph-raw.sh HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    let raw = read_to_close(&mut s);
    let text = String::from_utf8_lossy(&raw);
    assert!(
        text.starts_with("HTTP/1.1 299 Custom Reason\r\n"),
        "{text:?}"
    );
    assert!(text.ends_with("\r\n\r\nraw body"), "{text:?}");
}

#[test]
fn output_streams_while_the_script_runs() {
    let site = Site::new();
    let go = site.scratch("go");
    site.script(
        "progress.sh",
        &format!(
            "#!/bin/sh\necho 'Content-Type: text/plain'\necho\necho first-line\n\
             i=0; while [ ! -e {go} ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done\necho second-line\n",
            go = go.display()
        ),
    );
    let srv = site.serve(&[]);
    let mut s = TcpStream::connect(srv.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    s.write_all(b"GET /cgi-bin/progress.sh HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .expect("write");
    // The script blocks until `go` exists, so the first line can only arrive if it is
    // streamed while the script is still running.
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("first-line") {
        let n = s
            .read(&mut buf)
            .expect("first line before the script ended");
        assert!(n > 0, "closed early: {:?}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    assert!(!String::from_utf8_lossy(&got).contains("second-line"));
    let head = String::from_utf8_lossy(&got).to_ascii_lowercase();
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    fs::write(&go, "").expect("go");
    got.extend(read_to_close(&mut s));
    let resp = harness::parse_response(&got, false).expect("response");
    assert_eq!(resp.text(), "first-line\nsecond-line\n");
}

#[test]
fn malformed_header_blocks_are_500_and_never_passed_on() {
    let site = Site::new();
    // Prints the header line given (base64) in the query string, like the conformance script.
    site.script(
        "hdr.py",
        "#!/usr/bin/env python3\nimport base64, os, sys\n\
         q = os.environ['QUERY_STRING']\n\
         out = sys.stdout.buffer\n\
         if q == 'noblank':\n    out.write(b'Content-Type: text/plain\\r\\nX-Leak: yes\\r\\n'); sys.exit(0)\n\
         if q == 'huge':\n    out.write(b'Content-Type: text/plain\\r\\n' + b'X-Leak: ' + b'a' * 70000 + b'\\r\\n\\r\\nbody')\n    sys.exit(0)\n\
         out.write(b'Content-Type: text/plain\\r\\n' + base64.b64decode(q) + b'\\r\\nX-Leak: yes\\r\\n\\r\\nHi!\\n')\n",
    );
    let srv = site.serve(&[]);
    let b64 = |s: &[u8]| {
        const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for c in s.chunks(3) {
            let n = (c[0] as u32) << 16
                | (*c.get(1).unwrap_or(&0) as u32) << 8
                | *c.get(2).unwrap_or(&0) as u32;
            for i in 0..4 {
                if i <= c.len() {
                    out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    };
    for bad in [
        &b"F\x00oo: bar"[..],
        b"F\x01oo: bar",
        b": bar",
        b"no colon here",
        b"Foo: b\x01ar",
        b"Foo : bar",
        b" folded",
    ] {
        let resp = get(srv.addr, &format!("/cgi-bin/hdr.py?{}", b64(bad)));
        assert_eq!(resp.status, 500, "{bad:?}");
        assert!(
            resp.header("x-leak").is_none() && !resp.text().contains("Hi!"),
            "{bad:?}"
        );
    }
    for good in [&b"Foo: bar"[..], b"Foo:", b"Foo: b\tar"] {
        let resp = get(srv.addr, &format!("/cgi-bin/hdr.py?{}", b64(good)));
        assert_eq!(
            (resp.status, resp.text().as_str()),
            (200, "Hi!\n"),
            "{good:?}"
        );
    }
    for q in ["noblank", "huge"] {
        let resp = get(srv.addr, &format!("/cgi-bin/hdr.py?{q}"));
        assert_eq!(resp.status, 500, "{q}");
        assert!(resp.header("x-leak").is_none(), "{q}");
    }
}

#[test]
fn timeout_is_504_and_kills_the_process_group() {
    let site = Site::new();
    let pids = site.scratch("pids");
    site.script(
        "slow.sh",
        &format!(
            "#!/bin/sh\nsleep 60 &\necho \"$$ $!\" > {pids}.tmp\nmv {pids}.tmp {pids}\nwait\n",
            pids = pids.display()
        ),
    );
    let srv = site.serve(&["--cgi-timeout", "1"]);
    let resp = get(srv.addr, "/cgi-bin/slow.sh");
    assert_eq!(resp.status, 504);
    let text = fs::read_to_string(&pids).expect("pid file");
    let mut it = text
        .split_whitespace()
        .map(|p| p.parse::<u32>().expect("pid"));
    let (script, sleeper) = (
        it.next().expect("script pid"),
        it.next().expect("sleep pid"),
    );
    eventually("the script reaped", || reaped(script));
    eventually("its background child killed", || dead(sleeper));
}

#[test]
fn client_hang_up_kills_the_script() {
    let site = Site::new();
    let pidfile = site.scratch("pid");
    site.script(
        "ticker.sh",
        &format!(
            "#!/bin/sh\necho $$ > {p}.tmp; mv {p}.tmp {p}\necho 'Content-Type: text/plain'\necho\n\
             while :; do echo tick; sleep 0.1; done\n",
            p = pidfile.display()
        ),
    );
    let srv = site.serve(&[]);
    let mut s = TcpStream::connect(srv.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    s.write_all(b"GET /cgi-bin/ticker.sh HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    let mut buf = [0u8; 1024];
    let n = s.read(&mut buf).expect("first ticks");
    assert!(n > 0);
    let pid = read_pid(&pidfile);
    assert!(!dead(pid));
    drop(s);
    eventually("the script killed and reaped after the client left", || {
        reaped(pid)
    });
}

#[test]
fn concurrency_limit_answers_503() {
    let site = Site::new();
    let (started, release) = (site.scratch("started"), site.scratch("release"));
    site.script(
        "hold.sh",
        &format!(
            "#!/bin/sh\ntouch {s}\ni=0; while [ ! -e {r} ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done\n\
             echo 'Content-Type: text/plain'\necho\necho held\n",
            s = started.display(),
            r = release.display()
        ),
    );
    let srv = site.serve(&["--cgi-max", "1"]);
    let addr = srv.addr;
    let first = std::thread::spawn(move || get(addr, "/cgi-bin/hold.sh"));
    eventually("the first script running", || started.exists());
    let second = get(srv.addr, "/cgi-bin/hold.sh");
    assert_eq!(second.status, 503);
    fs::write(&release, "").expect("release");
    let first = first.join().expect("first request");
    assert_eq!((first.status, first.text().as_str()), (200, "held\n"));
}

#[test]
fn failing_scripts_are_500_and_their_stderr_is_logged() {
    let site = Site::new();
    site.script(
        "fail.sh",
        "#!/bin/sh\necho 'stderr-marker-1234 went wrong' >&2\nexit 3\n",
    );
    site.script("warn.pl", "#!/usr/bin/perl\nprint STDERR \"perl-marker-5678\\n\";\nprint \"Content-Type: text/plain\\n\\nfine\";\n");
    let srv = site.serve(&[]);
    assert_eq!(get(srv.addr, "/cgi-bin/fail.sh").status, 500);
    let resp = get(srv.addr, "/cgi-bin/warn.pl");
    assert_eq!((resp.status, resp.text().as_str()), (200, "fine"));
    eventually("stderr lines in the server log", || {
        let log = srv.log();
        log.lines()
            .any(|l| l.contains("stderr-marker-1234") && l.contains("/cgi-bin/fail.sh"))
            && log
                .lines()
                .any(|l| l.contains("perl-marker-5678") && l.contains("/cgi-bin/warn.pl"))
    });
}

#[test]
fn lookup_errors_and_path_tricks() {
    let site = Site::new();
    site.script("env.sh", ENV_SH);
    site.file("cgi-bin/noexec.sh", 0o644, ENV_SH);
    // A script outside every script directory: it must never run, nor its source show.
    site.file(
        "secret.sh",
        0o755,
        "#!/bin/sh\necho 'Content-Type: text/plain'\necho\necho RAN-SECRET\n# SOURCE-SECRET\n",
    );
    site.file(
        "cgi-bin/sub/inner.sh",
        0o755,
        "#!/bin/sh\necho 'Content-Type: text/plain'\necho\necho inner\n",
    );
    // And one outside the served root altogether.
    fs::write(
        site.scratch("outside.sh"),
        "#!/bin/sh\necho 'Content-Type: text/plain'\necho\necho RAN-SECRET\n",
    )
    .expect("write");
    fs::set_permissions(
        site.scratch("outside.sh"),
        fs::Permissions::from_mode(0o755),
    )
    .expect("chmod");
    let srv = site.serve(&[]);
    assert_eq!(get(srv.addr, "/cgi-bin/missing.sh").status, 404);
    assert_eq!(get(srv.addr, "/cgi-bin/noexec.sh").status, 403);
    assert_eq!(get(srv.addr, "/cgi-bin/sub/inner.sh").text(), "inner\n");
    for path in [
        "/cgi-bin/../secret.sh",
        "/cgi-bin/%2e%2e/secret.sh",
        "/cgi-bin/..%2fsecret.sh",
        "/cgi-bin/..%2Fsecret.sh",
        "/cgi-bin/sub/..%2f..%2fsecret.sh",
        "/cgi-bin/env.sh/../../secret.sh",
        "/cgi-bin%2f..%2fsecret.sh",
        "/cgi-bin/..%5csecret.sh",
        "/cgi-bin/../../outside.sh",
        "/cgi-bin/%2e%2e/%2e%2e/outside.sh",
        "/cgi-bin/..%2f..%2foutside.sh",
        "/cgi-bin/sub/..%2f..%2f..%2foutside.sh",
    ] {
        let resp = get(srv.addr, path);
        assert!(!resp.text().contains("SECRET"), "{path}: {}", resp.text());
    }
    // The scripts' own source is never served as a file, whatever the spelling.
    for path in [
        "/cgi-bin/",
        "/cgi-bin",
        "//cgi-bin/env.sh",
        "/./cgi-bin/noexec.sh",
        "/x/../cgi-bin/noexec.sh",
        "/cgi-bin%2fnoexec.sh",
        "/%63gi-bin/noexec.sh",
    ] {
        let resp = get(srv.addr, path);
        assert!(
            !resp.text().contains("env\n") && !resp.text().contains("#!/bin/sh"),
            "{path}: {}",
            resp.text()
        );
    }
}

#[test]
fn extra_script_dirs_and_htbin() {
    let site = Site::new();
    site.file(
        "htbin/a.sh",
        0o755,
        "#!/bin/sh\necho 'Content-Type: text/plain'\necho\necho from-htbin\n",
    );
    site.file(
        "app/scripts/b.sh",
        0o755,
        "#!/bin/sh\necho 'Content-Type: text/plain'\necho\necho from-scripts\n",
    );
    let srv = site.serve(&["--cgi-dir", "/app/scripts"]);
    assert_eq!(get(srv.addr, "/htbin/a.sh").text(), "from-htbin\n");
    assert_eq!(get(srv.addr, "/app/scripts/b.sh").text(), "from-scripts\n");
}

#[test]
fn head_requests_get_headers_only() {
    let site = Site::new();
    site.script(
        "sized.sh",
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\nContent-Length: 5\\n\\nhello'\n",
    );
    let srv = site.serve(&[]);
    let resp = request(srv.addr, "HEAD", "/cgi-bin/sized.sh", &[], b"");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-length"), Some("5"));
    let resp = get(srv.addr, "/cgi-bin/sized.sh");
    assert_eq!(resp.text(), "hello");
}

#[test]
fn scripts_are_always_reaped() {
    let site = Site::new();
    site.script("env.sh", ENV_SH);
    site.script("fail.sh", "#!/bin/sh\nexit 1\n");
    site.script("slow.sh", "#!/bin/sh\nsleep 30\n");
    // Long enough for the quick scripts on a loaded machine, short enough to wait out.
    let srv = site.serve(&["--cgi-timeout", "5"]);
    for _ in 0..10 {
        assert_eq!(get(srv.addr, "/cgi-bin/env.sh").status, 200);
        assert_eq!(get(srv.addr, "/cgi-bin/fail.sh").status, 500);
    }
    assert_eq!(get(srv.addr, "/cgi-bin/slow.sh").status, 504);
    let server = srv.child.id();
    eventually("no zombie children", || zombies_of(server).is_empty());
}

#[test]
fn bad_cgi_flags_are_usage_errors() {
    let site = Site::new();
    for (flag, value) in [
        ("--cgi-ext", "py=python3"),
        ("--cgi-ext", ".py"),
        ("--cgi-env", "NOEQUALS"),
        ("--cgi-env", "1X=y"),
    ] {
        let out = Command::new(BIN)
            .arg("serve")
            .arg(site.root())
            .args(["--cgi", "-p", "0", flag, value])
            .stdin(Stdio::null())
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag), "{flag} {value}: {err}");
    }
}

#[test]
fn timeout_mid_body_cuts_the_response_and_kills_the_script() {
    let site = Site::new();
    let pidfile = site.scratch("pid");
    site.script(
        "stall.sh",
        &format!(
            "#!/bin/sh\necho $$ > {p}.tmp; mv {p}.tmp {p}\necho 'Content-Type: text/plain'\necho\necho partial\nsleep 60\necho never\n",
            p = pidfile.display()
        ),
    );
    // Long enough for "partial" to get out first even on a loaded machine.
    let srv = site.serve(&["--cgi-timeout", "4"]);
    let mut s = TcpStream::connect(srv.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    s.write_all(b"GET /cgi-bin/stall.sh HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    let data = read_to_close(&mut s);
    let text = String::from_utf8_lossy(&data);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.contains("partial") && !text.contains("never"),
        "{text}"
    );
    // The chunked body never ends properly, so the client can tell it was cut short.
    assert!(!text.ends_with("0\r\n\r\n"), "{text:?}");
    let pid = read_pid(&pidfile);
    eventually("the stalled script reaped", || reaped(pid));
}

#[test]
fn empty_post_has_a_zero_content_length() {
    let site = Site::new();
    site.script("env.sh", ENV_SH);
    let srv = site.serve(&[]);
    let resp = request(
        srv.addr,
        "POST",
        "/cgi-bin/env.sh",
        &[("Content-Length", "0")],
        b"",
    );
    assert_eq!(
        env_map(&resp.text())
            .get("CONTENT_LENGTH")
            .map(String::as_str),
        Some("0")
    );
    let resp = get(srv.addr, "/cgi-bin/env.sh");
    assert!(!env_map(&resp.text()).contains_key("CONTENT_LENGTH"));
}

//! Uploads and changes over the real binary: curl `-F` (several files) and `-T`, a cut upload
//! that leaves nothing, `DELETE`, `MKCOL`, `409` and `412`, and the flags that guard them.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::harness::{self, BIN, Running, request};

/// `serve ROOT -p 0 -q --upload EXTRA...`.
fn serve(root: &Path, extra: &[&str]) -> Running {
    let mut args = vec![
        "serve",
        root.to_str().expect("utf-8"),
        "-p",
        "0",
        "-q",
        "--upload",
    ];
    args.extend_from_slice(extra);
    Running::start(&args)
}

/// curl's status code for `ARGS... URL`.
fn curl(args: &[&str], url: &str) -> String {
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .args(args)
        .arg(url)
        .output()
        .expect("curl");
    harness::stdout(&out)
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn form_uploads_several_files_and_put_creates_then_replaces() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("www");
    fs::create_dir_all(root.join("sub")).expect("mkdir");
    let a = tmp.path().join("a.txt");
    let b = tmp.path().join("b.bin");
    fs::write(&a, "alpha\n").expect("write");
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    fs::write(&b, &big).expect("write");
    let s = serve(&root, &["--auth", "ann:pw"]);

    // The listing offers the form and the downloads.
    let page = request(
        s.addr,
        "GET",
        "/",
        &[("Authorization", "Basic YW5uOnB3")],
        b"",
    );
    let html = page.text();
    assert!(html.contains("enctype=\"multipart/form-data\""), "{html}");
    assert!(html.contains("multiple"), "{html}");
    assert!(html.contains("?download=zip"), "{html}");

    let fa = format!("file=@{}", a.display());
    let fb = format!("file=@{}", b.display());
    assert_eq!(curl(&["-F", &fa, "-F", &fb], &s.url("/sub/")), "401");
    let code = curl(&["-u", "ann:pw", "-F", &fa, "-F", &fb], &s.url("/sub/"));
    assert_eq!(code, "303");
    assert_eq!(fs::read(root.join("sub/a.txt")).expect("a"), b"alpha\n");
    assert_eq!(fs::read(root.join("sub/b.bin")).expect("b"), big);
    // The form never replaces a file.
    assert_eq!(curl(&["-u", "ann:pw", "-F", &fa], &s.url("/sub/")), "409");

    // PUT: 201 with Location, then 204 when replacing.
    let url = s.url("/sub/new.txt");
    let out = Command::new("curl")
        .args(["-s", "-D", "-", "-o", "/dev/null", "-u", "ann:pw", "-T"])
        .arg(&a)
        .arg(&url)
        .output()
        .expect("curl");
    let head = harness::stdout(&out);
    // After curl's `100 Continue`.
    assert!(head.contains("HTTP/1.1 201 Created\r\n"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("location: /sub/new.txt"),
        "{head}"
    );
    assert_eq!(
        curl(&["-u", "ann:pw", "-T", b.to_str().expect("utf-8")], &url),
        "204"
    );
    assert_eq!(fs::read(root.join("sub/new.txt")).expect("new"), big);
    // Nothing but the files: no temporary left behind.
    assert_eq!(names(&root.join("sub")), ["a.txt", "b.bin", "new.txt"]);
}

#[test]
fn preconditions_conflicts_delete_and_mkcol() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("www");
    fs::create_dir_all(&root).expect("mkdir");
    fs::write(root.join("f.txt"), "one").expect("write");
    let s = serve(&root, &["--upload-public"]);
    let put = |path: &str, headers: &[(&str, &str)], body: &[u8]| {
        request(s.addr, "PUT", path, headers, body).status
    };
    // If-None-Match: * refuses to overwrite; If-Match needs the current tag.
    assert_eq!(put("/f.txt", &[("If-None-Match", "*")], b"two"), 412);
    assert_eq!(put("/f.txt", &[("If-Match", "\"stale\"")], b"two"), 412);
    assert_eq!(put("/g.txt", &[("If-Match", "*")], b"two"), 412);
    let etag = request(s.addr, "HEAD", "/f.txt", &[], b"")
        .header("etag")
        .expect("etag")
        .to_string();
    assert_eq!(put("/f.txt", &[("If-Match", &etag)], b"two"), 204);
    assert_eq!(fs::read_to_string(root.join("f.txt")).expect("f"), "two");
    assert_eq!(put("/g.txt", &[("If-None-Match", "*")], b"new"), 201);
    // A missing parent is a conflict; so is a directory in the way.
    assert_eq!(put("/no/such/dir.txt", &[], b"x"), 409);
    assert_eq!(request(s.addr, "MKCOL", "/d", &[], b"").status, 201);
    assert_eq!(request(s.addr, "MKCOL", "/d", &[], b"").status, 405);
    assert_eq!(request(s.addr, "MKCOL", "/x/y", &[], b"").status, 409);
    assert!(root.join("d").is_dir());
    assert_eq!(put("/d", &[], b"x"), 409);
    assert_eq!(put("/d/in.txt", &[], b"x"), 201);
    assert_eq!(
        request(s.addr, "DELETE", "/d/", &[], b"").status,
        409,
        "not empty"
    );
    assert_eq!(request(s.addr, "DELETE", "/d/in.txt", &[], b"").status, 204);
    assert_eq!(request(s.addr, "DELETE", "/d/", &[], b"").status, 204);
    assert_eq!(request(s.addr, "DELETE", "/d/", &[], b"").status, 404);
    assert!(!root.join("d").exists());
    // Names are checked as strictly as paths.
    assert_eq!(put("/.htaccess", &[], b"x"), 403);
    assert_eq!(put("/a%2fb", &[], b"x"), 400);
    assert_eq!(put("/../x", &[], b"x"), 400);
    assert_eq!(names(&root), ["f.txt", "g.txt"]);
}

#[test]
fn a_cut_upload_leaves_nothing_and_limits_hold() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("www");
    fs::create_dir_all(&root).expect("mkdir");
    let s = serve(
        &root,
        &[
            "--upload-public",
            "--upload-max",
            "1M",
            "--upload-quota",
            "2M",
        ],
    );
    // Half a body, then the socket closes.
    let mut c = s.connect();
    c.write_all(b"PUT /cut.bin HTTP/1.1\r\nHost: t\r\nContent-Length: 900000\r\n\r\n")
        .expect("write");
    c.write_all(&vec![b'x'; 400_000]).expect("write");
    c.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(300));
    drop(c);
    harness::eventually("the part is removed", || names(&root).is_empty());
    std::thread::sleep(Duration::from_millis(300));
    assert!(names(&root).is_empty(), "{:?}", names(&root));

    // Past the size limit: 413 at once, nothing kept.
    let big = vec![b'y'; (1 << 20) + 1];
    assert_eq!(request(s.addr, "PUT", "/big.bin", &[], &big).status, 413);
    // Chunked, so the limit is found while streaming.
    let mut c = s.connect();
    c.write_all(b"PUT /chunked.bin HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        .expect("write");
    for _ in 0..20 {
        let piece = vec![b'z'; 65536];
        if c.write_all(format!("{:x}\r\n", piece.len()).as_bytes())
            .is_err()
            || c.write_all(&piece).is_err()
            || c.write_all(b"\r\n").is_err()
        {
            break;
        }
    }
    let _ = c.write_all(b"0\r\n\r\n");
    let mut reply = Vec::new();
    let _ = c.read_to_end(&mut reply);
    assert!(
        reply.starts_with(b"HTTP/1.1 413"),
        "{}",
        String::from_utf8_lossy(&reply)
    );
    // The quota: two files of 900 KB fit, a third does not.
    let file = vec![b'q'; 900_000];
    assert_eq!(request(s.addr, "PUT", "/q1", &[], &file).status, 201);
    assert_eq!(request(s.addr, "PUT", "/q2", &[], &file).status, 201);
    assert_eq!(request(s.addr, "PUT", "/q3", &[], &file).status, 507);
    assert_eq!(names(&root), ["q1", "q2"]);
}

#[test]
fn uploads_are_off_unless_asked_and_need_a_password_or_public() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let s = Running::start(&[
        "serve",
        tmp.path().to_str().expect("utf-8"),
        "-p",
        "0",
        "-q",
    ]);
    assert_eq!(request(s.addr, "PUT", "/x", &[], b"x").status, 405);
    assert_eq!(request(s.addr, "DELETE", "/x", &[], b"").status, 405);
    assert_eq!(request(s.addr, "MKCOL", "/x", &[], b"").status, 501);
    assert!(
        !request(s.addr, "GET", "/", &[], b"")
            .text()
            .contains("multipart")
    );
    assert!(names(tmp.path()).is_empty());
    for (flags, want) in [
        (&["--upload"][..], "--upload needs --auth"),
        (&["--upload-public"][..], "needs --upload"),
        (
            &["--upload", "--upload-public", "--upload-max", "lots"][..],
            "--upload-max",
        ),
    ] {
        let out = Command::new(BIN)
            .args(["serve", tmp.path().to_str().expect("utf-8"), "-p", "0"])
            .args(flags)
            .output()
            .expect("run");
        let err = harness::stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {err}");
        assert!(err.contains(want), "{flags:?}: {err}");
    }
}

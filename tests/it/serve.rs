//! Integration tests: `sockserve serve DIR`, black-box over real sockets (and curl).

use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use crate::harness::{BIN, Resp, Running, get, parse_response, read_to_close, request};

const SECRET: &str = "TOP-SECRET-OUTSIDE";
const BIG_LEN: usize = 5 * 1024 * 1024;

/// A served tree and a directory outside it, both removed when dropped.
struct Fixture {
    root: tempfile::TempDir,
    outside: tempfile::TempDir,
}

impl Fixture {
    fn path(&self) -> &Path {
        self.root.path()
    }

    fn root_str(&self) -> String {
        self.path().to_str().expect("utf-8 temp path").to_string()
    }

    /// `sockserve serve ROOT -p 0 EXTRA...`
    fn serve(&self, extra: &[&str]) -> Running {
        let root = self.root_str();
        let mut args = vec!["serve", root.as_str(), "-p", "0", "-q"];
        args.extend_from_slice(extra);
        Running::start(&args)
    }
}

fn big_bytes() -> Vec<u8> {
    (0..BIG_LEN).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn css() -> String {
    ".box { margin: 0 auto; padding: 12px; color: #333; }\n".repeat(400)
}

fn js() -> String {
    "function hello(name) { return 'hello ' + name; }\n".repeat(100)
}

/// The awkward tree every test starts from.
fn fixture() -> Fixture {
    let root = tempfile::tempdir().expect("tempdir");
    let outside = tempfile::tempdir().expect("tempdir");
    let r = root.path();
    let w = |name: &str, data: &[u8]| fs::write(r.join(name), data).expect("write fixture");
    w("hello.txt", b"hello world\n");
    w("a b.txt", b"space");
    w("<x>&\"y\".txt", b"markup");
    w("100%.txt", b"percent");
    w("q?.txt", b"question");
    w("hash#.txt", b"hash");
    w("empty.txt", b"");
    w("style.css", css().as_bytes());
    w("app.js", js().as_bytes());
    w("image.png", &[0x89u8; 4096]);
    w("data.weird", b"unknown type");
    w(".secret", b"dotfile");
    w("big.bin", &big_bytes());
    fs::write(r.join(OsStr::from_bytes(b"caf\xe9.txt")), b"latin-1 name").expect("write");
    // Precompressed sidecars, at settings the on-the-fly compressor never uses, so a test can
    // tell them apart by their bytes.
    w("app.js.br", &brotli_max(js().as_bytes()));
    w("app.js.gz", &gzip_named(js().as_bytes()));
    w("data.json", js().as_bytes());
    w(
        "data.json.zst",
        &zstd::encode_all(js().as_bytes(), 19).expect("zstd"),
    );
    for (dir, files) in [
        ("site", &[("index.html", "site index")][..]),
        ("site/other", &[("index.htm", "htm index")][..]),
        (
            "both",
            &[("index.htm", "htm loses"), ("index.html", "html wins")][..],
        ),
        (
            "sub",
            &[
                ("small", "1"),
                ("medium", &"m".repeat(100)),
                ("large", &"l".repeat(10_000)),
            ][..],
        ),
        ("sub/inner", &[][..]),
        (".git", &[("config", "hidden dir")][..]),
        ("My Docs", &[("note.txt", "note")][..]),
    ] {
        fs::create_dir_all(r.join(dir)).expect("mkdir");
        for (name, data) in files {
            fs::write(r.join(dir).join(name), data).expect("write");
        }
    }
    // Spread the modification times so sorting by time is observable.
    let base = SystemTime::now() - Duration::from_secs(3600);
    for (i, name) in ["small", "large", "medium"].iter().enumerate() {
        let f = fs::File::options()
            .write(true)
            .open(r.join("sub").join(name))
            .expect("open");
        f.set_modified(base + Duration::from_secs(60 * i as u64))
            .expect("set mtime");
    }
    fs::write(outside.path().join("secret.txt"), SECRET).expect("write");
    std::os::unix::fs::symlink(r.join("hello.txt"), r.join("link-in")).expect("symlink");
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), r.join("link-out"))
        .expect("symlink");
    std::os::unix::fs::symlink(outside.path(), r.join("dir-out")).expect("symlink");
    Fixture { root, outside }
}

fn brotli_max(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &data[..], &mut out, &params).expect("brotli");
    out
}

fn gzip_named(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::GzBuilder::new()
        .filename("app.js")
        .write(Vec::new(), flate2::Compression::best());
    enc.write_all(data).expect("gzip");
    enc.finish().expect("gzip")
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .expect("gunzip");
    out
}

fn unbrotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::BrotliDecompress(&mut &data[..], &mut out).expect("unbrotli");
    out
}

fn hdr(r: &Resp, name: &str) -> String {
    r.header(name)
        .unwrap_or_else(|| panic!("no {name} in {:?}", r.headers))
        .to_string()
}

fn req(s: &Running, method: &str, path: &str, headers: &[(&str, &str)]) -> Resp {
    request(s.addr, method, path, headers, b"")
}

// ---------------------------------------------------------------------------------------------
// Command line

#[test]
fn serves_a_directory_given_positionally_or_with_d() {
    let f = fixture();
    let s = f.serve(&[]);
    assert!(
        s.banner.starts_with("Listening on http://127.0.0.1:"),
        "{}",
        s.banner
    );
    assert_eq!(get(s.addr, "/hello.txt").body, b"hello world\n");
    let root = f.root_str();
    let s = Running::start(&["serve", "-d", &root, "-b", "127.0.0.1", "--port", "0", "-q"]);
    assert_eq!(get(s.addr, "/hello.txt").body, b"hello world\n");
}

#[test]
fn bare_port_like_python_serves_the_current_directory() {
    let f = fixture();
    let s = Running::start_in(Some(f.path()), &["serve", "0", "-q"]);
    assert_ne!(s.addr.port(), 0);
    assert_eq!(get(s.addr, "/hello.txt").body, b"hello world\n");
    let s = Running::start_in(Some(f.path()), &["serve", "-p", "0", "-q"]);
    assert_eq!(get(s.addr, "/hello.txt").body, b"hello world\n");
}

#[test]
fn bad_directory_or_header_is_one_line_and_nonzero() {
    let f = fixture();
    let file = f.path().join("hello.txt");
    let missing = f.path().join("missing");
    let cases: Vec<Vec<String>> = vec![
        vec![
            "serve".into(),
            missing.display().to_string(),
            "-p".into(),
            "0".into(),
        ],
        vec![
            "serve".into(),
            file.display().to_string(),
            "-p".into(),
            "0".into(),
        ],
        vec![
            "serve".into(),
            f.root_str(),
            "-p".into(),
            "0".into(),
            "--header".into(),
            "nocolon".into(),
        ],
        vec![
            "serve".into(),
            f.root_str(),
            "-p".into(),
            "0".into(),
            "--spa".into(),
            "nope.html".into(),
        ],
    ];
    for args in cases {
        let out = Command::new(BIN)
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .expect("run");
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(out.stdout.is_empty(), "{args:?} printed a banner");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    }
}

// ---------------------------------------------------------------------------------------------
// Methods, index files, redirects

#[test]
fn get_and_head_agree() {
    let f = fixture();
    let s = f.serve(&[]);
    let g = get(s.addr, "/hello.txt");
    assert_eq!(g.status, 200);
    assert_eq!(hdr(&g, "content-type"), "text/plain; charset=utf-8");
    assert_eq!(hdr(&g, "x-content-type-options"), "nosniff");
    assert_eq!(hdr(&g, "accept-ranges"), "bytes");
    let h = req(&s, "HEAD", "/hello.txt", &[]);
    assert_eq!(h.status, 200);
    assert!(h.body.is_empty());
    for name in ["content-length", "etag", "last-modified", "content-type"] {
        assert_eq!(h.header(name), g.header(name), "{name}");
    }
    let raw = s.exchange(b"HEAD /big.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let text = String::from_utf8_lossy(&raw);
    assert!(
        text.contains(&format!("Content-Length: {BIG_LEN}")),
        "{text}"
    );
    assert!(text.ends_with("\r\n\r\n"), "HEAD sent a body");
}

#[test]
fn index_files_then_listing() {
    let f = fixture();
    let s = f.serve(&[]);
    assert_eq!(get(s.addr, "/site/").text(), "site index");
    assert_eq!(get(s.addr, "/site/other/").text(), "htm index");
    assert_eq!(get(s.addr, "/both/").text(), "html wins");
    let custom = f.serve(&["--index", "note.txt"]);
    assert_eq!(get(custom.addr, "/My%20Docs/").text(), "note");
    assert_eq!(get(custom.addr, "/site/").status, 200);
    assert!(
        get(custom.addr, "/site/").text().contains("index.html"),
        "listed, not the index"
    );
}

#[test]
fn directory_without_slash_redirects_keeping_the_query() {
    let f = fixture();
    let s = f.serve(&[]);
    let r = get(s.addr, "/site?a=1&b=%2F");
    assert_eq!(r.status, 301);
    assert_eq!(hdr(&r, "location"), "/site/?a=1&b=%2F");
    assert_eq!(hdr(&r, "content-length"), "0");
    let r = get(s.addr, "/My%20Docs");
    assert_eq!(hdr(&r, "location"), "/My%20Docs/");
    // A target starting with `//` must not turn into a protocol-relative (off-site) redirect.
    for target in ["//site", "///site?x", "//site/other"] {
        let r = get(s.addr, target);
        assert_eq!(r.status, 301, "{target}");
        let loc = hdr(&r, "location");
        assert!(
            loc.starts_with('/') && !loc.starts_with("//"),
            "{target} -> {loc}"
        );
    }
}

#[test]
fn other_methods_are_405_unknown_ones_501() {
    let f = fixture();
    let s = f.serve(&[]);
    for m in ["POST", "PUT", "DELETE", "PATCH"] {
        let r = request(s.addr, m, "/hello.txt", &[], b"body");
        assert_eq!(r.status, 405, "{m}");
        assert_eq!(hdr(&r, "allow"), "GET, HEAD, OPTIONS");
    }
    assert_eq!(req(&s, "BREW", "/hello.txt", &[]).status, 501);
    assert_eq!(req(&s, "PROPFIND", "/", &[]).status, 501);
    let o = req(&s, "OPTIONS", "/hello.txt", &[]);
    assert_eq!(o.status, 204);
    assert_eq!(hdr(&o, "allow"), "GET, HEAD, OPTIONS");
    assert_eq!(
        get(s.addr, "/hello.txt").body,
        b"hello world\n",
        "still serving"
    );
}

#[test]
fn keep_alive_serves_several_files_on_one_connection() {
    let f = fixture();
    let s = f.serve(&[]);
    let mut c = s.connect();
    c.write_all(
        b"GET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\nGET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n\
          GET /a%20b.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    .expect("write");
    let data = read_to_close(&mut c);
    let all = crate::harness::split_responses(&data);
    let bodies: Vec<&[u8]> = all.iter().map(|r| r.body.as_slice()).collect();
    assert_eq!(
        all.iter().map(|r| r.status).collect::<Vec<_>>(),
        [200, 200, 200]
    );
    assert_eq!(bodies[0], b"hello world\n");
    assert_eq!(
        bodies[1],
        big_bytes().as_slice(),
        "sendfile body on a kept-alive connection"
    );
    assert_eq!(bodies[2], b"space");
    // HEAD carries the length but no body, so the next response follows its head directly.
    let mut c = s.connect();
    c.write_all(b"HEAD /big.bin HTTP/1.1\r\nHost: t\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .expect("write");
    let data = read_to_close(&mut c);
    let text = String::from_utf8_lossy(&data);
    let (head, rest) = text.split_once("\r\n\r\n").expect("HEAD response");
    assert!(
        head.contains(&format!("Content-Length: {BIG_LEN}")),
        "{head}"
    );
    assert!(rest.starts_with("HTTP/1.1 200 OK\r\n"), "{rest}");
    assert!(rest.ends_with("hello world\n"));
}

// ---------------------------------------------------------------------------------------------
// MIME types

#[test]
fn content_types_from_extensions() {
    let f = fixture();
    let s = f.serve(&[]);
    for (path, ct) in [
        ("/style.css", "text/css; charset=utf-8"),
        ("/app.js", "text/javascript; charset=utf-8"),
        ("/image.png", "image/png"),
        ("/data.weird", "application/octet-stream"),
        ("/big.bin", "application/octet-stream"),
        ("/site/", "text/html; charset=utf-8"),
    ] {
        let r = get(s.addr, path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(hdr(&r, "content-type"), ct, "{path}");
        assert_eq!(hdr(&r, "x-content-type-options"), "nosniff");
    }
}

// ---------------------------------------------------------------------------------------------
// Conditional requests

#[test]
fn conditional_requests() {
    let f = fixture();
    let s = f.serve(&[]);
    let r = get(s.addr, "/hello.txt");
    let etag = hdr(&r, "etag");
    let lm = hdr(&r, "last-modified");
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && !etag.starts_with("W/"),
        "{etag}"
    );

    let nm = req(&s, "GET", "/hello.txt", &[("If-None-Match", &etag)]);
    assert_eq!(nm.status, 304);
    assert_eq!(hdr(&nm, "etag"), etag);
    assert!(nm.body.is_empty());
    assert_eq!(
        req(
            &s,
            "GET",
            "/hello.txt",
            &[("If-None-Match", &format!("\"x\", W/{etag}"))]
        )
        .status,
        304
    );
    assert_eq!(
        req(&s, "HEAD", "/hello.txt", &[("If-None-Match", "*")]).status,
        304
    );
    assert_eq!(
        req(&s, "GET", "/hello.txt", &[("If-Modified-Since", &lm)]).status,
        304
    );
    let old = "Sat, 01 Jan 2000 00:00:00 GMT";
    assert_eq!(
        req(&s, "GET", "/hello.txt", &[("If-Modified-Since", old)]).status,
        200
    );
    // If-None-Match wins over If-Modified-Since.
    let both = req(
        &s,
        "GET",
        "/hello.txt",
        &[("If-None-Match", "\"other\""), ("If-Modified-Since", &lm)],
    );
    assert_eq!(both.status, 200);
    assert_eq!(both.body, b"hello world\n");

    assert_eq!(
        req(&s, "GET", "/hello.txt", &[("If-Match", &etag)]).status,
        200
    );
    assert_eq!(
        req(&s, "GET", "/hello.txt", &[("If-Match", "\"other\"")]).status,
        412
    );
    assert_eq!(
        req(
            &s,
            "GET",
            "/hello.txt",
            &[("If-Match", &format!("W/{etag}"))]
        )
        .status,
        412
    );
    assert_eq!(
        req(&s, "GET", "/hello.txt", &[("If-Unmodified-Since", old)]).status,
        412
    );
    assert_eq!(
        req(&s, "GET", "/hello.txt", &[("If-Unmodified-Since", &lm)]).status,
        200
    );
    // Large files (sent with sendfile) have validators too.
    let big = req(&s, "HEAD", "/big.bin", &[]);
    assert_eq!(
        req(
            &s,
            "GET",
            "/big.bin",
            &[("If-None-Match", &hdr(&big, "etag"))]
        )
        .status,
        304
    );
}

#[test]
fn a_changed_file_is_never_served_stale() {
    let f = fixture();
    let s = f.serve(&[]);
    let p = f.path().join("hot.txt");
    fs::write(&p, b"version-1").expect("write");
    let large = f.path().join("large.bin");
    fs::write(&large, vec![b'a'; 300 * 1024]).expect("write");
    // Let the file settle so that it is cached, then hit the cache a few times.
    std::thread::sleep(Duration::from_millis(2500));
    let first = get(s.addr, "/hot.txt");
    for _ in 0..3 {
        assert_eq!(get(s.addr, "/hot.txt").body, b"version-1");
    }
    assert_eq!(get(s.addr, "/large.bin").body, vec![b'a'; 300 * 1024]);
    assert_eq!(get(s.addr, "/large.bin").body, vec![b'a'; 300 * 1024]);
    // A settled directory's listing is reused, but never once an entry comes or goes.
    assert!(!get(s.addr, "/").text().contains("fresh.txt"));
    assert!(!get(s.addr, "/").text().contains("fresh.txt"));
    fs::write(f.path().join("fresh.txt"), b"new").expect("write");
    assert!(get(s.addr, "/").text().contains("fresh.txt"));
    // Same size, written in place right away.
    fs::write(&p, b"version-2").expect("write");
    fs::write(&large, vec![b'b'; 300 * 1024]).expect("write");
    assert_eq!(get(s.addr, "/large.bin").body, vec![b'b'; 300 * 1024]);
    let r = get(s.addr, "/hot.txt");
    assert_eq!(r.body, b"version-2");
    assert_ne!(r.header("etag"), first.header("etag"));
    // Replaced by rename.
    fs::write(f.path().join("tmp"), b"version-3").expect("write");
    fs::rename(f.path().join("tmp"), &p).expect("rename");
    assert_eq!(get(s.addr, "/hot.txt").body, b"version-3");
    fs::remove_file(&p).expect("rm");
    assert_eq!(get(s.addr, "/hot.txt").status, 404);
}

#[test]
fn a_cached_file_is_dropped_when_anything_on_its_path_changes() {
    let f = fixture();
    let s = f.serve(&[]);
    let root = f.path();
    for (dir, name, body) in [
        ("w1", "one.txt", "one-1"),
        ("w2", "two.txt", "two-1"),
        ("w3", "three.txt", "three-1"),
        ("w4", "four.txt", "four-1"),
    ] {
        fs::create_dir(root.join(dir)).expect("mkdir");
        fs::write(root.join(dir).join(name), body).expect("write");
    }
    fs::hard_link(root.join("w1/one.txt"), root.join("one-link")).expect("link");
    fs::create_dir(root.join("w3-next")).expect("mkdir");
    fs::write(root.join("w3-next/three.txt"), "three-2").expect("write");
    // Settled, then cached by the first hits.
    std::thread::sleep(Duration::from_millis(2500));
    for _ in 0..2 {
        assert_eq!(get(s.addr, "/w1/one.txt").body, b"one-1");
        assert_eq!(get(s.addr, "/w2/two.txt").body, b"two-1");
        assert_eq!(get(s.addr, "/w3/three.txt").body, b"three-1");
        assert_eq!(get(s.addr, "/w4/four.txt").body, b"four-1");
    }
    // Written in place through another hard link, same size.
    fs::write(root.join("one-link"), "one-2").expect("write");
    assert_eq!(get(s.addr, "/w1/one.txt").body, b"one-2");
    // Its directory renamed away and another put in its place.
    fs::rename(root.join("w2"), root.join("w2-old")).expect("rename");
    fs::create_dir(root.join("w2")).expect("mkdir");
    fs::write(root.join("w2/two.txt"), "two-2").expect("write");
    assert_eq!(get(s.addr, "/w2/two.txt").body, b"two-2");
    // Its directory swapped for a symlink to another one (inside the root).
    fs::rename(root.join("w3"), root.join("w3-old")).expect("rename");
    std::os::unix::fs::symlink("w3-next", root.join("w3")).expect("symlink");
    assert_eq!(get(s.addr, "/w3/three.txt").body, b"three-2");
    // Deleted.
    fs::remove_file(root.join("w4/four.txt")).expect("rm");
    assert_eq!(get(s.addr, "/w4/four.txt").status, 404);
    // Unrelated churn next to a cached file changes nothing.
    fs::write(root.join("w1/other.txt"), "x").expect("write");
    assert_eq!(get(s.addr, "/w1/one.txt").body, b"one-2");
}

// ---------------------------------------------------------------------------------------------
// Ranges

#[test]
fn single_suffix_and_open_ranges() {
    let f = fixture();
    let s = f.serve(&[]);
    let r = req(&s, "GET", "/hello.txt", &[("Range", "bytes=0-4")]);
    assert_eq!(r.status, 206);
    assert_eq!(r.body, b"hello");
    assert_eq!(hdr(&r, "content-range"), "bytes 0-4/12");
    let r = req(&s, "GET", "/hello.txt", &[("Range", "bytes=-6")]);
    assert_eq!((r.status, r.body.as_slice()), (206, &b"world\n"[..]));
    let r = req(&s, "GET", "/hello.txt", &[("Range", "bytes=6-")]);
    assert_eq!(r.body, b"world\n");
    assert_eq!(hdr(&r, "content-range"), "bytes 6-11/12");
    let r = req(&s, "GET", "/hello.txt", &[("Range", "bytes=20-")]);
    assert_eq!(r.status, 416);
    assert_eq!(hdr(&r, "content-range"), "bytes */12");
    assert_eq!(
        req(&s, "GET", "/empty.txt", &[("Range", "bytes=0-")]).status,
        416
    );
    // Unknown units and nonsense are ignored: the whole file.
    assert_eq!(
        req(&s, "GET", "/hello.txt", &[("Range", "lines=1-2")]).status,
        200
    );
    assert_eq!(
        req(&s, "GET", "/hello.txt", &[("Range", "bytes=5-1")]).status,
        200
    );
    // HEAD ignores Range.
    assert_eq!(
        req(&s, "HEAD", "/hello.txt", &[("Range", "bytes=0-1")]).status,
        200
    );
}

#[test]
fn ranges_of_a_large_file_are_exact() {
    let f = fixture();
    let s = f.serve(&[]);
    let big = big_bytes();
    let r = req(&s, "GET", "/big.bin", &[("Range", "bytes=1000000-1999999")]);
    assert_eq!(r.status, 206);
    assert_eq!(r.body, &big[1_000_000..2_000_000]);
    let r = req(&s, "GET", "/big.bin", &[("Range", "bytes=-10")]);
    assert_eq!(r.body, &big[BIG_LEN - 10..]);
    assert_eq!(
        hdr(&r, "content-range"),
        format!("bytes {}-{}/{BIG_LEN}", BIG_LEN - 10, BIG_LEN - 1)
    );
    let r = req(
        &s,
        "GET",
        "/big.bin",
        &[("Range", "bytes=10-19,4000000-4199999")],
    );
    let parts = multipart(&r);
    assert_eq!(parts.len(), 2);
    assert_eq!(
        parts[0],
        (format!("bytes 10-19/{BIG_LEN}"), big[10..20].to_vec())
    );
    assert_eq!(
        parts[1],
        (
            format!("bytes 4000000-4199999/{BIG_LEN}"),
            big[4_000_000..4_200_000].to_vec()
        )
    );
}

/// The parts of a `multipart/byteranges` response: (Content-Range, bytes).
fn multipart(r: &Resp) -> Vec<(String, Vec<u8>)> {
    assert_eq!(r.status, 206);
    let ct = hdr(r, "content-type");
    let boundary = ct
        .strip_prefix("multipart/byteranges; boundary=")
        .expect("multipart type");
    let delim = format!("\r\n--{boundary}");
    let body = &r.body;
    let mut parts = Vec::new();
    let mut pos = find(body, delim.as_bytes(), 0).expect("first boundary");
    loop {
        let after = pos + delim.len();
        if body[after..].starts_with(b"--") {
            break;
        }
        let head_end = find(body, b"\r\n\r\n", after).expect("part head");
        let head = String::from_utf8_lossy(&body[after..head_end]).to_string();
        let range = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Range: "))
            .expect("part content-range")
            .to_string();
        let next = find(body, delim.as_bytes(), head_end + 4).expect("next boundary");
        parts.push((range, body[head_end + 4..next].to_vec()));
        pos = next;
    }
    parts
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

#[test]
fn several_ranges_are_multipart_and_abuse_is_bounded() {
    let f = fixture();
    let s = f.serve(&[]);
    let r = req(&s, "GET", "/hello.txt", &[("Range", "bytes=0-0,-1")]);
    let parts = multipart(&r);
    assert_eq!(
        parts,
        vec![
            ("bytes 0-0/12".to_string(), b"h".to_vec()),
            ("bytes 11-11/12".to_string(), b"\n".to_vec())
        ]
    );
    // Overlapping ranges are merged: never more bytes than the file.
    let overlapping = vec!["0-"; 50].join(",");
    let r = req(
        &s,
        "GET",
        "/big.bin",
        &[("Range", &format!("bytes={overlapping}"))],
    );
    assert_eq!(r.status, 206);
    assert_eq!(r.body.len(), BIG_LEN);
    let r = req(&s, "GET", "/hello.txt", &[("Range", "bytes=0-3,2-6")]);
    assert_eq!((r.status, r.body.as_slice()), (206, &b"hello w"[..]));
    // Too many ranges: the whole file instead.
    let many: Vec<String> = (0..200)
        .map(|i| format!("{}-{}", i * 100, i * 100))
        .collect();
    let r = req(
        &s,
        "GET",
        "/big.bin",
        &[("Range", &format!("bytes={}", many.join(",")))],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), BIG_LEN);
}

#[test]
fn if_range_by_etag_or_date() {
    let f = fixture();
    let s = f.serve(&[]);
    let h = req(&s, "HEAD", "/hello.txt", &[]);
    let (etag, lm) = (hdr(&h, "etag"), hdr(&h, "last-modified"));
    let with = |v: &str| {
        req(
            &s,
            "GET",
            "/hello.txt",
            &[("Range", "bytes=0-4"), ("If-Range", v)],
        )
    };
    assert_eq!(with(&etag).status, 206);
    assert_eq!(with(&lm).status, 206);
    let r = with("\"stale\"");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hello world\n"[..]));
    assert_eq!(with("Sat, 01 Jan 2000 00:00:00 GMT").status, 200);
}

// ---------------------------------------------------------------------------------------------
// Compression

#[test]
fn on_the_fly_compression_in_every_coding() {
    let f = fixture();
    let s = f.serve(&[]);
    let css = css();
    let g = req(&s, "GET", "/style.css", &[("Accept-Encoding", "gzip")]);
    assert_eq!(hdr(&g, "content-encoding"), "gzip");
    assert_eq!(hdr(&g, "vary"), "Accept-Encoding");
    assert_eq!(gunzip(&g.body), css.as_bytes());
    assert!(g.body.len() < css.len() / 4);
    let b = req(
        &s,
        "GET",
        "/style.css",
        &[("Accept-Encoding", "gzip, deflate, br, zstd")],
    );
    assert_eq!(hdr(&b, "content-encoding"), "br");
    assert_eq!(unbrotli(&b.body), css.as_bytes());
    let z = req(
        &s,
        "GET",
        "/style.css",
        &[("Accept-Encoding", "zstd, gzip;q=0.5")],
    );
    assert_eq!(hdr(&z, "content-encoding"), "zstd");
    assert_eq!(zstd::decode_all(&z.body[..]).expect("zstd"), css.as_bytes());
    // Distinct representations have distinct entity tags, and each revalidates.
    assert_ne!(g.header("etag"), b.header("etag"));
    let again = req(
        &s,
        "GET",
        "/style.css",
        &[
            ("Accept-Encoding", "gzip"),
            ("If-None-Match", &hdr(&g, "etag")),
        ],
    );
    assert_eq!(again.status, 304);
    assert_eq!(hdr(&again, "vary"), "Accept-Encoding");
    // Without Accept-Encoding: identity, still Vary.
    let plain = get(s.addr, "/style.css");
    assert_eq!(plain.body, css.as_bytes());
    assert!(plain.header("content-encoding").is_none());
    assert_eq!(hdr(&plain, "vary"), "Accept-Encoding");
}

#[test]
fn never_compressed_ranges_tiny_files_or_compressed_types() {
    let f = fixture();
    let s = f.serve(&[]);
    let ae = ("Accept-Encoding", "gzip, br, zstd");
    let r = req(&s, "GET", "/style.css", &[ae, ("Range", "bytes=0-9")]);
    assert_eq!(r.status, 206);
    assert!(r.header("content-encoding").is_none());
    assert_eq!(r.body, &css().as_bytes()[..10]);
    for path in ["/image.png", "/hello.txt", "/big.bin"] {
        let r = req(&s, "GET", path, &[ae]);
        assert_eq!(r.status, 200);
        assert!(
            r.header("content-encoding").is_none(),
            "{path} was compressed"
        );
    }
    let off = f.serve(&["--no-compress"]);
    assert!(
        req(&off, "GET", "/style.css", &[ae])
            .header("content-encoding")
            .is_none()
    );
}

#[test]
fn precompressed_sidecars_are_preferred() {
    let f = fixture();
    let s = f.serve(&["--no-compress"]);
    let br_file = fs::read(f.path().join("app.js.br")).expect("read");
    let gz_file = fs::read(f.path().join("app.js.gz")).expect("read");
    let r = req(&s, "GET", "/app.js", &[("Accept-Encoding", "gzip, br")]);
    assert_eq!(hdr(&r, "content-encoding"), "br");
    assert_eq!(hdr(&r, "content-type"), "text/javascript; charset=utf-8");
    assert_eq!(hdr(&r, "vary"), "Accept-Encoding");
    assert_eq!(r.body, br_file);
    let r = req(&s, "GET", "/app.js", &[("Accept-Encoding", "gzip")]);
    assert_eq!(r.body, gz_file);
    assert_eq!(gunzip(&r.body), js().as_bytes());
    // zstd is accepted but there is no .zst and on-the-fly is off: identity.
    let r = req(&s, "GET", "/app.js", &[("Accept-Encoding", "zstd")]);
    assert!(r.header("content-encoding").is_none());
    assert_eq!(r.body, js().as_bytes());
    let zst_file = fs::read(f.path().join("data.json.zst")).expect("read");
    let r = req(
        &s,
        "GET",
        "/data.json",
        &[("Accept-Encoding", "gzip;q=0.5, zstd")],
    );
    assert_eq!(hdr(&r, "content-encoding"), "zstd");
    assert_eq!(hdr(&r, "content-type"), "application/json");
    assert_eq!(r.body, zst_file);
    assert_eq!(
        zstd::decode_all(&r.body[..]).expect("zstd"),
        js().as_bytes()
    );
}

#[test]
fn curl_decompresses_and_fetches_ranges() {
    if !crate::harness::have("curl") {
        return;
    }
    let f = fixture();
    let s = f.serve(&[]);
    let curl = |args: &[&str]| {
        let out = Command::new("curl")
            .args(["-s", "--max-time", "30"])
            .args(args)
            .output()
            .expect("curl");
        assert!(out.status.success(), "curl {args:?}");
        out.stdout
    };
    assert_eq!(
        curl(&["--compressed", &s.url("/style.css")]),
        css().as_bytes()
    );
    assert_eq!(curl(&["-r", "0-4", &s.url("/hello.txt")]), b"hello");
    assert_eq!(curl(&[&s.url("/big.bin")]), big_bytes());
    let head = String::from_utf8(curl(&["-sI", &s.url("/big.bin")])).expect("utf-8");
    assert!(
        head.contains(&format!("Content-Length: {BIG_LEN}")),
        "{head}"
    );
    assert_eq!(curl(&[&s.url("/empty.txt")]), b"");
}

// ---------------------------------------------------------------------------------------------
// Listings

#[test]
fn listing_escapes_names_and_every_link_works() {
    let f = fixture();
    let s = f.serve(&[]);
    let r = get(s.addr, "/");
    assert_eq!(r.status, 200);
    assert_eq!(hdr(&r, "content-type"), "text/html; charset=utf-8");
    let page = r.text();
    assert!(page.contains("&lt;x&gt;&amp;&quot;y&quot;.txt"), "{page}");
    assert!(!page.contains("<x>"));
    assert!(
        !page.contains(".secret") && !page.contains(".git"),
        "dotfiles listed"
    );
    assert!(
        !page.contains("link-out") && !page.contains("dir-out"),
        "outside links listed"
    );
    assert!(page.contains("link-in"));
    assert!(!page.contains(&f.root_str()), "server path leaked");
    let hrefs: Vec<String> = page
        .split("href=\"")
        .skip(1)
        .map(|s| s[..s.find('"').expect("closing quote")].to_string())
        .filter(|h| !h.starts_with('?') && !h.starts_with('/'))
        .collect();
    let expect: &[(&str, &[u8])] = &[
        ("a%20b.txt", b"space"),
        ("%3Cx%3E%26%22y%22.txt", b"markup"),
        ("100%25.txt", b"percent"),
        ("q%3F.txt", b"question"),
        ("hash%23.txt", b"hash"),
        ("caf%E9.txt", b"latin-1 name"),
        ("empty.txt", b""),
        ("link-in", b"hello world\n"),
    ];
    for (href, body) in expect {
        assert!(hrefs.iter().any(|h| h == href), "{href} not in {hrefs:?}");
        let r = get(s.addr, &format!("/{href}"));
        assert_eq!(r.status, 200, "{href}");
        assert_eq!(&r.body, body, "{href}");
    }
    for h in &hrefs {
        let status = get(s.addr, &format!("/{h}")).status;
        assert!(status == 200, "link {h} answered {status}");
    }
}

#[test]
fn listing_sorts_directories_first_by_query() {
    let f = fixture();
    let s = f.serve(&[]);
    let order = |q: &str| -> Vec<String> {
        let page = get(s.addr, &format!("/sub/{q}")).text();
        ["inner/", "small", "medium", "large"]
            .iter()
            .map(|n| {
                (
                    page.find(&format!("href=\"{n}\"")).expect("entry"),
                    n.to_string(),
                )
            })
            .collect::<std::collections::BTreeMap<_, _>>()
            .into_values()
            .collect()
    };
    assert_eq!(order(""), ["inner/", "large", "medium", "small"]);
    assert_eq!(
        order("?sort=name&order=desc"),
        ["inner/", "small", "medium", "large"]
    );
    assert_eq!(order("?sort=size"), ["inner/", "small", "medium", "large"]);
    assert_eq!(
        order("?sort=size&order=desc"),
        ["inner/", "large", "medium", "small"]
    );
    assert_eq!(
        order("?sort=modified"),
        ["inner/", "small", "large", "medium"]
    );
    let page = get(s.addr, "/sub/").text();
    assert!(page.contains("9.8 KiB"), "human-readable size");
    assert!(page.contains("href=\"../\""));
}

#[test]
fn listing_as_json() {
    let f = fixture();
    let s = f.serve(&[]);
    for (path, headers) in [
        ("/sub/?format=json", vec![]),
        ("/sub/", vec![("Accept", "application/json")]),
    ] {
        let r = req(&s, "GET", path, &headers);
        assert_eq!(hdr(&r, "content-type"), "application/json");
        let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
        assert_eq!(v["path"], "/sub/");
        let entries = v["entries"].as_array().expect("entries");
        assert_eq!(entries.len(), 4);
        assert_eq!(entries[0]["name"], "inner");
        assert_eq!(entries[0]["type"], "dir");
        let large = entries
            .iter()
            .find(|e| e["name"] == "large")
            .expect("large");
        assert_eq!(large["size"], 10_000);
        assert_eq!(large["type"], "file");
        assert!(large["modified"].as_u64().is_some());
    }
    let root: serde_json::Value =
        serde_json::from_slice(&get(s.addr, "/?format=json").body).expect("json");
    let hrefs: Vec<&str> = root["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["href"].as_str())
        .collect();
    assert!(
        hrefs.contains(&"caf%E9.txt") && hrefs.contains(&"My%20Docs/"),
        "{hrefs:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Safety

#[test]
fn no_path_leaves_the_root() {
    let f = fixture();
    let s = f.serve(&[]);
    let outside_name = f
        .outside
        .path()
        .file_name()
        .expect("name")
        .to_str()
        .expect("utf-8")
        .to_string();
    let targets = [
        "/../secret.txt".to_string(),
        format!("/../{outside_name}/secret.txt"),
        format!("/%2e%2e/{outside_name}/secret.txt"),
        format!("/%2E%2E%2F{outside_name}%2Fsecret.txt"),
        format!("/sub/..%2f..%2f{outside_name}/secret.txt"),
        format!("/.%2e/{outside_name}/secret.txt"),
        format!("/..%5c{outside_name}%5csecret.txt"),
        format!("/sub%5c..%5c..%5c{outside_name}%5csecret.txt"),
        "/%252e%252e/secret.txt".to_string(),
        "//etc/passwd".to_string(),
        "/hello.txt%00.png".to_string(),
        "/%00".to_string(),
        "/link-out".to_string(),
        "/dir-out/secret.txt".to_string(),
        "/dir-out/".to_string(),
    ];
    for t in &targets {
        let raw = format!("GET {t} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        let data = s.exchange(raw.as_bytes());
        let r = parse_response(&data, false).unwrap_or_else(|| panic!("{t}: no response"));
        assert!(
            [400, 403, 404].contains(&r.status),
            "{t} answered {}",
            r.status
        );
        assert!(!r.text().contains(SECRET), "{t} leaked the secret");
        assert!(
            !r.text().contains(&f.root_str()) && !r.text().contains("/tmp"),
            "{t} leaked a path"
        );
    }
    // Backslashes sent raw (not every parser lets them through; either way no escape).
    let data =
        s.exchange(b"GET /..\\..\\secret.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert!(!String::from_utf8_lossy(&data).contains(SECRET));
    for t in ["/%00", "/hello.txt%00.png", "/%2e%2e/x", "/a%2fb", "/a%5cb"] {
        assert_eq!(get(s.addr, t).status, 400, "{t}");
    }
    assert_eq!(
        get(s.addr, "/link-out").status,
        404,
        "a refused link is not there"
    );
    assert_eq!(get(s.addr, "/link-in").body, b"hello world\n");
}

#[test]
fn follow_symlinks_allows_links_out() {
    let f = fixture();
    let s = f.serve(&["--follow-symlinks"]);
    assert_eq!(get(s.addr, "/link-out").text(), SECRET);
    assert_eq!(get(s.addr, "/dir-out/secret.txt").text(), SECRET);
    assert!(get(s.addr, "/").text().contains("link-out"));
    assert_eq!(get(s.addr, "/%2e%2e/x").status, 400, "still no dot-dot");
}

#[test]
fn dotfiles_are_hidden_unless_asked() {
    let f = fixture();
    let s = f.serve(&[]);
    for t in ["/.secret", "/.git/config", "/.git/", "/%2esecret"] {
        let r = get(s.addr, t);
        assert_eq!(r.status, 404, "{t}");
        assert!(!r.text().contains("dotfile") && !r.text().contains("hidden dir"));
    }
    let s = f.serve(&["--hidden"]);
    assert_eq!(get(s.addr, "/.secret").text(), "dotfile");
    assert_eq!(get(s.addr, "/.git/config").text(), "hidden dir");
    assert!(get(s.addr, "/").text().contains(".secret"));
}

#[test]
fn unreadable_and_special_files_are_refused_without_paths() {
    let f = fixture();
    let locked = f.path().join("locked.txt");
    fs::write(&locked, b"locked").expect("write");
    let mut perms = fs::metadata(&locked).expect("stat").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o000);
    fs::set_permissions(&locked, perms).expect("chmod");
    let fifo = f.path().join("pipe");
    let made_fifo = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    let s = f.serve(&[]);
    // Root can read anything, so only check the status when the mode applies.
    let readable = fs::File::open(&locked).is_ok();
    let r = get(s.addr, "/locked.txt");
    if !readable {
        assert_eq!(r.status, 403);
    }
    assert!(!r.text().contains(&f.root_str()));
    if made_fifo {
        let r = get(s.addr, "/pipe");
        assert_eq!(r.status, 403, "a FIFO must not be opened");
    }
    let r = get(s.addr, "/nope/missing.txt");
    assert_eq!(r.status, 404);
    assert!(!r.text().contains(&f.root_str()));
    assert_eq!(get(s.addr, "/hello.txt/").status, 404);
}

// ---------------------------------------------------------------------------------------------
// Options

#[test]
fn extra_headers_cors_and_max_age() {
    let f = fixture();
    let s = f.serve(&[
        "--header",
        "X-Frame-Options: DENY",
        "-H",
        "X-Extra:  two words ",
        "--cors",
        "--max-age",
        "600",
    ]);
    for path in ["/hello.txt", "/sub/", "/missing"] {
        let r = get(s.addr, path);
        assert_eq!(hdr(&r, "x-frame-options"), "DENY", "{path}");
        assert_eq!(hdr(&r, "x-extra"), "two words", "{path}");
        assert_eq!(hdr(&r, "access-control-allow-origin"), "*", "{path}");
    }
    assert_eq!(
        hdr(&get(s.addr, "/hello.txt"), "cache-control"),
        "max-age=600"
    );
    let pre = req(
        &s,
        "OPTIONS",
        "/hello.txt",
        &[
            ("Origin", "http://a.example"),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "x-y"),
        ],
    );
    assert_eq!(pre.status, 204);
    assert!(hdr(&pre, "access-control-allow-methods").contains("GET"));
    assert_eq!(hdr(&pre, "access-control-allow-headers"), "x-y");
    let plain = f.serve(&[]);
    let r = get(plain.addr, "/hello.txt");
    assert!(r.header("access-control-allow-origin").is_none());
    assert_eq!(hdr(&r, "cache-control"), "no-cache");
}

#[test]
fn cached_answers_carry_the_same_fields_as_the_first() {
    let f = fixture();
    // Files left alone for a while are cached on first use; later answers come from the cache.
    std::thread::sleep(Duration::from_millis(2500));
    let s = f.serve(&[
        "--cors",
        "-H",
        "X-Frame-Options: DENY",
        "-H",
        "Cache-Control: private",
        "--max-age",
        "60",
    ]);
    let fields = |r: &Resp| -> Vec<(String, String)> {
        r.headers
            .iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case("date"))
            .cloned()
            .collect()
    };
    let brotli = [("Accept-Encoding", "br")];
    for (path, headers) in [
        ("/hello.txt", &[][..]),
        ("/big.bin", &[][..]),
        ("/app.js", &brotli[..]),
    ] {
        let first = req(&s, "GET", path, headers);
        assert_eq!(first.status, 200, "{path}");
        assert_eq!(hdr(&first, "cache-control"), "private", "{path}");
        assert_eq!(hdr(&first, "x-frame-options"), "DENY", "{path}");
        assert_eq!(hdr(&first, "x-content-type-options"), "nosniff", "{path}");
        assert!(first.header("etag").is_some(), "{path}");
        for _ in 0..3 {
            let again = req(&s, "GET", path, headers);
            assert_eq!(fields(&again), fields(&first), "{path}");
            assert_eq!(again.body, first.body, "{path}");
            let head = req(&s, "HEAD", path, headers);
            assert_eq!(fields(&head), fields(&first), "{path}");
            assert!(head.body.is_empty(), "{path}");
        }
        // A precondition on a cached entry is still evaluated.
        let etag = hdr(&first, "etag");
        let mut conditional = headers.to_vec();
        conditional.push(("If-None-Match", &etag));
        let r = req(&s, "GET", path, &conditional);
        assert_eq!(r.status, 304, "{path}");
        assert_eq!(hdr(&r, "etag"), etag, "{path}");
    }
    assert_eq!(
        hdr(&req(&s, "GET", "/app.js", &brotli), "content-encoding"),
        "br"
    );
}

#[test]
fn no_listing_and_spa_fallback() {
    let f = fixture();
    let s = f.serve(&["--no-listing"]);
    assert_eq!(get(s.addr, "/sub/").status, 404);
    assert_eq!(get(s.addr, "/site/").text(), "site index");
    let spa = f.serve(&["--spa", "site/index.html"]);
    for path in ["/app/route", "/deep/link/x?y=1", "/.hidden-route"] {
        let r = get(spa.addr, path);
        assert_eq!((r.status, r.text().as_str()), (200, "site index"), "{path}");
        assert_eq!(hdr(&r, "content-type"), "text/html; charset=utf-8");
    }
    assert_eq!(get(spa.addr, "/hello.txt").body, b"hello world\n");
    assert_eq!(
        get(spa.addr, "/%2e%2e/x").status,
        400,
        "bad paths are not rescued"
    );
    assert_eq!(req(&spa, "HEAD", "/app/route", &[]).status, 200);
}

#[test]
fn paths_are_compared_as_bytes() {
    let f = fixture();
    let s = f.serve(&[]);
    let name = PathBuf::from(OsStr::from_bytes(b"caf\xe9.txt"));
    assert!(f.path().join(name).exists());
    assert_eq!(get(s.addr, "/caf%E9.txt").text(), "latin-1 name");
    assert_eq!(get(s.addr, "/caf%e9.txt").text(), "latin-1 name");
    assert_eq!(get(s.addr, "/caf%C3%A9.txt").status, 404);
}

#[test]
fn cgi_scripts_and_files_share_one_server() {
    let f = fixture();
    let bin = f.path().join("cgi-bin");
    fs::create_dir_all(&bin).expect("mkdir");
    let script = bin.join("hello.sh");
    fs::write(
        &script,
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\nfrom the script\\n'\n",
    )
    .expect("write");
    let mut perms = fs::metadata(&script).expect("stat").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    fs::set_permissions(&script, perms).expect("chmod");
    let s = f.serve(&["--cgi"]);
    assert_eq!(get(s.addr, "/cgi-bin/hello.sh").text(), "from the script\n");
    assert_eq!(get(s.addr, "/hello.txt").body, b"hello world\n");
    let plain = f.serve(&[]);
    let r = get(plain.addr, "/cgi-bin/hello.sh");
    assert!(
        r.text().contains("printf"),
        "without --cgi a script is a file"
    );
}

//! Integration tests: `sockserve serve DIR` where outside tests found it lacking: the fields of a
//! `304`, `-H` beside the server's own fields, symlinks, and compression under a burst.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::{BIN, Resp, Running, request};

/// `sockserve serve ROOT -p 0 -q EXTRA...`
fn serve(root: &Path, extra: &[&str]) -> Running {
    let root = root.to_str().expect("utf-8 temp path");
    let mut args = vec!["serve", root, "-p", "0", "-q"];
    args.extend_from_slice(extra);
    Running::start(&args)
}

/// Text worth compressing, `len` bytes, different on every line so it does not shrink to nothing.
fn text(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    let mut i = 0u64;
    while out.len() < len {
        let x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
        out.extend_from_slice(format!("line {i}: the value is {x} and {}\n", x % 977).as_bytes());
        i += 1;
    }
    out.truncate(len);
    out
}

fn decode(r: &Resp) -> Vec<u8> {
    let mut out = Vec::new();
    match r.header("content-encoding") {
        Some("br") => brotli::BrotliDecompress(&mut &r.body[..], &mut out).expect("unbrotli"),
        Some("gzip") => {
            flate2::read::GzDecoder::new(&r.body[..])
                .read_to_end(&mut out)
                .expect("gunzip");
        }
        Some("zstd") => out = zstd::decode_all(&r.body[..]).expect("unzstd"),
        None => out = r.body.clone(),
        Some(other) => panic!("unexpected coding {other}"),
    }
    out
}

/// The fields RFC 9110 15.4.5 says a `304` repeats from the `200` it stands for.
const REPEATED: [&str; 6] = [
    "etag",
    "vary",
    "cache-control",
    "content-location",
    "expires",
    "last-modified",
];

#[test]
fn not_modified_repeats_the_fields_of_each_representation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let page = text(20_000);
    fs::write(dir.path().join("page.txt"), &page).expect("write");
    fs::write(dir.path().join("side.js"), &page).expect("write");
    fs::write(dir.path().join("side.js.gz"), {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&page).expect("gzip");
        e.finish().expect("gzip")
    })
    .expect("write");
    // Settled, so that the second request of each pair is answered from the cache.
    std::thread::sleep(Duration::from_millis(2_300));
    let s = serve(dir.path(), &["-H", "Vary: Cookie", "--max-age", "60"]);
    for path in ["/page.txt", "/side.js"] {
        for coding in ["gzip", "br", "identity"] {
            // Twice: once looked up on disk, once from the cache.
            for _ in 0..2 {
                let ae = [("Accept-Encoding", coding)];
                let ok = request(s.addr, "GET", path, &ae, b"");
                assert_eq!(ok.status, 200);
                assert_eq!(decode(&ok), page, "{path} {coding}");
                let etag = ok.header("etag").expect("etag").to_string();
                let cond = [
                    ("Accept-Encoding", coding),
                    ("If-None-Match", etag.as_str()),
                ];
                let nm = request(s.addr, "GET", path, &cond, b"");
                assert_eq!(nm.status, 304, "{path} {coding}: {etag}");
                for name in REPEATED {
                    assert_eq!(nm.header(name), ok.header(name), "{path} {coding}: {name}");
                }
                let vary = ok.header("vary").unwrap_or("");
                assert!(vary.contains("Accept-Encoding"), "{path}: {vary}");
                assert!(vary.contains("Cookie"), "{path}: {vary}");
            }
        }
    }
}

#[test]
fn header_flag_merges_vary_and_refuses_computed_fields() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("page.txt"), text(8_000)).expect("write");
    let s = serve(
        dir.path(),
        &["-H", "Vary: Cookie", "-H", "Cache-Control: private"],
    );
    let r = request(
        s.addr,
        "GET",
        "/page.txt",
        &[("Accept-Encoding", "gzip")],
        b"",
    );
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    let vary: Vec<&str> = r
        .headers
        .iter()
        .filter(|(n, _)| n == "vary")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(vary, ["Accept-Encoding, Cookie"]);
    let cc: Vec<&str> = r
        .headers
        .iter()
        .filter(|(n, _)| n == "cache-control")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(cc, ["private"], "an operator's field replaces the server's");
    let listing = request(s.addr, "GET", "/", &[], b"");
    assert_eq!(listing.header("vary"), Some("Accept, Cookie"));

    for field in [
        "Content-Length: 5",
        "Transfer-Encoding: chunked",
        "Content-Encoding: gzip",
        "Content-Range: bytes 0-1/2",
        "ETag: \"x\"",
        "last-modified: Thu, 01 Jan 1970 00:00:00 GMT",
        "Date: Thu, 01 Jan 1970 00:00:00 GMT",
    ] {
        let out = Command::new(BIN)
            .args([
                "serve",
                dir.path().to_str().expect("utf-8"),
                "-p",
                "0",
                "-H",
                field,
            ])
            .stdin(Stdio::null())
            .output()
            .expect("run");
        assert!(!out.status.success(), "{field} accepted");
        assert!(out.stdout.is_empty(), "{field}: printed a banner");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{field}: {err}");
        let name = field.split(':').next().expect("name");
        assert!(
            err.to_ascii_lowercase()
                .contains(&name.to_ascii_lowercase()),
            "{field}: {err}"
        );
    }
}

#[test]
fn symlinks_to_dotfiles_are_hidden_and_links_out_are_not_found() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outside = tempfile::tempdir().expect("tempdir");
    let r = dir.path();
    fs::write(r.join(".env"), "SECRET=1").expect("write");
    fs::create_dir(r.join(".git")).expect("mkdir");
    fs::write(r.join(".git/config"), "hidden").expect("write");
    fs::write(r.join("plain.txt"), "plain").expect("write");
    fs::write(outside.path().join("out.txt"), "outside").expect("write");
    let link =
        |to: &Path, name: &str| std::os::unix::fs::symlink(to, r.join(name)).expect("symlink");
    link(Path::new(".env"), "env.txt");
    link(&r.join(".env"), "env-abs.txt");
    link(Path::new(".git"), "git");
    link(Path::new("plain.txt"), "rel.txt");
    link(&r.join("plain.txt"), "abs.txt");
    link(&outside.path().join("out.txt"), "out.txt");
    link(outside.path(), "out-dir");
    link(Path::new("missing"), "dangling");
    let s = serve(r, &[]);
    for path in [
        "/env.txt",
        "/env-abs.txt",
        "/git/config",
        "/git/",
        "/out.txt",
        "/out-dir/out.txt",
        "/out-dir/",
        "/dangling",
    ] {
        let got = request(s.addr, "GET", path, &[], b"");
        assert_eq!(got.status, 404, "{path}");
        assert!(
            !got.text().contains("SECRET") && !got.text().contains("outside"),
            "{path}"
        );
    }
    assert_eq!(request(s.addr, "GET", "/rel.txt", &[], b"").text(), "plain");
    assert_eq!(request(s.addr, "GET", "/abs.txt", &[], b"").text(), "plain");
    let listing = request(s.addr, "GET", "/?format=json", &[], b"").text();
    for hidden in ["env.txt", "env-abs.txt", "\"git\"", "out.txt", "out-dir"] {
        assert!(!listing.contains(hidden), "{hidden} listed: {listing}");
    }
    assert!(listing.contains("rel.txt"));
    // With --hidden the dotfile shows through its link; with --follow-symlinks links lead out.
    let s = serve(r, &["--hidden", "--follow-symlinks"]);
    assert_eq!(
        request(s.addr, "GET", "/env.txt", &[], b"").text(),
        "SECRET=1"
    );
    assert_eq!(
        request(s.addr, "GET", "/out.txt", &[], b"").text(),
        "outside"
    );
    assert_eq!(
        request(s.addr, "GET", "/out-dir/out.txt", &[], b"").text(),
        "outside"
    );
}

#[test]
fn a_large_file_still_changing_is_not_compressed_per_request() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = serve(dir.path(), &[]);
    for round in 0..3 {
        // Rewritten before every request: each would be a compression of its own.
        let data = text(400 * 1024 + round);
        fs::write(dir.path().join("log.txt"), &data).expect("write");
        let r = request(s.addr, "GET", "/log.txt", &[("Accept-Encoding", "br")], b"");
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("content-encoding"),
            None,
            "sent as it is until it settles"
        );
        assert_eq!(r.header("vary"), Some("Accept-Encoding"));
        assert!(r.body == data);
    }
    // A small one is cheap to compress and is compressed.
    fs::write(dir.path().join("small.txt"), text(8_000)).expect("write");
    let r = request(
        s.addr,
        "GET",
        "/small.txt",
        &[("Accept-Encoding", "br")],
        b"",
    );
    assert_eq!(r.header("content-encoding"), Some("br"));
}

/// Peak resident memory of process `pid` in KiB (`VmHWM`).
fn peak_rss_kib(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

#[test]
fn a_burst_of_brotli_requests_compresses_once_in_bounded_memory() {
    /// Generous: one compression's state and output, the server's own, and slack.
    const PEAK_LIMIT_MIB: u64 = 300;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = text(7_500 * 1024);
    fs::write(dir.path().join("big.txt"), &data).expect("write");
    // Compressed on the fly only once the file has settled (a file being written is sent as it
    // is); see files::compress.
    std::thread::sleep(Duration::from_millis(2_300));
    let s = serve(dir.path(), &[]);
    let before = peak_rss_kib(s.child.id());
    let addr = s.addr;
    let clients: Vec<_> = (0..40)
        .map(|_| {
            std::thread::spawn(move || {
                request(addr, "GET", "/big.txt", &[("Accept-Encoding", "br")], b"")
            })
        })
        .collect();
    let answers: Vec<Resp> = clients
        .into_iter()
        .map(|c| c.join().expect("client"))
        .collect();
    let peak = peak_rss_kib(s.child.id());
    for r in &answers {
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-encoding"), Some("br"));
        assert!(decode(r) == data, "a body does not decompress to the file");
    }
    assert!(
        peak / 1024 < PEAK_LIMIT_MIB,
        "peak RSS {} MiB (before the burst {} MiB)",
        peak / 1024,
        before / 1024
    );
}

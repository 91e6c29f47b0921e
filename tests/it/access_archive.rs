//! Directory downloads over the real binary: `.tar.gz` and `.zip` unpacked with `tar` and
//! `unzip` and compared with the tree; dotfiles and symlinks leading outside left out.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;

use crate::harness::{self, Running, request};

/// A tree with nested directories, a large file, a dotfile, a symlink inside and one out.
fn tree(tmp: &Path) -> std::path::PathBuf {
    let root = tmp.join("www");
    fs::create_dir_all(root.join("docs/deep")).expect("mkdir");
    fs::write(root.join("readme.txt"), "read me\n").expect("write");
    fs::write(root.join("docs/a.md"), "# a\n").expect("write");
    let big: Vec<u8> = (0..2_500_000u32).map(|i| (i % 253) as u8).collect();
    fs::write(root.join("docs/deep/big.bin"), big).expect("write");
    fs::write(root.join(".secret"), "hidden\n").expect("write");
    fs::write(tmp.join("outside.txt"), "outside\n").expect("write");
    symlink(tmp.join("outside.txt"), root.join("escape.txt")).expect("symlink");
    symlink("readme.txt", root.join("alias.txt")).expect("symlink");
    root
}

/// Every file under `dir` as (relative path, bytes), sorted.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(dir)
                    .expect("inside")
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, fs::read(&p).expect("read")));
            }
        }
    }
    out.sort();
    out
}

/// `curl -s -o FILE URL`, returning the response head.
fn download(url: &str, to: &Path) -> String {
    let out = Command::new("curl")
        .args(["-s", "-D", "-", "-o"])
        .arg(to)
        .arg(url)
        .output()
        .expect("curl");
    harness::stdout(&out)
}

#[test]
fn tar_gz_and_zip_hold_the_tree_without_dotfiles_or_links_out() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tree(tmp.path());
    let s = Running::start(&["serve", root.to_str().expect("utf-8"), "-p", "0", "-q"]);
    // What the archive must hold: the tree without the dotfile and the link out, the link
    // inside as its target's content.
    let mut want = files(&root);
    want.retain(|(name, _)| name != ".secret" && name != "escape.txt");
    assert!(
        want.iter()
            .any(|(n, d)| n == "alias.txt" && d == b"read me\n")
    );

    let tgz = tmp.path().join("site.tar.gz");
    let head = download(&s.url("/?download=tar.gz"), &tgz);
    assert!(head.contains("application/gzip"), "{head}");
    assert!(head.contains("filename=\"root.tar.gz\""), "{head}");
    let out_t = tmp.path().join("t");
    fs::create_dir(&out_t).expect("mkdir");
    let st = Command::new("tar")
        .arg("-xzf")
        .arg(&tgz)
        .arg("-C")
        .arg(&out_t)
        .status()
        .expect("tar");
    assert!(st.success());
    assert_eq!(files(&out_t.join("root")), want);

    let zip = tmp.path().join("site.zip");
    let head = download(&s.url("/?download=zip"), &zip);
    assert!(head.contains("application/zip"), "{head}");
    let out_z = tmp.path().join("z");
    let st = Command::new("unzip")
        .arg("-q")
        .arg(&zip)
        .arg("-d")
        .arg(&out_z)
        .status()
        .expect("unzip");
    assert!(st.success());
    assert_eq!(files(&out_z.join("root")), want);

    // A subdirectory on its own, named for itself.
    let sub = tmp.path().join("docs.zip");
    let head = download(&s.url("/docs/?download=zip"), &sub);
    assert!(head.contains("filename=\"docs.zip\""), "{head}");
    let out_d = tmp.path().join("d");
    let st = Command::new("unzip")
        .arg("-q")
        .arg(&sub)
        .arg("-d")
        .arg(&out_d)
        .status()
        .expect("unzip");
    assert!(st.success());
    let docs: Vec<String> = files(&out_d.join("docs"))
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(docs, ["a.md", "deep/big.bin"]);

    // The listing links both; --hidden puts dotfiles in.
    let page = request(s.addr, "GET", "/", &[], b"").text();
    assert!(
        page.contains("?download=tar.gz") && page.contains("?download=zip"),
        "{page}"
    );
    let shown = Running::start(&[
        "serve",
        root.to_str().expect("utf-8"),
        "-p",
        "0",
        "-q",
        "--hidden",
    ]);
    let tgz2 = tmp.path().join("hidden.tar.gz");
    download(&shown.url("/?download=tar.gz"), &tgz2);
    let list = Command::new("tar")
        .arg("-tzf")
        .arg(&tgz2)
        .output()
        .expect("tar");
    let listed = harness::stdout(&list);
    assert!(listed.contains("root/.secret"), "{listed}");
    assert!(!listed.contains("escape.txt"), "{listed}");
}

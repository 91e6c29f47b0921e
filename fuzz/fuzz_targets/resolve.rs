//! Feeds arbitrary URL paths to path resolution: the pure decoding and normalising, then the
//! filesystem check against a small tree in a temporary directory.
//!
//! Beyond "never panics": a resolved path is relative and made of plain names only (no `..`,
//! `.`, root, NUL or backslash), so joined to the root it stays under it; hidden names appear
//! only when asked for; the buffer-reusing and allocating forms agree; percent-encoding the
//! result again resolves to the same path; and on disk, a path that exists and does not go
//! through the one symlink pointing out of the root is inside it.

#![no_main]

use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use files::resolve::{RelPath, is_inside, resolve, resolve_into};
use libfuzzer_sys::fuzz_target;

/// The symlink in the tree that points outside the root.
const OUT_LINK: &str = "out";

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    let shown = resolve(&raw, false);
    let all = resolve(&raw, true);
    if let Ok(rel) = &shown {
        assert_eq!(
            all.as_ref().ok(),
            Some(rel),
            "hiding changed a visible path"
        );
        let hidden = rel.segments().any(|s| s.as_bytes().starts_with(b"."));
        assert!(!hidden, "{raw:?} reached a dotfile");
    }
    let Ok(rel) = all else {
        return;
    };
    let mut buf = b"stale".to_vec();
    assert_eq!(resolve_into(&raw, true, &mut buf).ok(), Some(rel.slash));
    assert_eq!(RelPath::from_bytes(&buf, rel.slash), rel);
    check_lexically(&rel);
    assert_eq!(resolve(&encode(&rel), true).ok(), Some(rel.clone()));
    check_on_disk(&rel);
});

fn check_lexically(rel: &RelPath) {
    let bytes = rel.path.as_os_str().as_bytes();
    assert!(!bytes.contains(&0) && !bytes.contains(&b'\\'), "{rel:?}");
    assert!(
        rel.path
            .components()
            .all(|c| matches!(c, Component::Normal(_))),
        "{rel:?}"
    );
    let root = Path::new("/srv/root");
    assert!(root.join(&rel.path).starts_with(root));
    assert_eq!(rel.key().last() == Some(&b'/'), rel.slash);
}

/// The path written back as a URL path, every byte but unreserved ones escaped.
fn encode(rel: &RelPath) -> String {
    let mut out = String::from("/");
    let segments: Vec<String> = rel
        .segments()
        .map(|s| {
            s.as_bytes()
                .iter()
                .map(|&b| {
                    if b.is_ascii_alphanumeric() || b"-_~".contains(&b) {
                        char::from(b).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect()
        })
        .collect();
    out.push_str(&segments.join("/"));
    if rel.slash && !segments.is_empty() {
        out.push('/');
    } else if !rel.slash && segments.is_empty() {
        // `/.` names the root without a trailing slash.
        out.push('.');
    }
    out
}

fn check_on_disk(rel: &RelPath) {
    let root = tree();
    let full = root.join(&rel.path);
    if !full.exists() {
        return;
    }
    let inside = is_inside(root, &full).expect("an existing path canonicalises");
    if !rel.path.starts_with(OUT_LINK) {
        assert!(inside, "{rel:?} left the root");
    }
}

/// `root/{a.txt, .hidden, dir/b.txt, in -> dir, out -> ..}` beside `secret.txt`, made once.
fn tree() -> &'static PathBuf {
    static TREE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, root) = TREE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let base = dir.path().canonicalize().expect("canonical temp dir");
        let root = base.join("root");
        std::fs::create_dir_all(root.join("dir")).expect("mkdir");
        for file in ["a.txt", ".hidden", "dir/b.txt", "../secret.txt"] {
            std::fs::write(root.join(file), b"x").expect("write");
        }
        std::os::unix::fs::symlink("dir", root.join("in")).expect("symlink in");
        std::os::unix::fs::symlink("..", root.join(OUT_LINK)).expect("symlink out");
        (dir, root)
    });
    root
}

//! http1 is sans-IO: its code (tests aside) names no socket, file, thread, runtime or clock,
//! and no crate that makes system calls. Checked from the source, so a change that breaks the
//! wall fails here rather than in review.

use std::path::Path;

/// What no non-test code of http1 may name.
const FORBIDDEN: &[&str] = &[
    "rustix",
    "libc",
    "nix::",
    "tokio",
    "TcpStream",
    "TcpListener",
    "UdpSocket",
    "std::fs",
    "std::thread",
    "std::process",
    "SystemTime::now",
    "Instant::now",
];

#[test]
fn http1_names_no_io_and_no_clock() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut checked = 0;
    for entry in std::fs::read_dir(&src).expect("src") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !name.ends_with(".rs") || name.ends_with("_tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read");
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for word in FORBIDDEN {
            assert!(!code.contains(word), "{name} names {word}");
        }
        checked += 1;
    }
    assert!(checked > 10, "only {checked} files checked");

    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .expect("Cargo.toml");
    for dep in ["rustix", "libc", "nix", "tokio", "socket2"] {
        assert!(
            !manifest
                .lines()
                .any(|l| l.starts_with(&format!("{dep}.")) || l.starts_with(&format!("{dep} "))),
            "http1 depends on {dep}"
        );
    }
}

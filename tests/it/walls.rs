//! The walls between the crates, checked from their manifests and their sources: a change that
//! breaks one fails here with the line that broke it, not in review.
//!
//! - the app uses only the framework's public API (`web`), not the runtime or the protocol crate;
//! - files and cgi are plain services: they import neither the framework nor the app;
//! - http1 and http2 are sans-IO: no runtime, no system calls, no clock;
//! - only the binary ends the process, installs signal handlers or sets rlimits.

use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The names in the `[dependencies]` table of `crates/<krate>/Cargo.toml`.
fn dependencies(krate: &str) -> Vec<String> {
    let manifest = root().join("crates").join(krate).join("Cargo.toml");
    let text = fs::read_to_string(&manifest).expect("read manifest");
    let mut in_deps = false;
    let mut names = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if in_deps && let Some((name, _)) = line.split_once('=') {
            let name = name.trim();
            if !name.is_empty() && !name.starts_with('#') {
                names.push(name.split('.').next().unwrap_or(name).to_owned());
            }
        }
    }
    names
}

/// Every `.rs` file under `dir`, with its text, test modules included (a test may not break a
/// wall either, except where a check below says).
fn sources(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = fs::read_to_string(&p).expect("read source");
                out.push((p, text));
            }
        }
    }
    out
}

/// The lines of a crate's `src/` that contain any of `needles`, outside comments.
fn offending_lines(krate: &str, needles: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for (path, text) in sources(&root().join("crates").join(krate).join("src")) {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with("tests.rs") {
            continue;
        }
        for (i, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            // Unit tests below a module may use the clock and the network to drive it.
            if code.starts_with("#[cfg(test)]") {
                break;
            }
            if needles.iter().any(|n| code.contains(n)) {
                found.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
            }
        }
    }
    found
}

fn assert_no_dependency(krate: &str, forbidden: &[&str], why: &str) {
    let deps = dependencies(krate);
    let bad: Vec<&String> = deps
        .iter()
        .filter(|d| forbidden.contains(&d.as_str()))
        .collect();
    assert!(bad.is_empty(), "crates/{krate} depends on {bad:?}: {why}");
}

fn assert_no_line(krate: &str, needles: &[&str], why: &str) {
    let bad = offending_lines(krate, needles);
    assert!(bad.is_empty(), "{why}:\n{}", bad.join("\n"));
}

#[test]
fn app_uses_only_the_framework() {
    let why = "the app is written with web's public API only (re-export what it needs from web)";
    assert_no_dependency("app", &["server", "http1", "files", "cgi", "client"], why);
    assert_no_line("app", &["server::", "http1::"], why);
}

#[test]
fn files_and_cgi_do_not_know_the_framework() {
    for krate in ["files", "cgi", "auth"] {
        let why = "files, cgi and auth are plain services any server can call";
        assert_no_dependency(krate, &["web", "app", "client"], why);
        assert_no_line(krate, &["web::", "app::"], why);
    }
}

#[test]
fn semantics_and_tls_know_no_socket() {
    let why =
        "semantics holds pure rules, tls turns files into a rustls config: no runtime, no socket";
    assert_no_dependency("semantics", &["tokio", "rustix", "http1", "server"], why);
    assert_no_dependency("tls", &["tokio", "server", "http1"], why);
    assert_no_line("tls", &["TcpStream", "tokio::"], why);
}

#[test]
fn config_is_data_and_storage_knows_no_server() {
    let why = "config turns a file into validated values: no runtime, no socket, no service";
    assert_no_dependency(
        "config",
        &[
            "tokio", "rustix", "server", "http1", "files", "cgi", "web", "app",
        ],
        why,
    );
    assert_no_line("config", &["TcpStream", "tokio::"], why);
    let why = "storage keeps the guestbook and sessions: it knows the framework's store traits, not the server";
    assert_no_dependency("storage", &["server", "http1", "app", "files", "cgi"], why);
}

#[test]
fn http1_and_http2_are_sans_io() {
    for krate in ["http1", "http2"] {
        let why = "the protocol crates take bytes (and the time) as input: no runtime, no system call, no clock";
        assert_no_dependency(
            krate,
            &["tokio", "rustix", "nix", "libc", "socket2", "h2"],
            why,
        );
        assert_no_line(
            krate,
            &[
                "SystemTime::now",
                "Instant::now",
                "std::net::Tcp",
                "std::net::Udp",
                "std::fs::",
                "TcpStream",
            ],
            why,
        );
    }
}

#[test]
fn only_the_binary_ends_the_process() {
    let why = "only the binary (src/) decides exit codes, signals, rlimits and the global logger";
    for krate in [
        "semantics",
        "http1",
        "http2",
        "server",
        "tls",
        "acme",
        "files",
        "cgi",
        "auth",
        "config",
        "storage",
        "web",
        "app",
        "services",
        "client",
    ] {
        assert_no_line(
            krate,
            &[
                "process::exit",
                "setrlimit",
                "tokio::signal",
                "set_global_default",
                "tracing_subscriber::fmt().init",
                "signal_hook",
            ],
            why,
        );
        assert_no_dependency(krate, &["clap", "tracing-subscriber", "nix"], why);
    }
}

//! The files every server serves: a 1 KiB and a 1 MiB file, a 1000-entry directory, and CGI
//! scripts (hello world in `sh` and `python3`, and python versions of the site's `/time` and
//! guestbook pages for the framework-versus-CGI comparison).
//!
//! Regenerated on every run, so they never drift from what this file says.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::error::Result;

/// Bytes in the small file.
pub const SMALL: usize = 1024;
/// Bytes in the large file.
pub const LARGE: usize = 1024 * 1024;
/// Entries in the listed directory.
pub const ENTRIES: usize = 1000;
/// Bytes in the large text file compressed on the fly by the compression-burst workload.
pub const TEXT: usize = 7 * 1024 * 1024 + 512 * 1024;
/// Where that file is served; nginx compresses everything under `/text/` (bench/conf/nginx.conf).
pub const TEXT_PATH: &str = "/text/7m.txt";
/// The demo site's page as a file, for the HTTP/2 page workload (every server serves the same).
pub const DEMO_PAGE: &str = "/demo/index.html";
/// Its picture, which the page names relative to itself.
pub const DEMO_IMAGE: &str = "/demo/test.jpg";
/// What the hello-world scripts print.
pub const HELLO: &str = "Hello, world!";

/// Makes the certificate every TLS server serves, in `dir`: ECDSA P-256 (what Let's Encrypt and
/// Caddy issue by default, and the cheapest to sign handshakes with) for localhost and
/// 127.0.0.1, with OpenSSL so that no server's own tool makes it. Returns (chain, key).
pub fn certificate(dir: &Path) -> Result<(std::path::PathBuf, std::path::PathBuf)> {
    fs::create_dir_all(dir)?;
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let out = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "30"])
        .args(["-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .map_err(|e| crate::error::BenchError::new(format!("cannot run openssl: {e}")))?;
    if !out.status.success() {
        return Err(crate::error::BenchError::new(format!(
            "openssl could not make the TLS certificate: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok((cert, key))
}

/// Writes the document root at `www`; `python` is the interpreter the python scripts name.
pub fn generate(www: &Path, python: &Path, db: &Path) -> Result<()> {
    fs::create_dir_all(www)?;
    fs::write(www.join("1k.bin"), pattern(SMALL))?;
    fs::write(www.join("1m.bin"), pattern(LARGE))?;
    let text = www.join(TEXT_PATH.trim_start_matches('/'));
    if let Some(dir) = text.parent() {
        fs::create_dir_all(dir)?;
    }
    fs::write(text, prose(TEXT))?;
    let demo = www.join("demo");
    fs::create_dir_all(&demo)?;
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/app/assets");
    fs::copy(assets.join("index.html"), demo.join("index.html"))?;
    fs::copy(assets.join("test.jpg"), demo.join("test.jpg"))?;
    let dir = www.join("dir");
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    fs::create_dir_all(&dir)?;
    for i in 0..ENTRIES {
        fs::write(dir.join(entry_name(i)), format!("entry {i}\n"))?;
    }
    let cgi = www.join("cgi-bin");
    fs::create_dir_all(&cgi)?;
    let py = python.display();
    // Every script sends Content-Length: python's http.server --cgi relays the output as is on an
    // HTTP/1.0 connection, and without a length wrk cannot tell a complete response from a cut one.
    let len = HELLO.len() + 1;
    script(
        &cgi.join("hello.sh"),
        &format!(
            "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\nContent-Length: {len}\\r\\n\\r\\n{HELLO}\\n'\n"
        ),
    )?;
    script(
        &cgi.join("hello.py"),
        &format!(
            "#!{py}\nimport sys\nsys.stdout.write(\"Content-Type: text/plain\\r\\nContent-Length: {len}\\r\\n\\r\\n{HELLO}\\n\")\n"
        ),
    )?;
    script(&cgi.join("time.py"), &format!("#!{py}\n{TIME_PY}"))?;
    script(
        &cgi.join("guestbook.py"),
        &format!(
            "#!{py}\nDB = {:?}\n{GUESTBOOK_PY}",
            db.display().to_string()
        ),
    )?;
    Ok(())
}

/// The name of the `i`th entry of the listed directory; the last one proves a listing is complete.
pub fn entry_name(i: usize) -> String {
    format!("file-{i:04}.txt")
}

/// Deterministic text of `len` bytes: words drawn by an LCG from a small vocabulary, so it
/// compresses about as well as ordinary prose or code (not as well as a repeated line).
fn prose(len: usize) -> Vec<u8> {
    const WORDS: [&str; 16] = [
        "server",
        "socket",
        "request",
        "header",
        "the",
        "of",
        "byte",
        "stream",
        "connection",
        "response",
        "and",
        "file",
        "cache",
        "a",
        "keep-alive",
        "compress",
    ];
    let mut out = Vec::with_capacity(len + 16);
    let mut x: u32 = 12345;
    let mut col = 0;
    while out.len() < len {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let word = WORDS[(x >> 16) as usize % WORDS.len()];
        out.extend_from_slice(word.as_bytes());
        col += word.len() + 1;
        if col > 72 {
            out.push(b'\n');
            col = 0;
        } else {
            out.push(b' ');
        }
    }
    out.truncate(len);
    out
}

/// Deterministic, incompressible-looking bytes (an LCG), so no server can shortcut them.
fn pattern(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x2545_f491;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            x.to_be_bytes()[0]
        })
        .collect()
}

fn script(path: &Path, text: &str) -> Result<()> {
    fs::write(path, text)?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// The site's `/time` page as a CGI script would write it.
const TIME_PY: &str = r#"import sys, time
now = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
body = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Time</title></head>\n"
        "<body><h1>The time is</h1><p>" + now + "</p></body></html>\n")
out = body.encode()
sys.stdout.write("Content-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\n\r\n" % len(out))
sys.stdout.flush()
sys.stdout.buffer.write(out)
"#;

/// The site's guestbook page (the newest 50 messages) as a CGI script would write it, reading the
/// same SQLite database the site uses.
const GUESTBOOK_PY: &str = r#"import html, sqlite3, sys
con = sqlite3.connect("file:" + DB + "?mode=ro", uri=True)
rows = con.execute(
    "SELECT name, message, created_at FROM messages ORDER BY id DESC LIMIT 50").fetchall()
count = con.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
out = ["<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Guestbook</title></head><body>",
       "<h1>Guestbook</h1><p>%d messages</p><ul>" % count]
for name, message, created in rows:
    out.append("<li><b>%s</b> <time>%s</time><p>%s</p></li>"
               % (html.escape(name), html.escape(str(created)), html.escape(message)))
out.append("</ul></body></html>\n")
body = "".join(out).encode()
sys.stdout.write("Content-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\n\r\n" % len(body))
sys.stdout.flush()
sys.stdout.buffer.write(body)
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_is_deterministic_and_varied() {
        let a = pattern(SMALL);
        assert_eq!(a, pattern(SMALL));
        assert_eq!(a.len(), SMALL);
        let distinct: std::collections::HashSet<u8> = a.iter().copied().collect();
        assert!(distinct.len() > 200);
    }
}

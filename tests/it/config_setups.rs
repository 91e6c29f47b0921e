//! The five setups of docs/config.md, each written for nginx, Caddy and sockserve, read from
//! the page itself and checked with the same requests against all three servers, so the table
//! stays true. nginx and Caddy are skipped where they are not installed (scripts/test installs
//! nginx; Caddy is optional).

use std::io::Read;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{free_port, have};

/// The block of `docs/config.md` fenced as "```LANG setup-N".
fn block(lang: &str, n: u32) -> String {
    let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/config.md"))
        .expect("docs/config.md");
    let fence = format!("```{lang} setup-{n}\n");
    let start = page
        .find(&fence)
        .unwrap_or_else(|| panic!("no {fence:?} block"))
        + fence.len();
    let end = start + page[start..].find("```").expect("closing fence");
    page[start..end].to_string()
}

/// The served trees, in place of `/srv/www` and `/srv/blog`.
fn trees(dir: &Path) {
    for d in ["www/assets", "www/sub", "www/admin", "blog"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    let files = [
        ("www/index.html", "<p>home</p>\n"),
        ("www/app.js", "console.log(1)\n"),
        ("www/assets/app.css", "body{}\n"),
        ("www/sub/x.txt", "x\n"),
        ("www/admin/index.html", "<p>admin</p>\n"),
        ("blog/index.html", "<p>blog</p>\n"),
    ];
    for (p, text) in files {
        std::fs::write(dir.join(p), text).unwrap();
    }
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Nginx,
    Caddy,
    Sockserve,
}

/// Starts `kind` with setup `n` on `port` in `dir`, waiting until it accepts connections.
fn start(kind: Kind, n: u32, dir: &Path, port: u16) -> Server {
    let fill = |text: String| {
        text.replace("8080", &port.to_string())
            .replace("/srv/www", &dir.join("www").display().to_string())
            .replace("/srv/blog", &dir.join("blog").display().to_string())
    };
    let d = dir.display();
    let mut cmd = match kind {
        Kind::Nginx => {
            let conf = format!(
                "user root;\ndaemon off;\npid {d}/nginx.pid;\nerror_log stderr;\nevents {{}}\nhttp {{\ninclude /etc/nginx/mime.types;\naccess_log off;\nclient_body_temp_path {d}/t1;\nproxy_temp_path {d}/t2;\nfastcgi_temp_path {d}/t3;\nuwsgi_temp_path {d}/t4;\nscgi_temp_path {d}/t5;\n{}\n}}\n",
                fill(block("nginx", n))
            );
            std::fs::write(dir.join("nginx.conf"), conf).unwrap();
            let mut c = Command::new("nginx");
            c.args(["-p", &d.to_string(), "-e", "stderr", "-c"])
                .arg(dir.join("nginx.conf"));
            c
        }
        Kind::Caddy => {
            let conf = format!("{{\n\tadmin off\n}}\n{}", fill(block("caddyfile", n)));
            std::fs::write(dir.join("Caddyfile"), conf).unwrap();
            let mut c = Command::new("caddy");
            c.args(["run", "--adapter", "caddyfile", "--config"])
                .arg(dir.join("Caddyfile"))
                .env("XDG_DATA_HOME", dir.join("xdg"))
                .env("XDG_CONFIG_HOME", dir.join("xdg"));
            c
        }
        Kind::Sockserve => {
            std::fs::write(dir.join("site.toml"), fill(block("toml", n))).unwrap();
            let mut c = Command::new(crate::harness::BIN);
            c.args(["-c", "site.toml"]);
            c
        }
    };
    let mut child = cmd
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
    let end = Instant::now() + Duration::from_secs(15);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(_)) = child.try_wait() {
            let mut err = String::new();
            let _ = child.stderr.take().map(|mut e| e.read_to_string(&mut err));
            panic!("{kind:?} setup {n} did not start:\n{err}");
        }
        assert!(Instant::now() < end, "{kind:?} setup {n}: no listener");
        std::thread::sleep(Duration::from_millis(30));
    }
    Server(child)
}

/// One answer as curl saw it.
struct Got {
    status: u16,
    head: String,
    body: String,
}

impl Got {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

fn curl(port: u16, host: &str, path: &str, args: &[&str]) -> Got {
    let out = Command::new("curl")
        .args(["-s", "-i", "--max-time", "10", "--resolve"])
        .arg(format!("{host}:{port}:127.0.0.1"))
        .args(args)
        .arg(format!("http://{host}:{port}{path}"))
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Got {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

/// Runs setup `n` on every installed server and applies `check` to each.
fn each(n: u32, check: impl Fn(Kind, u16)) {
    let mut kinds = vec![Kind::Sockserve];
    if have("nginx") {
        kinds.push(Kind::Nginx);
    }
    if have("caddy") {
        kinds.push(Kind::Caddy);
    }
    for kind in kinds {
        let dir = tempfile::tempdir().unwrap();
        trees(dir.path());
        let port = free_port();
        let _server = start(kind, n, dir.path(), port);
        check(kind, port);
    }
}

const H: &str = "127.0.0.1";

#[test]
fn setup_1_static_files_with_long_lived_assets() {
    each(1, |kind, port| {
        let home = curl(port, H, "/index.html", &[]);
        assert_eq!(home.status, 200, "{kind:?}");
        assert!(home.body.contains("home"), "{kind:?}");
        let css = curl(port, H, "/assets/app.css", &[]);
        assert_eq!(css.status, 200, "{kind:?}");
        assert_eq!(
            css.header("cache-control").as_deref(),
            Some("max-age=31536000, immutable"),
            "{kind:?}"
        );
        assert_ne!(
            curl(port, H, "/sub/", &[]).status,
            200,
            "{kind:?}: no listing"
        );
    });
}

#[test]
fn setup_2_two_sites_on_one_port() {
    each(2, |kind, port| {
        assert!(
            curl(port, "example.test", "/", &[]).body.contains("home"),
            "{kind:?}"
        );
        assert!(
            curl(port, "blog.test", "/", &[]).body.contains("blog"),
            "{kind:?}"
        );
        let www = curl(port, "www.example.test", "/a/b", &[]);
        assert_eq!(www.status, 301, "{kind:?}");
        assert_eq!(
            www.header("location"),
            Some(format!("http://example.test:{port}/a/b")),
            "{kind:?}"
        );
    });
}

#[test]
fn setup_3_single_page_app() {
    each(3, |kind, port| {
        assert!(
            curl(port, H, "/app.js", &[]).body.contains("console.log"),
            "{kind:?}"
        );
        let deep = curl(port, H, "/some/client/route", &[]);
        assert_eq!(deep.status, 200, "{kind:?}");
        assert!(deep.body.contains("home"), "{kind:?}");
    });
}

#[test]
fn setup_4_health_check_and_moved_pages() {
    each(4, |kind, port| {
        let health = curl(port, H, "/health", &[]);
        assert_eq!(
            (health.status, health.body.as_str()),
            (200, "ok"),
            "{kind:?}"
        );
        let old = curl(port, H, "/old/a/b", &[]);
        assert_eq!(old.status, 301, "{kind:?}");
        assert!(
            old.header("location")
                .is_some_and(|l| l.ends_with("/new/a/b")),
            "{kind:?}: {}",
            old.head
        );
        assert_eq!(curl(port, H, "/index.html", &[]).status, 200, "{kind:?}");
    });
}

#[test]
fn setup_5_api_with_cors_and_admin_for_the_lan() {
    each(5, |kind, port| {
        let origin = "Origin: https://app.example.test";
        let pre = curl(
            port,
            H,
            "/api/items",
            &[
                "-X",
                "OPTIONS",
                "-H",
                origin,
                "-H",
                "Access-Control-Request-Method: PUT",
            ],
        );
        assert_eq!(pre.status, 204, "{kind:?}");
        assert_eq!(
            pre.header("access-control-allow-origin").as_deref(),
            Some("https://app.example.test"),
            "{kind:?}"
        );
        assert!(
            pre.header("access-control-allow-methods")
                .is_some_and(|m| m.contains("PUT")),
            "{kind:?}"
        );
        let get = curl(port, H, "/api/items", &["-H", origin]);
        assert_eq!((get.status, get.body.as_str()), (200, "{}"), "{kind:?}");
        assert_eq!(
            get.header("access-control-allow-origin").as_deref(),
            Some("https://app.example.test"),
            "{kind:?}"
        );
        assert_eq!(curl(port, H, "/admin/", &[]).status, 403, "{kind:?}");
    });
}

//! Starting, pinning and stopping the servers under test.
//!
//! Every server runs in its own process group on its own loopback port, so stopping it (SIGTERM to
//! the group, SIGKILL after a grace) also stops nginx's workers and any CGI children, and its
//! memory and CPU time are sums over the group ([`crate::procfs`]). [`Running`] stops its server when dropped, so an error or a
//! panic anywhere in the harness never leaves a server behind.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::error::{BenchError, Result};

/// How long a server may take to start listening; generous, the machine may be busy (and a
/// PostgreSQL cluster is made, seeded and started first).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a server gets to exit after SIGTERM before its group is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// Seconds a keep-alive connection may idle, for every server alike; long enough for the
/// idle-connection memory workload to open all its connections before any times out.
pub const IDLE_SECS: u32 = 120;

/// Where the server runs relative to the load generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Server and wrk share every core, no pinning; servers use one thread per core.
    Shared,
    /// Server pinned to core 0 with one thread/worker, wrk pinned to core 1.
    Pinned,
}

impl Layout {
    pub fn name(self) -> &'static str {
        match self {
            Layout::Shared => "shared",
            Layout::Pinned => "pinned",
        }
    }

    /// `taskset -c` list for the server, if pinned.
    pub fn server_cpus(self) -> Option<&'static str> {
        match self {
            Layout::Shared => None,
            Layout::Pinned => Some("0"),
        }
    }

    /// `taskset -c` list for wrk, if pinned.
    pub fn wrk_cpus(self) -> Option<&'static str> {
        match self {
            Layout::Shared => None,
            Layout::Pinned => Some("1"),
        }
    }

    /// Worker threads (sockserve) and worker processes (nginx) in this layout.
    pub fn threads(self, cores: usize) -> usize {
        match self {
            Layout::Shared => cores,
            Layout::Pinned => 1,
        }
    }
}

/// One server configuration under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServerKind {
    /// `sockserve` with no command: the default site (`/`, `/time`, `/guestbook`).
    SockserveSite,
    /// The default site on the large guestbook, for reads under writes.
    SockserveBook,
    /// The default site writing an access log to a file.
    SockserveSiteLogged,
    /// `sockserve serve www`: static files and listings.
    SockserveFiles,
    /// `sockserve serve www --cgi`: scripts under `www/cgi-bin/`.
    SockserveCgi,
    /// `sockserve --config`: ten sites of five routes each ([`config_file`]), the files of
    /// `www` served by the last route matched of the default site.
    SockserveConfig,
    /// `sockserve serve www --admin 127.0.0.1:0`: static files with every request counted for
    /// `/metrics`.
    SockserveFilesMetrics,
    Nginx,
    /// nginx writing a buffered `combined` access log to a file.
    NginxLogged,
    Lighttpd,
    StaticWebServer,
    /// `python3 -m http.server`.
    Python,
    /// `python3 -m http.server --cgi`.
    PythonCgi,
    /// `ceiling`: every request answered with the same bytes (the 1 KiB file), no parsing,
    /// no file system; what the machine and the load generator allow at all.
    Ceiling,
    /// `ceiling` answering with the default site's page, for the plaintext comparison.
    CeilingPage,
    /// `sockserve serve www` over TLS with the bench certificate (`--tls-cert`/`--tls-key`);
    /// HTTP/2 by ALPN, HTTP/1.1 otherwise.
    SockserveTls,
    /// nginx over TLS with the same certificate: OpenSSL, `ssl_session_cache shared`, tickets,
    /// HTTP/1.1.
    NginxTls,
    /// Caddy's `file_server` over TLS with the same certificate, HTTP/1.1 only.
    CaddyTls,
    /// nginx with `listen ... ssl http2` on the same certificate.
    NginxH2Tls,
    /// nginx with `listen ... http2` without TLS: h2c with prior knowledge only.
    NginxH2c,
    /// h2o over TLS on the same certificate.
    H2oTls,
    /// h2o in cleartext (HTTP/1.1, and h2c with prior knowledge).
    H2o,
    /// `web_bench`: the framework's JSON route and session-and-template page.
    FrameworkWeb,
    /// `axum_bench`: the same routes on axum 0.8 with tower-sessions.
    FrameworkAxum,
    /// The default site on PostgreSQL (`scripts/cluster` with one instance, seeded with
    /// [`crate::guestbook::MESSAGES`] messages), measured on the instance itself.
    SockservePg,
    /// Two instances on PostgreSQL behind HAProxy (`scripts/cluster start 2`, seeded alike),
    /// measured through HAProxy.
    SockserveCluster,
}

impl ServerKind {
    pub fn name(self) -> &'static str {
        match self {
            ServerKind::SockserveSite
            | ServerKind::SockserveBook
            | ServerKind::SockserveSiteLogged
            | ServerKind::SockserveFiles
            | ServerKind::SockserveCgi
            | ServerKind::SockserveConfig
            | ServerKind::SockservePg
            | ServerKind::SockserveCluster => "sockserve",
            ServerKind::SockserveFilesMetrics => "sockserve --admin",
            ServerKind::Nginx
            | ServerKind::NginxLogged
            | ServerKind::NginxH2Tls
            | ServerKind::NginxH2c => "nginx",
            ServerKind::H2o | ServerKind::H2oTls => "h2o",
            ServerKind::Lighttpd => "lighttpd",
            ServerKind::StaticWebServer => "static-web-server",
            ServerKind::Python => "python http.server",
            ServerKind::PythonCgi => "python http.server --cgi",
            ServerKind::Ceiling | ServerKind::CeilingPage => "ceiling",
            ServerKind::SockserveTls => "sockserve (TLS)",
            ServerKind::NginxTls => "nginx (TLS)",
            ServerKind::CaddyTls => "caddy (TLS)",
            ServerKind::FrameworkWeb => "sockserve-web",
            ServerKind::FrameworkAxum => "axum",
        }
    }

    /// Whether it is reached over TLS (`https://`).
    pub fn is_tls(self) -> bool {
        matches!(
            self,
            ServerKind::SockserveTls
                | ServerKind::NginxTls
                | ServerKind::CaddyTls
                | ServerKind::NginxH2Tls
                | ServerKind::H2oTls
        )
    }

    /// Whether its port is checked over HTTP/2 (h2load): nginx's h2c port speaks nothing else,
    /// and the HTTP/2 peers over TLS are checked as they are measured.
    pub fn h2_only(self) -> bool {
        matches!(
            self,
            ServerKind::NginxH2Tls | ServerKind::H2oTls | ServerKind::NginxH2c
        )
    }
}

/// Everything a server needs to start: binaries, fixtures, templates.
#[derive(Debug, Clone)]
pub struct Env {
    /// `bench/`, where the config templates live under `conf/`.
    pub bench_dir: PathBuf,
    /// `bench/work/`, for rendered configs, logs and fixtures.
    pub work: PathBuf,
    /// The document root shared by every server.
    pub www: PathBuf,
    pub sockserve: PathBuf,
    /// Another sockserve binary measured beside it (`--baseline`), e.g. the previous release.
    pub baseline: Option<PathBuf>,
    /// The harness's own `ceiling` binary, built next to it.
    pub ceiling: PathBuf,
    /// The framework workloads' servers (`web_bench`, `axum_bench`), built next to it too.
    pub web_bench: PathBuf,
    pub axum_bench: PathBuf,
    /// `static-web-server`, when installed.
    pub sws: Option<PathBuf>,
    /// The interpreter for python servers and scripts.
    pub python: PathBuf,
    /// The seeded guestbook database.
    pub db: PathBuf,
    /// The large guestbook database, for reads under writes.
    pub book_db: PathBuf,
    /// The body nginx returns for the plaintext comparison, ready for its config.
    pub plain_body: String,
    /// The certificate chain and key every TLS server serves (ECDSA P-256, made each run).
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    /// `caddy`, when installed.
    pub caddy: Option<PathBuf>,
    pub cores: usize,
}

/// A server that is up and listening; stopped when dropped.
pub struct Running {
    pub kind: ServerKind,
    pub port: u16,
    child: Child,
    pub log: PathBuf,
}

impl Running {
    /// The process group's id (the server's own pid).
    pub fn pgid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        let scheme = if self.kind.is_tls() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let Ok(raw) = i32::try_from(self.child.id()) else {
            return;
        };
        let group = Pid::from_raw(raw);
        let _ = killpg(group, Signal::SIGTERM);
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            sleep(Duration::from_millis(50));
        }
        // Kill whatever is left of the group (workers, CGI children), then reap the leader.
        let _ = killpg(group, Signal::SIGKILL);
        let _ = self.child.kill();
        let _ = self.child.wait();
        registry::remove(self.child.id());
    }
}

/// The process groups of the servers running right now, mirrored into a file so `bench/run.sh`
/// can stop them if the harness itself is killed (Ctrl-C) before its destructors run.
pub mod registry {
    use std::collections::BTreeSet;
    use std::path::PathBuf;
    use std::sync::{Mutex, OnceLock};

    static FILE: OnceLock<PathBuf> = OnceLock::new();
    static LIVE: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

    /// Sets the file the live process groups are written to (one per line).
    pub fn init(path: PathBuf) {
        let _ = std::fs::write(&path, "");
        let _ = FILE.set(path);
    }

    pub(super) fn add(pgid: u32) {
        update(|live| {
            live.insert(pgid);
        });
    }

    pub(super) fn remove(pgid: u32) {
        update(|live| {
            live.remove(&pgid);
        });
    }

    fn update(f: impl FnOnce(&mut BTreeSet<u32>)) {
        let mut live = LIVE.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut live);
        if let Some(path) = FILE.get() {
            let text: String = live.iter().map(|p| format!("{p}\n")).collect();
            let _ = std::fs::write(path, text);
        }
    }
}

/// Starts `kind` in `layout` and waits until it accepts connections.
pub fn start(kind: ServerKind, env: &Env, layout: Layout) -> Result<Running> {
    start_as(kind, false, env, layout)
}

/// [`start`], with sockserve's kinds run from the baseline binary when `baseline` is set.
pub fn start_as(kind: ServerKind, baseline: bool, env: &Env, layout: Layout) -> Result<Running> {
    let sockserve = match (&env.baseline, baseline) {
        (_, false) => &env.sockserve,
        (Some(b), true) => b,
        (None, true) => return Err(BenchError::new("no --baseline binary was given")),
    };
    let port = free_port()?;
    let threads = layout.threads(env.cores);
    let run_dir = env.work.join("run").join(format!("{}-{port}", slug(kind)));
    fs::create_dir_all(&run_dir)?;
    let (program, args) = command_line(kind, env, sockserve, &run_dir, port, threads)?;
    let mut cmd = match layout.server_cpus() {
        Some(cpus) => {
            let mut c = Command::new("taskset");
            c.args(["-c", cpus]).arg(program);
            c
        }
        None => Command::new(program),
    };
    let log = run_dir.join("server.log");
    let out = fs::File::create(&log)?;
    cmd.args(&args)
        .current_dir(&run_dir)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .process_group(0);
    if kind == ServerKind::CaddyTls {
        // As many threads as the others have workers, and its storage inside the run.
        cmd.env("GOMAXPROCS", threads.to_string())
            .env("XDG_DATA_HOME", &run_dir)
            .env("XDG_CONFIG_HOME", &run_dir);
    }
    let child = cmd
        .spawn()
        .map_err(|e| BenchError::new(format!("cannot start {}: {e}", kind.name())))?;
    let mut running = Running {
        kind,
        port,
        child,
        log,
    };
    registry::add(running.pgid());
    wait_listening(&mut running)?;
    Ok(running)
}

/// Sites in the configuration-file workload.
pub const CONFIG_SITES: usize = 10;
/// Routes of each of those sites.
pub const CONFIG_ROUTES: usize = 5;

/// A 10-site, 50-route configuration: nine named sites with wildcards, then the default site
/// whose `/` serves `www` behind four longer prefixes (and the exact routes and rules a real
/// site has), so a request walks every host pattern and every prefix before it is answered.
pub fn config_file(www: &str, port: u16, threads: usize) -> String {
    let mut out = format!(
        "[server]\nthreads = {threads}\ngrace = 1\nidle-timeout = {IDLE_SECS}\nquiet = true\n\n[[listen]]\naddr = \"127.0.0.1:{port}\"\n"
    );
    for site in 0..CONFIG_SITES {
        let last = site + 1 == CONFIG_SITES;
        out.push_str("\n[[site]]\n");
        if last {
            out.push_str(
                "default = true\nheaders = { set = { X-Content-Type-Options = \"nosniff\" } }\n",
            );
        } else {
            out.push_str(&format!(
                "hosts = [\"site{site}.example.test\", \"*.site{site}.example.test\"]\n"
            ));
        }
        for route in 0..CONFIG_ROUTES {
            let body = match route {
                0 => format!("path = \"=/health{route}\"\nrespond = {{ body = \"ok\" }}"),
                1 => format!("path = \"/old{route}/\"\nredirect = {{ to = \"/new/{{rest}}\" }}"),
                2 => format!(
                    "path = \"/api{route}/\"\nrespond = {{ status = 404 }}\ncors = {{ origins = [\"*\"] }}"
                ),
                3 => format!("path = \"/static{route}/\"\nfiles = {{ root = \"{www}\" }}"),
                _ => format!("path = \"/\"\nfiles = {{ root = \"{www}\" }}"),
            };
            out.push_str(&format!(
                "  [[site.route]]\n  {}\n",
                body.replace('\n', "\n  ")
            ));
        }
    }
    out
}

fn slug(kind: ServerKind) -> String {
    format!("{kind:?}").to_ascii_lowercase()
}

/// The program and arguments that start `kind`, rendering its config into `run_dir` if it has one.
fn command_line(
    kind: ServerKind,
    env: &Env,
    sockserve: &Path,
    run_dir: &Path,
    port: u16,
    threads: usize,
) -> Result<(PathBuf, Vec<String>)> {
    let port_s = port.to_string();
    let www = env.www.display().to_string();
    let sockserve_common = [
        "-p".to_owned(),
        port_s.clone(),
        "-q".to_owned(),
        "--threads".to_owned(),
        threads.to_string(),
        "--grace".to_owned(),
        "1".to_owned(),
        "--idle-timeout".to_owned(),
        IDLE_SECS.to_string(),
    ];
    let python_http = |cgi: bool| {
        let mut a = vec!["-m".to_owned(), "http.server".to_owned(), port_s.clone()];
        a.extend([
            "--bind".to_owned(),
            "127.0.0.1".to_owned(),
            "--directory".to_owned(),
            www.clone(),
        ]);
        if cgi {
            a.push("--cgi".to_owned());
        }
        (env.python.clone(), a)
    };
    Ok(match kind {
        ServerKind::SockserveSite | ServerKind::SockserveBook | ServerKind::SockserveSiteLogged => {
            let db = if kind == ServerKind::SockserveBook {
                &env.book_db
            } else {
                &env.db
            };
            let mut a = sockserve_common.to_vec();
            a.extend(["--db".to_owned(), db.display().to_string()]);
            if kind == ServerKind::SockserveSiteLogged {
                // The log replaces -q's silence: the flags after it win.
                a.retain(|x| x != "-q");
                let log = run_dir.join("access.log").display().to_string();
                a.extend(["--access-log".to_owned(), log]);
            }
            (sockserve.to_path_buf(), a)
        }
        ServerKind::SockserveFiles
        | ServerKind::SockserveCgi
        | ServerKind::SockserveTls
        | ServerKind::SockserveFilesMetrics => {
            let mut a = vec!["serve".to_owned(), www.clone()];
            a.extend(sockserve_common);
            if kind == ServerKind::SockserveCgi {
                a.push("--cgi".to_owned());
            }
            if kind == ServerKind::SockserveFilesMetrics {
                a.extend(["--admin".to_owned(), "127.0.0.1:0".to_owned()]);
            }
            if kind == ServerKind::SockserveTls {
                a.extend([
                    "--tls-cert".to_owned(),
                    env.tls_cert.display().to_string(),
                    "--tls-key".to_owned(),
                    env.tls_key.display().to_string(),
                ]);
            }
            (sockserve.to_path_buf(), a)
        }
        ServerKind::NginxTls => {
            let conf = render(env, "nginx-tls.conf", run_dir, port, threads, "off")?;
            let args = vec![
                "-p".to_owned(),
                format!("{}/", run_dir.display()),
                "-c".to_owned(),
                conf.display().to_string(),
                "-e".to_owned(),
                run_dir.join("error.log").display().to_string(),
            ];
            (PathBuf::from("nginx"), args)
        }
        ServerKind::CaddyTls => {
            let Some(caddy) = &env.caddy else {
                return Err(BenchError::new(
                    "caddy is not installed (apt-get install caddy; bench/run.sh does)",
                ));
            };
            let conf = render(env, "Caddyfile", run_dir, port, threads, "")?;
            let args = vec![
                "run".to_owned(),
                "--adapter".to_owned(),
                "caddyfile".to_owned(),
                "--config".to_owned(),
                conf.display().to_string(),
            ];
            (caddy.clone(), args)
        }
        ServerKind::SockserveConfig => {
            let file = run_dir.join("sockserve.toml");
            fs::write(&file, config_file(&www, port, threads))?;
            let a = vec!["--config".to_owned(), file.display().to_string()];
            (sockserve.to_path_buf(), a)
        }
        ServerKind::Nginx | ServerKind::NginxLogged => {
            let log = if kind == ServerKind::NginxLogged {
                format!(
                    "{}/access.log combined buffer=64k flush=1s",
                    run_dir.display()
                )
            } else {
                "off".to_owned()
            };
            let conf = render(env, "nginx.conf", run_dir, port, threads, &log)?;
            let args = vec![
                "-p".to_owned(),
                format!("{}/", run_dir.display()),
                "-c".to_owned(),
                conf.display().to_string(),
                "-e".to_owned(),
                run_dir.join("error.log").display().to_string(),
            ];
            (PathBuf::from("nginx"), args)
        }
        ServerKind::Lighttpd => {
            let conf = render(env, "lighttpd.conf", run_dir, port, threads, "")?;
            (
                PathBuf::from("lighttpd"),
                vec!["-D".to_owned(), "-f".to_owned(), conf.display().to_string()],
            )
        }
        ServerKind::StaticWebServer => {
            let Some(sws) = &env.sws else {
                return Err(BenchError::new(
                    "static-web-server is not installed (bench/run.sh installs it on a full run)",
                ));
            };
            let args = [
                "--host",
                "127.0.0.1",
                "--port",
                &port_s,
                "--root",
                &www,
                "--log-level",
                "error",
                "--threads-multiplier",
                "1",
                "--directory-listing",
                "true",
                "--compression",
                "false",
            ];
            (sws.clone(), args.iter().map(|s| (*s).to_owned()).collect())
        }
        ServerKind::SockservePg | ServerKind::SockserveCluster => {
            let mode = if kind == ServerKind::SockservePg {
                "pg"
            } else {
                "cluster"
            };
            let script = env.bench_dir.join("conf/guestbook-cluster.sh");
            let args = vec![
                script.display().to_string(),
                mode.to_owned(),
                port_s,
                sockserve.display().to_string(),
                run_dir.display().to_string(),
                crate::guestbook::MESSAGES.to_string(),
            ];
            (PathBuf::from("bash"), args)
        }
        ServerKind::Python => python_http(false),
        ServerKind::PythonCgi => python_http(true),
        ServerKind::NginxH2Tls | ServerKind::NginxH2c => {
            let (cert, key) = certificate(env)?;
            let listen = if kind == ServerKind::NginxH2Tls {
                "ssl http2"
            } else {
                "http2"
            };
            let extra = [
                ("{{LISTEN}}", listen.to_owned()),
                ("{{CERT}}", cert.display().to_string()),
                ("{{KEY}}", key.display().to_string()),
            ];
            let conf = render_with(env, "nginx-h2.conf", run_dir, port, threads, "off", &extra)?;
            let args = vec![
                "-p".to_owned(),
                format!("{}/", run_dir.display()),
                "-c".to_owned(),
                conf.display().to_string(),
                "-e".to_owned(),
                run_dir.join("error.log").display().to_string(),
            ];
            (PathBuf::from("nginx"), args)
        }
        ServerKind::H2o | ServerKind::H2oTls => {
            let (cert, key) = certificate(env)?;
            let name = if kind == ServerKind::H2oTls {
                "h2o-tls.conf"
            } else {
                "h2o.conf"
            };
            let extra = [
                ("{{CERT}}", cert.display().to_string()),
                ("{{KEY}}", key.display().to_string()),
            ];
            let conf = render_with(env, name, run_dir, port, threads, "", &extra)?;
            (
                PathBuf::from("h2o"),
                vec!["-c".to_owned(), conf.display().to_string()],
            )
        }
        ServerKind::Ceiling | ServerKind::CeilingPage => {
            let body = if kind == ServerKind::Ceiling {
                env.www.join("1k.bin")
            } else {
                // The page sockserve's `/` serves, embedded from here.
                env.bench_dir.join("../crates/app/assets/index.html")
            };
            let args = vec![
                "--port".to_owned(),
                port_s,
                "--threads".to_owned(),
                threads.to_string(),
                "--body".to_owned(),
                body.display().to_string(),
            ];
            (env.ceiling.clone(), args)
        }
        ServerKind::FrameworkWeb | ServerKind::FrameworkAxum => {
            let program = if kind == ServerKind::FrameworkWeb {
                &env.web_bench
            } else {
                &env.axum_bench
            };
            let args = vec![
                "--port".to_owned(),
                port_s,
                "--threads".to_owned(),
                threads.to_string(),
            ];
            (program.clone(), args)
        }
    })
}

/// Renders `conf/NAME` into `run_dir/NAME`, filling its `{{PLACEHOLDERS}}`.
fn render(
    env: &Env,
    name: &str,
    run_dir: &Path,
    port: u16,
    threads: usize,
    access_log: &str,
) -> Result<PathBuf> {
    render_with(env, name, run_dir, port, threads, access_log, &[])
}

/// [`render`] with more placeholders and their values.
fn render_with(
    env: &Env,
    name: &str,
    run_dir: &Path,
    port: u16,
    threads: usize,
    access_log: &str,
    extra: &[(&str, String)],
) -> Result<PathBuf> {
    let template_path = env.bench_dir.join("conf").join(name);
    let template = fs::read_to_string(&template_path)
        .map_err(|e| BenchError::new(format!("cannot read {}: {e}", template_path.display())))?;
    let text = template
        .replace("{{PORT}}", &port.to_string())
        .replace("{{WORKERS}}", &threads.to_string())
        .replace("{{WWW}}", &env.www.display().to_string())
        .replace("{{RUN}}", &run_dir.display().to_string())
        .replace("{{IDLE_SECS}}", &IDLE_SECS.to_string())
        .replace("{{PLAIN_BODY}}", &env.plain_body)
        .replace("{{ACCESS_LOG}}", access_log)
        .replace("{{TLS_CERT}}", &env.tls_cert.display().to_string())
        .replace("{{TLS_KEY}}", &env.tls_key.display().to_string());
    let text = extra
        .iter()
        .fold(text, |text, (from, to)| text.replace(from, to));
    let out = run_dir.join(name);
    fs::write(&out, text)?;
    Ok(out)
}

/// The certificate every TLS server of the benchmark serves (ECDSA P-256, for `localhost` and
/// `127.0.0.1`), made once with openssl into `work/tls/`; its PEM certificate and key files.
fn certificate(env: &Env) -> Result<(PathBuf, PathBuf)> {
    let dir = env.work.join("tls");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    fs::create_dir_all(&dir)?;
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "3650", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| BenchError::new(format!("cannot run openssl for the certificate: {e}")))?;
    if !status.success() {
        return Err(BenchError::new(
            "openssl could not make the bench certificate",
        ));
    }
    Ok((cert, key))
}

/// A port nothing listens on right now (the kernel's pick for a throwaway listener).
fn free_port() -> Result<u16> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(l.local_addr()?.port())
}

fn wait_listening(running: &mut Running) -> Result<()> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, running.port));
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(Some(status)) = running.child.try_wait() {
            return Err(BenchError::new(format!(
                "{} exited at start-up ({status}): {}",
                running.kind.name(),
                log_tail(&running.log)
            )));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(BenchError::new(format!(
                "{} did not listen within {}s: {}",
                running.kind.name(),
                START_TIMEOUT.as_secs(),
                log_tail(&running.log)
            )));
        }
        sleep(Duration::from_millis(50));
    }
}

/// The last few lines a server logged, for error messages.
pub fn log_tail(log: &Path) -> String {
    let text = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}

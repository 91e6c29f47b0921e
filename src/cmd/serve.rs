//! `sockserve serve [DIR]`: the static file server (and CGI).
//!
//! The flags are validated into a [`files::Config`] (and a [`cgi::Cgi`] when asked for) before
//! any socket opens, so a bad directory or header is one line on stderr and a non-zero exit.

use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};

use futures_util::future::Either;
use http::{HeaderName, HeaderValue};
use server::{Request, Response, Service};

use crate::cli::{DEFAULT_PORT, HttpArgs, ListenArgs, ServeArgs, TlsArgs};
use crate::cmd::{
    CliError, CmdResult, http_config, init_logs, run_server, serve_access, serve_cgi,
};

/// Files, with CGI in front of them for the URL directories that hold scripts.
struct ServeService {
    files: files::Files,
    cgi: Option<cgi::Cgi>,
}

impl Service for ServeService {
    /// The files' own future as it is (usually an answer already), a script's boxed.
    fn call(&self, req: Request) -> impl Future<Output = Response> + Send {
        match &self.cgi {
            // The files service answers the scripts' local redirects (`Location: /path`).
            Some(cgi) if cgi.matches(req.path()) => {
                Either::Left(Box::pin(cgi.handle(req, &self.files)))
            }
            _ => Either::Right(self.files.call(req)),
        }
    }
}

pub fn run(args: ServeArgs, listen: ListenArgs, http: HttpArgs, tls: TlsArgs) -> CmdResult {
    init_logs(&http);
    let ops = crate::cmd::Ops::from_args(&http);
    let (runtime, http) = http_config(&http)?;
    let tls = crate::cmd::tls::tls_from_args(&tls)?;
    let (dir, port) = target(&args, listen.port)?;
    let auth = serve_access::auth_from_args(&args.access)?;
    let mut config = files_config(&args, &dir)?;
    config.upload = serve_access::upload_from_args(&args.access, auth.is_some())?;
    let cgi = serve_cgi::cgi_from_args(&args, &config.root)?;
    let root = config.root.clone();
    let service = server::Swap::new(ServeService {
        files: files::Files::new(config),
        cgi,
    });
    reload_on_sighup(service.clone(), args.clone(), dir.clone(), auth.is_some());
    let addr = SocketAddr::new(listen.bind, port);
    let mut server = crate::cmd::new_server(runtime)?;
    let banner = match auth {
        Some(auth) => {
            let guarded = auth::Guarded::new(auth, service);
            crate::cmd::tls::bind(&mut server, addr, tls, guarded, http, Some(&root))?
        }
        None => crate::cmd::tls::bind(&mut server, addr, tls, service, http, Some(&root))?,
    };
    banner.print();
    run_server(server, ops)
}

/// On reload, the service is built again from the same flags: the directory is resolved anew
/// (a `current` symlink switched to a new release is served from then on, as a deploy by
/// symlink expects), CGI settings are checked again, and the file cache starts empty. Requests
/// in flight finish on the old service. The users stay as they are: password files are
/// re-read by `auth` itself when they change.
fn reload_on_sighup(slot: server::Swap<ServeService>, args: ServeArgs, dir: PathBuf, auth: bool) {
    crate::lifecycle::on_reload(
        "files",
        Box::new(move || {
            let mut config = files_config(&args, &dir).map_err(|e| e.to_string())?;
            config.upload =
                serve_access::upload_from_args(&args.access, auth).map_err(|e| e.to_string())?;
            let cgi = serve_cgi::cgi_from_args(&args, &config.root).map_err(|e| e.to_string())?;
            let service = ServeService {
                files: files::Files::new(config),
                cgi,
            };
            let slot = slot.clone();
            Ok(Box::new(move || slot.store(service)))
        }),
    );
}

/// The directory to serve and the port: a bare number in place of the directory is a port
/// (`serve 9000`, as python's `http.server` takes it), which `-p` may repeat but not contradict.
/// `./2024` names a directory called `2024`.
pub(crate) fn target(args: &ServeArgs, flag_port: Option<u16>) -> Result<(PathBuf, u16), CliError> {
    let bare = args.target.as_deref();
    let port = bare.filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()));
    if let Some(p) = port {
        let port = p
            .parse::<u16>()
            .map_err(|_| CliError::Usage(format!("{p} is not a port number (0-65535)")))?;
        if let Some(flag) = flag_port.filter(|&f| f != port) {
            return Err(CliError::Usage(format!(
                "two ports given ({port} and -p {flag}); give one"
            )));
        }
        let dir = args.directory.clone().unwrap_or_else(|| PathBuf::from("."));
        return Ok((dir, port));
    }
    let port = flag_port.unwrap_or(DEFAULT_PORT);
    match (bare, &args.directory) {
        (Some(t), Some(d)) => Err(CliError::Usage(format!(
            "two directories given ({t} and -d {}); give one",
            d.display()
        ))),
        (Some(t), None) => Ok((PathBuf::from(t), port)),
        (None, Some(d)) => Ok((d.clone(), port)),
        (None, None) => Ok((PathBuf::from("."), port)),
    }
}

/// Validates the file-serving flags into a [`files::Config`].
fn files_config(args: &ServeArgs, dir: &Path) -> Result<files::Config, CliError> {
    let mut config = files::Config::new(dir)
        .map_err(|e| CliError::Runtime(format!("cannot serve {}: {e}", dir.display())))?;
    if !args.index.is_empty() {
        config.index = args
            .index
            .iter()
            .map(|n| index_name(n))
            .collect::<Result<_, _>>()?;
    }
    config.listing = !args.no_listing;
    config.hidden = args.hidden;
    config.follow_symlinks = args.follow_symlinks;
    config.compress = !args.no_compress;
    config.cors = args.cors;
    if let Some(secs) = args.max_age {
        config.max_age(secs);
    }
    config.headers = args
        .headers
        .iter()
        .map(|h| header(h))
        .collect::<Result<_, _>>()?;
    if let Some(spa) = &args.spa {
        config.spa = Some(spa_file(&config.root, spa)?);
    }
    Ok(config)
}

/// An `--index` name: a plain file name.
fn index_name(name: &str) -> Result<String, CliError> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(CliError::Usage(format!(
            "--index {name:?}: expected a file name such as index.html"
        )));
    }
    Ok(name.to_string())
}

/// `--header "Name: value"`.
fn header(raw: &str) -> Result<(HeaderName, HeaderValue), CliError> {
    let bad = |why: &str| CliError::Usage(format!("--header {raw:?}: {why}"));
    let (name, value) = raw
        .split_once(':')
        .ok_or_else(|| bad("expected \"Name: value\""))?;
    let name =
        HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad("invalid header name"))?;
    let value = HeaderValue::from_str(value.trim()).map_err(|_| bad("invalid header value"))?;
    if files::config::is_computed(&name) {
        return Err(bad("the server computes this header itself"));
    }
    Ok((name, value))
}

/// `--spa FILE`: a file under the root, given relative to it (or absolute, inside it), stored
/// relative.
fn spa_file(root: &Path, spa: &Path) -> Result<PathBuf, CliError> {
    let full = if spa.is_absolute() {
        spa.to_path_buf()
    } else {
        root.join(spa)
    };
    let canonical = std::fs::canonicalize(&full)
        .ok()
        .filter(|p| p.is_file())
        .ok_or_else(|| {
            CliError::Usage(format!(
                "--spa {}: no such file in the served directory",
                spa.display()
            ))
        })?;
    let rel = canonical.strip_prefix(root).map_err(|_| {
        CliError::Usage(format!(
            "--spa {}: not inside the served directory",
            spa.display()
        ))
    })?;
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(CliError::Usage(format!(
            "--spa {}: not inside the served directory",
            spa.display()
        )));
    }
    Ok(rel.to_path_buf())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(argv: &[&str]) -> (ServeArgs, Option<u16>) {
        let mut full = vec!["sockserve", "serve"];
        full.extend_from_slice(argv);
        let cli = crate::cli::Cli::parse_from(full);
        match cli.command {
            Some(crate::cli::Command::Serve(a)) => (*a, cli.listen.port),
            _ => panic!("not serve"),
        }
    }

    fn target_of(argv: &[&str]) -> Result<(PathBuf, u16), CliError> {
        let (args, port) = parse(argv);
        target(&args, port)
    }

    #[test]
    fn bare_port_or_directory() {
        assert_eq!(target_of(&[]).unwrap(), (PathBuf::from("."), 8000));
        assert_eq!(target_of(&["9000"]).unwrap(), (PathBuf::from("."), 9000));
        assert_eq!(
            target_of(&["-d", "/tmp", "9000"]).unwrap(),
            (PathBuf::from("/tmp"), 9000)
        );
        assert_eq!(target_of(&["site"]).unwrap(), (PathBuf::from("site"), 8000));
        assert_eq!(
            target_of(&["site", "-p", "9001"]).unwrap(),
            (PathBuf::from("site"), 9001)
        );
        assert!(target_of(&["99999"]).is_err());
        assert!(target_of(&["a", "-d", "b"]).is_err());
    }

    #[test]
    fn bare_port_and_a_different_flag_port_are_an_error() {
        assert!(target_of(&["9000", "-p", "9001"]).is_err());
        assert_eq!(
            target_of(&["9000", "-p", "9000"]).unwrap(),
            (PathBuf::from("."), 9000)
        );
    }

    #[test]
    fn header_flags() {
        let (n, v) = header("X-Frame-Options:  DENY ").unwrap();
        assert_eq!(
            (n.as_str(), v.to_str().unwrap()),
            ("x-frame-options", "DENY")
        );
        assert!(header("no colon").is_err());
        assert!(header("bad name: x").is_err());
        assert!(header("X-A: a\u{7f}").is_err());
        assert!(header("Content-Length: 5").is_err());
    }

    #[test]
    fn spa_must_be_inside() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::write(root.join("app.html"), b"x").unwrap();
        assert_eq!(
            spa_file(&root, Path::new("app.html")).unwrap(),
            PathBuf::from("app.html")
        );
        assert!(spa_file(&root, Path::new("missing.html")).is_err());
        assert!(spa_file(&root, Path::new("/etc/hostname")).is_err());
        assert!(index_name("a/b").is_err());
    }
}

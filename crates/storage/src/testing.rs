//! A throwaway PostgreSQL server for tests and benchmarks: `initdb` in a temporary directory,
//! listening on loopback on a free port (and a Unix socket in that directory), trust
//! authentication for its one user, removed when dropped.
//!
//! It uses Debian's `postgresql` package: the newest `/usr/lib/postgresql/*/bin`, or `initdb`
//! and `pg_ctl` on `PATH`. PostgreSQL refuses to run as root, so when the caller is root the
//! directory is handed to the `postgres` user (created by the package) and the server's
//! commands run as that user through `runuser`.

use std::io;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The server's only user, its superuser.
pub const USER: &str = "sockserve";
/// The account the server runs as when the caller is root.
const SYSTEM_USER: &str = "postgres";

/// A running PostgreSQL server in a temporary directory; stopped and removed on drop.
#[derive(Debug)]
pub struct TempPostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_user: Option<String>,
}

impl TempPostgres {
    /// Creates the cluster and starts it; `Err` says what is missing (the package, the user).
    pub fn start() -> io::Result<TempPostgres> {
        let bin = bin_dir()?;
        let dir = tempfile::Builder::new().prefix("sockserve-pg").tempdir()?;
        let as_user = if is_root() {
            hand_over(dir.path())?;
            Some(SYSTEM_USER.to_string())
        } else {
            None
        };
        let pg = TempPostgres {
            port: free_port()?,
            dir,
            bin,
            as_user,
        };
        let data = pg.data();
        pg.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                USER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
        pg.start_again()?;
        Ok(pg)
    }

    /// `postgres://sockserve@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        self.url_of("postgres")
    }

    /// The URL of database `name` on this server.
    pub fn url_of(&self, name: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{name}", self.port)
    }

    /// The TCP port it listens on (the same across restarts).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates database `name` and returns its URL, so that tests can share one server.
    pub fn create_database(&self, name: &str) -> io::Result<String> {
        let port = self.port.to_string();
        self.run(
            "createdb",
            &["-h", "127.0.0.1", "-p", &port, "-U", USER, name],
        )?;
        Ok(self.url_of(name))
    }

    /// Stops the server at once, as a crash would (`pg_ctl stop -m immediate`): clients see
    /// their connections closed and new ones refused.
    pub fn stop(&self) -> io::Result<()> {
        let data = self.data();
        self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"])
            .map(drop)
    }

    /// Starts it (again) on the same port and waits until it accepts connections.
    pub fn start_again(&self) -> io::Result<()> {
        let data = self.data();
        let log = self.dir.path().join("postgres.log");
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        self.run(
            "pg_ctl",
            &[
                "-D",
                &data,
                "-l",
                &log.to_string_lossy(),
                "-o",
                &options,
                "-w",
                "start",
            ],
        )
        .map(drop)
    }

    /// The server's log, for a failing test's message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }

    fn data(&self) -> String {
        self.dir.path().join("data").to_string_lossy().into_owned()
    }

    /// Runs one of the server's programs, as the server's user; `Err` with its output if it fails.
    fn run(&self, program: &str, args: &[&str]) -> io::Result<Output> {
        let program = self.bin.join(program);
        let mut command = match &self.as_user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&program);
                c
            }
            None => Command::new(&program),
        };
        let out = command.args(args).current_dir(self.dir.path()).output()?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "{} {}: {}{}",
                program.display(),
                args.join(" "),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(out)
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// Whether PostgreSQL's programs are installed here, for tests to say why they are skipped.
pub fn available() -> bool {
    bin_dir().is_ok()
}

/// The newest `/usr/lib/postgresql/N/bin`, else the directory of `initdb` on `PATH`.
fn bin_dir() -> io::Result<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .find(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "PostgreSQL is not installed (apt-get install postgresql)",
            )
        })
}

fn is_root() -> bool {
    // The effective user, as the server checks it; `id -u` keeps this crate free of libc calls.
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Gives `dir` to the server's user, who must own its data directory.
fn hand_over(dir: &Path) -> io::Result<()> {
    let out = Command::new("chown")
        .arg(format!("{SYSTEM_USER}:"))
        .arg(dir)
        .output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "cannot give {} to the {SYSTEM_USER} user (is the postgresql package installed?): {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// A port free now on loopback (the server binds it a moment later).
fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

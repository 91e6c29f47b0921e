//! The idle-connection memory workload: open 10,000 keep-alive connections, send one request on
//! each and read its response, leave them all idle, then read the server's resident memory.

use std::fs;
use std::thread::sleep;
use std::time::Duration;

use crate::error::{BenchError, Result};
use crate::httpc::Conn;
use crate::procfs;
use crate::servers::Running;

/// Idle connections held open at once.
pub const CONNECTIONS: usize = 10_000;
/// Descriptors the harness needs beyond the connections (wrk runs separately).
const SPARE_FDS: u64 = 100;
/// Time the server gets to settle after the last connection before its memory is read.
const SETTLE: Duration = Duration::from_secs(1);

/// Resident bytes of `server`'s process group while it holds [`CONNECTIONS`] idle connections
/// (TLS connections, each after a full handshake, when `tls`).
pub fn measure(server: &Running, path: &str, tls: bool) -> Result<u64> {
    if tls {
        let config = crate::tls::config(false)?;
        return hold(server, path, || crate::tls::open(server.port, &config));
    }
    hold(server, path, || Conn::open(server.port))
}

/// Opens [`CONNECTIONS`] connections with `open`, one request on each, and reads the server's
/// resident memory while they are all idle.
fn hold<S: std::io::Read + std::io::Write>(
    server: &Running,
    path: &str,
    open: impl Fn() -> Result<Conn<S>>,
) -> Result<u64> {
    let limit = open_files_limit()?;
    if limit < CONNECTIONS as u64 + SPARE_FDS {
        return Err(BenchError::new(format!(
            "open-files limit is {limit}, need {}: run `ulimit -n 20000` first (bench/run.sh does)",
            CONNECTIONS as u64 + SPARE_FDS
        )));
    }
    let mut conns = Vec::with_capacity(CONNECTIONS);
    for i in 0..CONNECTIONS {
        let mut conn = open().map_err(|e| e.context(format!("connection {i}")))?;
        let reply = conn
            .request("GET", path, &[], b"")
            .map_err(|e| e.context(format!("request on connection {i}")))?;
        if reply.status != 200 {
            return Err(BenchError::new(format!(
                "connection {i} got status {}",
                reply.status
            )));
        }
        conns.push(conn);
    }
    sleep(SETTLE);
    let rss = procfs::group_rss(server.pgid())?;
    drop(conns);
    Ok(rss)
}

/// The soft `RLIMIT_NOFILE` of this process, from `/proc/self/limits`.
fn open_files_limit() -> Result<u64> {
    let limits = fs::read_to_string("/proc/self/limits")?;
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| BenchError::new("cannot read the open-files limit"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_own_limit() {
        assert!(super::open_files_limit().unwrap() > 0);
    }
}

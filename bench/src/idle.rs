//! The idle-connection memory workload: open 10,000 keep-alive connections, send one request on
//! each and read its response, leave them all idle, then read the server's resident memory.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
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

/// The client connection preface of HTTP/2 (RFC 9113 3.4) and an empty SETTINGS frame.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0";

/// Resident bytes of `server`'s process group while it holds [`CONNECTIONS`] idle h2c
/// connections (prior knowledge), each of which has had one `GET path` answered.
pub fn measure_h2c(server: &Running, path: &str) -> Result<u64> {
    let limit = open_files_limit()?;
    if limit < CONNECTIONS as u64 + SPARE_FDS {
        return Err(BenchError::new(format!(
            "open-files limit is {limit}, need {}: run `ulimit -n 20000` first (bench/run.sh does)",
            CONNECTIONS as u64 + SPARE_FDS
        )));
    }
    let request = h2_get(path);
    let mut conns = Vec::with_capacity(CONNECTIONS);
    for i in 0..CONNECTIONS {
        let mut conn = TcpStream::connect(("127.0.0.1", server.port))
            .map_err(|e| BenchError::new(format!("h2c connection {i}: {e}")))?;
        conn.set_read_timeout(Some(Duration::from_secs(10)))?;
        conn.write_all(H2_PREFACE)?;
        conn.write_all(&request)?;
        read_until_end_of_stream(&mut conn)
            .map_err(|e| BenchError::new(format!("h2c connection {i}: {e}")))?;
        conns.push(conn);
    }
    sleep(SETTLE);
    let rss = procfs::group_rss(server.pgid())?;
    drop(conns);
    Ok(rss)
}

/// HEADERS (END_STREAM | END_HEADERS) on stream 1 for `GET path`: literal fields, no Huffman.
fn h2_get(path: &str) -> Vec<u8> {
    let mut block = Vec::new();
    for (name, value) in [
        (":method", "GET"),
        (":scheme", "http"),
        (":authority", "127.0.0.1"),
        (":path", path),
    ] {
        block.push(0x00);
        block.push(name.len() as u8);
        block.extend_from_slice(name.as_bytes());
        block.push(value.len() as u8);
        block.extend_from_slice(value.as_bytes());
    }
    let len = (block.len() as u32).to_be_bytes();
    let mut frame = vec![len[1], len[2], len[3], 0x1, 0x5, 0, 0, 0, 1];
    frame.extend(block);
    frame
}

/// Reads frames until one on stream 1 carries END_STREAM; a SETTINGS from the server is
/// acknowledged, as a client must.
fn read_until_end_of_stream(conn: &mut TcpStream) -> std::io::Result<()> {
    loop {
        let mut head = [0u8; 9];
        conn.read_exact(&mut head)?;
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let mut payload = vec![0; len];
        conn.read_exact(&mut payload)?;
        let (kind, flags) = (head[3], head[4]);
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        if kind == 0x4 && flags & 0x1 == 0 {
            conn.write_all(&[0, 0, 0, 0x4, 0x1, 0, 0, 0, 0])?;
        }
        if stream == 1 && matches!(kind, 0x0 | 0x1) && flags & 0x1 != 0 {
            return Ok(());
        }
        if kind == 0x7 {
            return Err(std::io::Error::other("GOAWAY"));
        }
    }
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

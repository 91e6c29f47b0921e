//! A small load generator for the operations tests: threads of keep-alive and `Connection:
//! close` clients sending GETs as fast as they can, counting answers and failures, as wrk
//! would, and recording which bodies they saw.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long the load tests run, in seconds, from `SOCKSERVE_OPS_LOAD_SECS` (default 5).
pub fn load_secs() -> Duration {
    let secs = std::env::var("SOCKSERVE_OPS_LOAD_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .unwrap_or(5.0);
    Duration::from_secs_f64(secs)
}

/// What the clients counted.
#[derive(Debug, Default)]
pub struct Counts {
    /// Answered 2xx.
    pub ok: AtomicU64,
    /// Socket errors, 5xx, or a wrong body.
    pub failed: AtomicU64,
    /// Descriptions of the first failures.
    pub errors: Mutex<Vec<String>>,
    /// The `n` of every answered request's `?n=` (thread * 1e9 + sequence), for matching
    /// against the access log.
    pub answered: Mutex<Vec<u64>>,
}

/// Running clients; [`Load::stop`] ends them and returns the counts.
pub struct Load {
    stop: Arc<AtomicBool>,
    counts: Arc<Counts>,
    threads: Vec<JoinHandle<()>>,
}

impl Load {
    /// `clients` threads on `addr` fetching `path`; even ones keep their connection alive, odd
    /// ones send `Connection: close`. `accept` says whether a body is right.
    pub fn start(addr: SocketAddr, path: &str, clients: usize, accept: fn(&[u8]) -> bool) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(Counts::default());
        let threads = (0..clients)
            .map(|i| {
                let (stop, counts, path) = (stop.clone(), counts.clone(), path.to_string());
                std::thread::spawn(move || {
                    client(addr, &path, i, i % 2 == 0, &stop, &counts, accept)
                })
            })
            .collect();
        Load {
            stop,
            counts,
            threads,
        }
    }

    /// Requests answered so far.
    pub fn ok(&self) -> u64 {
        self.counts.ok.load(Ordering::Relaxed)
    }

    /// Stops the clients and returns what they counted.
    pub fn stop(self) -> Arc<Counts> {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            let _ = t.join();
        }
        self.counts
    }
}

fn client(
    addr: SocketAddr,
    path: &str,
    id: usize,
    keep_alive: bool,
    stop: &AtomicBool,
    counts: &Counts,
    accept: fn(&[u8]) -> bool,
) {
    let mut conn: Option<TcpStream> = None;
    let mut seq = 0u64;
    while !stop.load(Ordering::Relaxed) {
        seq += 1;
        let n = id as u64 * 1_000_000_000 + seq;
        let sep = if path.contains('?') { '&' } else { '?' };
        let close = if keep_alive {
            ""
        } else {
            "Connection: close\r\n"
        };
        let req = format!("GET {path}{sep}n={n} HTTP/1.1\r\nHost: load\r\n{close}\r\n");
        // A kept-alive connection the server closed before answering (it was idle when the
        // server began draining) is retried once on a new one, as browsers and curl retry an
        // idempotent request (RFC 9110 9.2.2); everything else counts as a failure.
        let reused = conn.is_some();
        let mut result = exchange(&mut conn, addr, &req);
        if reused && matches!(result, Err(Failure::ClosedBeforeAnswer)) {
            conn = None;
            result = exchange(&mut conn, addr, &req);
        }
        match result {
            Ok((status, body)) if (200..300).contains(&status) && accept(&body) => {
                counts.ok.fetch_add(1, Ordering::Relaxed);
                counts
                    .answered
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(n);
            }
            other => {
                counts.failed.fetch_add(1, Ordering::Relaxed);
                let mut errors = counts.errors.lock().unwrap_or_else(|e| e.into_inner());
                if errors.len() < 10 {
                    errors.push(format!(
                        "{:?}",
                        other.map(|(s, b)| (s, String::from_utf8_lossy(&b).into_owned()))
                    ));
                }
                conn = None;
            }
        }
        if !keep_alive {
            conn = None;
        }
    }
}

#[derive(Debug)]
#[allow(dead_code)] // The text is read through Debug, in the failure list.
enum Failure {
    /// The connection ended before any byte of the response.
    ClosedBeforeAnswer,
    Other(String),
}

/// One request on `conn` (connecting when `None`): the status and the body.
fn exchange(
    conn: &mut Option<TcpStream>,
    addr: SocketAddr,
    req: &str,
) -> Result<(u16, Vec<u8>), Failure> {
    if conn.is_none() {
        let s = TcpStream::connect(addr).map_err(|e| Failure::Other(format!("connect: {e}")))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(|e| Failure::Other(e.to_string()))?;
        *conn = Some(s);
    }
    let Some(s) = conn.as_mut() else {
        return Err(Failure::Other("no connection".into()));
    };
    if s.write_all(req.as_bytes()).is_err() {
        return Err(Failure::ClosedBeforeAnswer);
    }
    read_response(s)
}

/// Reads one response with a `Content-Length` body.
fn read_response(s: &mut TcpStream) -> Result<(u16, Vec<u8>), Failure> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let status = head
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse::<u16>().ok())
                .ok_or_else(|| Failure::Other(format!("bad head {head:?}")))?;
            let len = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())
                        .flatten()
                })
                .unwrap_or(0);
            let mut body = buf[end + 4..].to_vec();
            while body.len() < len {
                let n = s
                    .read(&mut chunk)
                    .map_err(|e| Failure::Other(format!("body: {e}")))?;
                if n == 0 {
                    return Err(Failure::Other("body cut short".into()));
                }
                body.extend_from_slice(&chunk[..n]);
            }
            body.truncate(len);
            return Ok((status, body));
        }
        match s.read(&mut chunk) {
            Ok(0) if buf.is_empty() => return Err(Failure::ClosedBeforeAnswer),
            Err(e)
                if buf.is_empty()
                    && matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                    ) =>
            {
                return Err(Failure::ClosedBeforeAnswer);
            }
            Ok(0) => return Err(Failure::Other("head cut short".into())),
            Err(e) => return Err(Failure::Other(format!("head: {e}"))),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// One GET on a new connection: the status and the body.
pub fn fetch(addr: SocketAddr, path: &str) -> Option<(u16, Vec<u8>)> {
    let mut conn = None;
    let req = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    exchange(&mut conn, addr, &req).ok()
}

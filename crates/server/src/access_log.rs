//! One line per request in Common Log Format, plus the time it took.
//!
//! `127.0.0.1 - - [25/Nov/2026:18:30:00 +0000] "GET / HTTP/1.1" 200 153 0.000087`
//!
//! Each line is written with a single `write` call, so lines from different threads never
//! interleave on stderr or in an `O_APPEND` file.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where access-log lines go.
#[derive(Clone)]
pub struct AccessLog {
    sink: Arc<Mutex<Box<dyn Write + Send>>>,
}

impl fmt::Debug for AccessLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessLog")
    }
}

/// What one line records.
#[derive(Debug)]
pub struct Entry<'a> {
    /// The client.
    pub peer: SocketAddr,
    /// The user named in `Authorization: Basic`, when there is one.
    pub user: Option<&'a str>,
    /// Method, target and version as received.
    pub method: &'a str,
    /// Request target.
    pub target: &'a str,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: &'a str,
    /// The status sent.
    pub status: u16,
    /// Body bytes sent.
    pub bytes: u64,
    /// From the first byte of the request to the last byte of the response.
    pub elapsed: Duration,
}

impl AccessLog {
    /// Lines go to standard error.
    pub fn stderr() -> AccessLog {
        AccessLog::to_writer(io::stderr())
    }

    /// Lines are appended to the file at `path`, created if missing.
    pub fn file(path: &Path) -> io::Result<AccessLog> {
        let file: File = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(AccessLog::to_writer(file))
    }

    /// Lines go to any writer (tests).
    pub fn to_writer(w: impl Write + Send + 'static) -> AccessLog {
        AccessLog {
            sink: Arc::new(Mutex::new(Box::new(w))),
        }
    }

    /// Writes one line.
    pub fn log(&self, e: &Entry<'_>) {
        let line = format_line(e, SystemTime::now());
        if let Ok(mut sink) = self.sink.lock() {
            let _ = sink.write_all(line.as_bytes());
        }
    }
}

fn format_line(e: &Entry<'_>, now: SystemTime) -> String {
    format!(
        "{} - {} [{}] \"{} {} {}\" {} {} {}.{:06}\n",
        e.peer.ip(),
        e.user.unwrap_or("-"),
        clf_time(now),
        e.method,
        e.target,
        e.version,
        e.status,
        e.bytes,
        e.elapsed.as_secs(),
        e.elapsed.subsec_micros(),
    )
}

/// `10/Oct/2000:13:55:36 +0000` (always UTC).
fn clf_time(now: SystemTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let (y, m, d) = http1::date::civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{:02}/{}/{}:{:02}:{:02}:{:02} +0000",
        d,
        MONTHS[(m - 1) as usize],
        y,
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_a_common_log_line() {
        let e = Entry {
            peer: "127.0.0.1:5000".parse().unwrap(),
            user: None,
            method: "GET",
            target: "/a?b",
            version: "HTTP/1.1",
            status: 200,
            bytes: 153,
            elapsed: Duration::from_micros(1_000_087),
        };
        let t = UNIX_EPOCH + Duration::from_secs(971_186_136);
        assert_eq!(
            format_line(&e, t),
            "127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] \"GET /a?b HTTP/1.1\" 200 153 1.000087\n"
        );
    }
}

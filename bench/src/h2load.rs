//! The HTTP/2 load generator: h2load (Debian's `nghttp2-client`), over TLS (ALPN h2) or h2c
//! with prior knowledge, many streams per connection; its report parsed into the same
//! [`WrkReport`] the wrk workloads record.

use std::process::Command;
use std::time::Duration;

use crate::error::{BenchError, Result};
use crate::wrk::{SocketErrors, WrkReport};

/// How one h2load run loads the server.
#[derive(Debug, Clone)]
pub struct H2loadArgs {
    pub threads: usize,
    /// Connections (`-c`).
    pub connections: usize,
    /// Concurrent streams per connection (`-m`).
    pub streams: usize,
    pub duration: Duration,
    /// CPU list for `taskset -c`, when the load generator is pinned.
    pub cpus: Option<String>,
}

/// Runs h2load against `urls` (requests go round the list) and parses its report.
pub fn run(args: &H2loadArgs, urls: &[String]) -> Result<WrkReport> {
    let mut cmd = match &args.cpus {
        Some(cpus) => {
            let mut c = Command::new("taskset");
            c.args(["-c", cpus, "h2load"]);
            c
        }
        None => Command::new("h2load"),
    };
    cmd.arg(format!("-t{}", args.threads.min(args.connections).max(1)))
        .arg(format!("-c{}", args.connections))
        .arg(format!("-m{}", args.streams))
        .arg(format!("-D{}", args.duration.as_secs().max(1)))
        .args(urls);
    let out = cmd.output().map_err(|e| {
        BenchError::new(format!(
            "cannot run h2load (apt-get install nghttp2-client): {e}"
        ))
    })?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse(&text).ok_or_else(|| {
        BenchError::new(format!(
            "unreadable h2load report: {:.300} {:.300}",
            text,
            String::from_utf8_lossy(&out.stderr)
        ))
    })
}

/// A few requests on one connection: all must succeed with 2xx (the check before measuring,
/// for servers that speak only HTTP/2 on their port).
pub fn check(urls: &[String]) -> Result<()> {
    let n = (urls.len() * 2).to_string();
    let out = Command::new("h2load")
        .args(["-n", &n, "-c", "1", "-m", "1"])
        .args(urls)
        .output()
        .map_err(|e| BenchError::new(format!("cannot run h2load: {e}")))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let report = parse(&text);
    match report {
        Some(r) if r.requests as usize == urls.len() * 2 && r.non_2xx == 0 => Ok(()),
        _ => Err(BenchError::new(format!(
            "h2load check of {urls:?} failed: {:.400}",
            text.replace('\n', " | ")
        ))),
    }
}

/// The numbers of an h2load report:
///
/// ```text
/// finished in 2.00s, 51234.50 req/s, 55.12MB/s
/// requests: 102469 total, 102569 started, 102469 done, 102469 succeeded, 0 failed, 0 errored, 0 timeout
/// status codes: 102469 2xx, 0 3xx, 0 4xx, 0 5xx
/// ```
pub fn parse(text: &str) -> Option<WrkReport> {
    let finished = text.lines().find_map(|l| l.strip_prefix("finished in "))?;
    let mut parts = finished.split(", ");
    let _elapsed = parts.next()?;
    let requests_per_sec = parts.next()?.strip_suffix(" req/s")?.parse().ok()?;
    let bytes_per_sec = rate(parts.next()?)?;
    let requests_line = text.lines().find_map(|l| l.strip_prefix("requests: "))?;
    let count = |what: &str| -> Option<u64> {
        requests_line
            .split(", ")
            .find_map(|p| p.strip_suffix(what))
            .and_then(|n| n.trim().parse().ok())
    };
    let succeeded = count(" succeeded")?;
    let codes = text
        .lines()
        .find_map(|l| l.strip_prefix("status codes: "))?;
    let code = |class: &str| -> u64 {
        codes
            .split(", ")
            .find_map(|p| p.strip_suffix(class))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    };
    Some(WrkReport {
        requests_per_sec,
        bytes_per_sec,
        p50: None,
        p99: None,
        non_2xx: code(" 4xx") + code(" 5xx"),
        socket_errors: SocketErrors {
            connect: 0,
            read: count(" errored").unwrap_or(0),
            write: count(" failed").unwrap_or(0),
            timeout: count(" timeout").unwrap_or(0),
        },
        requests: succeeded,
    })
}

/// `55.12MB/s`, `812.34KB/s`, `12B/s` in bytes per second (h2load's units are powers of 1024).
fn rate(text: &str) -> Option<f64> {
    let n = text.strip_suffix("/s")?;
    let (num, scale) = if let Some(v) = n.strip_suffix("GB") {
        (v, 1024.0 * 1024.0 * 1024.0)
    } else if let Some(v) = n.strip_suffix("MB") {
        (v, 1024.0 * 1024.0)
    } else if let Some(v) = n.strip_suffix("KB") {
        (v, 1024.0)
    } else {
        (n.strip_suffix('B')?, 1.0)
    };
    num.parse::<f64>().ok().map(|v| v * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "starting benchmark...
spawning thread #0: 50 total client(s). 100000 total requests
TLS Protocol: TLSv1.3
Application protocol: h2

finished in 2.00s, 51234.50 req/s, 55.12MB/s
requests: 102469 total, 102569 started, 102469 done, 102469 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 102469 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 110.24MB (115596320) total, 1.21MB (1268856) headers (space savings 95.48%), 100.07MB (104928256) data
";

    #[test]
    fn reads_rate_requests_and_status_codes() {
        let r = parse(REPORT).expect("report");
        assert!((r.requests_per_sec - 51234.5).abs() < 1e-6);
        assert!((r.bytes_per_sec - 55.12 * 1024.0 * 1024.0).abs() < 1.0);
        assert_eq!(r.requests, 102_469);
        assert_eq!(r.non_2xx, 0);
        assert_eq!(r.socket_errors, SocketErrors::default());
        assert!(parse("no report").is_none());
    }
}

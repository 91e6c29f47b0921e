//! Running `wrk` and reading its report.
//!
//! The parser is a pure function over wrk's text output, so it is tested on captured reports
//! without running anything. A run is only worth counting when every response was 2xx/3xx and no
//! socket failed; [`WrkReport::rejection`] says why a run is thrown away.

use std::process::Command;
use std::time::Duration;

use crate::error::{BenchError, Result};

/// What one `wrk --latency` run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct WrkReport {
    /// Completed requests per second (`Requests/sec:`).
    pub requests_per_sec: f64,
    /// Bytes read per second (`Transfer/sec:`), headers included.
    pub bytes_per_sec: f64,
    /// Median latency (`50%` of the latency distribution).
    pub p50: Option<Duration>,
    /// 99th percentile latency.
    pub p99: Option<Duration>,
    /// Responses whose status was not 2xx or 3xx.
    pub non_2xx: u64,
    /// Socket errors: connect, read, write, timeout.
    pub socket_errors: SocketErrors,
    /// Total requests completed.
    pub requests: u64,
}

/// The `Socket errors:` line of a report; all zero when wrk printed none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SocketErrors {
    pub connect: u64,
    pub read: u64,
    pub write: u64,
    pub timeout: u64,
}

impl SocketErrors {
    fn total(&self) -> u64 {
        self.connect + self.read + self.write + self.timeout
    }
}

impl WrkReport {
    /// Why this run must not be counted, or `None` when it is clean.
    pub fn rejection(&self) -> Option<String> {
        let e = &self.socket_errors;
        if self.non_2xx > 0 {
            Some(format!("{} non-2xx/3xx responses", self.non_2xx))
        } else if e.total() > 0 {
            Some(format!(
                "socket errors: connect {}, read {}, write {}, timeout {}",
                e.connect, e.read, e.write, e.timeout
            ))
        } else if self.requests == 0 {
            Some("no request completed".to_owned())
        } else {
            None
        }
    }
}

/// Parses the text wrk prints (with or without `--latency`).
pub fn parse(output: &str) -> Result<WrkReport> {
    let mut report = WrkReport {
        requests_per_sec: f64::NAN,
        bytes_per_sec: f64::NAN,
        p50: None,
        p99: None,
        non_2xx: 0,
        socket_errors: SocketErrors::default(),
        requests: 0,
    };
    for line in output.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("Requests/sec:") {
            report.requests_per_sec = parse_number(v)?;
        } else if let Some(v) = line.strip_prefix("Transfer/sec:") {
            report.bytes_per_sec = parse_bytes(v)?;
        } else if let Some(v) = line.strip_prefix("50%") {
            report.p50 = Some(parse_duration(v)?);
        } else if let Some(v) = line.strip_prefix("99%") {
            report.p99 = Some(parse_duration(v)?);
        } else if let Some(v) = line.strip_prefix("Non-2xx or 3xx responses:") {
            report.non_2xx = parse_count(v)?;
        } else if let Some(v) = line.strip_prefix("Socket errors:") {
            report.socket_errors = parse_socket_errors(v)?;
        } else if let Some((n, _)) = line.split_once(" requests in ") {
            report.requests = parse_count(n)?;
        }
    }
    if report.requests_per_sec.is_nan() || report.bytes_per_sec.is_nan() {
        return Err(BenchError::new(format!(
            "wrk printed no Requests/sec or Transfer/sec line:\n{output}"
        )));
    }
    Ok(report)
}

fn parse_number(s: &str) -> Result<f64> {
    let s = s.trim();
    s.parse::<f64>()
        .map_err(|_| BenchError::new(format!("not a number in wrk output: {s:?}")))
}

fn parse_count(s: &str) -> Result<u64> {
    let s = s.trim();
    s.parse::<u64>()
        .map_err(|_| BenchError::new(format!("not a count in wrk output: {s:?}")))
}

/// Splits `12.5MB` into `(12.5, "MB")`.
fn split_unit(s: &str) -> Result<(f64, &str)> {
    let s = s.trim();
    let at = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
    let (num, unit) = s.split_at(at);
    Ok((parse_number(num)?, unit))
}

/// wrk scales bytes by 1024: `B`, `KB`, `MB`, `GB`, `TB`.
fn parse_bytes(s: &str) -> Result<f64> {
    let (n, unit) = split_unit(s)?;
    let scale = match unit {
        "" | "B" => 1.0,
        "KB" => 1024.0,
        "MB" => 1024.0 * 1024.0,
        "GB" => 1024.0 * 1024.0 * 1024.0,
        "TB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => {
            return Err(BenchError::new(format!(
                "unknown byte unit in wrk output: {s:?}"
            )));
        }
    };
    Ok(n * scale)
}

/// wrk prints latencies as `us`, `ms`, `s`, `m` or `h`.
fn parse_duration(s: &str) -> Result<Duration> {
    let (n, unit) = split_unit(s)?;
    let secs = match unit {
        "us" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => {
            return Err(BenchError::new(format!(
                "unknown time unit in wrk output: {s:?}"
            )));
        }
    };
    Duration::try_from_secs_f64(secs)
        .map_err(|_| BenchError::new(format!("bad latency in wrk output: {s:?}")))
}

/// `connect 0, read 12, write 0, timeout 3`.
fn parse_socket_errors(s: &str) -> Result<SocketErrors> {
    let mut errors = SocketErrors::default();
    for part in s.split(',') {
        let mut words = part.split_whitespace();
        let (Some(kind), Some(count)) = (words.next(), words.next()) else {
            return Err(BenchError::new(format!("bad socket errors line: {s:?}")));
        };
        let count = parse_count(count)?;
        match kind {
            "connect" => errors.connect = count,
            "read" => errors.read = count,
            "write" => errors.write = count,
            "timeout" => errors.timeout = count,
            _ => {
                return Err(BenchError::new(format!(
                    "unknown socket error kind: {kind:?}"
                )));
            }
        }
    }
    Ok(errors)
}

/// How to run wrk for one measurement.
#[derive(Debug, Clone)]
pub struct WrkArgs {
    pub threads: usize,
    pub connections: usize,
    pub duration: Duration,
    /// Extra request headers, e.g. `Connection: close`.
    pub headers: Vec<String>,
    /// CPU list for `taskset -c`, when wrk is pinned.
    pub cpus: Option<String>,
}

/// Runs wrk against `url` and parses its report.
pub fn run(args: &WrkArgs, url: &str) -> Result<WrkReport> {
    let mut cmd = match &args.cpus {
        Some(cpus) => {
            let mut c = Command::new("taskset");
            c.args(["-c", cpus, "wrk"]);
            c
        }
        None => Command::new("wrk"),
    };
    cmd.arg(format!("-t{}", args.threads.min(args.connections).max(1)))
        .arg(format!("-c{}", args.connections))
        .arg(format!("-d{}s", args.duration.as_secs().max(1)))
        .args(["--timeout", "10s"])
        .arg("--latency");
    for h in &args.headers {
        cmd.args(["-H", h]);
    }
    cmd.arg(url);
    let out = cmd
        .output()
        .map_err(|e| BenchError::new(format!("cannot run wrk: {e}")))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(BenchError::new(format!(
            "wrk failed ({}): {}{}",
            out.status,
            stdout,
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    parse(&stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLEAN: &str = "\
Running 5s test @ http://127.0.0.1:18999/1k.bin
  2 threads and 100 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    17.71ms  110.76ms   1.67s    97.81%
    Req/Sec   713.07    256.47     1.17k    66.67%
  Latency Distribution
     50%  635.00us
     75%    4.82ms
     90%    5.66ms
     99%  520.90ms
  4257 requests in 3.00s, 4.98MB read
Requests/sec:   1416.82
Transfer/sec:      1.66MB
";

    const ERRORS: &str = "\
Running 2s test @ http://127.0.0.1:1/
  1 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.00s     0.00us   1.00s   100.00%
    Req/Sec     0.00      0.00     0.00    100.00%
  Latency Distribution
     50%    1.00s
     75%    1.00s
     90%    1.00s
     99%    1.00s
  812 requests in 2.00s, 101.50KB read
  Socket errors: connect 0, read 12, write 1, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:    405.81
Transfer/sec:     50.72KB
";

    #[test]
    fn reads_rates_and_percentiles() {
        let r = parse(CLEAN).unwrap();
        assert_eq!(r.requests_per_sec, 1416.82);
        assert!((r.bytes_per_sec - 1.66 * 1024.0 * 1024.0).abs() < 1.0);
        assert_eq!(r.p50, Some(Duration::from_micros(635)));
        assert_eq!(r.p99, Some(Duration::from_secs_f64(0.5209)));
        assert_eq!(r.requests, 4257);
        assert_eq!(r.non_2xx, 0);
        assert_eq!(r.socket_errors, SocketErrors::default());
        assert_eq!(r.rejection(), None);
    }

    #[test]
    fn reads_errors_and_rejects_the_run() {
        let r = parse(ERRORS).unwrap();
        assert_eq!(r.non_2xx, 7);
        assert_eq!(
            r.socket_errors,
            SocketErrors {
                connect: 0,
                read: 12,
                write: 1,
                timeout: 3
            }
        );
        assert_eq!(r.p99, Some(Duration::from_secs(1)));
        assert!((r.bytes_per_sec - 50.72 * 1024.0).abs() < 0.01);
        assert_eq!(r.rejection().as_deref(), Some("7 non-2xx/3xx responses"));
    }

    #[test]
    fn socket_errors_alone_reject_the_run() {
        let text = CLEAN.replace(
            "Requests/sec",
            "  Socket errors: connect 2, read 0, write 0, timeout 0\nRequests/sec",
        );
        let r = parse(&text).unwrap();
        assert_eq!(
            r.rejection().as_deref(),
            Some("socket errors: connect 2, read 0, write 0, timeout 0")
        );
    }

    #[test]
    fn latency_is_optional_without_flag() {
        let text: String = CLEAN
            .lines()
            .filter(|l| !l.contains('%') || l.contains("Stdev") || l.contains("Latency "))
            .collect::<Vec<_>>()
            .join("\n");
        let r = parse(&text).unwrap();
        assert_eq!(r.p50, None);
        assert_eq!(r.requests_per_sec, 1416.82);
    }

    #[test]
    fn units() {
        assert_eq!(parse_bytes("12B").unwrap(), 12.0);
        assert_eq!(
            parse_bytes("1.50GB").unwrap(),
            1.5 * 1024.0 * 1024.0 * 1024.0
        );
        assert_eq!(parse_duration("2.00m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("3.0fortnights").is_err());
        assert!(parse_bytes("lots").is_err());
    }

    #[test]
    fn output_without_totals_is_an_error() {
        assert!(parse("unable to connect to 127.0.0.1:1 Connection refused\n").is_err());
        assert!(parse("Requests/sec: x\nTransfer/sec: 1KB\n").is_err());
    }
}

//! Server CPU time per request: the user + system time a server's processes used during one wrk
//! run, divided by the requests wrk completed.
//!
//! On a small machine the load generator shares the cores and saturates first, so requests/s
//! between two fast servers is capped by wrk, not by either server. The CPU each request costs
//! the server is its own: it does not depend on how fast the client asks. It includes the kernel
//! time spent on the server's behalf (system time: TCP sends, `sendfile`, `accept`), which is
//! part of what serving a request costs.
//!
//! What counts is every process of the server's group and its descendants
//! ([`procfs::group_and_descendants`]), each with the time of the children it reaped, so CGI
//! scripts that ran and were waited for within the run are in it.

use std::collections::BTreeMap;

use nix::unistd::{SysconfVar, sysconf};

use crate::error::{BenchError, Result};
use crate::procfs::{self, ProcStat};

/// CPU ticks each process of a server had used at one instant, keyed by pid and start time, so a
/// pid reused by a new process between two snapshots is a different key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    ticks: BTreeMap<(u32, u64), u64>,
}

impl Snapshot {
    fn of(procs: &[ProcStat]) -> Snapshot {
        Snapshot {
            ticks: procs
                .iter()
                .map(|p| ((p.pid, p.starttime), p.cpu_ticks()))
                .collect(),
        }
    }

    /// Ticks used from `self` until `later`.
    ///
    /// A process in both counts its growth (never negative, should the kernel's accounting ever
    /// step back); a process only in `later` started meanwhile and counts whole; a process only in
    /// `self` exited meanwhile and is skipped: if the server reaped it, its time is in the
    /// reaper's children's time, which grew.
    pub fn ticks_until(&self, later: &Snapshot) -> u64 {
        later
            .ticks
            .iter()
            .map(|(key, &after)| match self.ticks.get(key) {
                Some(&before) => after.saturating_sub(before),
                None => after,
            })
            .sum()
    }
}

/// The CPU ticks of the processes of the server whose group is `pgid`, right now.
pub fn snapshot(pgid: u32) -> Result<Snapshot> {
    Ok(Snapshot::of(&procfs::group_and_descendants(pgid)?))
}

/// Clock ticks per second, the unit of `/proc/PID/stat` times (`getconf CLK_TCK`).
pub fn ticks_per_second() -> Result<u64> {
    let ticks = sysconf(SysconfVar::CLK_TCK)
        .map_err(|e| BenchError::new(format!("sysconf(CLK_TCK): {e}")))?;
    ticks
        .and_then(|t| u64::try_from(t).ok())
        .filter(|&t| t > 0)
        .ok_or_else(|| BenchError::new(format!("sysconf(CLK_TCK) gave {ticks:?}")))
}

/// Runs `work` and returns its result with the CPU seconds the server with group `pgid` used
/// meanwhile, or why they could not be read.
pub fn around<T>(pgid: u32, work: impl FnOnce() -> T) -> (T, Result<f64>) {
    let before = snapshot(pgid);
    let out = work();
    let after = snapshot(pgid);
    let seconds = (|| {
        let ticks = before?.ticks_until(&after?);
        Ok(ticks as f64 / ticks_per_second()? as f64)
    })();
    (
        out,
        seconds.map_err(|e: BenchError| e.context("server CPU time")),
    )
}

/// Microseconds of CPU per request, or `None` when no request completed.
pub fn micros_per_request(seconds: f64, requests: u64) -> Option<f64> {
    (requests > 0 && seconds.is_finite()).then(|| seconds * 1e6 / requests as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(entries: &[((u32, u64), u64)]) -> Snapshot {
        Snapshot {
            ticks: entries.iter().copied().collect(),
        }
    }

    #[test]
    fn growth_new_processes_and_exits() {
        let before = snap(&[((10, 1), 500), ((11, 1), 300), ((20, 7), 40)]);
        let after = snap(&[
            ((10, 1), 650), // the master, grown by 150 (its reaped children included)
            ((11, 1), 290), // stepped back: counts 0, not -10
            ((21, 9), 12),  // started during the run: counts whole
            ((20, 8), 5),   // pid 20 reused by a new process: counts whole
        ]);
        // pid 20 of start time 7 exited: skipped.
        assert_eq!(before.ticks_until(&after), 150 + 12 + 5);
        assert_eq!(after.ticks_until(&after), 0);
    }

    #[test]
    fn snapshot_from_stats_sums_own_and_children_time() {
        let line = "7 (sh) S 1 7 7 0 -1 0 0 0 0 0 3 4 5 6 20 0 1 0 99 0 0";
        let p = ProcStat::parse(line).unwrap();
        assert_eq!(Snapshot::of(&[p]), snap(&[((7, 99), 18)]));
    }

    #[test]
    fn per_request() {
        assert_eq!(micros_per_request(0.5, 100_000), Some(5.0));
        assert_eq!(micros_per_request(0.5, 0), None);
        assert_eq!(micros_per_request(f64::NAN, 10), None);
    }

    #[test]
    fn measures_own_work() {
        let me = std::process::id();
        let stat = std::fs::read_to_string(format!("/proc/{me}/stat")).unwrap();
        let pgid = ProcStat::parse(&stat).unwrap().pgrp;
        assert!(ticks_per_second().unwrap() >= 1);
        let (sum, seconds) = around(pgid, || {
            let start = std::time::Instant::now();
            let mut x = 0u64;
            while start.elapsed() < std::time::Duration::from_millis(300) {
                x = std::hint::black_box(x.wrapping_add(1));
            }
            x
        });
        assert!(sum > 0);
        // 300 ms of spinning, in ticks of 10 ms or finer; a busy machine may give it half a
        // core, other tests may add to it.
        let seconds = seconds.unwrap();
        assert!(seconds >= 0.05, "{seconds}");
    }
}

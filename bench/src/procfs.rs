//! What `/proc` says about a server's processes: which they are, their memory, their CPU time.
//!
//! Every server runs in its own process group, so its processes are the members of that group
//! (nginx's master and workers, lighttpd's CGI children). A server may also put children in
//! groups of their own (sockserve runs each CGI script as a group leader, so it can kill the
//! script's whole tree); for CPU time those count too, found through their parent.

use std::collections::BTreeSet;
use std::fs;

use crate::error::{BenchError, Result};

/// The fields of `/proc/PID/stat` the harness reads. Times are in clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: u32,
    pub ppid: u32,
    pub pgrp: u32,
    /// User and system time of the process itself (every thread, live or exited).
    pub utime: u64,
    pub stime: u64,
    /// User and system time of the children it has waited for (reaped CGI scripts).
    pub cutime: u64,
    pub cstime: u64,
    /// Start time after boot: with the pid, names a process even when its pid is reused.
    pub starttime: u64,
}

impl ProcStat {
    /// Parses one `/proc/PID/stat` line.
    ///
    /// The second field is the command name in parentheses, and the name itself may hold spaces
    /// and parentheses (`(nginx: worker (x))`, or `) 1 2` for a hostile one), so the numbered
    /// fields start after the *last* `)`.
    pub fn parse(line: &str) -> Option<ProcStat> {
        let (head, rest) = line.rsplit_once(')')?;
        let pid = head.split_once('(')?.0.trim().parse().ok()?;
        // `rest` starts at field 3 (the state), so field N is at index N - 3.
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| -> Option<u64> { fields.get(n - 3)?.parse().ok() };
        let small = |n: usize| -> Option<u32> { fields.get(n - 3)?.parse().ok() };
        Some(ProcStat {
            pid,
            ppid: small(4)?,
            pgrp: small(5)?,
            utime: field(14)?,
            stime: field(15)?,
            cutime: field(16)?,
            cstime: field(17)?,
            starttime: field(22)?,
        })
    }

    /// CPU ticks of the process and of the children it reaped.
    pub fn cpu_ticks(&self) -> u64 {
        self.utime + self.stime + self.cutime + self.cstime
    }
}

/// Every process on the machine whose stat could be read. Processes exit while `/proc` is being
/// walked; those are simply missing.
fn all() -> Result<Vec<ProcStat>> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc")? {
        let entry = entry?;
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some(stat) = fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| ProcStat::parse(&s))
        {
            found.push(stat);
        }
    }
    Ok(found)
}

/// The members of process group `pgid`.
pub fn group(pgid: u32) -> Result<Vec<ProcStat>> {
    let members: Vec<ProcStat> = all()?.into_iter().filter(|p| p.pgrp == pgid).collect();
    if members.is_empty() {
        return Err(BenchError::new(format!("no process in group {pgid}")));
    }
    Ok(members)
}

/// The members of process group `pgid` and every descendant of theirs, whatever its group.
pub fn group_and_descendants(pgid: u32) -> Result<Vec<ProcStat>> {
    let found = with_descendants(all()?, pgid);
    if found.is_empty() {
        return Err(BenchError::new(format!("no process in group {pgid}")));
    }
    Ok(found)
}

/// The processes of `procs` in group `pgid`, plus those whose parent is one of them (repeated,
/// so grandchildren count too).
fn with_descendants(procs: Vec<ProcStat>, pgid: u32) -> Vec<ProcStat> {
    let mut pids: BTreeSet<u32> = procs
        .iter()
        .filter(|p| p.pgrp == pgid)
        .map(|p| p.pid)
        .collect();
    loop {
        let before = pids.len();
        pids.extend(
            procs
                .iter()
                .filter(|p| pids.contains(&p.ppid))
                .map(|p| p.pid)
                .collect::<Vec<_>>(),
        );
        if pids.len() == before {
            break;
        }
    }
    procs
        .into_iter()
        .filter(|p| pids.contains(&p.pid))
        .collect()
}

/// Resident memory of a whole process group, in bytes (sum of `VmRSS`).
pub fn group_rss(pgid: u32) -> Result<u64> {
    group_sum(pgid, "VmRSS:")
}

/// The peak resident memory of a whole process group, in bytes: the sum of each process's
/// `VmHWM` (its high-water mark since it started), an upper bound of the group's peak.
pub fn group_peak_rss(pgid: u32) -> Result<u64> {
    group_sum(pgid, "VmHWM:")
}

fn group_sum(pgid: u32, field: &str) -> Result<u64> {
    let mut total = 0;
    for p in group(pgid)? {
        let Ok(status) = fs::read_to_string(format!("/proc/{}/status", p.pid)) else {
            continue;
        };
        total += status_kb(&status, field).unwrap_or(0);
    }
    if total == 0 {
        return Err(BenchError::new(format!(
            "no resident memory in group {pgid}"
        )));
    }
    Ok(total)
}

/// A `/proc/PID/status` line such as `VmRSS:  1234 kB`, in bytes.
fn status_kb(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An nginx worker's line (52 fields), with the values of the fields this harness reads:
    /// pid 42, ppid 41, pgrp 40, utime 1500, stime 700, cutime 30, cstime 20, starttime 98765.
    const NGINX_WORKER: &str = "42 (nginx: worker (x)) S 41 40 40 0 -1 4194624 1200 0 0 0 \
                                1500 700 30 20 20 0 1 0 98765 12345678 900 18446744073709551615 \
                                1 1 0 0 0 0 0 4096 0 0 0 0 17 0 0 0 0 0 0";

    fn proc(pid: u32, ppid: u32, pgrp: u32) -> ProcStat {
        ProcStat {
            pid,
            ppid,
            pgrp,
            utime: 0,
            stime: 0,
            cutime: 0,
            cstime: 0,
            starttime: 0,
        }
    }

    #[test]
    fn parses_stat_with_parentheses_and_spaces_in_the_name() {
        let p = ProcStat::parse(NGINX_WORKER).unwrap();
        assert_eq!(
            p,
            ProcStat {
                pid: 42,
                ppid: 41,
                pgrp: 40,
                utime: 1500,
                stime: 700,
                cutime: 30,
                cstime: 20,
                starttime: 98765,
            }
        );
        assert_eq!(p.cpu_ticks(), 2250);
        // A name that looks like the end of the name followed by fields.
        let hostile = NGINX_WORKER.replace("(nginx: worker (x))", "(a) 7 8 9 (b) )");
        assert_eq!(ProcStat::parse(&hostile), Some(p));
    }

    #[test]
    fn short_or_garbled_stat_is_none() {
        assert_eq!(ProcStat::parse("42 (sh) S 41 40 40"), None);
        assert_eq!(ProcStat::parse("no parentheses here"), None);
        assert_eq!(ProcStat::parse(&NGINX_WORKER.replace("1500", "x")), None);
    }

    #[test]
    fn descendants_in_other_groups_count() {
        let procs = vec![
            proc(10, 1, 10), // the server
            proc(11, 10, 10),
            proc(20, 10, 20), // a CGI script in its own group
            proc(21, 20, 20), // and its child
            proc(30, 1, 30),  // unrelated
            proc(31, 30, 10), // odd, but in the group
        ];
        let pids: Vec<u32> = with_descendants(procs, 10).iter().map(|p| p.pid).collect();
        assert_eq!(pids, vec![10, 11, 20, 21, 31]);
        assert!(with_descendants(vec![proc(5, 1, 5)], 10).is_empty());
    }

    #[test]
    fn reads_status_fields() {
        let status = "Name:\tnginx\nVmHWM:\t    4096 kB\nVmRSS:\t    2048 kB\n";
        assert_eq!(status_kb(status, "VmRSS:"), Some(2048 * 1024));
        assert_eq!(status_kb(status, "VmHWM:"), Some(4096 * 1024));
        assert_eq!(status_kb("Name:\tkthread\n", "VmRSS:"), None);
    }

    #[test]
    fn own_group_has_memory_and_cpu() {
        let me = std::process::id();
        let stat = fs::read_to_string(format!("/proc/{me}/stat")).unwrap();
        let pgid = ProcStat::parse(&stat).unwrap().pgrp;
        assert!(group_rss(pgid).unwrap() > 0);
        let family = group_and_descendants(pgid).unwrap();
        assert!(family.iter().any(|p| p.pid == me));
    }
}

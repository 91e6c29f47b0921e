//! `bench/results/LATEST.md`: the machine, the method, one table per layout, the goals, and every
//! run that was rejected or could not happen, with the reason.

use std::fmt::Write as _;
use std::time::Duration;

use crate::chart::Bar;
use crate::runner::{Series, WorkloadResult};
use crate::stats::ratio;
use crate::workloads::{Metric, Peer};

/// What is said about the run above the tables.
#[derive(Debug)]
pub struct Meta {
    pub command: String,
    pub started: String,
    pub method: String,
    pub machine: Vec<(String, String)>,
    pub load_before: [f64; 3],
    pub load_after: [f64; 3],
    pub notes: Vec<String>,
}

/// The ratio sockserve/peer of one pair, when both were measured.
pub fn pair_ratio(r: &WorkloadResult, peer: &Series) -> Option<f64> {
    let s = r.sockserve.as_ref().ok()?.summary()?;
    let p = peer.summary()?;
    ratio(s.median, p.median)
}

/// The ratio of the server CPU per request, peer/sockserve, when both were measured: above 1,
/// sockserve does a request's work with less CPU (the same direction as [`pair_ratio`]).
pub fn cpu_ratio(r: &WorkloadResult, peer: &Series) -> Option<f64> {
    let s = r.sockserve.as_ref().ok()?.cpu_summary()?;
    let p = peer.cpu_summary()?;
    ratio(p.median, s.median)
}

/// A ratio for a table cell, `—` when there is none.
fn times(x: Option<f64>) -> String {
    x.map_or("—".to_owned(), |x| format!("{x:.2}×"))
}

/// The chart's bars: every measured pair.
pub fn bars(results: &[WorkloadResult]) -> Vec<Bar> {
    results
        .iter()
        .flat_map(|r| {
            r.peers.iter().filter_map(move |(p, s)| {
                Some(Bar {
                    label: format!("{} [{}] vs {}", r.workload.name, r.layout.name(), p.label),
                    ratio: pair_ratio(r, s)?,
                    goal: p.goal,
                })
            })
        })
        .collect()
}

/// Renders the whole results page.
pub fn markdown(meta: &Meta, results: &[WorkloadResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# sockserve benchmark results\n");
    let _ = writeln!(
        out,
        "Produced by `{}` on {}. Every number below was measured by that command; see \
         [bench/README.md](../README.md) for the method and the fairness rules.\n",
        meta.command, meta.started
    );
    let _ = writeln!(out, "**Method.** {}\n", meta.method);
    let _ = writeln!(out, "## Machine\n");
    for (k, v) in &meta.machine {
        let _ = writeln!(out, "- {k}: {v}");
    }
    let _ = writeln!(
        out,
        "- load average (1/5/15 min): {} before, {} after\n",
        load(meta.load_before),
        load(meta.load_after)
    );
    for note in &meta.notes {
        let _ = writeln!(out, "> {note}\n");
    }
    goals(&mut out, results);
    let _ = writeln!(out, "![ratios sockserve/peer](ratios.svg)\n");
    let mut layouts: Vec<_> = results.iter().map(|r| r.layout).collect();
    layouts.dedup();
    for layout in layouts {
        let _ = writeln!(out, "## Layout: {}\n", layout.name());
        table(&mut out, results.iter().filter(|r| r.layout == layout));
    }
    problems(&mut out, results);
    workloads(&mut out, results);
    out
}

fn load(l: [f64; 3]) -> String {
    format!("{:.2} / {:.2} / {:.2}", l[0], l[1], l[2])
}

fn goals(out: &mut String, results: &[WorkloadResult]) {
    let _ = writeln!(out, "## Goals\n");
    // Goals are judged on throughput (or memory); the CPU ratio is shown beside, not judged.
    let _ = writeln!(
        out,
        "| workload | layout | against | goal | ratio | met | CPU/req ratio |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for r in results {
        for (p, s) in r.peers.iter().filter(|(p, _)| p.goal.is_some()) {
            let Some(goal) = p.goal else { continue };
            let (value, met) = match pair_ratio(r, s) {
                Some(x) => (
                    format!("{x:.2}×"),
                    if goal.met(x) { "yes" } else { "**no**" },
                ),
                None => ("—".to_owned(), "not measured"),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {value} | {met} | {} |",
                r.workload.name,
                r.layout.name(),
                p.label,
                goal.describe(),
                times(cpu_ratio(r, s))
            );
        }
    }
    out.push('\n');
}

fn table<'a>(out: &mut String, results: impl Iterator<Item = &'a WorkloadResult>) {
    let _ = writeln!(
        out,
        "| workload | unit | sockserve median (min–max, spread, runs) | p50 / p99 | sockserve CPU µs/req (median) | peer | peer median (min–max, spread, runs) | p50 / p99 | peer CPU µs/req (median) | ratio | CPU ratio | load |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|");
    // (For idle-memory the p50 / p99 columns hold the memory per idle connection instead.)
    for r in results {
        let m = r.workload.metric;
        let (s_cell, s_lat, s_cpu) = match &r.sockserve {
            Ok(s) => (cell(s, m), latency(s), cpu_cell(s)),
            Err(why) => (
                format!("unavailable: {}", short(why)),
                String::new(),
                "—".to_owned(),
            ),
        };
        if r.peers.is_empty() {
            let _ = writeln!(
                out,
                "| {} | {} | {s_cell} | {s_lat} | {s_cpu} | — | — | | — | — | — | {:.2} |",
                r.workload.name,
                m.unit(),
                r.load
            );
        }
        for (i, (p, series)) in r.peers.iter().enumerate() {
            let first = i == 0;
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                if first { r.workload.name } else { "" },
                if first { m.unit() } else { "" },
                if first { s_cell.as_str() } else { "〃" },
                if first { s_lat.as_str() } else { "" },
                if first { s_cpu.as_str() } else { "〃" },
                p.label,
                cell(series, m),
                latency(series),
                cpu_cell(series),
                times(pair_ratio(r, series)),
                times(cpu_ratio(r, series)),
                if first {
                    format!("{:.2}", r.load)
                } else {
                    String::new()
                },
            );
        }
    }
    out.push('\n');
}

/// `median (min–max, n)` in the metric's unit, or why there is none.
fn cell(s: &Series, m: Metric) -> String {
    if let Some(why) = &s.unavailable {
        return format!("unavailable: {}", short(why));
    }
    match s.summary() {
        Some(sum) => format!(
            "{} ({}–{}, spread {:.0}%, {})",
            value(sum.median, m),
            value(sum.min, m),
            value(sum.max, m),
            sum.spread() * 100.0,
            sum.runs
        ),
        None => "no clean run".to_owned(),
    }
}

/// The median server CPU per request, saying so when some counted runs lack it.
fn cpu_cell(s: &Series) -> String {
    let Some(sum) = s.cpu_summary() else {
        return "—".to_owned();
    };
    let median = micros(sum.median);
    if sum.runs < s.samples.len() {
        format!("{median} ({} of {} runs)", sum.runs, s.samples.len())
    } else {
        median
    }
}

/// Microseconds with three significant digits or so: 6.42, 84.1, 1234.
fn micros(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn value(v: f64, m: Metric) -> String {
    match m {
        Metric::Requests => format!("{v:.0}"),
        Metric::Bytes | Metric::Memory | Metric::PeakMemory => {
            format!("{:.1}", v / (1024.0 * 1024.0))
        }
    }
}

/// The latency column; for memory, the bytes each idle connection costs instead.
fn latency(s: &Series) -> String {
    if let Some(per) = s.per_connection() {
        return format!("{:.1} KiB per connection", per / 1024.0);
    }
    match s.latency() {
        (Some(a), Some(b)) => format!("{} / {}", ms(a), ms(b)),
        _ => String::new(),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// A reason fit for a table cell: one line, no pipes, not too long.
fn short(why: &str) -> String {
    let one: String = why.replace(['|', '\n'], " ");
    if one.chars().count() > 160 {
        format!("{}…", one.chars().take(160).collect::<String>())
    } else {
        one
    }
}

fn problems(out: &mut String, results: &[WorkloadResult]) {
    let mut lines = Vec::new();
    for r in results {
        let tag = format!("{} [{}]", r.workload.name, r.layout.name());
        match &r.sockserve {
            Err(why) => lines.push(format!("- {tag}: sockserve unavailable: {}", short(why))),
            Ok(s) => series_problems(&mut lines, &tag, "sockserve", s),
        }
        for (p, s) in &r.peers {
            if let Some(why) = &s.unavailable {
                lines.push(format!("- {tag}: {} unavailable: {}", p.label, short(why)));
            }
            series_problems(&mut lines, &tag, p.label, s);
        }
    }
    if !lines.is_empty() {
        let _ = writeln!(out, "## Rejected runs and unavailable servers\n");
        for l in lines {
            let _ = writeln!(out, "{l}");
        }
        out.push('\n');
    }
}

/// The rejected runs of one server, and the counted runs whose CPU time is missing.
fn series_problems(lines: &mut Vec<String>, tag: &str, who: &str, s: &Series) {
    lines.extend(
        s.rejected
            .iter()
            .map(|w| format!("- {tag}: {who} run rejected: {}", short(w))),
    );
    lines.extend(s.cpu_gaps.iter().map(|w| {
        format!(
            "- {tag}: {who} run counted without its CPU time: {}",
            short(w)
        )
    }));
}

fn workloads(out: &mut String, results: &[WorkloadResult]) {
    let _ = writeln!(out, "## Workloads\n");
    let mut seen = Vec::new();
    for r in results {
        if seen.contains(&r.workload.name) {
            continue;
        }
        seen.push(r.workload.name);
        let peers: Vec<&str> = r.workload.peers.iter().map(|p: &Peer| p.label).collect();
        let _ = writeln!(
            out,
            "- **{}**: {}; against {}.",
            r.workload.name,
            r.workload.about,
            peers.join(", ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::Sample;
    use crate::servers::Layout;
    use crate::workloads;

    fn series(values: &[f64]) -> Series {
        with_cpu(values, &[])
    }

    /// Runs of `values`, the first of them with the CPU µs per request of `cpu`.
    fn with_cpu(values: &[f64], cpu: &[f64]) -> Series {
        Series {
            samples: values
                .iter()
                .enumerate()
                .map(|(i, &value)| Sample {
                    value,
                    p50: None,
                    p99: None,
                    baseline: None,
                    cpu_us: cpu.get(i).copied(),
                })
                .collect(),
            ..Series::default()
        }
    }

    fn meta() -> Meta {
        Meta {
            command: "bench/run.sh".into(),
            started: "now".into(),
            method: "m".into(),
            machine: vec![],
            load_before: [0.0; 3],
            load_after: [0.0; 3],
            notes: vec![],
        }
    }

    fn file_1k(sockserve: Series, peers: Vec<Series>) -> WorkloadResult {
        let w = workloads::all()
            .into_iter()
            .find(|w| w.name == "file-1k")
            .unwrap();
        let peers = w.peers.iter().copied().zip(peers).collect();
        WorkloadResult {
            workload: w,
            layout: Layout::Pinned,
            load: 0.5,
            sockserve: Ok(sockserve),
            peers,
        }
    }

    #[test]
    fn cpu_per_request_columns_and_ratio() {
        let result = file_1k(
            with_cpu(&[120e3, 118e3, 121e3], &[6.5, 6.25, 7.0]),
            vec![
                with_cpu(&[110e3, 111e3, 109e3], &[8.0, 8.5, 7.5]),
                series(&[100e3]),
            ],
        );
        let sockserve = result.sockserve.as_ref().unwrap();
        assert_eq!(sockserve.cpu_summary().unwrap().median, 6.5);
        assert_eq!(cpu_ratio(&result, &result.peers[0].1), Some(8.0 / 6.5));
        assert_eq!(cpu_ratio(&result, &result.peers[1].1), None);
        let md = markdown(&meta(), &[result]);
        // nginx: 8.0 µs against 6.5 µs is 1.23×, beside the throughput ratio 120k/110k = 1.09×.
        assert!(
            md.contains(
                "| 6.50 | nginx | 110000 (109000–111000, spread 2%, 3) |  | 8.00 | 1.09× | 1.23× | 0.50 |"
            ),
            "{md}"
        );
        assert!(
            md.contains("| file-1k | pinned | nginx | ≥ 1.2× | 1.09× | **no** | 1.23× |"),
            "{md}"
        );
        // A peer without CPU times: the column and its ratio say so.
        assert!(md.contains("| — | 1.20× | — |"), "{md}");
    }

    #[test]
    fn runs_without_cpu_time_are_counted_and_said() {
        let mut s = with_cpu(&[100.0, 100.0, 100.0], &[120.0, 130.0]);
        s.cpu_gaps
            .push("server CPU time: no process in group 7".into());
        assert_eq!(cpu_cell(&s), "125 (2 of 3 runs)");
        let md = markdown(&meta(), &[file_1k(s, vec![])]);
        assert!(
            md.contains(
                "- file-1k [pinned]: sockserve run counted without its CPU time: server CPU time: no process in group 7"
            ),
            "{md}"
        );
        assert!(md.contains("| 125 (2 of 3 runs) | — |"), "{md}");
    }

    #[test]
    fn micros_keep_three_digits() {
        assert_eq!(micros(6.417), "6.42");
        assert_eq!(micros(84.06), "84.1");
        assert_eq!(micros(1234.4), "1234");
    }

    #[test]
    fn table_and_goals_show_ratios_and_reasons() {
        let w = workloads::all()
            .into_iter()
            .find(|w| w.name == "plaintext")
            .unwrap();
        let peer = w.peers[0];
        let result = WorkloadResult {
            workload: w,
            layout: Layout::Shared,
            load: 1.5,
            sockserve: Ok(series(&[300.0, 310.0, 290.0])),
            peers: vec![(peer, series(&[200.0, 200.0, 200.0]))],
        };
        let md = markdown(&meta(), &[result]);
        assert!(
            md.contains("| plaintext | shared | nginx return 200 | ≥ 1.2× | 1.50× | yes | — |"),
            "{md}"
        );
        assert!(md.contains("300 (290–310, spread 7%, 3)"), "{md}");
    }

    #[test]
    fn unavailable_is_said_not_hidden() {
        let w = workloads::all()
            .into_iter()
            .find(|w| w.name == "listing")
            .unwrap();
        let peers = w.peers.iter().map(|p| (*p, Series::default())).collect();
        let result = WorkloadResult {
            workload: w,
            layout: Layout::Pinned,
            load: 0.0,
            sockserve: Err("GET /dir/ on sockserve: status 404".into()),
            peers,
        };
        let meta = Meta {
            command: String::new(),
            started: String::new(),
            method: String::new(),
            machine: vec![],
            load_before: [0.0; 3],
            load_after: [0.0; 3],
            notes: vec![],
        };
        let md = markdown(&meta, &[result]);
        assert!(
            md.contains(
                "listing [pinned]: sockserve unavailable: GET /dir/ on sockserve: status 404"
            ),
            "{md}"
        );
        assert!(bars(&[]).is_empty());
    }
}

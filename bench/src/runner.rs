//! Measuring one workload in one layout: start sockserve and its peers, check each answers
//! correctly, warm up, then interleave the runs (sockserve, each peer, sockserve, each peer, ...)
//! so slow drifts in machine load hit every server alike.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::time::Duration;

use crate::burst;
use crate::cpu;
use crate::error::{BenchError, Result};
use crate::h2load::{self, H2loadArgs};
use crate::httpc;
use crate::idle;
use crate::procfs;
use crate::servers::{self, Env, Layout, Running, ServerKind};
use crate::stats::Summary;
use crate::sysinfo;
use crate::workloads::{Load, Metric, Peer, Target, Workload};
use crate::writes;
use crate::wrk::{self, WrkArgs};

/// How hard and how long to measure.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Measured runs per server (after warm-up).
    pub rounds: usize,
    pub duration: Duration,
    pub warmup: Duration,
    /// wrk connections, unless the workload sets its own.
    pub connections: usize,
    /// Rounds of the memory workload (each on a freshly started server).
    pub memory_rounds: usize,
}

/// One clean measurement.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Requests/s, bytes/s or resident bytes, as the workload's metric says.
    pub value: f64,
    pub p50: Option<Duration>,
    pub p99: Option<Duration>,
    /// Memory only: resident bytes of the freshly started server before any connection.
    pub baseline: Option<f64>,
    /// wrk runs: the server's CPU time (user + system) per completed request, in µs; `None`
    /// when it could not be read (the reason is in [`Series::cpu_gaps`]).
    pub cpu_us: Option<f64>,
}

/// Every run of one server in one workload.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub samples: Vec<Sample>,
    /// Runs thrown away, with why.
    pub rejected: Vec<String>,
    /// Counted runs whose server CPU time could not be read, with why.
    pub cpu_gaps: Vec<String>,
    /// Why this server could not be measured at all.
    pub unavailable: Option<String>,
}

impl Series {
    fn unavailable(reason: String) -> Series {
        Series {
            unavailable: Some(reason),
            ..Series::default()
        }
    }

    pub fn summary(&self) -> Option<Summary> {
        Summary::of(&self.samples.iter().map(|s| s.value).collect::<Vec<_>>())
    }

    /// The server's CPU µs per request over the runs that have it.
    pub fn cpu_summary(&self) -> Option<Summary> {
        Summary::of(
            &self
                .samples
                .iter()
                .filter_map(|s| s.cpu_us)
                .collect::<Vec<_>>(),
        )
    }

    /// Median resident bytes per idle connection above the fresh server's baseline.
    pub fn per_connection(&self) -> Option<f64> {
        let v: Vec<f64> = self
            .samples
            .iter()
            .filter_map(|s| Some((s.value - s.baseline?) / idle::CONNECTIONS as f64))
            .collect();
        Summary::of(&v).map(|s| s.median)
    }

    /// Median of the runs' p50 and p99 latencies.
    pub fn latency(&self) -> (Option<Duration>, Option<Duration>) {
        let med = |f: fn(&Sample) -> Option<Duration>| {
            let v: Vec<f64> = self
                .samples
                .iter()
                .filter_map(f)
                .map(|d| d.as_secs_f64())
                .collect();
            Summary::of(&v).map(|s| Duration::from_secs_f64(s.median))
        };
        (med(|s| s.p50), med(|s| s.p99))
    }
}

/// The result of one workload in one layout.
#[derive(Debug)]
pub struct WorkloadResult {
    pub workload: Workload,
    pub layout: Layout,
    /// 1-minute load average when the workload started.
    pub load: f64,
    /// Sockserve's runs, or why the workload could not run.
    pub sockserve: std::result::Result<Series, String>,
    pub peers: Vec<(Peer, Series)>,
}

/// Measures `w` in `layout`.
pub fn measure(w: &Workload, layout: Layout, env: &Env, settings: &Settings) -> WorkloadResult {
    let load = sysinfo::load_average()[0];
    let mut result = WorkloadResult {
        workload: w.clone(),
        layout,
        load,
        sockserve: Err(String::new()),
        peers: Vec::new(),
    };
    match w.metric {
        Metric::Memory | Metric::PeakMemory => measure_memory(&mut result, env, settings),
        Metric::Requests | Metric::Bytes => measure_wrk(&mut result, env, settings),
    }
    result
}

/// Starts the servers a workload needs, one per kind, and checks every target answers.
/// Returns the running servers; failures land in `result`.
fn start_all(result: &mut WorkloadResult, env: &Env) -> BTreeMap<(ServerKind, bool), Running> {
    let w = &result.workload;
    let mut running = BTreeMap::new();
    if let Err(e) = start_checked(&mut running, w.sockserve, env, result.layout) {
        result.sockserve = Err(e.to_string());
        return running;
    }
    result.sockserve = Ok(Series::default());
    for p in &w.peers {
        let series = match start_checked(&mut running, p.target, env, result.layout) {
            Ok(()) => Series::default(),
            Err(e) => Series::unavailable(e.to_string()),
        };
        result.peers.push((*p, series));
    }
    running
}

fn start_checked(
    running: &mut BTreeMap<(ServerKind, bool), Running>,
    target: Target,
    env: &Env,
    layout: Layout,
) -> Result<()> {
    let server = match running.entry(target.instance()) {
        Entry::Occupied(e) => e.into_mut(),
        Entry::Vacant(e) => e.insert(servers::start_as(
            target.server,
            target.baseline,
            env,
            layout,
        )?),
    };
    check(server, target)
}

/// Fails unless `target` answers correctly right now.
pub fn check(server: &Running, target: Target) -> Result<()> {
    if target.server.h2_only() {
        return h2load::check(&[server.url(target.path)]);
    }
    let reply = if server.kind.is_tls() {
        crate::tls::get(server.port, target.path)
    } else {
        httpc::get(server.port, target.path)
    };
    let reply =
        reply.map_err(|e| e.context(format!("GET {} on {}", target.path, target.server.name())))?;
    match target.expect.check(&reply) {
        None => Ok(()),
        Some(problem) => Err(BenchError::new(format!(
            "GET {} on {}: {problem}",
            target.path,
            target.server.name()
        ))),
    }
}

fn measure_wrk(result: &mut WorkloadResult, env: &Env, settings: &Settings) {
    let running = start_all(result, env);
    if result.sockserve.is_err() {
        return;
    }
    let w = result.workload.clone();
    let args = |duration| WrkArgs {
        threads: match result.layout {
            Layout::Shared => 2,
            Layout::Pinned => 1,
        },
        connections: w.connections.unwrap_or(settings.connections),
        duration,
        headers: w.headers.iter().map(|h| (*h).to_owned()).collect(),
        cpus: result.layout.wrk_cpus().map(str::to_owned),
    };
    let clients = w.connections.unwrap_or(settings.connections);
    let load = |duration, server: &Running, t: Target| match w.load {
        Load::Wrk => wrk::run(&args(duration), &server.url(t.path)),
        Load::Handshakes { resume } => {
            crate::tls::handshakes(server.port, t.path, resume, clients, duration)
        }
        // HTTP/2: h2load, the target's path and the workload's other paths in turn.
        Load::H2(h2) => {
            let h2args = H2loadArgs {
                threads: match result.layout {
                    Layout::Shared => 2,
                    Layout::Pinned => 1,
                },
                connections: clients,
                streams: h2.streams,
                duration,
                cpus: result.layout.wrk_cpus().map(str::to_owned),
            };
            let urls: Vec<String> = std::iter::once(t.path)
                .chain(h2.more_paths.iter().copied())
                .map(|p| server.url(p))
                .collect();
            h2load::run(&h2args, &urls)
        }
    };
    let live: Vec<usize> = (0..result.peers.len())
        .filter(|&i| result.peers[i].1.unavailable.is_none())
        .collect();
    // Warm-up: caches, JITs of the mind, TCP; results discarded.
    for t in std::iter::once(w.sockserve).chain(live.iter().map(|&i| result.peers[i].0.target)) {
        if let Some(server) = running.get(&t.instance()) {
            let _ = load(settings.warmup, server, t);
        }
    }
    // A measured run, with the server's CPU time read around it (the warm-up's is not), and
    // the guestbook writer beside it when the target asks for one.
    let measured = |t: Target| {
        let server = running.get(&t.instance())?;
        Some(cpu::around(server.pgid(), || {
            writes::during(server.port, t.writes_per_sec, || {
                load(settings.duration, server, t)
            })
        }))
    };
    for round in 0..settings.rounds {
        eprintln!(
            "  [{}/{}] round {}/{}",
            result.layout.name(),
            w.name,
            round + 1,
            settings.rounds
        );
        if let Ok(series) = result.sockserve.as_mut()
            && let Some((report, seconds)) = measured(w.sockserve)
        {
            record(series, report, seconds, w.metric);
        }
        for &i in &live {
            let (peer, series) = &mut result.peers[i];
            if let Some((report, seconds)) = measured(peer.target) {
                record(series, report, seconds, w.metric);
            }
        }
    }
}

/// Adds one wrk run to `series`, with the server's CPU `seconds` during it: a counted run without
/// its CPU time still counts for throughput, and says why its CPU is missing.
fn record(
    series: &mut Series,
    report: Result<wrk::WrkReport>,
    seconds: Result<f64>,
    metric: Metric,
) {
    let r = match report {
        Ok(r) => r,
        Err(e) => {
            series.rejected.push(e.to_string());
            return;
        }
    };
    if let Some(why) = r.rejection() {
        series.rejected.push(why);
        return;
    }
    let cpu_us = match seconds {
        Ok(s) => cpu::micros_per_request(s, r.requests),
        Err(e) => {
            series.cpu_gaps.push(e.to_string());
            None
        }
    };
    series.samples.push(Sample {
        value: match metric {
            Metric::Bytes => r.bytes_per_sec,
            _ => r.requests_per_sec,
        },
        p50: r.p50,
        p99: r.p99,
        baseline: None,
        cpu_us,
    });
}

/// Each sample on a freshly started server, so one server's earlier connections never inflate it.
fn measure_memory(result: &mut WorkloadResult, env: &Env, settings: &Settings) {
    let w = result.workload.clone();
    let mut sockserve = Series::default();
    let mut peers: Vec<(Peer, Series)> = w.peers.iter().map(|p| (*p, Series::default())).collect();
    for round in 0..settings.memory_rounds {
        eprintln!(
            "  [{}/{}] round {}/{}",
            result.layout.name(),
            w.name,
            round + 1,
            settings.memory_rounds
        );
        match one_memory_sample(&w, w.sockserve, env, result.layout) {
            Ok(rss) => sockserve.samples.push(rss),
            Err(e) if round == 0 => {
                result.sockserve = Err(e.to_string());
                return;
            }
            Err(e) => sockserve.rejected.push(e.to_string()),
        }
        for (peer, series) in &mut peers {
            if series.unavailable.is_some() {
                continue;
            }
            match one_memory_sample(&w, peer.target, env, result.layout) {
                Ok(rss) => series.samples.push(rss),
                Err(e) if round == 0 => series.unavailable = Some(e.to_string()),
                Err(e) => series.rejected.push(e.to_string()),
            }
        }
    }
    result.sockserve = Ok(sockserve);
    result.peers = peers;
}

fn one_memory_sample(w: &Workload, target: Target, env: &Env, layout: Layout) -> Result<Sample> {
    let server = servers::start_as(target.server, target.baseline, env, layout)?;
    check(&server, target)?;
    // Settle first, so the baseline is the idle server and not its start-up.
    std::thread::sleep(Duration::from_millis(500));
    let baseline = procfs::group_rss(server.pgid())?;
    let (rss, baseline) = if w.metric == Metric::PeakMemory {
        (burst::measure(&server, target.path, w.headers)?, None)
    } else {
        let rss = match w.load {
            Load::H2(_) => idle::measure_h2c(&server, target.path)?,
            _ => idle::measure(&server, target.path, target.server.is_tls())?,
        };
        (rss, Some(baseline as f64))
    };
    Ok(Sample {
        value: rss as f64,
        p50: None,
        p99: None,
        baseline,
        cpu_us: None,
    })
}

//! The sockserve benchmark harness: sockserve against nginx, lighttpd, static-web-server and
//! python on the same loopback, the same fixtures and the same wrk settings, interleaved, with the
//! results written to `bench/results/LATEST.md` and a chart of the ratios.
//!
//! Run it through `bench/run.sh`, which installs what is missing, builds sockserve in release mode
//! and raises the open-files limit first.
//!
//! # Layout
//! - [`wrk`]: running wrk and parsing its report (the part with unit tests that matter most).
//! - [`servers`]: starting each server with its documented configuration, stopping it.
//! - [`procfs`], [`cpu`]: a server's processes, their memory, and the CPU each request costs.
//! - [`fixtures`], [`guestbook`]: the files and the seeded database every server serves.
//! - [`workloads`]: what is measured against what, and the goals.
//! - [`runner`], [`idle`], [`burst`], [`writes`]: the interleaved runs, the idle-connection and
//!   compression-burst memory measurements, and the guestbook writer that runs beside reads.
//! - [`stats`], [`report`], [`chart`]: medians and ratios, the Markdown page, the SVG chart.

// A test that unwraps fails with the value in the message, which is what a test should do.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod burst;
mod chart;
mod cpu;
mod error;
mod fixtures;
mod guestbook;
mod h2load;
mod httpc;
mod idle;
mod procfs;
mod report;
mod runner;
mod servers;
mod stats;
mod sysinfo;
mod tls;
mod workloads;
mod writes;
mod wrk;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::error::{BenchError, Result};
use crate::runner::{Series, Settings, WorkloadResult};
use crate::servers::{Env, Layout, ServerKind};
use crate::workloads::{Metric, Workload};

/// Benchmarks sockserve against nginx, lighttpd, static-web-server and python's http.server.
#[derive(Debug, Parser)]
#[command(name = "bench")]
struct Args {
    /// A short smoke pass: 3 rounds of 2 s after a 1 s warm-up, shared layout only; results go
    /// to bench/results/raw/ instead of LATEST.md.
    #[arg(long)]
    quick: bool,

    /// Measure only this workload (repeatable); results go to bench/results/raw/.
    #[arg(long = "only", value_name = "WORKLOAD")]
    only: Vec<String>,

    /// Layouts to run (repeatable) [default: shared and pinned; shared with --quick].
    #[arg(long = "layout", value_enum)]
    layouts: Vec<LayoutArg>,

    /// Measured runs per server [default: 5; 3 with --quick].
    #[arg(long, value_name = "N")]
    rounds: Option<usize>,

    /// Seconds per wrk run [default: 5; 2 with --quick].
    #[arg(long, value_name = "SECS")]
    duration: Option<u64>,

    /// The sockserve binary.
    #[arg(long, value_name = "PATH")]
    sockserve: Option<PathBuf>,

    /// Also measure this sockserve binary (e.g. the previous release) on every workload,
    /// interleaved with the one under test, as the peer "sockserve (baseline binary)".
    #[arg(long, value_name = "PATH")]
    baseline: Option<PathBuf>,

    /// The static-web-server binary [default: bench/work/sws/bin/static-web-server if present].
    #[arg(long, value_name = "PATH")]
    sws: Option<PathBuf>,

    /// Directory for the results page and chart.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,

    /// List the workloads and exit.
    #[arg(long)]
    list: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LayoutArg {
    Shared,
    Pinned,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<()> {
    let selected = select(args)?;
    if args.list {
        for w in &selected {
            println!("{:<14} {}", w.name, w.about);
        }
        return Ok(());
    }
    let bench_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = bench_dir.parent().unwrap_or(&bench_dir).to_path_buf();
    let work = bench_dir.join("work");
    // Configs and logs of the previous run's servers.
    let _ = fs::remove_dir_all(work.join("run"));
    fs::create_dir_all(work.join("run"))?;
    servers::registry::init(work.join("servers.pgid"));
    require(
        "wrk",
        "install it with `apt-get install wrk` (bench/run.sh does when run as root)",
    )?;
    require("taskset", "install it with `apt-get install util-linux`")?;

    let settings = settings(args);
    let layouts = layouts(args);
    let mut env = environment(args, &bench_dir, &root, &work)?;
    fixtures::generate(&env.www, &env.python, &env.db)?;
    if selected.iter().any(|w| w.sockserve.server.is_tls()) {
        (env.tls_cert, env.tls_key) = fixtures::certificate(&work.join("tls"))?;
    }
    env.plain_body = plain_body(&env);
    let guestbook = if selected.iter().any(|w| w.needs_guestbook) {
        eprintln!(
            "seeding the guestbook ({} messages) if needed...",
            guestbook::MESSAGES
        );
        guestbook::ensure_seeded(&env, guestbook::Book::Page).map_err(|e| e.to_string())
    } else {
        Ok(())
    };
    let book = if selected.iter().any(|w| w.needs_book) {
        eprintln!(
            "seeding the large guestbook ({} messages) if needed...",
            guestbook::BOOK_MESSAGES
        );
        guestbook::ensure_seeded(&env, guestbook::Book::Large).map_err(|e| e.to_string())
    } else {
        Ok(())
    };

    let load_before = sysinfo::load_average();
    let started = now();
    let mut results = Vec::new();
    for &layout in &layouts {
        for w in &selected {
            if w.metric != Metric::Requests && w.metric != Metric::Bytes && layout == Layout::Pinned
            {
                continue; // memory does not depend on where wrk runs; measured once.
            }
            eprintln!("[{}] {}", layout.name(), w.name);
            let result = match (&guestbook, &book) {
                (Err(why), _) if w.needs_guestbook => {
                    unavailable(w, layout, format!("guestbook not seeded: {why}"))
                }
                (_, Err(why)) if w.needs_book => {
                    unavailable(w, layout, format!("large guestbook not seeded: {why}"))
                }
                _ => runner::measure(w, layout, &env, &settings),
            };
            print_summary(&result);
            results.push(result);
        }
    }
    let load_after = sysinfo::load_average();

    let full = !args.quick && args.only.is_empty();
    let out = args.out.clone().unwrap_or_else(|| {
        if full {
            bench_dir.join("results")
        } else {
            bench_dir.join("results").join("raw")
        }
    });
    fs::create_dir_all(&out)?;
    let meta = report::Meta {
        command: command_line(),
        started,
        method: method(&settings, &layouts),
        machine: machine(&env),
        load_before,
        load_after,
        notes: notes(&env, &guestbook),
    };
    let page = out.join(if full { "LATEST.md" } else { "quick.md" });
    fs::write(&page, report::markdown(&meta, &results))?;
    let svg = out.join("ratios.svg");
    chart::draw(
        &svg,
        "sockserve / peer (median of interleaved runs)",
        &report::bars(&results),
    )?;
    eprintln!("wrote {} and {}", page.display(), svg.display());
    Ok(())
}

fn select(args: &Args) -> Result<Vec<Workload>> {
    let all = workloads::all_with(args.baseline.is_some());
    for name in &args.only {
        if !all.iter().any(|w| w.name == name) {
            let names: Vec<&str> = all.iter().map(|w| w.name).collect();
            return Err(BenchError::new(format!(
                "no workload named {name:?}; there are: {}",
                names.join(", ")
            )));
        }
    }
    Ok(all
        .into_iter()
        .filter(|w| args.only.is_empty() || args.only.iter().any(|n| n == w.name))
        .collect())
}

fn settings(args: &Args) -> Settings {
    let (rounds, secs, warm, memory_rounds) = if args.quick {
        (3, 2, 1, 1)
    } else {
        (5, 5, 2, 3)
    };
    Settings {
        rounds: args.rounds.unwrap_or(rounds).max(1),
        duration: Duration::from_secs(args.duration.unwrap_or(secs).max(1)),
        warmup: Duration::from_secs(warm),
        connections: 100,
        memory_rounds,
    }
}

fn layouts(args: &Args) -> Vec<Layout> {
    if args.layouts.is_empty() {
        return if args.quick {
            vec![Layout::Shared]
        } else {
            vec![Layout::Shared, Layout::Pinned]
        };
    }
    let mut v: Vec<Layout> = args
        .layouts
        .iter()
        .map(|l| match l {
            LayoutArg::Shared => Layout::Shared,
            LayoutArg::Pinned => Layout::Pinned,
        })
        .collect();
    v.dedup();
    v
}

fn environment(args: &Args, bench_dir: &Path, root: &Path, work: &Path) -> Result<Env> {
    let sockserve = args
        .sockserve
        .clone()
        .unwrap_or_else(|| root.join("target").join("release").join("sockserve"));
    if !sockserve.exists() {
        return Err(BenchError::new(format!(
            "{} not found: build it with `cargo build --release` (bench/run.sh does)",
            sockserve.display()
        )));
    }
    let sws = args
        .sws
        .clone()
        .or_else(|| Some(work.join("sws").join("bin").join("static-web-server")))
        .filter(|p| p.exists());
    // Debian's python, not a version-manager shim that adds a shell to every CGI request.
    let python = ["/usr/bin/python3", "/usr/local/bin/python3"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("python3"));
    // Built by the same `cargo build` as this binary, so it sits next to it.
    let ceiling = std::env::current_exe()
        .map_err(|e| BenchError::new(format!("cannot find the harness binary: {e}")))?
        .with_file_name("ceiling");
    let web_bench = ceiling.with_file_name("web_bench");
    let axum_bench = ceiling.with_file_name("axum_bench");
    Ok(Env {
        bench_dir: bench_dir.to_path_buf(),
        work: work.to_path_buf(),
        www: work.join("www"),
        sockserve,
        baseline: args.baseline.clone(),
        ceiling,
        web_bench,
        axum_bench,
        sws,
        python,
        db: work.join("guestbook.db"),
        book_db: work.join("book.db"),
        plain_body: String::new(),
        tls_cert: work.join("tls").join("cert.pem"),
        tls_key: work.join("tls").join("key.pem"),
        caddy: which("caddy"),
        cores: sysinfo::cores(),
    })
}

/// `program` on the PATH, if it is there.
fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

fn require(program: &str, hint: &str) -> Result<()> {
    match Command::new(program).arg("--version").output() {
        Ok(_) => Ok(()),
        Err(_) => Err(BenchError::new(format!("{program} is missing: {hint}"))),
    }
}

/// sockserve's own `/` page, escaped for nginx's `return 200 "..."`, so the plaintext comparison
/// sends the same bytes from both servers. `$` cannot be escaped in nginx strings, so it becomes
/// the HTML entity `&#36;` (renders the same).
fn plain_body(env: &Env) -> String {
    let body = servers::start(ServerKind::SockserveSite, env, Layout::Shared)
        .and_then(|s| httpc::get(s.port, "/"))
        .map(|r| r.text())
        .unwrap_or_else(|e| format!("sockserve's page was unavailable: {e}"));
    body.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('$', "&#36;")
}

fn unavailable(w: &Workload, layout: Layout, why: String) -> WorkloadResult {
    WorkloadResult {
        workload: w.clone(),
        layout,
        load: sysinfo::load_average()[0],
        sockserve: Err(why),
        peers: Vec::new(),
    }
}

fn print_summary(r: &WorkloadResult) {
    let s = match &r.sockserve {
        Err(why) => {
            eprintln!("  sockserve unavailable: {why}");
            return;
        }
        Ok(s) => s,
    };
    let fmt = |s: &Series| {
        s.summary()
            .map_or("—".to_owned(), |x| format!("{:.0}", x.median))
    };
    let cpu = |s: &Series| {
        s.cpu_summary()
            .map_or("—".to_owned(), |x| format!("{:.2}", x.median))
    };
    let times = |x: Option<f64>| x.map_or("—".to_owned(), |x| format!("{x:.2}×"));
    for (p, ps) in &r.peers {
        let extra = ps
            .unavailable
            .as_deref()
            .map(|w| format!(" (unavailable: {w})"))
            .unwrap_or_default();
        eprintln!(
            "  sockserve {} vs {} {}: {}; CPU µs/req {} vs {}: {}{extra}",
            fmt(s),
            p.label,
            fmt(ps),
            times(report::pair_ratio(r, ps)),
            cpu(s),
            cpu(ps),
            times(report::cpu_ratio(r, ps)),
        );
    }
}

fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        "bench/run.sh".to_owned()
    } else {
        format!("bench/run.sh {}", args.join(" "))
    }
}

fn now() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn method(s: &Settings, layouts: &[Layout]) -> String {
    let names: Vec<&str> = layouts.iter().map(|l| l.name()).collect();
    format!(
        "wrk on the loopback, {}s warm-up per server, then {} interleaved rounds of {}s per server \
         (sockserve, each peer, sockserve, each peer, ...), {} connections ({} where a peer runs CGI), a 10 s timeout, \
         `--latency`; medians with min–max; ratio = sockserve median / peer median. Server CPU \
         µs/req: user + system time of the server's processes (and of the CGI children they \
         reaped) during each measured run, over the requests wrk completed; CPU ratio = peer \
         median / sockserve median. Runs with any non-2xx/3xx response or socket error are \
         rejected and listed below. Layouts: {}. Idle \
         memory: {} keep-alive connections, one request each, then the sum of VmRSS over the \
         server's processes, {} fresh start(s) per server.",
        s.warmup.as_secs(),
        s.rounds,
        s.duration.as_secs(),
        s.connections,
        workloads::CGI_CONNECTIONS,
        names.join(", "),
        idle::CONNECTIONS,
        s.memory_rounds
    )
}

fn machine(env: &Env) -> Vec<(String, String)> {
    let v = |p: &str, a: &[&str]| sysinfo::version(Path::new(p), a);
    vec![
        ("cores".into(), env.cores.to_string()),
        ("cpu".into(), sysinfo::cpu()),
        ("kernel".into(), sysinfo::kernel()),
        (
            "sockserve".into(),
            sysinfo::version(&env.sockserve, &["--version"]),
        ),
        ("nginx".into(), v("nginx", &["-v"])),
        ("lighttpd".into(), v("lighttpd", &["-v"])),
        (
            "static-web-server".into(),
            env.sws.as_deref().map_or("not installed".into(), |p| {
                sysinfo::version(p, &["--version"])
            }),
        ),
        (
            "python".into(),
            sysinfo::version(&env.python, &["--version"]),
        ),
        ("wrk".into(), v("wrk", &["--version"])),
    ]
}

fn notes(env: &Env, guestbook: &std::result::Result<(), String>) -> Vec<String> {
    let mut notes = Vec::new();
    if env.sws.is_none() {
        notes.push(
            "static-web-server was not installed, so it is reported as unavailable; a full \
             `bench/run.sh` installs it with `cargo install static-web-server --root bench/work/sws`."
                .to_owned(),
        );
    }
    for book in [guestbook::Book::Page, guestbook::Book::Large] {
        if guestbook.is_ok() && guestbook::is_seeded(env, book) {
            notes.push(format!(
                "Guestbook database: {}.",
                guestbook::describe(env, book)
            ));
        }
    }
    notes
}

//! The `ws-echo` workload: WebSocket echo messages per second, sockserve's `/ws/echo` against
//! an echo server on tokio-tungstenite (the reference async WebSocket stack for Rust), both
//! driven by the same tokio-tungstenite clients: `--connections` sockets, each sending a text
//! message and waiting for its echo, over and over, for `--duration` seconds per round, the
//! servers taking turns round by round so that drift on a busy machine hits both alike.
//!
//! ```text
//! cargo run --release -p sockserve-bench --bin ws_echo -- --sockserve target/release/sockserve
//! ```
//!
//! Goal: sockserve / tokio-tungstenite ≥ 1.0. The peer runs on as many threads as sockserve
//! (`--threads`, both `1` by default), each connection's echo loop a task of its own, as
//! tokio-tungstenite's own echo-server example does.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::{SinkExt as _, StreamExt as _};
use tokio_tungstenite::tungstenite::Message;

#[derive(Parser, Debug)]
#[command(about = "WebSocket echo messages per second: sockserve against tokio-tungstenite")]
struct Args {
    /// The sockserve binary.
    #[arg(long, default_value = "target/release/sockserve")]
    sockserve: PathBuf,
    /// Client connections.
    #[arg(long, default_value_t = 50)]
    connections: usize,
    /// Seconds per round and server.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Rounds (each server measured once per round).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Worker threads of each server.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Bytes per message.
    #[arg(long, default_value_t = 64)]
    size: usize,
}

/// Kills the server when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ws_echo: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let work = tempdir()?;
    let (sockserve, ours) = start_sockserve(args, &work)?;
    let _sockserve = Killed(sockserve);
    let peer = start_peer(args.threads)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 0..args.rounds {
        let x = rt.block_on(measure(&format!("ws://{ours}/ws/echo"), args))?;
        let y = rt.block_on(measure(&format!("ws://{peer}/"), args))?;
        println!(
            "round {}: sockserve {x:.0} msg/s, tokio-tungstenite {y:.0} msg/s",
            round + 1
        );
        a.push(x);
        b.push(y);
    }
    let (x, y) = (median(&mut a), median(&mut b));
    let ratio = if y > 0.0 { x / y } else { 0.0 };
    println!(
        "ws-echo: sockserve {x:.0} msg/s, tokio-tungstenite {y:.0} msg/s, ratio {ratio:.2} (goal ≥ 1.0: {})",
        if ratio >= 1.0 { "met" } else { "missed" }
    );
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

fn tempdir() -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("ws-echo-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

/// The demo site on a free port, quiet, with `threads` workers.
fn start_sockserve(args: &Args, work: &std::path::Path) -> Result<(Child, SocketAddr), String> {
    let db = work.join("guestbook.db");
    let mut child = Command::new(&args.sockserve)
        .args([
            "-p",
            "0",
            "-q",
            "--threads",
            &args.threads.to_string(),
            "--db",
        ])
        .arg(&db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", args.sockserve.display()))?;
    let out = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(out)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.trim().trim_end_matches('/').parse().ok())
        .ok_or_else(|| format!("no address in sockserve's banner {line:?}"))?;
    Ok((child, addr))
}

/// The tokio-tungstenite echo server on its own runtime (`threads` workers) in this process.
fn start_peer(threads: usize) -> Result<SocketAddr, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    std::thread::spawn(move || {
        rt.block_on(async move {
            let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                return;
            };
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let _ = tcp.set_nodelay(true);
                    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                        return;
                    };
                    while let Some(Ok(msg)) = ws.next().await {
                        if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
    });
    Ok(addr)
}

/// Messages per second echoed over `args.connections` sockets for `args.duration` seconds.
async fn measure(url: &str, args: &Args) -> Result<f64, String> {
    let until = Instant::now() + Duration::from_secs_f64(args.duration);
    let payload = "x".repeat(args.size);
    let mut tasks = Vec::new();
    for _ in 0..args.connections {
        let (mut ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let payload = payload.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < until {
                if ws.send(Message::text(payload.clone())).await.is_err() {
                    break;
                }
                match ws.next().await {
                    Some(Ok(m)) if m.len() == payload.len() => n += 1,
                    _ => break,
                }
            }
            let _ = ws.close(None).await;
            n
        }));
    }
    let started = Instant::now();
    let mut total = 0;
    for t in tasks {
        total += t.await.map_err(|e| e.to_string())?;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64().max(1e-9))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

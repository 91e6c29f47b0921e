//! What the process does around a server, and only the binary may do: raise the open-files
//! limit, catch SIGINT/SIGTERM, and end the process on a second signal.
//!
//! The server library knows none of this: it runs until its [`ShutdownHandle`] says stop, lets
//! in-flight requests finish, and returns.

use std::io;
use std::sync::Mutex;

use server::{AccessLog, ShutdownHandle};
use tokio::runtime::Runtime;
use tokio::signal::unix::{Signal, SignalKind, signal};

/// SIGINT and SIGTERM handlers, installed but not yet watched.
struct Signals {
    rt: Runtime,
    int: Signal,
    term: Signal,
}

/// The handlers [`install_signal_handlers`] installed, until [`watch_signals`] takes them.
static INSTALLED: Mutex<Option<Signals>> = Mutex::new(None);

/// Access logs to flush before a second signal ends the process.
static LOGS: Mutex<Vec<AccessLog>> = Mutex::new(Vec::new());

/// Installs the SIGINT and SIGTERM handlers now, before anything is bound or printed, so a
/// signal that arrives right after the `Listening on` line is seen by [`watch_signals`] instead
/// of ending the process by the default action. A signal delivered before the watch starts is
/// kept and acted on as soon as it does.
pub fn install_signal_handlers() -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    let (int, term) = {
        let _entered = rt.enter();
        (
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
        )
    };
    let mut slot = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    *slot = Some(Signals { rt, int, term });
    Ok(())
}

/// Watches SIGINT and SIGTERM on a thread of their own: the first starts a graceful shutdown
/// through `handle`, the second ends the process at once ([`on_second_signal`]).
pub fn watch_signals(handle: ShutdownHandle) -> io::Result<()> {
    let taken = INSTALLED.lock().unwrap_or_else(|e| e.into_inner()).take();
    let signals = match taken {
        Some(s) => s,
        None => {
            install_signal_handlers()?;
            return watch_signals(handle);
        }
    };
    let Signals {
        rt,
        mut int,
        mut term,
    } = signals;
    std::thread::Builder::new()
        .name("sockserve-signals".into())
        .spawn(move || {
            rt.block_on(async move {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
                tracing::info!("shutting down; finishing in-flight requests");
                handle.shutdown();
                let code = tokio::select! {
                    _ = int.recv() => EXIT_SIGINT,
                    _ = term.recv() => EXIT_SIGTERM,
                };
                on_second_signal(code)
            })
        })?;
    Ok(())
}

/// Exit status after a second SIGINT: 128 + the signal's number, as a shell reports a process
/// the signal ended.
const EXIT_SIGINT: i32 = 128 + 2;
/// Exit status after a second SIGTERM (128 + 15).
const EXIT_SIGTERM: i32 = 128 + 15;

/// A second SIGINT/SIGTERM: the user wants out now. Nothing is waited for, but nothing that
/// would outlive the process or be lost with it is left behind: CGI scripts run in process
/// groups of their own, which the kernel would not end with us, so they are killed first; the
/// access log's buffered lines are written.
fn on_second_signal(code: i32) -> ! {
    tracing::warn!("second signal: exiting now");
    cgi::kill_all_scripts();
    flush_access_logs();
    std::process::exit(code)
}

/// Remembers `log` so that [`on_second_signal`] writes what it holds before exiting.
pub fn flush_at_exit(log: AccessLog) {
    LOGS.lock().unwrap_or_else(|e| e.into_inner()).push(log);
}

/// Writes what the access logs hold, skipping whatever is busy: exiting now matters more.
fn flush_access_logs() {
    let Ok(logs) = LOGS.try_lock() else { return };
    for log in logs.iter() {
        log.try_flush();
    }
}

/// Raises the soft open-files limit to the hard one: every connection is a descriptor, and the
/// usual soft default of 1024 would cap the server far below `--max-connections`.
pub fn raise_fd_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    // `None` is unlimited.
    let below = match (limit.current, limit.maximum) {
        (Some(soft), Some(hard)) => soft < hard,
        (Some(_), None) => true,
        (None, _) => false,
    };
    if !below {
        return;
    }
    let raised = rustix::process::Rlimit {
        current: limit.maximum,
        maximum: limit.maximum,
    };
    if let Err(e) = setrlimit(Resource::Nofile, raised) {
        tracing::debug!(error = %e, "cannot raise the open-files limit");
    }
}

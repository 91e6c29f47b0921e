//! What the process does around a server, and only the binary may do: raise the open-files
//! limit, catch the signals, end the process on a second SIGINT/SIGTERM, write the pid file.
//!
//! The signals, as nginx's: INT/TERM drain and exit (a second one exits at once); HUP reloads
//! the configuration and certificates ([`on_reload`]); USR1 reopens the access logs (after
//! logrotate renamed them); USR2 starts the new binary on the same sockets and drains this
//! process once it listens ([`crate::handover`]).
//!
//! The server library knows none of this: it runs until its [`ShutdownHandle`] says stop, lets
//! in-flight requests finish, and returns.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use server::metrics::{self, Event};
use server::{AccessLog, Health, Listeners, ShutdownHandle};
use tokio::runtime::Runtime;
use tokio::signal::unix::{Signal, SignalKind, signal};

/// The signal handlers, installed but not yet watched.
struct Signals {
    rt: Runtime,
    int: Signal,
    term: Signal,
    hup: Signal,
    usr1: Signal,
    usr2: Signal,
}

/// What a reload hook does once every hook has validated: switch to what it prepared.
pub type Commit = Box<dyn FnOnce() + Send>;
/// A part that reloads on SIGHUP: reads and validates everything it needs, returning the switch
/// to make (or every error, which keeps the old configuration).
pub type ReloadHook = Box<dyn Fn() -> Result<Commit, String> + Send>;

/// The parts to reload on SIGHUP, by name.
static RELOADS: Mutex<Vec<(String, ReloadHook)>> = Mutex::new(Vec::new());

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
    let (int, term, hup, usr1, usr2) = {
        let _entered = rt.enter();
        (
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
            signal(SignalKind::hangup())?,
            signal(SignalKind::user_defined1())?,
            signal(SignalKind::user_defined2())?,
        )
    };
    let signals = Signals {
        rt,
        int,
        term,
        hup,
        usr1,
        usr2,
    };
    let mut slot = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    *slot = Some(signals);
    Ok(())
}

/// Adds a part to reload on SIGHUP (`sockserve reload`).
pub fn on_reload(name: &str, hook: ReloadHook) {
    RELOADS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((name.to_string(), hook));
}

/// Validates every part, then switches all of them, or none: a part that fails logs its error
/// and the old configuration keeps serving, as nginx's does.
fn reload() {
    let hooks = RELOADS.lock().unwrap_or_else(|e| e.into_inner());
    let mut commits = Vec::new();
    let mut failed = false;
    for (name, hook) in hooks.iter() {
        match hook() {
            Ok(commit) => commits.push(commit),
            Err(e) => {
                tracing::error!("reload: {name}: {e}");
                failed = true;
            }
        }
    }
    if failed {
        metrics::event(Event::ReloadFailed);
        tracing::error!("reload failed; the configuration in use stays");
        return;
    }
    for commit in commits {
        commit();
    }
    metrics::event(Event::ReloadOk);
    tracing::info!("reloaded");
}

/// Watches the signals on a thread of their own: the first SIGINT/SIGTERM starts a graceful
/// shutdown through `handle`, the second ends the process at once ([`on_second_signal`]);
/// SIGHUP reloads, SIGUSR1 reopens the logs, SIGUSR2 upgrades the binary over `listeners`.
pub fn watch_signals(handle: ShutdownHandle, listeners: Listeners) -> io::Result<()> {
    let taken = INSTALLED.lock().unwrap_or_else(|e| e.into_inner()).take();
    let signals = match taken {
        Some(s) => s,
        None => {
            install_signal_handlers()?;
            return watch_signals(handle, listeners);
        }
    };
    let Signals {
        rt,
        mut int,
        mut term,
        mut hup,
        mut usr1,
        mut usr2,
    } = signals;
    std::thread::Builder::new()
        .name("sockserve-signals".into())
        .spawn(move || {
            rt.block_on(async move {
                let mut draining = false;
                loop {
                    let code = tokio::select! {
                        _ = int.recv() => EXIT_SIGINT,
                        _ = term.recv() => EXIT_SIGTERM,
                        _ = hup.recv() => {
                            reload();
                            continue;
                        }
                        _ = usr1.recv() => {
                            reopen_access_logs();
                            continue;
                        }
                        _ = usr2.recv() => {
                            start_upgrade(&listeners, &handle);
                            continue;
                        }
                    };
                    if draining {
                        on_second_signal(code)
                    }
                    draining = true;
                    tracing::info!("shutting down; finishing in-flight requests");
                    handle.shutdown();
                }
            })
        })?;
    Ok(())
}

/// SIGUSR2: the new binary takes the sockets on a thread of its own (it may take seconds to
/// start); once it listens this process drains and exits 0.
fn start_upgrade(listeners: &Listeners, handle: &ShutdownHandle) {
    let listeners = listeners.clone();
    let handle = handle.clone();
    let spawned = std::thread::Builder::new()
        .name("sockserve-upgrade".into())
        .spawn(move || match crate::handover::upgrade(&listeners) {
            Ok(()) => handle.shutdown(),
            Err(e) => tracing::error!("upgrade failed; this process goes on serving: {e}"),
        });
    if let Err(e) = spawned {
        tracing::error!("upgrade failed: {e}");
    }
}

/// SIGUSR1: every access log written to a file is reopened at its path.
fn reopen_access_logs() {
    let logs = LOGS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for log in &logs {
        if let Err(e) = log.reopen() {
            tracing::error!("cannot reopen the access log: {e}");
        }
    }
    tracing::info!("access logs reopened");
}

/// How often [`when_listening`] looks whether the workers listen yet.
const LISTEN_POLL: Duration = Duration::from_millis(5);

/// Once the server listens: writes the pid file, and tells a process this one replaces that it
/// may drain.
pub fn when_listening(health: Arc<Health>, pid_file: Option<PathBuf>) {
    let spawned = std::thread::Builder::new()
        .name("sockserve-ready".into())
        .spawn(move || {
            while !health.is_listening() {
                std::thread::sleep(LISTEN_POLL);
            }
            if let Some(path) = pid_file
                && let Err(e) = std::fs::write(&path, format!("{}\n", std::process::id()))
            {
                tracing::error!("cannot write the pid file {}: {e}", path.display());
            }
            if crate::handover::is_upgrade() {
                crate::handover::announce_ready();
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the readiness thread: {e}");
    }
}

/// Removes the pid file at exit, unless it names another process by now (the one that took
/// over in an upgrade).
pub fn remove_pid_file(path: &Path) {
    let ours =
        std::fs::read_to_string(path).is_ok_and(|s| s.trim() == std::process::id().to_string());
    if ours {
        let _ = std::fs::remove_file(path);
    }
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

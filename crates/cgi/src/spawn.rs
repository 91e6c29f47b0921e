//! Starting a script and making sure it ends: its process group is killed when the request is
//! abandoned (timeout, client gone, error), and it is always reaped.

use std::collections::BTreeSet;
use std::io;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};

use rustix::process::{Pid, Signal, kill_process_group};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::OwnedSemaphorePermit;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::Located;
use crate::env::Var;

/// Longest stderr line logged as one message; longer lines are split.
const MAX_STDERR_LINE: usize = 4096;

/// How many times [`kill_all_scripts`] tries for the registry's lock before giving up. Called
/// from a signal handler that interrupted a thread holding it, waiting could never end; from
/// any other thread the lock is held only for an insert or a remove, so a few tries suffice.
const KILL_ALL_LOCK_TRIES: usize = 1000;

/// Leader pids (= process group ids) of every script spawned and not yet reaped, so that
/// [`kill_all_scripts`] can reach them from any thread. An entry goes in right after spawn and
/// comes out in the same poll that reaps the leader: while the leader is unreaped its pid
/// names our group and cannot be reused, and after that the kernel hands pids out cyclically,
/// so no other group can take the number in between.
static RUNNING: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

fn running() -> MutexGuard<'static, BTreeSet<i32>> {
    RUNNING.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Sends `SIGKILL` to the process group of every script still running, e.g. before the process
/// exits on a second SIGINT/SIGTERM: each script runs in its own group, so nothing else would
/// reach a script or the children it started once the server is gone.
///
/// Callable from any thread. It allocates nothing and never blocks for long: if the registry
/// stays locked (a signal handler that interrupted its holder) it gives up rather than hang.
pub fn kill_all_scripts() {
    for _ in 0..KILL_ALL_LOCK_TRIES {
        let guard = match RUNNING.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => {
                std::thread::yield_now();
                continue;
            }
        };
        for &pid in guard.iter() {
            kill_group(pid);
        }
        return;
    }
}

/// `SIGKILL` to the group led by `pid`. Never `kill(-1)` (every process we may signal) or
/// `kill(0)` (our own group): only real child pids, which are above 1, get here.
fn kill_group(pid: i32) {
    if pid > 1
        && let Some(pid) = Pid::from_raw(pid)
    {
        // ESRCH (the group is already gone) is the only expected failure; nothing to do.
        let _ = kill_process_group(pid, Signal::KILL);
    }
}

/// Spawns `script` with exactly `env`, in its own directory and its own process group.
///
/// The query string is never turned into command-line arguments (the RFC 3875 7.2 "search
/// string" rule): that is how CVE-2012-1823 reached PHP's argument parser, and no script needs
/// it. Input is `stdin`; stdout and stderr are pipes.
pub(crate) fn spawn(script: &Located, env: Vec<Var>, stdin: Stdio) -> io::Result<Child> {
    let mut cmd = match &script.interpreter {
        Some(program) => {
            let mut c = Command::new(program);
            c.arg(&script.file);
            c
        }
        None => Command::new(&script.file),
    };
    cmd.env_clear()
        .envs(env)
        .current_dir(&script.dir)
        .process_group(0)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // The guard below kills the whole group, not just the leader, and reaps it.
        .kill_on_drop(false);
    cmd.spawn()
}

/// Logs each line the script writes to stderr as a warning carrying the script's name.
pub(crate) fn log_stderr(stderr: impl AsyncRead + Unpin + Send + 'static, name: Arc<str>) {
    tokio::spawn(async move {
        let mut reader = BufReader::new(stderr);
        let mut line = Vec::new();
        loop {
            line.clear();
            let mut limited = (&mut reader).take(MAX_STDERR_LINE as u64);
            match limited.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&line);
                    tracing::warn!(script = %name, "{}", text.trim_end());
                }
            }
        }
    });
}

/// A running script. Dropped without [`Running::finish`], it kills the script's whole process
/// group; either way the script is reaped, and its concurrency slot is given back only once
/// it has exited.
pub(crate) struct Running {
    child: Option<Child>,
    /// The leader's pid while it is in [`RUNNING`], i.e. until it is reaped.
    pid: Option<i32>,
    armed: bool,
    permit: Option<OwnedSemaphorePermit>,
    writer: Option<AbortHandle>,
}

impl Running {
    /// Takes charge of a freshly spawned `child`, entering it in the registry that
    /// [`kill_all_scripts`] reads.
    pub(crate) fn new(child: Child, permit: OwnedSemaphorePermit) -> Running {
        let pid = child.id().and_then(|p| i32::try_from(p).ok());
        if let Some(pid) = pid {
            running().insert(pid);
        }
        server::metrics::event(server::metrics::Event::CgiStarted);
        server::metrics::cgi_running(1);
        Running {
            child: Some(child),
            pid,
            armed: true,
            permit: Some(permit),
            writer: None,
        }
    }

    /// The task feeding the request body to stdin, stopped with the script.
    pub(crate) fn set_writer(&mut self, writer: AbortHandle) {
        self.writer = Some(writer);
    }

    /// The script finished its output by itself: let it exit in its own time, then reap it.
    pub(crate) fn finish(mut self) {
        self.armed = false;
    }

    /// Waits (until `deadline`) for the script to exit, e.g. to log why it sent no headers.
    pub(crate) async fn exit_status(&mut self, deadline: Instant) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let status = tokio::time::timeout_at(deadline, child.wait()).await.ok()?;
        forget(self.pid.take());
        status.ok()
    }

    fn kill_group(child: &Child) {
        // While the leader is unreaped (alive or a zombie) its pid names our group and cannot
        // be reused, so this can never hit an unrelated group. `id()` is `None` once reaped.
        if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
            kill_group(pid);
        }
    }
}

/// Takes a reaped (or no longer tracked) leader out of the registry.
fn forget(pid: Option<i32>) {
    if let Some(pid) = pid {
        running().remove(&pid);
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        server::metrics::cgi_running(-1);
        if let Some(w) = self.writer.take() {
            w.abort();
        }
        let Some(mut child) = self.child.take() else {
            return;
        };
        if self.armed {
            Running::kill_group(&child);
        }
        let pid = self.pid.take();
        if matches!(child.try_wait(), Ok(Some(_))) {
            forget(pid);
            return;
        }
        let permit = self.permit.take();
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    let _ = child.wait().await;
                    forget(pid);
                    drop(permit);
                });
            }
            // No runtime to wait in (shutting down): tokio reaps the orphan on its own, out of
            // our sight, so the pid cannot stay registered.
            Err(_) => forget(pid),
        }
    }
}

/// A script's display name for logs.
pub(crate) fn display_name(script: &Located) -> Arc<str> {
    Arc::from(String::from_utf8_lossy(&script.script_name).as_ref())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::sync::Semaphore;

    /// Gone, or a zombie waiting for init.
    fn dead(pid: u32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(stat) => stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        }
    }

    #[tokio::test]
    async fn kill_all_scripts_kills_every_script_group() {
        let tmp = tempfile::tempdir().unwrap();
        let pidfile = tmp.path().join("sleeper");
        let child = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!(
                "sleep 60 & echo $! > {p}.tmp; mv {p}.tmp {p}; wait",
                p = pidfile.display()
            ))
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let leader = i32::try_from(child.id().unwrap()).unwrap();
        let permit = Arc::new(Semaphore::new(1)).acquire_owned().await.unwrap();
        let mut script = Running::new(child, permit);
        assert!(running().contains(&leader));
        let mut sleeper = None;
        for _ in 0..200 {
            sleeper = std::fs::read_to_string(&pidfile)
                .ok()
                .and_then(|s| s.trim().parse::<u32>().ok());
            if sleeper.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let sleeper = sleeper.unwrap();

        kill_all_scripts();

        let status = script
            .exit_status(Instant::now() + Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(Signal::KILL.as_raw())
        );
        // Reaped, so out of the registry: a later kill_all_scripts cannot reach a reused pid.
        assert!(!running().contains(&leader));
        for _ in 0..200 {
            if dead(sleeper) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert!(dead(sleeper), "the script's own child survived");
    }
}

//! Starting a script and making sure it ends: its process group is killed when the request is
//! abandoned (timeout, client gone, error), and it is always reaped.

use std::io;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::OwnedSemaphorePermit;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::Located;
use crate::env::Var;

/// Longest stderr line logged as one message; longer lines are split.
const MAX_STDERR_LINE: usize = 4096;

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
    armed: bool,
    permit: Option<OwnedSemaphorePermit>,
    writer: Option<AbortHandle>,
}

impl Running {
    pub(crate) fn new(child: Child, permit: OwnedSemaphorePermit) -> Running {
        Running {
            child: Some(child),
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
        tokio::time::timeout_at(deadline, child.wait())
            .await
            .ok()?
            .ok()
    }

    fn kill_group(child: &Child) {
        // While the leader is unreaped (alive or a zombie) its pid names our group and cannot
        // be reused, so this can never hit an unrelated group. `id()` is `None` once reaped.
        if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(w) = self.writer.take() {
            w.abort();
        }
        let Some(mut child) = self.child.take() else {
            return;
        };
        if self.armed {
            Running::kill_group(&child);
        }
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        let permit = self.permit.take();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _ = child.wait().await;
                drop(permit);
            });
        }
    }
}

/// A script's display name for logs.
pub(crate) fn display_name(script: &Located) -> Arc<str> {
    Arc::from(String::from_utf8_lossy(&script.script_name).as_ref())
}

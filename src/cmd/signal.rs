//! `sockserve reload` and `sockserve upgrade`: signal the running server named by its pid file,
//! as `nginx -s reload` does.

use std::path::Path;
use std::process::ExitCode;

use rustix::process::{Pid, Signal, kill_process};

use crate::cmd::{CliError, CmdResult};

/// What to ask of the running server.
#[derive(Debug, Clone, Copy)]
pub enum Ask {
    /// Re-read the configuration and certificates (SIGHUP).
    Reload,
    /// Hand the sockets to a new process of the binary and drain (SIGUSR2).
    Upgrade,
}

/// Sends the signal for `ask` to the pid in `pid_file`.
pub fn send(pid_file: Option<&Path>, ask: Ask) -> CmdResult {
    let path = pid_file.ok_or_else(|| {
        CliError::Usage("give --pid-file FILE, the one the server was started with".into())
    })?;
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Runtime(format!("cannot read {}: {e}", path.display())))?;
    let pid = text
        .trim()
        .parse::<i32>()
        .ok()
        .and_then(Pid::from_raw)
        .ok_or_else(|| {
            CliError::Runtime(format!("{} holds no process id: {text:?}", path.display()))
        })?;
    let signal = match ask {
        Ask::Reload => Signal::HUP,
        Ask::Upgrade => Signal::USR2,
    };
    kill_process(pid, signal).map_err(|e| {
        CliError::Runtime(format!(
            "cannot signal process {} from {}: {e}",
            pid.as_raw_nonzero(),
            path.display()
        ))
    })?;
    Ok(ExitCode::SUCCESS)
}

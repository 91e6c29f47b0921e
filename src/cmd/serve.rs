//! `sockserve serve [DIR]`: the static file server (and CGI).

use crate::cli::ServeArgs;
use crate::cmd::CmdResult;

pub fn run(_args: ServeArgs) -> CmdResult {
    Err(crate::cmd::CliError::Runtime("not yet".into()))
}

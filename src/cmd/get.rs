//! `sockserve get URL`: the HTTP client.

use crate::cli::GetArgs;
use crate::cmd::CmdResult;

pub fn run(_args: GetArgs) -> CmdResult {
    Err(crate::cmd::CliError::Runtime("not yet".into()))
}
